"""Send each digest to its list and its subscribers once and only once.

One ``send`` at a time: ``<state>/send.lock`` is held while the ledger is read and the
run delivers, so two runs never both see a message as pending (README, "sending them").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from itertools import chain
from pathlib import Path

from . import compaction, lock, mailer, subscribers
from .carry import Book, Carry, unfinished
from .delivery import Courier, Digest, Pace, Retry, doubtful, refused_unsaid
from .errors import (
    EXIT_SEND_FAILED,
    Busy,
    Problem,
    Problems,
    UsageError,
    counted,
    display_path,
)
from .ledger import DONE, Ledger, LedgerError, Mark, Marked, State, ledger_for, lookup
from .model import Output, Settings
from .personalise import PersonaliseError, Personaliser
from .readiness import (
    password,
    require_destinations,
    require_files,
    setup_warnings,
    unsubscribe_secret,
)
from .recipients import Recipient, read_recipients
from .subscribers import Mailing, Run, Tally
from .suppression import SuppressionError, SuppressionList

LOCK_NAME = "send.lock"


class SendFailed(Problems):
    """At least one digest was not sent, or may not have been."""

    exit_code = EXIT_SEND_FAILED


@dataclass(slots=True)
class SendReport:
    sent: list[Digest] = field(default_factory=list)  # to lists (and --to copies)
    would_send: list[Digest] = field(default_factory=list)  # --dry-run
    already: list[Digest] = field(default_factory=list)  # sent by an earlier run
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    subscribers: dict[str, Tally] = field(default_factory=dict)  # digest label -> counts
    carried: set[str] = field(default_factory=set)  # paths of digests carried over

    def tally(self, label: str) -> Tally:
        return self.subscribers.setdefault(label, Tally())

    def count_sent(self, digest: Digest) -> None:
        if digest.subscriber:
            self.tally(digest.label).sent += 1
        else:
            self.sent.append(digest)

    def count_already(self, digest: Digest) -> None:
        if digest.subscriber:
            self.tally(digest.label).already += 1
        else:
            self.already.append(digest)

    @property
    def already_count(self) -> int:
        """Digests to lists and subscribers' copies sent by an earlier run."""
        return len(self.already) + sum(t.already for t in self.subscribers.values())

    def summary(self) -> str:
        sent = len(self.sent) + sum(t.sent for t in self.subscribers.values())
        suppressed = sum(t.suppressed for t in self.subscribers.values())
        skipped = f", {suppressed} unsubscribed skipped" if suppressed else ""
        return f"{sent} sent, {self.already_count} already sent{skipped}"


@dataclass(slots=True)
class Selection:
    digests: list[Digest] = field(default_factory=list)  # to lists, or to --to
    mailings: list[Mailing] = field(default_factory=list)  # to recipients files
    warnings: list[str] = field(default_factory=list)
    emls: int = 0  # digests of the week, whoever they go to


def select(settings: Settings, messages: Iterable[Output], to: str | None, only: str | None,
           lists: Mapping[str, bytes]) -> Selection:
    """The digests to send (to their lists and subscribers, or all to ``to``; ``only``:
    just that subscriber, or that list) and warnings for the rest. ``lists``: the lists'
    copies by path, where they differ from ``messages`` (see digest.command.list_copies)."""
    chosen = Selection()
    for message in messages:
        if not message.path.endswith(".eml"):
            continue
        chosen.emls += 1
        lang, week = Path(message.path).parent.name, Path(message.path).stem
        address, file = _destinations(settings, lang, to, only)
        if address is not None:
            chosen.digests.append(_plain_digest(settings, message, address, to, lists))
        if file is not None:
            chosen.mailings.append(Mailing(path=message.path, lang=lang, week=week,
                                           data=message.data, recipients=file))
        elif address is None and only is None:
            chosen.warnings.append(f"{lang} {week}: no address for {lang} in digests.lists; "
                                   f"not sent (add digests.lists.{lang})")
    return chosen


def _destinations(settings: Settings, lang: str, to: str | None,
                  only: str | None) -> tuple[str | None, Path | None]:
    """Where ``lang``'s digest goes: an address (its list's, or ``to``) and a recipients
    file; ``only`` (--recipient) keeps the list's copy alone if it names the list."""
    if to is not None:
        return to, None
    listed = settings.digests.lists.get(lang)
    file = settings.digests.recipients.get(lang)
    if only is None:
        return listed, file
    return (listed, None) if listed and _bare(listed) == only else (None, file)


