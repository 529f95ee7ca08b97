"""Spread pure, CPU-bound work (parsing, rendering) over the machine's cores.

Helper processes are *forked*, so they start with everything this process has already
built (settings, statements, the site, imported renderers) without pickling any of it;
only each part's result travels back. This process works too: the parts are taken in
turn by whichever process is free, this one included, so a build whose memory budget
allows only one helper still keeps two cores busy. :func:`run` hands the work to the
helpers through a module global that the fork copies, which is why it is not re-entrant.

How many processes: as many as there are cores (at most four), as far as the memory
budget allows. Every helper gains private memory as it works (measured: ~80 MB after its
first few hundred renders, as it touches the interpreter's and the renderers' shared
state, then more with every statement it touches; a parsing helper far less). A helper
past its allowance makes way for a fresh fork, so one rendering helper fits even beside
100,000 loaded statements (~420 MB; the build then peaks at ~550-585 MB, measured with
consistent samples: see ``benchmarks/run.py``). ``$SFB_FEEDS_WORKERS`` fixes the
number of processes (1: this one alone); ``$SFB_FEEDS_MEMORY_MB`` sets the budget (default
600). Helpers die with this process (Linux), so a killed build leaves none writing.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

WORKERS_ENV = "SFB_FEEDS_WORKERS"
MEMORY_ENV = "SFB_FEEDS_MEMORY_MB"
MAX_DEFAULT_WORKERS = 4  # more processes add memory faster than they save time here
DEFAULT_MEMORY_MB = 600
WORKER_MB = 120  # what to allow for a rendering helper (see plan_parts: it keeps within its share)
PARSE_WORKER_MB = 30  # for a parsing helper: it keeps nothing but the part at hand
# A forked helper's private memory: ~80 MB once it has started rendering, then about a MB
# per RENDERS_PER_MB renders (measured at 10,000 and 100,000 benchmark statements).
WORKER_BASE_MB = 80
RENDERS_PER_MB = 12
OWN_GROWTH_MB = 110  # this process's own growth while it renders beside its helpers
MIN_RENDERS_PER_FORK = 100
MOST_PER_PART = 150  # renders: a helper checks its memory between parts

Item = TypeVar("Item")
Result = TypeVar("Result")

_job: tuple[Callable[[Any], Any], Sequence[Any]] | None = None
_running: _Shared | None = None  # the run this process started (None in its helpers)


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


def _budget_mb() -> int:
    return _env_number(MEMORY_ENV) or DEFAULT_MEMORY_MB


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``; nothing
    elsewhere). What a build freed would otherwise stay resident, count against the memory
    budget, and be shared with forked helpers: ~35 MB after loading 100,000 statements,
    for ~1 ms."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def default_workers(growth_mb: int = 0, worker_mb: int = WORKER_MB) -> int:
    """How many processes should work, this one included: ``$SFB_FEEDS_WORKERS``, else
    the usable cores (at most MAX_DEFAULT_WORKERS), as far as helpers of ``worker_mb``
    each fit in the memory budget next to this process as it is now, plus ``growth_mb``
    when it will grow while they work (it keeps what they send back)."""
    chosen = _env_number(WORKERS_ENV)
    if chosen > 0:
        return chosen
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    helpers = (_budget_mb() - _resident_mb() - growth_mb) // worker_mb
    return max(1, min(cores or 1, MAX_DEFAULT_WORKERS, helpers + 1))


def plan_parts(tasks: int, workers: int, least: int) -> tuple[int, int, int]:
    """``(parts per worker, parts per fork, MB a helper may hold)`` for ``tasks`` renders
    over ``workers`` processes (this one too): at least ``least`` parts per worker, so
    that they finish together, and none over MOST_PER_PART renders.

    A helper's private memory grows as it renders (measured: WORKER_BASE_MB, plus a MB per
    RENDERS_PER_MB renders). It may hold its share of what the budget leaves next to this
    process (which grows by OWN_GROWTH_MB while it renders too): it checks after each part
    and makes way for a fresh fork when it holds more (where /proc tells; elsewhere it
    takes as many parts as the estimate allows). Forking costs time (~15 ms, and page
    faults as a fork touches what it shares), so a helper lives as long as it may.
    """
    helpers = max(1, workers - 1)
    share = (_budget_mb() - _resident_mb() - OWN_GROWTH_MB) // helpers
    allowed = max(MIN_RENDERS_PER_FORK, (share - WORKER_BASE_MB) * RENDERS_PER_MB)
    per_worker = max(least, -(-tasks // (max(1, workers) * MOST_PER_PART)))
    part = max(1, -(-tasks // (max(1, workers) * per_worker)))
    # (less what one more part adds: the helper checks only between parts)
    return per_worker, max(1, allowed // part), max(share - MOST_PER_PART // RENDERS_PER_MB,
                                                     WORKER_BASE_MB)


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
        own: int = 0, helper_mb: int = 0, meanwhile: Callable[[], None] | None = None
        ) -> Iterator[tuple[int, Result]]:
    """``(length, work(part))`` for contiguous parts of ``items``, in order.

    ``workers`` processes work: this one and ``workers - 1`` forked helpers, which inherit
    ``items`` (only the results are sent back, pickled). There are about ``per_worker``
    parts per process, of about equal total ``weights`` (default: 1 each), each taken by
    whichever process is free, so they finish together. The first ``own`` items are
    worked on here only (first, while the helpers start on the rest): work that touches
    much of what the helpers share would copy it into them. A helper takes ``per_fork``
    parts, or fewer if its private memory grows past ``helper_mb`` (0: no limit), then a
    fresh fork replaces it: fewer parts per fork mean less memory per helper (see above)
    and more forks. ``meanwhile`` is called here once the helpers have started, before
    this process takes a part (work that needs no item, done while they start on the
    parts). With one worker, or where ``fork`` does not exist, everything runs here and
    ``meanwhile`` is not called. An exception in any part is raised here, and the other
    parts abandoned.
    """
    weights = weights if weights is not None else [1] * len(items)
    mine = [(first, min(first + OWN_PART, own)) for first in range(0, own, OWN_PART)]
    bounds = [(first + own, last + own)
              for first, last in slices(weights[own:], workers * per_worker)]
    if workers <= 1 or len(bounds) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for first, last in mine + bounds:
            yield last - first, work(items[first:last])
        return
    global _job
    _job = (work, items)
    # Frozen objects are left alone by the helpers' garbage collector, so the pages they
    # live on stay shared with this process instead of being copied into every helper.
    # (What a caller froze before stays frozen: unfreezing cannot tell whose it was.)
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    global _running
    try:
        shared = _running = _Shared(mine + bounds, len(mine), min(workers - 1, len(bounds) - 1),
                                    per_fork, helper_mb, meanwhile)
        yield from shared.results()
    finally:
        _job = _running = None
        if not frozen_before:
            gc.unfreeze()


OWN_PART = 8  # items worked on here only, per part (results are handed out between parts)


class _Shared:
    """Parts taken in turn by this process and its helpers; results handed out in order.

    Each helper sends its results through a pipe of its own (one writer: no lock that a
    helper could die holding), read by a thread of its own here, so a helper never waits
    for this process to finish a part before it can send what it rendered.
    """

    def __init__(self, bounds: list[tuple[int, int]], own: int, helpers: int,
                 per_fork: int, helper_mb: int,
                 meanwhile: Callable[[], None] | None = None) -> None:
        self.context = multiprocessing.get_context("fork")
        self.bounds = bounds  # the first ``own`` parts are for this process only
        self.own = own
        self.helpers = helpers
        self.per_fork = max(1, per_fork)
        self.helper_mb = helper_mb
        # (found here once: every helper would read its whole memory map to find out)
        self.measured = helper_mb > 0 and _private_mb() is not None
        self.meanwhile = meanwhile
        self.next_part = self.context.Value("i", own)  # the next part anyone may take
        self.arrived: queue.Queue[tuple[int, bool, Any]] = queue.Queue()
        self.running: list[_Helper] = []
        self.ended = False  # a helper's pipe closed since its replacement was last seen to

    def take(self) -> int | None:
        with self.next_part.get_lock():
            index: int = self.next_part.value
            if index >= len(self.bounds):
                return None
            self.next_part.value = index + 1
            return index

    def results(self) -> Iterator[tuple[int, Any]]:
        done: dict[int, Any] = {}
        handed = 0
        finished = False
        try:
            while handed < len(self.bounds):
                self._keep_helpers()
                meanwhile, self.meanwhile = self.meanwhile, None
                if meanwhile is not None:
                    meanwhile()
                index = handed if handed < self.own else self.take()
                if index is not None:
                    first, last = self.bounds[index]
                    done[index] = _work(first, last)
                self._collect(done, wait_for_one=index is None and handed not in done)
                while handed in done:
                    first, last = self.bounds[handed]
                    yield last - first, done.pop(handed)
                    handed += 1
            finished = True
        finally:
            self._stop(kill=not finished)

    def _receive(self, reader: Connection, closed: threading.Event) -> None:
        with reader:
            while True:
                try:
                    self.arrived.put(reader.recv())
                except (EOFError, OSError):  # the helper is gone (done, or killed)
                    closed.set()
                    self.ended = True  # (after: whoever sees this finds it closed)
                    return

    def replace_ended(self) -> None:
        """Replace a helper that ended since the last look (see :func:`tick`)."""
        if self.ended:
            self.ended = False
            self._keep_helpers()

    def _collect(self, done: dict[int, Any], *, wait_for_one: bool) -> None:
        while True:
            try:
                index, ok, result = self.arrived.get(timeout=0.05) if wait_for_one \
                    else self.arrived.get_nowait()
            except queue.Empty:
                if not wait_for_one:
                    return
                self._keep_helpers()  # (raises if one died)
                continue
            if not ok:
                raise result
            done[index] = result
            wait_for_one = False

    def _keep_helpers(self) -> None:
        """Replace helpers that took their share of parts, while parts are left."""
        alive = []
        for helper in self.running:
            if not helper.closed.is_set() and helper.process.exitcode is None:
                alive.append(helper)
                continue
            helper.process.join()  # (its pipe is closed: it has ended, or is about to)
            helper.receiver.join()
            if helper.process.exitcode != 0:  # (a part it took will never come)
                raise RuntimeError(
                    f"a worker process died (exit code {helper.process.exitcode})")
        self.running = alive
        with self.next_part.get_lock():
            left = len(self.bounds) - self.next_part.value
        for _ in range(min(self.helpers - len(self.running), left)):
            reader, writer = self.context.Pipe(duplex=False)
            _widen(writer)
            process = self.context.Process(target=_help, args=(self, writer, self.per_fork),
                                           daemon=True)
            process.start()
            writer.close()  # the helper's copy is the only one: its end is our EOF
            closed = threading.Event()
            receiver = threading.Thread(target=self._receive, args=(reader, closed),
                                        daemon=True)
            receiver.start()
            self.running.append(_Helper(process, receiver, closed))

    def _stop(self, *, kill: bool) -> None:
        for helper in self.running:
            if kill and helper.process.exitcode is None:
                helper.process.kill()
        for helper in self.running:
            helper.process.join()
            helper.receiver.join()


@dataclass(frozen=True, slots=True)
class _Helper:
    process: Any  # (multiprocessing's Process of the fork context)
    receiver: threading.Thread  # reads what it sends back
    closed: threading.Event  # set when its pipe closed: it has ended


def in_helper() -> bool:
    """Whether this process is a helper forked by :func:`run` (what its work returns is
    pickled and sent back)."""
    return _job is not None and _running is None


def tick() -> None:
    """Called by work between its items. In the process that runs :func:`run`, a helper
    that ended (it took its share of parts) is replaced at once, not after the part at
    hand: at 100,000 statements parts take ~0.1-0.2 s and helpers are replaced ~25 times,
    which left the other core idle ~3 s. Elsewhere, nothing."""
    if _running is not None:
        _running.replace_ended()


def _work(first: int, last: int) -> Any:
    assert _job is not None, "parallel.run sets the job before forking"
    work, items = _job
    return work(items[first:last])


def _help(shared: _Shared, channel: Connection, parts: int) -> None:
    """A helper's life: take up to ``parts`` parts in turn (fewer if its memory grows past
    its allowance, where it can tell), send each result back."""
    _die_with_parent()
    global _running
    _running = None  # (a helper starts no helpers)
    watch = _Watch(shared.helper_mb) if shared.measured else None
    with channel:
        for _ in range(len(shared.bounds) if watch else parts):
            index = shared.take()
            if index is None:
                return
            try:
                message: tuple[int, bool, Any] = (index, True, _work(*shared.bounds[index]))
            except BaseException as error:
                message = (index, False, _picklable(error))
            channel.send(message)
            if not message[1] or (watch is not None and watch.over()):
                return


class _Watch:
    """Whether a helper's private memory passed its allowance, read after each part, or
    after every second or third part while it grows slowly enough to be far from it:
    reading ``smaps_rollup`` walks the helper's whole memory map (~8 ms at 100,000
    statements, a tenth of a part's time)."""

    def __init__(self, allowance_mb: int) -> None:
        self.allowance = allowance_mb
        self.last = 0  # MB at the last reading
        self.growth = 0.0  # the fastest growth seen, MB per part
        self.since = 0  # parts since that reading
        self.skip = 0  # parts still to go before the next

    def over(self) -> bool:
        self.since += 1
        if self.skip > 0:
            self.skip -= 1
            return False
        now = _private_mb() or 0
        if self.since and self.last:
            self.growth = max(self.growth, (now - self.last) / self.since)
        self.last, self.since = now, 0
        if now > self.allowance:
            return True
        if self.growth > 0:  # (a first reading sets no pace: the next part is read)
            room = (self.allowance - now) / (WATCH_MARGIN * self.growth)
            self.skip = max(0, min(WATCH_MOST_SKIPPED, int(room) - 1))
        return False


WATCH_MARGIN = 3  # parts skipped only while the allowance is 3x their growth away
WATCH_MOST_SKIPPED = 2


PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged process (pipe-max-size)


def _widen(channel: Connection) -> None:
    """Let a helper's pipe hold a whole part's results (~100 KB at 100,000 statements),
    where Linux allows: with the default 64 KB the helper waits to send until this process
    reads, and its reader thread waits up to the interpreter's switch interval (5 ms) for
    its turn at every 64 KB, while the helper could be working on its next part."""
    with contextlib.suppress(OSError, AttributeError, ImportError):
        import fcntl

        fcntl.fcntl(channel.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _private_mb() -> int | None:
    """This process's private memory (pages no other process shares), in MB; None where
    /proc cannot tell."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            total = sum(int(line.split()[1]) for line in rollup
                        if line.startswith(("Private_Dirty:", "Private_Clean:")))
    except (OSError, ValueError, IndexError):
        return None
    return total // 1024


def _picklable(error: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _die_with_parent() -> None:
    """Ask Linux to kill this helper when the process that forked it dies (a build killed
    by cron or by hand must not leave helpers writing files behind it)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the request took effect
            os._exit(1)


PR_SET_PDEATHSIG = 1
