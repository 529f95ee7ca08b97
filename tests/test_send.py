"""Sending digests: a real SMTP server on loopback (aiosmtpd); each message goes out once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import aiosmtpd_server, digest_eml, list_settings

from sfb_feeds.delivery import Retry
from sfb_feeds.ledger import State
from sfb_feeds.model import (
    Output,
    Settings,
    SmtpSettings,
)
from sfb_feeds.send import ledger_for, send_digests

NOW = datetime(2015, 9, 14, 6, 0, tzinfo=UTC)
NO_WAIT = Retry(sleep=lambda _: None)
PL = ("<2015-W36.pl@example.org>", "pl@lists.example.org")
TR = ("<2015-W36.tr@example.org>", "tr@lists.example.org")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 5.7.1 rejected for this test"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with aiosmtpd_server(inbox) as port:
        yield inbox, port


def settings_for(tmp_path: Path, port: int) -> Settings:
    return list_settings(tmp_path, port, {"pl": "pl@lists.example.org",
                                          "tr": "tr@lists.example.org"})


MESSAGES = [*(digest_eml(lang, "2015-W36", "statements of 2015-W36\n")
              for lang in ("pl", "tr", "en")),
            Output("digests/pl/2015-W36.html", b"<p>not a message</p>")]


def test_each_digest_is_sent_once_to_its_list(tmp_path: Path,
                                               smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    first = send_digests(settings, MESSAGES, NOW)
    assert [d.where() for d in first.sent] == ["pl 2015-W36 to pl@lists.example.org",
                                               "tr 2015-W36 to tr@lists.example.org"]
    assert first.warnings == ["en 2015-W36: no address for en in digests.lists; not sent "
                              "(add digests.lists.en)"]
    assert first.problems == []
    assert [(frm, to) for frm, to, _ in inbox.messages] == [
        ("digest@example.org", ["pl@lists.example.org"]),
        ("digest@example.org", ["tr@lists.example.org"])]
    received = message_from_bytes(inbox.messages[0][2])
    assert received["Message-ID"] == "<2015-W36.pl@example.org>"

    again = send_digests(settings, MESSAGES, NOW)
    assert again.sent == []
    assert [d.path for d in again.already] == ["digests/pl/2015-W36.eml",
                                               "digests/tr/2015-W36.eml"]
    assert len(inbox.messages) == 2
    assert ledger_for(settings).states() == {PL: State.SENT, TR: State.SENT}


def test_dry_run_sends_nothing_and_records_nothing(tmp_path: Path,
                                                   smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    report = send_digests(settings, MESSAGES, NOW, dry_run=True)
    assert [d.path for d in report.would_send] == ["digests/pl/2015-W36.eml",
                                                   "digests/tr/2015-W36.eml"]
    assert report.sent == []
    assert inbox.messages == []
    assert not ledger_for(settings).path.exists()


def test_a_refused_message_is_reported_once_and_resent_on_demand(
        tmp_path: Path, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    inbox.refuse = True
    refused = send_digests(settings, MESSAGES[:1], NOW)
    assert refused.sent == []
    assert "refused by the mail server" in str(refused.problems[0])
    assert ledger_for(settings).states() == {PL: State.REFUSED}
    inbox.refuse = False
    quiet = send_digests(settings, MESSAGES[:1], NOW)
    assert (quiet.sent, quiet.problems, inbox.messages) == ([], [], [])
    retried = send_digests(settings, MESSAGES[:1], NOW, resend=True)
    assert [d.lang for d in retried.sent] == ["pl"]
    assert len(inbox.messages) == 1


def test_a_run_that_died_mid_send_is_never_repeated(tmp_path: Path,
                                                    smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    ledger = ledger_for(settings)
    ledger.record(PL, State.SENDING, NOW, "digests/pl/2015-W36.eml")
    with ledger.path.open("a") as torn:  # the crash also left half a line behind
        torn.write('{"message_id": "<2015-W36.tr@exa')
    report = send_digests(settings, MESSAGES[:2], NOW)
    assert inbox.messages[0][1] == ["tr@lists.example.org"]
    assert len(inbox.messages) == 1
    assert [d.lang for d in report.sent] == ["tr"]
    (problem,) = report.problems
    assert str(problem) == (
        "pl 2015-W36 to pl@lists.example.org: may have gone out in an earlier run (its "
        "connection broke, the run died, or the ledger could not record it, while the "
        "server had it), so it is not sent "
        "again automatically. Check the list's archive; to send it again, run sfb-feeds send "
        f"--resend --week 2015-W36 --lang pl (ledger: {ledger.path})")
    assert ledger.states() == {PL: State.UNCERTAIN, TR: State.SENT}  # said: not again
    again = send_digests(settings, MESSAGES[:2], NOW)
    assert (again.sent, again.problems, len(inbox.messages)) == ([], [], 1)

    resent = send_digests(settings, MESSAGES[:1], NOW, resend=True)
    assert [d.lang for d in resent.sent] == ["pl"] and resent.problems == []
    assert [to for _, to, _ in inbox.messages] == [["tr@lists.example.org"],
                                                   ["pl@lists.example.org"]]


def test_records_of_the_first_ledger_format_still_count(
    tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> None:
    _, port = smtp_server
    settings = settings_for(tmp_path, port)
    path = ledger_for(settings).path
    path.parent.mkdir(parents=True)
    path.write_text('{"at": "2015-09-14T06:00:00+00:00", "digest": "digests/pl/2015-W36.eml", '
                    '"message_id": "<2015-W36.pl@example.org>", "state": "sent"}\n')
    report = send_digests(settings, MESSAGES[:2], NOW)
    assert [d.lang for d in report.already] == ["pl"]
    assert [d.lang for d in report.sent] == ["tr"]


def test_unreachable_server_is_reported_and_left_for_the_next_run(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, 9)  # discard port: nothing listens on loopback
    settings = replace(settings, smtp=SmtpSettings(host="127.0.0.1", port=9))
    report = send_digests(settings, MESSAGES[:1], NOW, retry=NO_WAIT)
    assert report.sent == []
    assert str(report.problems[0]).startswith(
        "pl 2015-W36 to pl@lists.example.org: not sent (cannot connect to 127.0.0.1:9")
    assert str(report.problems[0]).endswith("; it is left for the next run")
    assert ledger_for(settings).states() == {}


def test_a_test_copy_goes_to_one_address_and_records_nothing(
    tmp_path: Path, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    send_digests(settings, MESSAGES[:1], NOW)
    report = send_digests(settings, MESSAGES, NOW, to="me@example.net")
    assert [d.lang for d in report.sent] == ["pl", "tr", "en"]
    assert [to for _, to, _ in inbox.messages] == [["pl@lists.example.org"]] + [
        ["me@example.net"]] * 3
    assert ledger_for(settings).states() == {PL: State.SENT}
