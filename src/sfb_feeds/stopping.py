"""A stop asked for (SIGTERM, SIGHUP, SIGINT) held back while a message is with the relay.

Once ``send`` has handed a message over (the final dot sent), only the relay's answer
says whether it was taken; a run that dies before reading it leaves the copy "may have
gone out", never sent again without an operator. The ledger holds those signals back
(:data:`HELD`) from a copy's `sending` record, written just before the message, to its
next (at most the final reply's wait, RFC 5321's 10 minutes); then each that came is sent
again, with the handler the process had: by default SIGTERM and SIGHUP end it, SIGINT is
a KeyboardInterrupt.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

STOPS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


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

    def release(self) -> None:
        saved, self._saved = self._saved, {}
        for stop, handler in saved.items():
            signal.signal(stop, handler)  # type: ignore[arg-type]
        came, self._came = self._came, []
        for number in dict.fromkeys(came):
            os.kill(os.getpid(), number)


HELD = Held()  # (signals are the process's: one for all)
