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


def _two_lists_config(tmp_path: Path, port: int) -> Path:
    (tmp_path / "statements").mkdir()
    for lang in ("pl", "tr"):
        (tmp_path / "statements" / f"{lang}.yaml").write_text(RECORD.replace("pl", lang))
    config = tmp_path / "sfb-feeds.yaml"
    config.write_text(SITE_CONFIG + "state: state\ndigests:\n  from: D <d@example.org>\n"
                      "  lists: {pl: pl@lists.example.org, tr: tr@lists.example.org}\n"
                      f"smtp: {{host: 127.0.0.1, port: {port}}}\n")
    return config


class DropThenHold:
    """Keeps the first message but drops the connection before answering it (its outcome
    unknown to the sender); holds the next ``MAIL`` until ``release`` is set."""

    def __init__(self) -> None:
        self.mails = 0
        self.waiting = threading.Event()
        self.release = threading.Event()
        self.messages = 0

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        self.mails += 1
        if self.mails == 2:
            self.waiting.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        if self.messages == 1:
            server.transport.close()
        return "250 OK"


def test_a_stop_after_a_copy_of_unknown_outcome_is_not_held_back(tmp_path: Path) -> None:
    """A copy whose answer never came (the connection dropped after the final dot) is dealt
    with, so the stop held back for it ends there: a SIGTERM while the next copy is being
    addressed ends the run then, before that copy is handed over. (Held until the next
    ledger record, the stop waited through the next copy and longer.)"""
    handler = DropThenHold()
    with aiosmtpd_server(handler) as port:
        victim = send(_two_lists_config(tmp_path, port))
        assert handler.waiting.wait(120), victim.communicate()
        victim.send_signal(signal.SIGTERM)
        out, err = victim.communicate(timeout=120)  # (before the server lets it go on)
        handler.release.set()
    assert victim.returncode == -signal.SIGTERM, (out, err)
    assert handler.messages == 1


def test_a_second_stop_while_the_relay_has_the_message_acts_at_once(tmp_path: Path) -> None:
    """Ctrl-C again (or SIGTERM after SIGINT) does not wait for the relay: the run ends
    then, and the next run reports that copy as "may have gone out" (exit 4)."""
    handler = HeldHandler()
    with aiosmtpd_server(handler) as port:
        config = _two_lists_config(tmp_path, port)
        config.write_text(config.read_text().replace(", tr: tr@lists.example.org", ""))
        victim = send(config)
        assert handler.arrived.wait(120), victim.communicate()
        victim.send_signal(signal.SIGTERM)
        victim.send_signal(signal.SIGINT)
        out, err = victim.communicate(timeout=120)  # (the server still holds its answer)
        handler.release.set()
        again = send(config)
        later = again.communicate(timeout=120)
    assert victim.returncode in (-signal.SIGTERM, 130), (out, err)  # (whichever acted first)
    assert again.returncode == 4 and "may have gone out" in later[1], later
