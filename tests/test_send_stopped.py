"""`sfb-feeds send` stopped as a service manager or an operator stops it: SIGTERM (systemctl
stop, a shutdown, a killed cron daemon), SIGHUP (the terminal gone), SIGINT (Ctrl-C) while a
message is handed over. The stop waits for the server's answer to that message and its
record in the ledger, so the next run neither sends it again nor calls it "may have gone
out" (which leaves a list without the week's digest until someone looks)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG
from smtp_faults import aiosmtpd_server

RECORD = "id: urn:sfb:pl\ntitle: T pl\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\n"
LIST = "pl@lists.example.org"


class HeldHandler:
    """Takes each message, but answers the final dot only once ``release`` is set."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.taken: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
        self.taken.extend(envelope.rcpt_tos)
        return "250 OK"


def send(config: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, SFB_FEEDS_SEND_BACKOFF="0")
    return subprocess.Popen([sys.executable, "-m", "sfb_feeds", "send", "--config",
                             str(config), "--week", "2015-W36"], cwd=config.parent, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_send_stopped_while_a_message_is_handed_over_records_how_it_went(
        tmp_path: Path, stop: signal.Signals) -> None:
    """Before, the run died waiting for the reply: the server had the message, and the next
    run reported it "may have gone out" (exit 4), as it would a digest the server had not
    kept. Now the stop waits for the reply, and the next run has nothing to do."""
    (tmp_path / "statements").mkdir()
    (tmp_path / "statements" / "pl.yaml").write_text(RECORD)
    config = tmp_path / "sfb-feeds.yaml"
    handler = HeldHandler()
    with aiosmtpd_server(handler) as port:
        config.write_text(SITE_CONFIG + "state: state\ndigests:\n  from: D <d@example.org>\n"
                          f"  lists: {{pl: {LIST}}}\nsmtp: {{host: 127.0.0.1, port: {port}}}\n")
        victim = send(config)
        assert handler.arrived.wait(120), victim.communicate()
        victim.send_signal(stop)  # the message is with the server, its answer not yet given
        handler.release.set()
        out, err = victim.communicate(timeout=120)
        assert "Traceback" not in err and "internal error" not in err
        again = send(config)
        later = again.communicate(timeout=120)
    assert handler.taken == [LIST]
    assert (again.returncode, later) == (0, ("", "")), (victim.returncode, out, err)
