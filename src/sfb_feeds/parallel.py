"""Spread pure, CPU-bound work (parsing, rendering) over the machine's cores.

Worker processes are *forked*, so they start with everything the parent has already
built (settings, statements, the site, imported renderers) without pickling any of it;
only each chunk's small result travels back. :func:`run` hands the work to the workers
through a module global that the fork copies, which is why it is not re-entrant.

``$SFB_FEEDS_WORKERS`` sets the number of processes (1: everything in this process).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

WORKERS_ENV = "SFB_FEEDS_WORKERS"
MAX_DEFAULT_WORKERS = 4  # more processes add memory faster than they save time here

Item = TypeVar("Item")
Result = TypeVar("Result")

_job: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def default_workers() -> int:
    """``$SFB_FEEDS_WORKERS``, else the usable cores (at most MAX_DEFAULT_WORKERS)."""
    try:
        chosen = int(os.environ.get(WORKERS_ENV, "0"))
    except ValueError:
        chosen = 0
    if chosen > 0:
        return chosen
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_DEFAULT_WORKERS))


def _call(bounds: tuple[int, int]) -> Any:
    assert _job is not None, "parallel.run sets the job before forking"
    work, items = _job
    return work(items[bounds[0]:bounds[1]])


def slices(count: int, workers: int, per_worker: int = 8) -> list[tuple[int, int]]:
    """Contiguous ranges, about ``per_worker`` per worker (so a slow range cannot leave
    the other workers idle for long), keeping neighbours together."""
    size = max(1, -(-count // (workers * per_worker)))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def run(work: Callable[[Sequence[Item]], Result], items: Sequence[Item],
        workers: int) -> Iterator[tuple[int, Result]]:
    """``(length, work(part))`` for contiguous parts of ``items``, as they finish.

    The parts run in forked workers, which inherit ``items`` (only the results are sent
    back, pickled). With one worker, or where ``fork`` does not exist, everything runs
    here. An exception in a worker is raised here, and the other parts are abandoned.
    """
    global _job
    bounds = slices(len(items), workers)
    if workers <= 1 or len(bounds) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for first, last in bounds:
            yield last - first, work(items[first:last])
        return
    _job = (work, items)
    # Frozen objects are left alone by the workers' garbage collector, so the pages they
    # live on stay shared with this process instead of being copied into every worker.
    gc.freeze()
    try:
        # A fresh worker per part: a worker's memory grows as it touches the objects it
        # shares with this process (every reference count it changes copies a page), so
        # long-lived workers would each end up with a private copy of the whole site.
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, maxtasksperchild=1) as pool:
            for (first, last), result in zip(bounds, pool.imap(_call, bounds), strict=True):
                yield last - first, result
    finally:
        _job = None
        gc.unfreeze()