def _bare(address: str) -> str:
    """``address`` (``Name <local@domain>`` or not) as --recipient gives one: the bare
    address, its domain lower-cased."""
    local, _, domain = parseaddr(address)[1].rpartition("@")
    return f"{local}@{domain.lower()}"


def _plain_digest(settings: Settings, message: Output, address: str, to: str | None,
                  lists: Mapping[str, bytes]) -> Digest:
    """The digest as a list gets it (a --to copy is made personal later where subscribers
    are)."""
    lang, week = Path(message.path).parent.name, Path(message.path).stem
    shared = lang in settings.digests.recipients
    data = message.data if to and shared else lists.get(message.path, message.data)
    return Digest(path=message.path, lang=lang, week=week, recipient=address, data=data,
                  message_id=_message_id(data),
                  alone_as=_bare(address) if shared and not to else "")


def _message_id(data: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(data)["Message-ID"] or "").strip()


def send_digests(
    settings: Settings, messages: Iterable[Output], now: datetime, *, dry_run: bool = False,
    resend: bool = False, to: str | None = None, only: str | None = None,
    retry: Retry | None = None, pace: Pace | None = None, lists: Iterable[Output] | None = None,
    carry: Carry | None = None,
) -> SendReport:
    """Send every ``.eml`` of ``messages`` not sent before, to its list and to each
    subscriber of its recipients file; the ledger records each step for each recipient.

    ``resend``: also those sent or that may have gone out. ``to``: a test copy of each to
    that address (made personal where subscribers get one), recording nothing. ``only``:
    just this subscriber. ``lists``: the lists' own copies, where they differ from
    ``messages``. ``carry``: digests earlier runs left unfinished, sent too (see carry.py).
    ``dry_run``: only say what would be sent. ``pace`` overrides ``smtp.rate``. Raises
    ConfigError (before sending) for what the config or the environment lacks, Busy when
    another send holds the lock, LedgerError when the ledger cannot be written,
    SuppressionError when the suppression list cannot be read (then nothing more is sent).
    """
    require_destinations(settings, to)
    chosen, report = _choose(settings, messages, lists, carry, to, only)
    if carry is not None and not resend:
        _same_message_ids(chosen, carry.marks, report)
    if dry_run:
        _dry_run(settings, chosen, resend, only, to, report)
        return report
    signing = unsubscribe_secret(settings, os.environ) if _signs(settings, chosen, to) else b""
    ledger = None if to is not None else ledger_for(settings)
    courier = _courier(settings, now, ledger, report, retry, pace)
    if ledger is None:  # a test copy: the ledger is neither read nor written
        _deliver(courier, _test_copies(settings, chosen.digests, signing, report), report)
        return report
    with lock.hold_file(settings.state_folder / LOCK_NAME, busy=_busy):
        met: list[tuple[Digest, State]] = []  # copies an earlier run left unsaid, said now
        run = replace(_run(settings, ledger, chosen, resend, only), reported=met.append)
        courier.unwanted = subscribers.left(run, report.tally)
        book = _book(ledger, chosen, carry, now, only)
        _deliver(courier, book.watch(_copies(settings, chosen, run, signing, report)), report)
        _close(settings, ledger, book, run, chosen, report, [*met, *courier.outcome.said()])
        report.warnings.extend(compaction.compact(ledger, now))
    return report


def _close(settings: Settings, ledger: Ledger, book: Book, run: Run, chosen: Selection,
           report: SendReport, said: list[tuple[Digest, State]]) -> None:
    """Now that the run reports them, record ``said`` (copies that may have gone out, or
    refused) ``uncertain`` or ``refused``, so later runs do not say it again; then mark
    finished each due digest with nothing left to send."""
    try:
        for digest, state in said:
            ledger.record(digest.key, state, book.now, digest.path)
        book.close(lambda due: unfinished(settings, ledger, chosen.digests,
                                          chosen.mailings, run.suppressed, due))
    except (LedgerError, SuppressionError) as exc:  # what the run found (a refusal) and sent
        raise type(exc)(str(exc), [str(p) for p in report.problems], report.summary()) from None


