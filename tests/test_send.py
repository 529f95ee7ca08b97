"""Sending digests: a real SMTP server on loopback (aiosmtpd); each message goes out once."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller",
                                          reason="aiosmtpd is needed for the SMTP tests")

from sfb_feeds.ledger import Ledger, State  # noqa: E402
from sfb_feeds.model import (  # noqa: E402
    DigestSettings,
    Output,
    Settings,
    SiteSettings,
    SmtpSettings,
)
from sfb_feeds.send import ledger_for, send_digests  # noqa: E402

NOW = datetime(2015, 9, 14, 6, 0, tzinfo=UTC)


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
    with socket.socket() as probe:  # a free loopback port (the controller cannot use 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def settings_for(tmp_path: Path, port: int) -> Settings:
    return Settings(
        config_path=tmp_path / "sfb-feeds.yaml",
        site=SiteSettings(title="S", description="", url="https://example.org/",
                          feeds_url="https://example.org/feeds/", author="A"),
        statements_dir=tmp_path / "statements",
        output_dir=tmp_path / "feeds",
        state_dir=tmp_path / "state",
        digests=DigestSettings(sender="Digest <digest@example.org>",
                               lists=MappingProxyType({"pl": "pl@lists.example.org",
                                                       "tr": "tr@lists.example.org"})),
        smtp=SmtpSettings(host="127.0.0.1", port=port),
    )


def eml(lang: str, week: str) -> Output:
    message = EmailMessage(policy=SMTP)
    message["Subject"] = f"Digest {week}"
    message["From"] = "Digest <digest@example.org>"
    message["Message-ID"] = f"<{week}.{lang}@example.org>"
    message.set_content(f"statements of {week}\n")
    return Output(f"digests/{lang}/{week}.eml", message.as_bytes())


MESSAGES = [eml("pl", "2015-W36"), eml("tr", "2015-W36"), eml("en", "2015-W36"),
            Output("digests/pl/2015-W36.html", b"<p>not a message</p>")]


def test_each_digest_is_sent_once_to_its_list(tmp_path: Path,
                                               smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    first = send_digests(settings, MESSAGES, NOW)
    assert first.sent == ["digests/pl/2015-W36.eml", "digests/tr/2015-W36.eml"]
    assert first.unlisted == ["digests/en/2015-W36.eml"]
    assert first.problems == []
    assert [(frm, to) for frm, to, _ in inbox.messages] == [
        ("digest@example.org", ["pl@lists.example.org"]),
        ("digest@example.org", ["tr@lists.example.org"])]
    received = message_from_bytes(inbox.messages[0][2])
    assert received["Message-ID"] == "<2015-W36.pl@example.org>"

    again = send_digests(settings, MESSAGES, NOW)
    assert again.sent == []
    assert again.skipped == ["digests/pl/2015-W36.eml", "digests/tr/2015-W36.eml"]
    assert len(inbox.messages) == 2
    assert ledger_for(settings).states() == {"<2015-W36.pl@example.org>": State.SENT,
                                             "<2015-W36.tr@example.org>": State.SENT}


def test_dry_run_sends_nothing_and_records_nothing(tmp_path: Path,
                                                   smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    report = send_digests(settings, MESSAGES, NOW, dry_run=True)
    assert report.sent == ["digests/pl/2015-W36.eml", "digests/tr/2015-W36.eml"]
    assert inbox.messages == []
    assert not ledger_for(settings).path.exists()


def test_a_refused_message_is_retried_next_time(tmp_path: Path,
                                                smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    inbox.refuse = True
    refused = send_digests(settings, MESSAGES[:1], NOW)
    assert refused.sent == []
    assert "refused by the mail server" in str(refused.problems[0])
    inbox.refuse = False
    retried = send_digests(settings, MESSAGES[:1], NOW)
    assert retried.sent == ["digests/pl/2015-W36.eml"]
    assert len(inbox.messages) == 1


def test_a_run_that_died_mid_send_is_never_repeated(tmp_path: Path,
                                                    smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    settings = settings_for(tmp_path, port)
    ledger = ledger_for(settings)
    ledger.record("<2015-W36.pl@example.org>", State.SENDING, NOW, "digests/pl/2015-W36.eml")
    with ledger.path.open("a") as torn:  # the crash also left half a line behind
        torn.write('{"message_id": "<2015-W36.tr@exa')
    report = send_digests(settings, MESSAGES[:2], NOW)
    assert inbox.messages[0][1] == ["tr@lists.example.org"]
    assert len(inbox.messages) == 1
    assert report.sent == ["digests/tr/2015-W36.eml"]
    assert "may have gone out" in str(report.problems[0])


def test_unreachable_server_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, 9)  # discard port: nothing listens on loopback
    settings = replace(settings, smtp=SmtpSettings(host="127.0.0.1", port=9))
    report = send_digests(settings, MESSAGES[:1], NOW)
    assert report.sent == []
    assert "cannot connect to 127.0.0.1:9" in str(report.problems[0])
    assert Ledger(settings.state_dir / "sent.jsonl").states() == {}  # type: ignore[operator]


def test_broken_connection_mid_data_is_unknown(tmp_path: Path,
                                               smtp_server: tuple[Inbox, int]) -> None:
    _, port = smtp_server
    settings = settings_for(tmp_path, port)

    class Dropping(smtplib.SMTP):
        def sendmail(self, *args: Any, **kwargs: Any) -> Any:
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")

    report = send_digests(settings, MESSAGES[:1], NOW,
                          connect=lambda: Dropping("127.0.0.1", port))
    assert "may have gone out" in str(report.problems[0])
    assert ledger_for(settings).states() == {"<2015-W36.pl@example.org>": State.SENDING}
    assert send_digests(settings, MESSAGES[:1], NOW).sent == []


def test_send_command_sends_the_weeks_digests_once(
    make_site: Any, smtp_server: tuple[Inbox, int]
) -> None:
    import io

    from conftest import SITE_CONFIG

    from sfb_feeds.cli import main

    inbox, port = smtp_server
    record = "id: urn:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
    config = make_site(
        {f"{lang}.yaml": record.format(l=lang) for lang in ("pl", "tr", "en")},
        config=SITE_CONFIG + "digests:\n  from: Digest <digest@example.org>\n"
        "  lists: {pl: pl@lists.example.org, tr: tr@lists.example.org}\n"
        f"smtp: {{host: 127.0.0.1, port: {port}}}\n",
    )
    argv = ["send", "--config", str(config), "--week", "2015-W36"]
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    assert out.getvalue() == "2 sent, 0 already sent\n"
    assert sorted(to[0] for _, to, _ in inbox.messages) == ["pl@lists.example.org",
                                                          "tr@lists.example.org"]
    polish = next(message_from_bytes(data) for _, to, data in inbox.messages
                  if to == ["pl@lists.example.org"])
    assert polish["Content-Language"] == "pl"
    assert polish.get_content_type() == "multipart/alternative"

    out = io.StringIO()
    assert main(argv, out=out, err=io.StringIO()) == 0
    assert out.getvalue() == ""  # nothing new: silent, as cron wants
    assert len(inbox.messages) == 2


def test_send_command_exits_4_when_the_server_refuses(
    make_site: Any, smtp_server: tuple[Inbox, int]
) -> None:
    import io

    from conftest import SITE_CONFIG

    from sfb_feeds.cli import main

    inbox, port = smtp_server
    inbox.refuse = True
    config = make_site(
        {"pl.yaml": "id: urn:pl\ntitle: T\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\n"},
        config=SITE_CONFIG + "digests:\n  from: d@example.org\n  lists: {pl: pl@example.org}\n"
        f"smtp: {{host: 127.0.0.1, port: {port}}}\n",
    )
    err = io.StringIO()
    assert main(["send", "--config", str(config), "--week", "2015-W36"],
                out=io.StringIO(), err=err) == 4
    assert err.getvalue().startswith("error: digests/pl/2015-W36.eml: refused by the mail server")
