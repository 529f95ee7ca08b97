"""The subscribers' copies of a digest, as a stream for the courier.

A digest whose language has a recipients file (``digests.recipients.<lang>``) goes to each
subscriber in the file's order: addresses that asked to leave (the suppression list) are
skipped and counted, those the ledger records as sent (or as "may have gone out") are not
built at all, and each other copy is built (:mod:`personalise`) just before it is handed
to the courier and dropped after. Nothing grows with the number of subscribers but the
recipients reader's set of hashes and the ledger's records for this week.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .delivery import Digest, resend_hint
from .errors import Problem
from .ledger import DONE, REFUSED, Key, State, lookup
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
    refused: int = 0  # refused (5xx) in an earlier run: reported then, not tried again
    doubtful: int = 0  # may have gone out in an earlier run: not sent again


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
        elif state in REFUSED:
            tally.refused += 1
        elif state is State.SENT:
            tally.already += 1
        else:
            tally.doubtful += 1
            problems.append(_doubtful(mailing, recipient, run.ledger))


def copies(mailing: Mailing, personaliser: Personaliser,
           recipients: Iterator[Recipient]) -> Iterator[Digest]:
    """Each recipient's own message, built when the courier asks for it."""
    for recipient in recipients:
        address = recipient.address
        yield Digest(path=mailing.path, lang=mailing.lang, week=mailing.week,
                     recipient=address, message_id=personaliser.message_id(address),
                     data=personaliser.build(address), subscriber=True)


def file_problems(path: Path) -> Iterator[Problem]:
    """The bad lines of a recipients file; OSError when it cannot be read."""
    for item in read_recipients(path, display_path(path)):
        if isinstance(item, Problem):
            yield item


def count(path: Path) -> int:
    """How many distinct valid addresses the recipients file holds."""
    return sum(1 for item in read_recipients(path, display_path(path))
               if isinstance(item, Recipient))


def _doubtful(mailing: Mailing, recipient: Recipient, ledger: Path) -> Problem:
    digest = Digest(path=mailing.path, lang=mailing.lang, week=mailing.week,
                    recipient=recipient.address, message_id="", data=b"", subscriber=True)
    return Problem(digest.where(), (
        "may have gone out in an earlier run (its connection broke, or the run died, while "
        "the server had it), so it is not sent again automatically. To send it again, run "
        f"{resend_hint(digest)} (ledger: {ledger})"))
