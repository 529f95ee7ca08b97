"""A stop asked for (SIGTERM, SIGHUP, SIGINT) held back while a message is with the relay.

Once ``send`` has handed a message over (the final dot sent), only the relay's answer
says whether it was taken; a run that dies before reading it leaves the copy "may have
gone out", never sent again without an operator. So from a copy's `sending` record
(:meth:`Held.hold`) until that copy is dealt with (:func:`releasing`: at most the final
reply's wait, RFC 5321's 10 minutes) those signals are noted, not acted on; then each
that came is sent again, with the handler the process had: by default SIGTERM and SIGHUP
end it, SIGINT is a KeyboardInterrupt. A second stop, of any of the three, acts at once.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

STOPS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
T = TypeVar("T")


class Held:
    """:meth:`hold` starts holding the stop signals back (again: no change), :meth:`release`
    ends it and raises the ones that came meanwhile. Only the main thread can."""

    def __init__(self) -> None:
        self._saved: dict[int, signal.Handlers | int | object] = {}
        self._came: list[int] = []

    def hold(self) -> None:
        if self._saved or threading.current_thread() is not threading.main_thread():
            return
        for stop in STOPS:
            previous = signal.getsignal(stop)
            if previous is not None:  # (None: a handler not from Python, kept as it is)
                self._saved[stop] = signal.signal(stop, self._note)

    def _note(self, number: int, frame: FrameType | None) -> None:
        self._came.append(number)
        if len(self._came) > 1:  # asked twice (Ctrl-C again): no more waiting
            self.release()

    def release(self) -> None:
        saved, self._saved = self._saved, {}
        for stop, handler in saved.items():
            signal.signal(stop, handler)  # type: ignore[arg-type]
        came, self._came = self._came, []
        for number in dict.fromkeys(came):
            os.kill(os.getpid(), number)


HELD = Held()  # (signals are the process's: one for all)


def releasing(work: Callable[[T], object], item: T) -> None:
    """``work(item)``, then the stops held back meanwhile, if any, take effect."""
    try:
        work(item)
    finally:
        HELD.release()
