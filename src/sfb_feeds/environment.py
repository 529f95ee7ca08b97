"""The environment variables that tune a run (README: exit codes; docs/operations.md): each
read by its owner (``lock``, ``incremental.schedule``, ``delivery``) through the functions
here, and checked by the CLI before a command reads or writes anything (:func:`check`), so
that a wrong value is a usage error naming it, never a silent fallback to the default."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from .errors import EXIT_USAGE, SfbError

WORKERS_ENV = "SFB_FEEDS_WORKERS"  # worker processes of a build (1: no pool)
LOCK_WAIT_ENV = "SFB_FEEDS_LOCK_WAIT"  # seconds a second run waits for a lock
BACKOFF_ENV = "SFB_FEEDS_SEND_BACKOFF"  # seconds between tries of `send`, for every try

_SECONDS = "a number of seconds from 0 to 86400 (a day)"
MOST_SECONDS = 86_400  # (more: time.sleep overflows at 1e300, and no wait needs a day)
MOST_WORKERS = 64  # (more: a typo, such as 100000, would fork that many processes)
_WORKERS = f"a whole number of worker processes from 1 to {MOST_WORKERS}"
N = TypeVar("N", int, float)


class BadEnvironment(SfbError):
    """An environment variable holds a value its reader cannot take."""

    exit_code = EXIT_USAGE

    def messages(self) -> list[str]:
        return [str(arg) for arg in self.args]


def _number(name: str, kind: Callable[[str], N], lowest: N, highest: N, wanted: str
            ) -> N | None:
    """``$name`` read by ``kind``, from ``lowest`` to ``highest``; None when not set or
    empty (also of spaces)."""
    value = os.environ.get(name, "")
    if not value.strip():
        return None
    try:
        # (int() and float() also read "2_0" as 20 and other scripts' digits: not here)
        if value.isascii() and "_" not in value \
                and lowest <= (number := kind(value)) <= highest:  # (nan and inf fail this)
            return number
    except ValueError:
        pass
    raise BadEnvironment(f"${name}={value!r} must be {wanted}")


def seconds(name: str) -> float | None:
    """``$name`` as a number of seconds from 0 to a day; None when not set."""
    return _number(name, float, 0.0, MOST_SECONDS, _SECONDS)


def workers() -> int | None:
    """``$SFB_FEEDS_WORKERS`` as a whole number from 1 to 64; None when not set."""
    return _number(WORKERS_ENV, int, 1, MOST_WORKERS, _WORKERS)


def check() -> None:
    """Raise :class:`BadEnvironment` naming every variable with a value it cannot take."""
    wrong: list[str] = []
    for read in (workers, lambda: seconds(LOCK_WAIT_ENV), lambda: seconds(BACKOFF_ENV)):
        try:
            read()
        except BadEnvironment as exc:
            wrong.extend(exc.messages())
    if wrong:
        raise BadEnvironment(*wrong)
