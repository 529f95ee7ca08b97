"""Deliver a run's digests over one SMTP connection at a time, reconnecting when it breaks.

How each failure :mod:`mailer` classifies is retried, recorded and reported: README,
"What is known about each message is what is said".
"""

from __future__ import annotations

import shlex
import smtplib
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import environment, mailer
from .errors import Problem, counted
from .ledger import Ledger, LedgerError, State, recipient_key
from .stopping import HELD, releasing


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    """One digest message for one recipient."""

    path: str  # digests/<lang>/<week>.eml
    lang: str
    week: str
    recipient: str
    message_id: str
    data: bytes
    subscriber: bool = False  # a subscriber's own copy (recipients file), not a list's
    # A list's copy in a language with subscribers too: its bare address, which --resend
    # needs with --recipient to send it alone (without, every subscriber gets it again).
    alone_as: str = ""

    @property
    def label(self) -> str:
        return f"{self.lang} {self.week}"

    @property
    def key(self) -> tuple[str, str]:
        return (self.message_id, recipient_key(self.recipient))

    def where(self) -> str:
        return f"{self.label} to {self.recipient}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How hard a run tries; ``sleep`` and ``delays`` are injectable (tests use no delay)."""

    attempts: int = 3  # tries of one message in a run (4xx, 421, connection lost)
    reconnects: int = 3  # failed connections in a row before the run gives up
    deferrals: int = 5  # messages in a row not sent after every try, before it gives up
    delays: tuple[float, ...] = (2.0, 10.0)  # before the 2nd, 3rd... try (the last repeats)
    sleep: Callable[[float], None] = time.sleep

    def pause(self, tries: int) -> None:
        """Wait before try number ``tries + 1`` (``tries`` ≥ 1)."""
        self.sleep(self.delays[min(tries, len(self.delays)) - 1])

    @classmethod
    def from_environment(cls) -> Retry:
        """The default, with every delay ``$SFB_FEEDS_SEND_BACKOFF`` seconds when set (a
        wrong value: environment.BadEnvironment)."""
        delay = environment.seconds(environment.BACKOFF_ENV)
        return cls() if delay is None else cls(delays=(delay,))


@dataclass(slots=True)
class Pace:
    """At most ``rate`` messages a second (None: no pacing); ``clock`` and ``sleep`` are
    injectable (tests use a clock that only ``sleep`` moves)."""

    rate: float | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next: float | None = None

    def wait(self) -> None:
        """Return when the next message may start; each call takes one slot."""
        if not self.rate:
            return
        now = self.clock()
        if self._next is not None and now < self._next:
            self.sleep(self._next - now)
            now = max(self.clock(), self._next)
        self._next = now + 1.0 / self.rate


@dataclass(slots=True)
class Outcome:
    problems: list[Problem] = field(default_factory=list)
    left: Counter[str] = field(default_factory=Counter)  # subscribers' copies per digest label
    gave_up: str = ""  # why the run stopped connecting (and left the rest untried)
    # Copies reported "may have gone out": recorded `uncertain` by the caller once the run
    # is over, so a run killed (or stopped by the ledger) before saying so leaves `sending`.
    uncertain: list[Digest] = field(default_factory=list)
    refused: list[Digest] = field(default_factory=list)  # so too: `refusing` until then

    def refusal(self, digest: Digest, reason: str, ledger: Path | None) -> Problem:
        """Report ``digest`` refused (recorded in ``ledger``, if any); its problem."""
        where = f"; {_skipped(digest, ledger)}" if ledger else ""
        problem = Problem(digest.where(), f"refused by the mail server ({reason}){where}")
        self.problems.append(problem)
        if ledger is not None:
            self.refused.append(digest)
        return problem

    def unknown(self, digest: Digest, reason: str, ledger: Path | None) -> None:
        """Report that ``digest`` may have gone out (recorded in ``ledger``, if any)."""
        self.problems.append(Problem(digest.where(), f"may have gone out: {reason}; "
                                     f"{_not_again(digest, ledger)}"))
        if ledger is not None:
            self.uncertain.append(digest)

    def withdraw(self, copies: list[tuple[Digest, Problem]]) -> None:
        """Take back the refusals of ``copies`` and their problems: the relay refused their
        message (see Refusals)."""
        keys = {digest.key for digest, _ in copies}
        problems = [problem for _, problem in copies]
        self.refused = [digest for digest in self.refused if digest.key not in keys]
        self.problems = [problem for problem in self.problems if problem not in problems]

    def said(self) -> list[tuple[Digest, State]]:
        """The copies the run reported, each with the state that records it was said."""
        return [*((digest, State.UNCERTAIN) for digest in self.uncertain),
                *((digest, State.REFUSED) for digest in self.refused)]


def _stopped_by(exc: mailer.SenderRefused) -> str:
    """Why a run stopped at a ``5xx`` to ``MAIL FROM``."""
    if isinstance(exc, mailer.TooLarge):
        return f"{exc}, so the run stopped"
    return f"{exc}: the server turned down the sender, so the run stopped"


