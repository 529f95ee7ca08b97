"""Spread pure work (parsing, rendering) over the machine's cores, on the standard library.

Workers are forked (``ProcessPoolExecutor``, fork context): they start with all this
process built (settings, statements, site, prepared formats), nothing pickled; a task
names its share by indexes and only results travel back. Python refuses
``max_tasks_per_child`` with fork, so memory is bounded simply: a pool takes consecutive
items until they read ROUND_WEIGHT distinct objects, then a fresh one is forked (work
that reads none, parsing, takes one pool). A forked worker copies the pages of every
object its items touch: reading an object writes its reference count (see
docs/operations.md).

Workers end with this process, even when it is killed (cron's timeout, SIGKILL): each
watches a pipe whose only writer is this process. (A worker left behind would keep its
copy of the output folder's lock, and the next run waiting.)

``$SFB_FEEDS_WORKERS`` fixes the number of worker processes (1: no pool at all).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice
from typing import Any, TypeVar

from .. import environment

WORKERS_ENV = environment.WORKERS_ENV
MAX_WORKERS = 4  # more processes add memory faster than they save time here
# How many distinct objects the items of one pool read (rendering: statements). 6,000
# distinct against 10,000 summed over outputs: cold 100,000 peak PSS 564-565 against
# 574-583 MB, 74-76 against 67-78 s (two builds each); cold 10,000 0.96 x the time (8
# pairs; two pools instead of three). 10,000 distinct (one pool at 10,000: 0.94 x): 607
# MB at 100,000. Summed, 40,000: 704 MB, 20,000: 641, 5,000: 582 (session 12).
ROUND_WEIGHT = 6_000
# Tasks per worker and round: several, so that long outputs spread. 8 against 64: cold
# 10,000 0.93 x the time (8 pairs, twice), cold 100,000 0.97 x (2 pairs; peak PSS
# 568-572 against 557-558 MB): fewer results to pickle and futures to wait on.
PARTS_PER_WORKER = 8
# Parts handed out and not yet taken by the caller, per worker: results done ahead of a
# slower writer wait in this process (the whole round submitted at once: ~0.42 -> ~1.14 GB
# at 100,000 statements).
AHEAD_PER_WORKER = 2
LOCAL_PART = 256  # items done at a time without workers (their results held meanwhile)

Result = TypeVar("Result")

# The work of this worker's pool, set by its initializer (empty in the building process).
_work_in_worker: list[Callable[[Sequence[int]], Any]] = []


def default_workers() -> int:
    """``$SFB_FEEDS_WORKERS``, else the usable cores (at most MAX_WORKERS); a wrong value:
    environment.BadEnvironment."""
    if (chosen := environment.workers()) is not None:
        return chosen
    return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))


def _adopt(work: Callable[[Sequence[int]], Any], watch: int, alive: int) -> None:
    """In a new worker: take the work, and leave as soon as the building process ends."""
    _work_in_worker.append(work)
    os.close(alive)  # (this copy of the write end would keep the pipe open)
    threading.Thread(target=_end_with_parent, args=(watch,), daemon=True).start()


def _end_with_parent(watch: int) -> None:
    os.read(watch, 1)  # returns (empty) only when the building process has ended
    os._exit(1)  # (a worker's only way out while its main thread may be busy rendering)


def _run_part(indexes: Sequence[int]) -> Any:
    return _work_in_worker[0](indexes)


def _as_done(pool: ProcessPoolExecutor, parts: Sequence[Sequence[int]], ahead: int
             ) -> Iterator[Any]:
    """The parts' results as they are done, at most ``ahead`` parts submitted and not
    taken. (In order, at 100,000 statements a first part of long archives kept ~1,900
    finished outputs waiting ~10 s.)"""
    todo = iter(parts)
    waiting: set[Future[Any]] = set()
    try:
        while True:
            waiting.update(pool.submit(_run_part, part)
                           for part in islice(todo, ahead - len(waiting)))
            if not waiting:
                return
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    finally:
        for future in waiting:
            future.cancel()


def run_parts(work: Callable[[Sequence[int]], Result], count: int, *, least: int,
              here: int = 0, reads: Sequence[Iterable[object]] | None = None
              ) -> Iterator[Result]:
    """``work`` over ``range(count)`` in parts of consecutive indexes, each part's results
    as it is done.

    The first ``here`` items are done first, in this process, so that workers inherit
    what they prepared; with one worker, or fewer than ``least`` items, all are.
    ``reads``: the objects of this process's memory each item reads (see ROUND_WEIGHT).
    """
    workers = default_workers()
    here = count if workers <= 1 or count < least else min(here, count)
    for start in range(0, here, LOCAL_PART):
        yield work(range(start, min(here, start + LOCAL_PART)))
    if here >= count:
        return
    context = multiprocessing.get_context("fork")
    # Hidden from the workers' collector, their pages stay shared (without it: 10,000
    # cold 1.16 x the time, paired); unfrozen by ``BuildMemory.remember``.
    gc.freeze()
    watch, alive = os.pipe()
    try:
        for start, stop in _rounds(here, count, reads):
            size = max(1, -(-(stop - start) // (workers * PARTS_PER_WORKER)))
            parts = [range(i, min(stop, i + size)) for i in range(start, stop, size)]
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_adopt,
                                     initargs=(work, watch, alive)) as pool:
                yield from _as_done(pool, parts, AHEAD_PER_WORKER * workers)
    finally:
        os.close(watch)
        os.close(alive)


def _rounds(start: int, count: int, reads: Sequence[Iterable[object]] | None
            ) -> Iterator[tuple[int, int]]:
    """Consecutive ranges of ``range(start, count)`` (at least one item each) whose items
    read at most ROUND_WEIGHT distinct objects."""
    if reads is None:  # (parsing: a worker reads nothing of this process's as it goes)
        yield start, count
        return
    begin, seen = start, set[int]()
    for i in range(start, count):
        item = {id(thing) for thing in reads[i]}
        if seen and len(seen) + len(item - seen) > ROUND_WEIGHT:
            yield begin, i
            begin, seen = i, set()
        seen |= item
    yield begin, count
