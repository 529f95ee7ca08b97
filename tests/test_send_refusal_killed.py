"""A run killed after a copy or two refused at DATA leaves the 3-in-a-row rule to the next run.

A relay that refuses the message itself (its content, its size) does so after the recipient,
for every copy; 3 copies of a digest in a row refused there with one code are taken to be
about the message, recorded ``deferred`` and sent once the cause is fixed. A run killed
after the 1st or 2nd such refusal never got to decide. `send` runs as cron starts it, in
its own process, killed while the relay holds the next copy's recipient; aiosmtpd on
loopback counts what it took.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import (
    STATEMENTS,
    SUBSCRIBERS,
    FaultyHandler,
    aiosmtpd_server,
    per_address,
    send_week,
    subscribers_config,
)

REJECT = "554 5.7.1 content rejected"


class StallAtRecipient(FaultyHandler):
    """A FaultyHandler that holds the ``stall``-th RCPT for a long while (the test kills
    the client meanwhile)."""

    def __init__(self, faults: dict[tuple[str, int], str], stall: int) -> None:
        super().__init__(faults)
        self.stall = stall

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if self.calls["RCPT"] + 1 == self.stall:
            self.calls["RCPT"] += 1
            await asyncio.sleep(30)
            return "451 4.3.0 too late"
        return await super().handle_RCPT(server, session, envelope, address, options)


pytestmark = pytest.mark.usefixtures("send_environment")


def killed_after(handler: StallAtRecipient, config: str) -> None:
    """`send` for pl 2015-W36, killed while the relay holds the recipient after the
    ``handler.stall - 1`` copies refused at DATA."""
    run = subprocess.Popen([sys.executable, "-m", "sfb_feeds", "send", "--config", config,
                            "--week", "2015-W36", "--lang", "pl"], env=dict(os.environ),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while handler.calls["RCPT"] < handler.stall and run.poll() is None:
        assert time.monotonic() < deadline, "the run never reached the stalled recipient"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    assert run.communicate(timeout=60) == ("", "")  # killed before it said anything


@pytest.mark.parametrize("refused", [1, 2])
def test_copies_refused_before_a_kill_are_decided_by_the_next_run(
    make_site: Any, refused: int
) -> None:
    # Fails on the old code: the next run reported those copies refused (by a run that
    # stopped before it could say so) and skipped them for good, so once the relay took
    # the message again, everyone but them got the digest.
    faults = {("DATA", n): REJECT for n in range(1, 1000)}
    handler = StallAtRecipient(faults, stall=refused + 1)
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, "tr: tr@lists.example.org")
        killed_after(handler, config)
        code, out, err = send_week(config, "--lang", "pl")
        assert (code, out) == (4, "")
        assert err.splitlines() == [
            f"error: pl 2015-W36: the relay refused the message itself: {REJECT} at the end "
            "of the message; no copy of it was sent in this run after that (30 copies left "
            "for the next run); fix the cause and run send again"]
        handler.faults.clear()  # the relay takes the message again
        assert send_week(config, "--lang", "pl") == (0, "30 sent, 0 already sent\n", "")
        assert send_week(config, "--lang", "pl") == (0, "", "")
    assert per_address(handler) == Counter(SUBSCRIBERS)


def test_a_recipient_refused_at_data_before_a_kill_is_still_refused_once(
    make_site: Any, tmp_path: Path
) -> None:
    # Only u1's mailbox refuses (at DATA); the run is killed at u2's recipient. The next
    # run tries u1 again (no run had decided), reports its refusal once, and later runs
    # skip it.
    handler = StallAtRecipient({("DATA", 1): REJECT, ("DATA", 2): REJECT}, stall=2)
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, "tr: tr@lists.example.org")
        killed_after(handler, config)
        code, out, err = send_week(config, "--lang", "pl")
        assert (code, out) == (4, "29 sent, 0 already sent\n")
        assert err.startswith(f"error: pl 2015-W36 to u1@example.org: refused by the mail "
                              f"server ({REJECT} at the end of the message); ")
        assert err.count("\n") == 1
        assert send_week(config, "--lang", "pl") == (0, "", "")
    assert per_address(handler) == Counter(SUBSCRIBERS[1:])
