"""Send each digest's .eml to its list once and only once (see ledger.py for how)."""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path

from . import mailer
from .errors import EXIT_SEND_FAILED, Problem, SfbError
from .ledger import Ledger, State
from .model import Output, Settings


class SendFailed(SfbError):
    """At least one digest was not sent, or may not have been."""

    exit_code = EXIT_SEND_FAILED

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))

    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


@dataclass(slots=True)
class SendReport:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already sent
    unlisted: list[str] = field(default_factory=list)  # no list address for the language
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.sent)} sent, {len(self.skipped)} already sent"


def ledger_for(settings: Settings) -> Ledger:
    state = settings.state_dir or settings.config_path.parent / ".sfb-state"
    return Ledger(state / "sent.jsonl")


def _message_id(data: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(data)["Message-ID"] or "").strip()


def _language(path: str) -> str:
    return Path(path).parent.name  # digests/<lang>/<week>.eml


def send_digests(
    settings: Settings,
    messages: Iterable[Output],
    now: datetime,
    *,
    dry_run: bool = False,
    connect: Callable[[], smtplib.SMTP] | None = None,
) -> SendReport:
    """Send every ``.eml`` output not sent before; the ledger records each step."""
    ledger = ledger_for(settings)
    states = ledger.states()
    report = SendReport()
    pending: list[tuple[Output, str, str]] = []
    for message in messages:
        if not message.path.endswith(".eml"):
            continue
        recipient = settings.digests.lists.get(_language(message.path))
        message_id = _message_id(message.data)
        if recipient is None:
            report.unlisted.append(message.path)
        elif message_id in states and states[message_id] is not State.FAILED:
            _already(report, message.path, states[message_id])
        else:
            pending.append((message, recipient, message_id))
    if dry_run:
        report.sent.extend(m.path for m, _, _ in pending)
    elif pending:
        _deliver_all(settings, ledger, pending, now, report, connect)
    return report


def _already(report: SendReport, path: str, state: State) -> None:
    if state is State.SENT:
        report.skipped.append(path)
        return
    report.problems.append(Problem(
        path, "a previous run died while sending it, so it may have gone out; check the "
        "list's archive, then remove its 'sending' line from the ledger to send it again"))


def _deliver_all(
    settings: Settings, ledger: Ledger, pending: list[tuple[Output, str, str]],
    now: datetime, report: SendReport, connect: Callable[[], smtplib.SMTP] | None,
) -> None:
    sender = parseaddr(settings.digests.sender)[1]
    if not sender:
        report.problems.append(Problem(str(settings.config_path), "digests.from is not set; "
                                       "it is needed to send digests"))
        return
    try:
        client = connect() if connect else mailer.open_connection(settings.smtp)
    except mailer.Refused as exc:
        report.problems.append(Problem(str(settings.config_path), f"smtp: {exc}"))
        return
    try:
        for message, recipient, message_id in pending:
            _deliver_one(client, ledger, message, mailer.Envelope(sender, recipient,
                         message.data), message_id, now, report)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()


def _deliver_one(
    client: smtplib.SMTP, ledger: Ledger, message: Output, envelope: mailer.Envelope,
    message_id: str, now: datetime, report: SendReport,
) -> None:
    ledger.record(message_id, State.SENDING, now, message.path)
    try:
        mailer.deliver(client, envelope)
    except mailer.Refused as exc:
        ledger.record(message_id, State.FAILED, now, message.path)
        report.problems.append(Problem(message.path, f"refused by the mail server: {exc}"))
        return
    except mailer.Unknown as exc:
        report.problems.append(Problem(
            message.path, f"the connection broke while sending ({exc}); it may have gone "
            "out, so it will not be re-sent automatically"))
        return
    ledger.record(message_id, State.SENT, now, message.path)
    report.sent.append(message.path)