def doubtful(digest: Digest, ledger: Path) -> Problem:
    """The problem of a copy that may have gone out in an earlier run."""
    return Problem(digest.where(), "may have gone out in an earlier run (its connection broke, "
                   "the run died, or the ledger could not record it, while the server had it), "
                   f"so {_not_again(digest, ledger)}")


def _not_again(digest: Digest, ledger: Path | None) -> str:
    """How to send a copy that may have gone out (a subscriber's mailbox is out of reach)."""
    first = "To" if digest.subscriber else "Check the list's archive; to"
    where = f" (ledger: {ledger})" if ledger else ""
    return (f"it is not sent again automatically. {first} send it again, run "
            f"{resend_hint(digest)}{where}")


def refused_unsaid(digest: Digest, ledger: Path) -> Problem:
    """The problem of a copy refused in an earlier run killed before it reported it."""
    return Problem(digest.where(), "refused by the mail server in an earlier run that stopped "
                   f"before it could say so; {_skipped(digest, ledger)}")


def _skipped(digest: Digest, ledger: Path) -> str:
    return (f"recorded as refused in {ledger}: later runs skip it (after a fix, "
            f"{resend_hint(digest)} tries again)")


def resend_hint(digest: Digest) -> str:
    """The command that sends ``digest``'s copy again, as a shell reads it: a local part
    may hold ``'``, ``$``, ``&``, ``|`` or a backquote (quoted, so it is the address)."""
    address = digest.recipient if digest.subscriber else digest.alone_as
    who = f" --recipient {shlex.quote(address)}" if address else ""
    return f"sfb-feeds send --resend --week {digest.week} --lang {digest.lang}{who}"


# Copies of one digest in a row refused after their recipient was accepted (at DATA or the
# message's end) with one reply code, no copy of it taken between: the relay refuses the
# message itself (its size, its content), not those recipients (README, "refuses the
# message itself").
MESSAGE_REFUSALS = 3


@dataclass(slots=True)
class Refusals:
    """The refusals after the recipient of each digest's copies, by path, and the digests
    whose message the relay refuses (no more copies of them are tried in the run)."""

    runs: dict[str, tuple[int, list[tuple[Digest, Problem]]]] = field(default_factory=dict)
    stopped: dict[str, tuple[str, str]] = field(default_factory=dict)  # path: label, reply
    left: Counter[str] = field(default_factory=Counter)  # copies not sent, by path

    def taken(self, digest: Digest) -> None:
        """A copy of ``digest`` was taken: its refusals so far were about their recipients."""
        self.runs.pop(digest.path, None)

    def refused(self, digest: Digest, exc: mailer.Refused,
                problem: Problem) -> list[tuple[Digest, Problem]]:
        """Count ``digest``'s refusal; the copies of the run it completes, refused because
        of the message (none while it is not one)."""
        if not exc.after_recipient:
            return []
        code, copies = self.runs.get(digest.path, (exc.code, []))
        copies = [*copies, (digest, problem)] if code == exc.code else [(digest, problem)]
        self.runs[digest.path] = (exc.code, copies)
        if len(copies) < MESSAGE_REFUSALS:
            return []
        del self.runs[digest.path]
        self.stopped[digest.path] = (digest.label, str(exc))
        self.left[digest.path] += len(copies)
        return copies

    def skips(self, digest: Digest) -> bool:
        """Whether ``digest`` is a copy of a message the relay refuses (then counted)."""
        if digest.path not in self.stopped:
            return False
        self.left[digest.path] += 1
        return True

    def problems(self) -> list[Problem]:
        """One problem for each digest whose message the relay refused."""
        return [Problem(label, f"the relay refused the message itself: {reply}; no copy of it "
                        "was sent in this run after that "
                        f"({counted(self.left[path], 'copy', 'copies')} left for the next "
                        "run); fix the cause and run send again")
                for path, (label, reply) in self.stopped.items()]


