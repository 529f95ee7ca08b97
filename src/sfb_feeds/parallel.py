"""Spread pure, CPU-bound work (parsing, rendering) over the machine's cores.

Worker processes are *forked*, so they start with everything the parent has already
built (settings, statements, the site, imported renderers) without pickling any of it;
only each chunk's small result travels back. :func:`run` hands the work to the workers
through a module global that the fork copies, which is why it is not re-entrant.

How many workers: as many as there are cores (at most four), as far as the memory budget
allows. Every forked worker gains about :data:`WORKER_MB` of private memory as it works
(measured: ~80 MB after its first few hundred renders, as it touches the interpreter's and
the renderers' shared state, then ~10 MB per 300 renders), so a build whose own process
already holds most of the budget (100,000 statements hold ~470 MB) renders in its own
process instead. ``$SFB_FEEDS_WORKERS`` fixes the number (1: no workers);
``$SFB_FEEDS_MEMORY_MB`` sets the budget (default 600).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

WORKERS_ENV = "SFB_FEEDS_WORKERS"
MEMORY_ENV = "SFB_FEEDS_MEMORY_MB"
MAX_DEFAULT_WORKERS = 4  # more processes add memory faster than they save time here
DEFAULT_MEMORY_MB = 600
WORKER_MB = 150
# A forked worker's private memory: ~80 MB once it has started rendering, then ~10 MB more
# per 300 renders (measured at 10,000 and 100,000 benchmark statements).
WORKER_BASE_MB = 80
RENDERS_PER_MB = 30

Item = TypeVar("Item")
Result = TypeVar("Result")

_job: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def _env_number(name: str) -> int:
    try:
        return max(0, int(os.environ.get(name, "0")))
    except ValueError:
        return 0


def _resident_mb() -> int:
    """This process's resident memory now, in MB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (OSError, ValueError, IndexError):
        return 0


def default_workers(growth_mb: int = 0) -> int:
    """``$SFB_FEEDS_WORKERS``, else the usable cores (at most MAX_DEFAULT_WORKERS) that fit
    in the memory budget next to this process as it is now, plus ``growth_mb`` when it will
    grow while they work (it keeps what they send back); 1 means no workers."""
    chosen = _env_number(WORKERS_ENV)
    if chosen > 0:
        return chosen
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    budget = _env_number(MEMORY_ENV) or DEFAULT_MEMORY_MB
    affordable = (budget - _resident_mb() - growth_mb) // WORKER_MB
    workers = min(cores or 1, MAX_DEFAULT_WORKERS, affordable)
    return workers if workers >= 2 else 1


def parts_per_fork(tasks: int, workers: int, parts: int) -> int:
    """How many of ``parts`` parts of ``tasks`` renders one forked worker may take in turn
    before it is replaced by a fresh fork.

    A worker's private memory grows as it renders (WORKER_BASE_MB, plus a MB per
    RENDERS_PER_MB renders): it may render as much as keeps that growth within its share
    of what the memory budget leaves next to this process. Forking costs time (~15 ms, and
    page faults as a fork touches what it shares), so a worker lives as long as it may.
    """
    budget = _env_number(MEMORY_ENV) or DEFAULT_MEMORY_MB
    spare = (budget - _resident_mb()) // max(1, workers) - WORKER_BASE_MB
    per_part = max(1, -(-tasks // max(1, parts)))
    return max(1, spare * RENDERS_PER_MB // per_part)


def _call(bounds: tuple[int, int]) -> Any:
    assert _job is not None, "parallel.run sets the job before forking"
    work, items = _job
    return work(items[bounds[0]:bounds[1]])


def slices(weights: Sequence[int], parts: int) -> list[tuple[int, int]]:
    """About ``parts`` contiguous ranges of about equal total weight (neighbours stay
    together); an item heavier than a fair share gets a range of its own."""
    share = max(1, -(-sum(weights) // max(1, parts)))
    bounds: list[tuple[int, int]] = []
    start, load = 0, 0
    for index, weight in enumerate(weights):
        if index > start and load + weight > share:
            bounds.append((start, index))
            start, load = index, 0
        load += weight
    if start < len(weights):
        bounds.append((start, len(weights)))
    return bounds


def run(work: Callable[[Sequence[Item]], Result], items: Sequence[Item], workers: int, *,
        per_worker: int = 8, weights: Sequence[int] | None = None, per_fork: int = 1,
        ) -> Iterator[tuple[int, Result]]:
    """``(length, work(part))`` for contiguous parts of ``items``, in order.

    The parts run in forked workers, which inherit ``items`` (only the results are sent
    back, pickled). There are about ``per_worker`` parts per worker, of about equal total
    ``weights`` (default: 1 each), handed to whichever worker is free, so workers finish
    together. A worker takes ``per_fork`` parts in turn, then a fresh fork replaces it:
    fewer parts per fork mean less memory per worker (see below) and more forks. With one
    worker, or where ``fork`` does not exist, everything runs here. An exception in a
    worker is raised here, and the other parts are abandoned.
    """
    global _job
    bounds = slices(weights if weights is not None else [1] * len(items),
                    workers * per_worker)
    if workers <= 1 or len(bounds) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for first, last in bounds:
            yield last - first, work(items[first:last])
        return
    _job = (work, items)
    # Frozen objects are left alone by the workers' garbage collector, so the pages they
    # live on stay shared with this process instead of being copied into every worker.
    gc.freeze()
    try:
        # A worker's memory grows as it touches the objects it shares with this process
        # (every reference count it changes copies a page), so a worker that lived through
        # a large site would end up with a private copy of it: after ``per_fork`` parts
        # it makes way for a fresh fork.
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, maxtasksperchild=max(1, per_fork)) as pool:
            for (first, last), result in zip(bounds, pool.imap(_call, bounds), strict=True):
                yield last - first, result
    finally:
        _job = None
        gc.unfreeze()