def _choose(settings: Settings, messages: Iterable[Output], lists: Iterable[Output] | None,
            carry: Carry | None, to: str | None,
            only: str | None) -> tuple[Selection, SendReport]:
    """The run's selection, with the digests carried over, and its report so far."""
    extra = carry or Carry({})
    chosen = select(settings, chain(messages, extra.outputs), to, only,
                    {m.path: m.data for m in chain(lists or (), extra.lists)})
    report = SendReport(warnings=chosen.warnings + [warning for _, warning in extra.dropped],
                        carried={output.path for output in extra.outputs})
    require_files(settings, chosen.mailings)
    _require_subscriber(chosen, only)
    return chosen, report


def _same_message_ids(chosen: Selection, marks: Mapping[str, Marked],
                      report: SendReport) -> None:
    """Leave out each digest that earlier runs marked under another Message-ID (made from
    site.url): its copies' records are under that one, so every recipient would get it
    again. One still due is left out with a warning; one finished, quietly."""
    def same(path: str, message_id: str) -> bool:
        if (marked := marks.get(path)) is None or marked.message_id == message_id:
            return True
        if marked.mark is not Mark.DUE:
            return False  # finished (or given up) under that one: nothing to say each run
        lang, week = Path(path).parent.name, Path(path).stem
        warning = (f"{lang} {week}: not sent: the ledger knows it as {marked.message_id}, "
                   f"and it is now {message_id} (site.url changed?), so every recipient "
                   f"would get it again; to send it anyway, run: sfb-feeds send --resend "
                   f"--week {week} --lang {lang}")
        if warning not in report.warnings:  # a list's copy and subscribers' of one digest
            report.warnings.append(warning)
        return False
    chosen.digests = [d for d in chosen.digests if same(d.path, d.message_id)]
    chosen.mailings = [m for m in chosen.mailings if same(m.path, _message_id(m.data))]


def _book(ledger: Ledger, chosen: Selection, carry: Carry | None, now: datetime,
          only: str | None) -> Book:
    """The run's marks of each digest, the dropped ones recorded; none with --recipient (one
    copy says nothing of the others)."""
    ids = {digest.path: digest.message_id for digest in chosen.digests}
    ids.update((mailing.path, _message_id(mailing.data)) for mailing in chosen.mailings)
    extra = carry if carry is not None else Carry(ledger.marks())
    book = Book(None if only is not None else ledger, now, dict(extra.marks), ids)
    book.open(path for path, _ in extra.dropped)
    return book


def _courier(settings: Settings, now: datetime, ledger: Ledger | None, report: SendReport,
             retry: Retry | None, pace: Pace | None) -> Courier:
    """The run's courier, recording in ``ledger`` (None: nowhere)."""
    secret = password(settings, os.environ)
    return Courier(lambda: mailer.connect(settings.smtp, secret),
                   parseaddr(settings.digests.sender)[1], ledger, now,
                   retry or Retry.from_environment(), pace or Pace(settings.smtp.rate),
                   on_sent=report.count_sent)


def _signs(settings: Settings, chosen: Selection, to: str | None) -> bool:
    """Whether a message of this run gets a signed unsubscribe link."""
    if to is None:
        return bool(chosen.mailings)
    return any(digest.lang in settings.digests.recipients for digest in chosen.digests)


def _run(settings: Settings, ledger: Ledger, chosen: Selection, resend: bool,
         only: str | None) -> Run:
    paths = {d.path for d in chosen.digests} | {m.path for m in chosen.mailings}
    suppressed = SuppressionList(settings.state_folder if chosen.mailings else None)
    suppressed.refresh()  # unreadable: stop before anything is sent
    return Run(states=ledger.states(paths), suppressed=suppressed, resend=resend,
               ledger=ledger.path, only=only)


def _copies(settings: Settings, chosen: Selection, run: Run, secret: bytes,
            report: SendReport) -> Iterator[Digest]:
    """The lists' digests still due, then the subscribers' copies of each mailing (a stream:
    each subscriber is checked as their copy is asked for)."""
    to_lists = list(_due(run, chosen.digests, report))
    streams = [_stream(settings, mailing, run, secret, report) for mailing in chosen.mailings]
    return chain(to_lists, *streams)


