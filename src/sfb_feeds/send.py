"""Send each digest's .eml to its list once and only once.

One ``send`` at a time: it holds ``<state>/send.lock`` (a ``flock``, released by the kernel
even when the run is killed) while it reads the ledger and delivers, so two runs never
both see a message as pending. See ledger.py for what is recorded, delivery.py for how
failures are retried.
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path

from . import lock, mailer
from .delivery import Courier, Digest, Retry, resend_hint
from .errors import EXIT_SEND_FAILED, Busy, ConfigError, Problem, SfbError
from .ledger import Ledger, State, lookup
from .model import Output, Settings

LOCK_NAME = "send.lock"


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
    sent: list[Digest] = field(default_factory=list)
    would_send: list[Digest] = field(default_factory=list)  # --dry-run
    already: list[Digest] = field(default_factory=list)  # sent by an earlier run
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.sent)} sent, {len(self.already)} already sent"


def ledger_for(settings: Settings) -> Ledger:
    return Ledger(_state_dir(settings) / "sent.jsonl")


def _state_dir(settings: Settings) -> Path:
    return settings.state_dir or settings.config_path.parent / ".sfb-state"


def _config_problem(settings: Settings, message: str) -> ConfigError:
    return ConfigError([Problem(str(settings.config_path), message)])


def password(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The SMTP password from the environment; None without ``smtp.password_env``.

    ConfigError naming the variable when it is not set (or empty).
    """
    name = settings.smtp.password_env
    if not name:
        return None
    value = environ.get(name, "")
    if not value:
        raise _config_problem(settings, f"smtp.password_env: the environment variable {name} "
                              f"is not set; send needs it to log in to {settings.smtp.host}")
    return value


def readiness_warnings(settings: Settings, languages: Iterable[str],
                       environ: Mapping[str, str]) -> list[str]:
    """What ``check`` says about sending: languages without a list, a missing password."""
    lists = settings.digests.lists
    if not lists:
        return []
    warnings = [f"{lang}: no address in digests.lists, so its digests are not sent "
                f"(add digests.lists.{lang})" for lang in sorted(languages) if lang not in lists]
    try:
        password(settings, environ)
    except ConfigError as exc:
        warnings.extend(exc.messages())
    return warnings


def _message_id(data: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(data)["Message-ID"] or "").strip()


def select(settings: Settings, messages: Iterable[Output],
           to: str | None = None) -> tuple[list[Digest], list[str]]:
    """The digests to send (to their lists, or all to ``to``) and warnings for the rest."""
    digests: list[Digest] = []
    warnings: list[str] = []
    for message in messages:
        if not message.path.endswith(".eml"):
            continue
        lang, week = Path(message.path).parent.name, Path(message.path).stem
        recipient = to or settings.digests.lists.get(lang)
        if recipient is None:
            warnings.append(f"{lang} {week}: no address for {lang} in digests.lists; not sent "
                            f"(add digests.lists.{lang})")
            continue
        digests.append(Digest(path=message.path, lang=lang, week=week, recipient=recipient,
                              message_id=_message_id(message.data), data=message.data))
    return digests, warnings


Connect = Callable[[], smtplib.SMTP]


def send_digests(
    settings: Settings,
    messages: Iterable[Output],
    now: datetime,
    *,
    dry_run: bool = False,
    resend: bool = False,
    to: str | None = None,
    connect: Connect | None = None,
    retry: Retry | None = None,
    environ: Mapping[str, str] | None = None,
) -> SendReport:
    """Send every ``.eml`` of ``messages`` not sent before; the ledger records each step.

    ``resend``: also those sent or that may have gone out. ``to``: a test copy of each to
    that address, recording nothing. ``dry_run``: only say what would be sent. Raises
    ConfigError (before sending) for what the config lacks, Busy when another send holds
    the lock, LedgerError when the ledger cannot be written.
    """
    _require_destinations(settings, to)
    report = SendReport()
    digests, report.warnings = select(settings, messages, to)
    env = os.environ if environ is None else environ
    if dry_run:
        report.warnings.extend(readiness_warnings(settings, (), env))
        ledger = ledger_for(settings)
        report.would_send = digests if to else _pending(ledger.states(), digests, resend,
                                                        report, ledger)
        return report
    secret = password(settings, env)
    opener = connect or (lambda: mailer.connect(settings.smtp, secret))
    sender = parseaddr(settings.digests.sender)[1]
    pace = retry or Retry.from_environment()
    if to is not None:  # a test copy: the ledger is neither read nor written
        _deliver(Courier(opener, sender, None, now, pace), digests, report)
        return report
    with lock.hold_file(_state_dir(settings) / LOCK_NAME, busy=_busy):
        ledger = ledger_for(settings)
        pending = _pending(ledger.states(), digests, resend, report, ledger)
        _deliver(Courier(opener, sender, ledger, now, pace), pending, report)
    return report


def _require_destinations(settings: Settings, to: str | None) -> None:
    if not settings.digests.lists and to is None:
        raise _config_problem(settings, "digests.lists is not set, so send has nowhere to "
                              "send the digests (map each language to its list's address)")
    if not parseaddr(settings.digests.sender)[1]:
        raise _config_problem(settings, "digests.from is not set; send needs it as the "
                              "sender of the digests")


def _deliver(courier: Courier, digests: list[Digest], report: SendReport) -> None:
    if not digests:
        return
    outcome = courier.deliver_all(digests)
    report.sent.extend(outcome.sent)
    report.problems.extend(outcome.problems)


def _pending(states: dict[tuple[str, str], State], digests: list[Digest], resend: bool,
             report: SendReport, ledger: Ledger | None) -> list[Digest]:
    """The digests to send now; the others go in ``report`` (already sent, or a problem)."""
    pending: list[Digest] = []
    for digest in digests:
        state = lookup(states, digest.key)
        if resend or state not in (State.SENT, State.SENDING):
            pending.append(digest)
        elif state is State.SENT:
            report.already.append(digest)
        elif ledger is not None:
            report.problems.append(Problem(digest.where(), (
                "may have gone out in an earlier run (its connection broke, or the run "
                "died, while the server had it), so it is not sent again automatically. "
                f"Check the list's archive; to send it again, run {resend_hint(digest)} "
                f"(ledger: {ledger.path})")))
    return pending


def _busy(path: Path, waited: float) -> Busy:
    pid = lock.holder_pid(path)
    who = f" (process {pid})" if pid is not None else ""
    return Busy(f"{path}: another sfb-feeds send{who} holds this lock; gave up after waiting "
                f"{waited:g} s. Nothing was sent. If this happens often, sends overlap: "
                f"schedule them further apart.")
