"""The process's standard streams as cron and shells may hand them over: closed (`>&-`),
on a full disk (`>/dev/full`), or read by a program that goes away (`| head`).

:func:`prepare` (the command line's first step) gives a closed descriptor 0, 1 or 2 the
null device, so that no file the run opens takes its number and nothing printed lands in
it, and makes standard error forgiving: a message that cannot be written is lost, never
the run's work nor its exit code. Standard output is the command's product: a failure to
write it is an :class:`OutputFailed` (exit 1), or :class:`ReaderGone` once its reader left.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator

from .errors import SfbError


class ReaderGone(BaseException):
    """Standard output's reader went away (``sfb-feeds digest | head``). Unlike a broken
    pipe elsewhere (an SMTP connection), no bug: like KeyboardInterrupt, no ``Exception``,
    so it passes main's bug report on its way to the entry point, which stops quietly."""


class OutputFailed(SfbError):
    """Standard output cannot be written (a full disk, an I/O error)."""


class _Forgiving(io.TextIOWrapper):
    """Standard error that drops what it cannot write: there is nowhere left to say so."""

    def write(self, text: str) -> int:
        with contextlib.suppress(OSError):
            return super().write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError):
            super().flush()


def prepare() -> None:
    """Open the null device on closed standard descriptors; a forgiving sys.stderr, and a
    sys.stdout that escapes what the locale cannot spell."""
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, mode)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    encoding = sys.stderr.encoding if sys.stderr is not None else None
    sys.stderr = _Forgiving(io.FileIO(2, "w", closefd=False), encoding=encoding,
                            errors="backslashreplace", line_buffering=True)
    if sys.stdout is None:  # (closed when Python started)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (for the whole run)
    if isinstance(sys.stdout, io.TextIOWrapper):  # as standard error: a character the
        sys.stdout.reconfigure(errors="backslashreplace")  # locale lacks is escaped


@contextlib.contextmanager
def writing_output(command: str) -> Iterator[None]:
    """Writes to standard output in the block: a reader gone is :class:`ReaderGone`, any
    other failure an :class:`OutputFailed` naming ``command``."""
    try:
        yield
    except BrokenPipeError as exc:
        raise ReaderGone from exc
    except OSError as exc:
        raise OutputFailed(f"standard output: cannot write what {command} prints: "
                           f"{exc.strerror or exc}") from exc


def abandon_output() -> None:
    """Send whatever standard output still holds to the null device (its reader has gone,
    or its disk is full and that was said): nothing more fails at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    with contextlib.suppress(OSError):
        sys.stdout.flush()
