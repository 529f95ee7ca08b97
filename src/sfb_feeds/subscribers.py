"""The subscribers' copies of a digest, as a stream for the courier.

Each copy is built just before it is handed over and dropped after: nothing grows with the
number of subscribers but the reader's set of hashes and this week's ledger records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .delivery import Digest, doubtful
from .errors import Problem
from .ledger import DONE, Key, State, lookup
from .loader import display_path
from .personalise import Personaliser
from .recipients import Recipient, read_recipients
from .suppression import Suppressed, is_suppressed


@dataclass(slots=True)
class Tally:
    """What happened to one digest's subscribers in a run."""

    sent: int = 0
    already: int = 0  # sent by an earlier run
    would_send: int = 0  # --dry-run
    suppressed: int = 0  # unsubscribed: never mailed


@dataclass(frozen=True, slots=True, kw_only=True)
class Mailing:
    """One digest for the subscribers listed in ``recipients``."""

    path: str  # digests/<lang>/<week>.eml
    lang: str
    week: str
    data: bytes  # the digest's .eml
    recipients: Path

    @property
    def label(self) -> str:
        return f"{self.lang} {self.week}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """What a run knows while it walks through a recipients file."""

    states: dict[Key, State]
    suppressed: Suppressed
    resend: bool
    ledger: Path
    only: str | None = None  # --recipient: this subscriber alone


def pending(mailing: Mailing, personaliser: Personaliser, run: Run, tally: Tally,
            problems: list[Problem], warnings: list[str]) -> Iterator[Recipient]:
    """The recipients still to be sent ``mailing``; the others are counted in ``tally``
    (or, when they may have gone out, added to ``problems``); bad lines of the file go to
    ``warnings``."""
    for recipient in read_recipients(mailing.recipients, display_path(mailing.recipients)):
        if isinstance(recipient, Problem):
            warnings.append(str(recipient))
            continue
        if run.only is not None and recipient.address != run.only:
            continue
        if is_suppressed(run.suppressed, mailing.lang, recipient.address):
            tally.suppressed += 1
            continue
        key = (personaliser.message_id(recipient.address), recipient.address)
        state = lookup(run.states, key)
        if run.resend or state not in DONE:
            yield recipient
        elif state is State.SENT:
            tally.already += 1
        elif state is State.SENDING:  # a refusal was reported by its own run
            problems.append(doubtful(_copy(mailing, recipient.address, b""), run.ledger))


def copies(mailing: Mailing, personaliser: Personaliser,
           recipients: Iterator[Recipient]) -> Iterator[Digest]:
    """Each recipient's own message, built when the courier asks for it."""
    for recipient in recipients:
        yield _copy(mailing, recipient.address, personaliser.build(recipient.address),
                    personaliser.message_id(recipient.address))


def _copy(mailing: Mailing, address: str, data: bytes, message_id: str = "") -> Digest:
    return Digest(path=mailing.path, lang=mailing.lang, week=mailing.week, recipient=address,
                  message_id=message_id, data=data, subscriber=True)


def file_problems(path: Path) -> Iterator[Problem]:
    """The bad lines of a recipients file; OSError when it cannot be read."""
    for item in read_recipients(path, display_path(path)):
        if isinstance(item, Problem):
            yield item


