"""Digests a ``send`` run left unfinished, carried over by later runs until they are finished.

``send`` without ``--week`` picks the last complete week; a digest of an earlier week that a
run selected but did not finish (the relay down, 4xx, the run killed) would otherwise never
be sent. So the ledger marks each digest a run selects ``due`` before any copy of it is
handed over, and ``finished`` once none of its copies is left to send; every later run
without ``--week`` adds each digest still due to its own. One carried over more than
``CARRY_WEEKS`` weeks is ``dropped`` instead, with a warning naming the command that sends
it (README, "Weekly digests and sending them").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import PurePosixPath

from . import subscribers
from .delivery import Digest
from .digest.command import show_digest
from .digest.render import personal
from .errors import Problem, UsageError, display_path
from .language import canonical_tag
from .ledger import DONE, Ledger, Mark, Marked, ledger_for, lookup
from .model import Output, Settings, Statement
from .personalise import PersonaliseError, Personaliser
from .site import Site, make_site
from .subscribers import Mailing, Run, Tally
from .suppression import SuppressionList
from .urls import DIGEST_PATH
from .weeks import Week, last_complete_week, parse_week

# A month of runs (hourly from cron) outlasts any outage an operator fixes while each run
# reports it; after that the digest is old news, and a copy still failing is a fault of its
# own (a mailbox that always answers 4xx), which should not fail every run for months.
CARRY_WEEKS = 4


@dataclass(frozen=True, slots=True)
class Carry:
    """What a run takes over from earlier ones: the ledger's marks, the ``.eml`` of each
    digest carried over (and its list's copy where that differs), and the digests dropped
    (path, warning)."""

    marks: dict[str, Marked]
    outputs: list[Output] = field(default_factory=list)
    lists: list[Output] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)


def carried(settings: Settings, statements: Iterable[Statement], now: datetime, *,
            lang: str | None, carrying: bool) -> Carry:
    """The marks, and with ``carrying`` (no --week, no --resend) each digest still due but
    of another week than the last complete one (only ``lang``'s, if given)."""
    marks = ledger_for(settings).marks()
    week = last_complete_week(now, settings)
    wanted = None if lang is None else canonical_tag(lang.strip())
    due = [path for path, marked in sorted(marks.items())
           if carrying and marked.mark is Mark.DUE and PurePosixPath(path).stem != week.label
           and PurePosixPath(path).parent.name == (wanted or PurePosixPath(path).parent.name)]
    carry = Carry(marks)
    sites = _Sites(settings, tuple(statements), now)
    for path in due:
        _take(carry, sites, path, week.first)
    return carry


def _digest_week(path: str, lang: str, label: str, settings: Settings) -> Week | None:
    """The week of the digest at ``path``; None unless ``path`` is spelt exactly as a
    digest's (a mark with another spelling, or of another file, would carry over a digest
    never selected, or one already carried under its own path: sent twice)."""
    try:
        week = parse_week(label, settings)
    except ValueError:
        return None
    if canonical_tag(lang) != lang or path != DIGEST_PATH.format(lang=lang, period=label) + ".eml":
        return None
    return week


@dataclass(slots=True)
class _Sites:
    """The site as built for the digests, and for the lists' copies (each made once, lazily)."""

    settings: Settings
    statements: tuple[Statement, ...]
    now: datetime
    made: dict[bool, Site] = field(default_factory=dict)

    def digest(self, week: str, lang: str, bare: bool = False) -> list[Output]:
        if bare not in self.made:
            settings = self.settings
            if bare:
                settings = replace(settings, digests=replace(settings.digests, unsubscribe=""))
            self.made[bare] = make_site(settings, self.statements, self.now)
        return show_digest(self.made[bare], week, lang, "eml")


def _take(carry: Carry, sites: _Sites, path: str, newest: date) -> None:
    lang, label = PurePosixPath(path).parent.name, PurePosixPath(path).stem
    week = _digest_week(path, lang, label, sites.settings)
    if week is None:  # a hand-edited ledger: said once, then dropped
        ledger = display_path(ledger_for(sites.settings).path)
        carry.dropped.append((path, f"{ledger}: a line marks {path!r} due, which is not a "
                              "digest's path (digests/<lang>/<YYYY-Www>.eml; was the ledger "
                              "edited?); nothing is sent for it, and it is marked dropped"))
        return
    if week.first > newest:
        return  # not over yet (an earlier run's clock was ahead): sent once it is
    if (newest - week.first).days > 7 * CARRY_WEEKS:
        carry.dropped.append((path, f"{lang} {label}: left unfinished by an earlier run "
                              f"and now more than {CARRY_WEEKS} weeks old, so it is no longer "
                              "sent automatically; to send what is left of it, run: sfb-feeds "
                              f"send --week {label} --lang {lang}"))
        return
    try:
        outputs = sites.digest(label, lang)
    except UsageError:  # no published statements in that language any more
        outputs = []
    if not outputs:
        carry.dropped.append((path, f"{lang} {label}: left unfinished by an earlier run, "
                              "but it has no digest any more (no published statements that "
                              "week), so it is not sent"))
        return
    carry.outputs.extend(outputs)
    if personal(sites.settings.digests.unsubscribe):
        carry.lists.extend(sites.digest(label, lang, bare=True))


@dataclass(slots=True)
class Book:
    """The marks a run records (``ledger`` None: none, as in a dry run or with --to or
    --recipient): ``due`` for each digest selected and never marked, or before the first
    copy of one marked otherwise is handed over; ``finished`` at the end for each due digest
    with no copy left; ``dropped`` for each dropped."""

    ledger: Ledger | None
    now: datetime
    marks: dict[str, Marked]
    ids: dict[str, str]  # each selected digest's path -> its Message-ID

    def open(self, dropped: Iterable[str]) -> None:
        for path in self.ids:
            if path not in self.marks:
                self._mark(path, Mark.DUE, self.ids[path])
        for path in dropped:
            self._mark(path, Mark.DROPPED, self.marks[path].message_id)

    def watch(self, digests: Iterable[Digest]) -> Iterator[Digest]:
        """``digests``, each digest marked due (under its Message-ID) before its first copy
        goes."""
        for digest in digests:
            if self.marks.get(digest.path) != Marked(Mark.DUE, self.ids[digest.path]):
                self._mark(digest.path, Mark.DUE, self.ids[digest.path])
            yield digest

    def close(self, unfinished: Callable[[set[str]], set[str]]) -> None:
        """Mark finished each due digest that ``unfinished`` (of the due ones) leaves out."""
        due = {path for path in self.ids
               if path in self.marks and self.marks[path].mark is Mark.DUE}
        if self.ledger is None or not due:
            return
        for path in sorted(due - unfinished(due)):
            self._mark(path, Mark.FINISHED, self.ids[path])

    def _mark(self, path: str, mark: Mark, message_id: str) -> None:
        if self.ledger is not None:
            self.marks[path] = Marked(mark, message_id)
            self.ledger.mark(path, self.marks[path], self.now)


def unfinished(settings: Settings, ledger: Ledger, digests: Iterable[Digest],
               mailings: Iterable[Mailing], suppressed: SuppressionList,
               paths: Collection[str]) -> set[str]:
    """Of ``paths``, the digests with a copy a run would still send (as the ledger is
    now), or whose subscribers could not all be read or made."""
    run = Run(states=ledger.states(paths), suppressed=suppressed, resend=False,
              ledger=ledger.path)
    left = {digest.path for digest in digests
            if digest.path in paths and lookup(run.states, digest.key, digest.path) not in DONE}
    return left | {mailing.path for mailing in mailings
                   if mailing.path in paths and _subscribers_left(settings, mailing, run)}


def _subscribers_left(settings: Settings, mailing: Mailing, run: Run) -> bool:
    try:
        made = Personaliser.parse(mailing.data, settings.digests.unsubscribe, b"", mailing.lang)
    except PersonaliseError:
        return True
    problems: list[Problem] = []
    copies = subscribers.copies(mailing, made, run, Tally(), [], problems)
    return any(lookup(run.states, copy.key, copy.path) not in DONE
               for copy in copies) or bool(problems)