@dataclass(slots=True)
class Courier:
    """Delivers digests in order; records each step in ``ledger`` (None: record nothing)."""

    connect: Callable[[], smtplib.SMTP]
    sender: str
    ledger: Ledger | None
    now: datetime
    retry: Retry
    pace: Pace
    on_sent: Callable[[Digest], None]
    unwanted: Callable[[Digest], bool] = lambda digest: False  # asked before each try
    outcome: Outcome = field(init=False, default_factory=Outcome)
    refusals: Refusals = field(init=False, default_factory=Refusals)
    _client: smtplib.SMTP | None = field(init=False, default=None)
    _failed_connects: int = field(init=False, default=0)  # in a row
    _fresh: bool = field(init=False, default=False)  # the connection has carried nothing yet
    _deferred: int = field(init=False, default=0)  # messages in a row left after every try

    def deliver_all(self, digests: Iterable[Digest]) -> Outcome:
        """Deliver ``digests`` in order (a stream: each is dropped once handled)."""
        try:
            for digest in digests:
                if self.refusals.skips(digest):
                    continue
                if not self.outcome.gave_up:  # (a stop held back since `sending`, now)
                    releasing(self._deliver, digest)
                elif digest.subscriber:  # one problem per digest, not per subscriber
                    self.outcome.left[digest.label] += 1
                else:
                    self._pending(digest, self.outcome.gave_up)
            self.outcome.problems.extend(self.refusals.problems())
        finally:
            self._hang_up()
        return self.outcome

    def _deliver(self, digest: Digest) -> None:
        reason = ""
        for tries in range(self.retry.attempts):
            client = self._connected(tries)
            if client is None:
                return self._pending(digest, self.outcome.gave_up)
            if self.unwanted(digest):
                return None
            try:
                self._exchange(client, digest)
            except mailer.Refused as exc:
                return self._refused(digest, exc)
            except mailer.NotSent as exc:
                reason = str(exc)
                if exc.handed_over:  # supersede the `sending` record: the server did not take it
                    self._record(digest, State.DEFERRED)  # (also a TooLarge at the end)
                if isinstance(exc, mailer.SenderRefused):  # no message of this sender or size
                    self.outcome.gave_up = _stopped_by(exc)
                    return self._pending(digest, self.outcome.gave_up)
                continue
            except mailer.Unknown as exc:
                self._client = None
                ledger = self.ledger.path if self.ledger else None
                return self.outcome.unknown(digest, str(exc), ledger)
            self._record(digest, State.SENT)
            self.refusals.taken(digest)
            self.on_sent(digest)
            return None
        return self._deferred_again(digest, reason)

    def _deferred_again(self, digest: Digest, reason: str) -> None:
        """``digest`` not sent after every try: left for the next run, and the run stops
        when ``retry.deferrals`` messages in a row were (the server turns mail away)."""
        self._pending(digest, reason)
        self._deferred += 1
        if self._deferred >= self.retry.deferrals:
            self.outcome.gave_up = (f"{reason}; {self._deferred} messages in a row not sent, "
                                    "so the run stopped")

    def _exchange(self, client: smtplib.SMTP, digest: Digest) -> None:
        """Deliver ``digest`` on ``client``. A ``421`` or a drop hangs up; one before the
        recipient is named, on a fresh connection, counts as a failed connection (README: at
        most 3 in a row); any other end shows the connection works, and a message sent or
        refused ends a run of deferrals."""
        fresh, self._fresh = self._fresh, False
        try:
            mailer.deliver(client, self.sender, digest.recipient, digest.data,
                           lambda: self._record(digest, State.SENDING))
        except mailer.Dropped as exc:
            self._hang_up()
            if fresh and exc.session:
                self._connect_failed(str(exc))
            raise
        except (mailer.Refused, mailer.Unknown):  # the server's last word on it
            self._failed_connects = self._deferred = 0
            raise
        except mailer.NotSent:
            self._failed_connects = 0
            raise
        self._failed_connects = self._deferred = 0

    def _connected(self, tries: int) -> smtplib.SMTP | None:
        """The connection for try ``tries + 1``, after its pause and the pace; None: gave up."""
        if tries and not self.outcome.gave_up:
            self.retry.pause(tries)
        if self._client is not None and not mailer.is_open(self._client):
            self._client = None  # closed by a failure (its RSET): a try needs a new one
        while self._client is None and not self.outcome.gave_up:
            try:
                self._client = self.connect()
                self._fresh = True
            except mailer.ConnectFailed as exc:
                self._connect_failed(str(exc), permanent=exc.permanent)
                if not self.outcome.gave_up:
                    self.retry.pause(self._failed_connects)
        if self._client is not None:
            self.pace.wait()
        return self._client

    def _connect_failed(self, reason: str, *, permanent: bool = False) -> None:
        self._failed_connects += 1
        if permanent or self._failed_connects >= self.retry.reconnects:
            self.outcome.gave_up = reason

    def _hang_up(self) -> None:
        if self._client is not None:
            mailer.close(self._client)
            self._client = None

    def _record(self, digest: Digest, state: State) -> None:
        if self.ledger is None:
            return
        if state is State.SENDING:  # until this copy is dealt with, a stop waits
            HELD.hold()
        try:
            self.ledger.record(digest.key, state, self.now, digest.path)
        except LedgerError as exc:
            if state is State.SENDING:
                raise  # mailer.deliver closes the connection without the final dot
            self._hang_up()
            raise LedgerError(f"{exc} ({digest.where()} was {state.value} but this could not "
                              "be recorded; the next run reports it as 'may have gone out')"
                              ) from None

    def _pending(self, digest: Digest, reason: str) -> None:
        later = "; it is left for the next run" if self.ledger else ""
        self.outcome.problems.append(Problem(digest.where(), f"not sent ({reason}){later}"))

    def _refused(self, digest: Digest, exc: mailer.Refused) -> None:
        self._record(digest, State.UNDECIDED if exc.after_recipient else State.REFUSING)
        problem = self.outcome.refusal(digest, str(exc), self.ledger.path if self.ledger else None)
        if copies := self.refusals.refused(digest, exc, problem):  # the message's fault:
            for copy, _ in copies:  # later runs try them again, and they are said once
                self._record(copy, State.DEFERRED)
            self.outcome.withdraw(copies)