def _stream(settings: Settings, mailing: Mailing, run: Run, secret: bytes,
            report: SendReport) -> Iterator[Digest]:
    """The subscribers' copies still to send, each built when the courier asks for it (none
    is built without ``secret``: a dry run); a problem when they cannot be made."""
    try:
        made = Personaliser.parse(mailing.data, settings.digests.unsubscribe, secret,
                                  mailing.lang)
    except PersonaliseError as exc:
        report.problems.append(Problem(f"{mailing.label} to {display_path(mailing.recipients)}",
                                       f"not sent to any subscriber: {exc}"))
        return iter(())
    copies = subscribers.copies(mailing, made, run, report.tally(mailing.label), report.warnings,
                                report.problems)
    due = _due(run, copies, report)
    return (made.copy_for(digest) for digest in due) if secret else due


def _test_copies(settings: Settings, digests: list[Digest], secret: bytes,
                 report: SendReport) -> list[Digest]:
    """``--to`` copies, made personal for that address where subscribers get theirs (checked
    only, without ``secret``: a dry run); a problem for each that cannot be, as in a run."""
    copies = []
    for digest in digests:
        if digest.lang not in settings.digests.recipients:
            copies.append(digest)
            continue
        try:
            made = Personaliser.parse(digest.data, settings.digests.unsubscribe, secret,
                                      digest.lang)
        except PersonaliseError as exc:
            report.problems.append(Problem(digest.where(), f"test copy not sent: {exc}"))
            continue
        copies.append(made.copy_for(digest) if secret else digest)
    return copies


def _dry_run(settings: Settings, chosen: Selection, resend: bool, only: str | None,
             to: str | None, report: SendReport) -> None:
    report.warnings.extend(setup_warnings(settings, (), os.environ))  # copies() adds bad lines
    run = _run(settings, ledger_for(settings), chosen, resend, only)
    report.would_send = (_test_copies(settings, chosen.digests, b"", report) if to
                         else list(_due(run, chosen.digests, report)))
    for mailing in chosen.mailings:
        would = sum(1 for _ in _stream(settings, mailing, run, b"", report))
        if mailing.label in report.subscribers:  # not when the copies cannot be made
            report.subscribers[mailing.label].would_send = would


def _require_subscriber(chosen: Selection, only: str | None) -> None:
    """UsageError unless ``only`` (if given) is a selected digest's list or subscribes to
    its file."""
    if only is None or not chosen.emls or any(_bare(d.recipient) == only
                                              for d in chosen.digests):
        return
    if any(_subscribes(mailing, only) for mailing in chosen.mailings):
        return
    files = ", ".join(sorted({display_path(m.recipients) for m in chosen.mailings})) or "none"
    raise UsageError(f"--recipient: {only} is in no recipients file of the selected digests "
                     f"(digests.recipients: {files}); nothing was sent")


def _subscribes(mailing: Mailing, address: str) -> bool:
    return any(isinstance(item, Recipient) and item.address == address
               for item in read_recipients(mailing.recipients, ""))


def _deliver(courier: Courier, digests: Iterable[Digest], report: SendReport) -> None:
    try:
        outcome = courier.deliver_all(digests)
    except (LedgerError, SuppressionError) as exc:  # what the run found before still needs
        # saying (a refusal), and what it sent
        raise type(exc)(str(exc), [str(p) for p in chain(report.problems,
                                                         courier.outcome.problems)],
                        report.summary()) from None
    report.problems.extend(outcome.problems)
    for label, left in sorted(outcome.left.items()):
        report.problems.append(Problem(label, f"{counted(left, 'subscriber')} not sent "
                                       f"({outcome.gave_up}); left for the next run"))


def _due(run: Run, digests: Iterable[Digest], report: SendReport) -> Iterator[Digest]:
    """The digests to send now; the others go in ``report`` (already sent, or a problem)."""
    for digest in digests:
        state = lookup(run.states, digest.key, digest.path)
        if run.resend or state not in DONE:
            yield digest
        elif state is State.SENT:
            report.count_already(digest)
        elif state in (State.SENDING, State.REFUSING):  # (said once: then quiet)
            sending = state is State.SENDING
            report.problems.append((doubtful if sending else refused_unsaid)(digest, run.ledger))
            if run.reported is not None:
                run.reported((digest, State.UNCERTAIN if sending else State.REFUSED))


def _busy(path: Path, waited: float) -> Busy:
    pid = lock.holder_pid(path)
    who = f" (process {pid})" if pid is not None else ""
    return Busy(f"{display_path(path)}: another sfb-feeds send{who} holds this lock; gave "
                f"up after waiting {waited:g} s. Nothing was sent. If this happens often, "
                f"sends overlap: schedule them further apart.")
