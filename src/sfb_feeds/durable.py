"""File primitives of the writer: create exclusively, compare, remove, flush to disk."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor

from .manifest import TEMP_SUFFIX

# Flushes at once: ext4 commits concurrent fsyncs together. Cold 10,000, 8 pairs each
# against 16: 32 threads 0.93 x the time (later 0.97 x), 48 0.94 x, 96 0.93 x.
FSYNC_THREADS = 32
BATCH_FILES = 32
AHEAD = 64  # batches: at most ~2,000 files' bytes wait to be written


class StageError(OSError):
    """Writing or flushing a staged file failed: ``action`` says which, ``filename`` which
    file."""

    def __init__(self, action: str, path: str, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), path)
        self.action = action


def same_bytes(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(data) + 1) == data
    except OSError:
        return False


def fsync_path(path: str) -> None:
    """Flush a file's bytes, or a folder's entries, to the disk (a :class:`StageError`)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StageError("flush to disk", path, exc) from exc


def make_durable(paths: Collection[str]) -> None:
    """fsync() the files or folders ``paths``, many at once from threads so that the file
    system commits them together (this VM's ext4, 3,000 staged files: 0.50 s one by one,
    0.27 s from 16 threads). Never sync(): it would flush every file system of the host."""
    if len(paths) <= 1:
        for path in paths:
            fsync_path(path)
        return
    with ThreadPoolExecutor(min(FSYNC_THREADS, len(paths))) as pool:
        list(pool.map(fsync_path, sorted(paths)))  # (raises the first failure)


class Stager:
    """Write staged files (and fsync() them, when ``durable``) on threads while the caller
    goes on rendering and comparing: file creation costs this VM's ext4 ~0.3-0.5 ms of
    system time each, which in the one writing thread held back the workers (10,000
    cold, 7,600 files: see docs/operations.md). Files go in batches of BATCH_FILES (a
    task each cost the building process ~1.8 s of 100,000's cold build in submitting);
    at most AHEAD batches wait, so that the bytes waiting stay few."""

    def __init__(self, durable: bool) -> None:
        self.durable = durable
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[list[tuple[str, os.stat_result]]]] = deque()
        self._batch: list[tuple[str, bytes, int | None]] = []
        self._written: dict[str, os.stat_result] = {}

    def add(self, temp: str, data: bytes, mode: int | None = None) -> None:
        """Stage ``data`` in ``temp``, with permissions ``mode`` (None: the umask's)."""
        self._batch.append((temp, data, mode))
        if len(self._batch) >= BATCH_FILES:
            self._submit()

    def _submit(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(FSYNC_THREADS)
        self._pending.append(self._pool.submit(_stage_all, self._batch, self.durable))
        self._batch = []
        while len(self._pending) > AHEAD:
            self._written.update(self._pending.popleft().result())

    def wait(self) -> dict[str, os.stat_result]:
        """Every file added, written (and flushed): path: status; or the first
        :class:`StageError`."""
        try:
            if self._batch:
                self._submit()
            while self._pending:
                self._written.update(self._pending.popleft().result())
            return self._written
        finally:
            self.close()

    def close(self) -> None:
        """Stop (batches not yet started are dropped); nothing is waited for on failure."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool, self._pending, self._batch = None, deque(), []


def _stage_all(batch: list[tuple[str, bytes, int | None]], durable: bool
               ) -> list[tuple[str, os.stat_result]]:
    return [(temp, write_new(temp, data, durable=durable, mode=mode))
            for temp, data, mode in batch]


def write_new(path: str, data: bytes, *, durable: bool, mode: int | None = None
              ) -> os.stat_result:
    """Create ``path`` afresh (any leftover of a killed run removed first; mode 0666 less
    the umask, as any new file, or ``mode``) holding ``data``, flushed to the disk when
    ``durable``. Failures to write or flush are a :class:`StageError`."""
    unlink(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    except OSError as exc:
        raise StageError("write", path, exc) from exc
    action = "write"
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if durable:
            action = "flush to disk"
            os.fsync(fd)  # (on the descriptor written: no second open)
        return os.fstat(fd)
    except OSError as exc:
        raise StageError(action, path, exc) from exc
    finally:
        os.close(fd)


def replace_file(path: str, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` atomically with ``data``: written beside it (:func:`stage_file`),
    renamed over it, and the rename flushed (its folder's fsync) when ``durable``."""
    os.replace(stage_file(path, data, durable=durable), path)
    if durable:
        fsync_path(os.path.dirname(path) or ".")


def stage_file(path: str, data: bytes, *, durable: bool) -> str:
    """``data`` written (and flushed, when ``durable``) to the temporary file beside
    ``path`` (:func:`temp_name`), which is returned; on failure a :class:`StageError`,
    and nothing half written is left (a full disk: it would hold the space it lacks)."""
    temp = temp_name(path)
    try:
        write_new(temp, data, durable=durable)
    except StageError:
        with contextlib.suppress(OSError):
            unlink(temp)
        raise
    return temp


def unlink(path: str) -> bool:
    """Remove a file; False if it was not there."""
    try:
        os.unlink(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def temp_name(full: str) -> str:
    """The temporary file next to ``full`` that is renamed over it."""
    head, _, tail = full.rpartition("/")
    return f"{head}/.{tail}{TEMP_SUFFIX}"
