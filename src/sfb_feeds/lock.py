"""One run at a time: an advisory ``flock`` on a lock file (:func:`hold` for the output
folder, :func:`hold_file` for any file, with the caller's message).

The kernel drops a ``flock`` when its process dies (even by SIGKILL), so a killed run never
leaves a lock behind; the empty lock file is never deleted (deleting one that others hold
open is how two runs end up holding "the" lock at once). NFS emulates it with POSIX locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .environment import LOCK_WAIT_ENV, seconds
from .errors import Busy, display_path
from .writer import WriteError

LOCK_NAME = ".sfb-feeds.lock"  # in the output folder it guards
DEFAULT_WAIT = 10.0  # seconds; cron runs minutes apart, so a longer overlap means trouble


def default_wait() -> float:
    """``$SFB_FEEDS_LOCK_WAIT``, else DEFAULT_WAIT (a wrong value: BadEnvironment)."""
    wait = seconds(LOCK_WAIT_ENV)
    return DEFAULT_WAIT if wait is None else wait


def holder_pid(path: Path) -> int | None:
    """The process holding the lock on ``path``, from Linux's /proc/locks; None if unknown."""
    try:
        st = path.stat()
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 fd:01:123456 0 EOF"; blocked waiters have "->".
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted:
            with contextlib.suppress(ValueError):
                return int(fields[4])
    return None


def _busy(path: Path, waited: float) -> Busy:
    pid = holder_pid(path)
    who = f" (process {pid})" if pid is not None else ""
    return Busy(
        f"{display_path(path.parent)}: another sfb-feeds run{who} is writing this output "
        f"folder; gave up after waiting {waited:g} s. Nothing was changed. If this happens often, "
        f"runs overlap: schedule them further apart."
    )


def hold(output_dir: Path, *, wait: float | None = None,
         poll: float = 0.05) -> contextlib.AbstractContextManager[Path]:
    """:func:`hold_file` on the lock file of ``output_dir`` (created if missing)."""
    return hold_file(output_dir / LOCK_NAME, wait=wait, poll=poll, busy=_busy)


@contextlib.contextmanager
def hold_file(path: Path, *, busy: Callable[[Path, float], Busy], wait: float | None = None,
              poll: float = 0.05) -> Iterator[Path]:
    """Hold the ``flock`` on ``path`` (created empty if missing, with its folder) for the
    ``with`` block; while another process holds it, retry for ``wait`` seconds (default:
    :func:`default_wait`), then raise ``busy(path, wait)``. Yields ``path``."""
    patience = default_wait() if wait is None else wait
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except FileExistsError as exc:  # (from mkdir: a file where a folder should be)
        raise WriteError(f"{display_path(exc.filename)}: not a folder (the lock file "
                         f"{path.name} goes in it); move it away or change the config") from exc
    except OSError as exc:
        raise WriteError(f"{display_path(path)}: cannot open the lock file: "
                         f"{exc.strerror or exc}") from exc
    try:
        deadline = time.monotonic() + patience
        while True:
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            if time.monotonic() >= deadline:
                raise busy(path, patience)
            time.sleep(poll)
        yield path
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
