"""The subscribers' copies of a digest, as a stream for the courier.

Each copy is built just before it is handed over and dropped after: nothing grows with the
number of subscribers but the reader's set of hashes and this week's ledger records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .delivery import Digest
from .errors import Problem, display_path
from .ledger import Key, State
from .personalise import Personaliser
from .recipients import Recipient, read_recipients
from .suppression import SuppressionList


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
    """What a run knows when it decides who is still due a digest."""

    states: dict[Key, State]
    suppressed: SuppressionList  # as it stands when each copy is chosen
    resend: bool
    ledger: Path
    only: str | None = None  # --recipient: this subscriber alone
    # Records that a copy found "may have gone out" (or refused) by an earlier run, which
    # did not say so, has been reported, and its state then (None: a dry run).
    reported: Callable[[tuple[Digest, State]], None] | None = None


def copies(mailing: Mailing, personaliser: Personaliser, run: Run, tally: Tally,
           warnings: list[str], problems: list[Problem]) -> Iterator[Digest]:
    """The copy of each subscriber of ``mailing`` not unsubscribed (counted in ``tally``
    otherwise), not built yet: only its key; bad lines of the file go to ``warnings``, a
    file that cannot be read to the end to ``problems``. Each subscriber is checked against
    the suppression list as it is when the caller asks for their copy."""
    shown = display_path(mailing.recipients)
    for recipient in _read(mailing, shown, problems):
        if isinstance(recipient, Problem):
            warnings.append(str(recipient))
        elif run.only is not None and recipient.address != run.only:
            continue  # --recipient names someone else
        elif run.suppressed.suppresses(mailing.lang, recipient.address):
            tally.suppressed += 1
        else:
            # An address that unsubscribed but for letter case is mailed (RFC 5321 lets
            # local parts differ by case: ``Ann@`` and ``ann@`` may be two mailboxes), but
            # an operator who typed the wrong case should know.
            found = run.suppressed.same_but_case(mailing.lang, recipient.address)
            if found is not None:
                warnings.append(str(Problem(
                    shown, f"{recipient.address} is mailed, though {found} (the same but for "
                    "letter case) unsubscribed; if they are one person, run: sfb-feeds "
                    f"unsubscribe {recipient.address}", recipient.line)))
            yield Digest(path=mailing.path, lang=mailing.lang, week=mailing.week,
                         recipient=recipient.address, data=b"", subscriber=True,
                         message_id=personaliser.message_id(recipient.address))


def left(run: Run, tally: Callable[[str], Tally]) -> Callable[[Digest], bool]:
    """Whether a subscriber's copy, chosen earlier, is to be skipped now that it is about
    to go: its address is on the suppression list as it is now (then counted in the
    ``tally`` of its digest's label as unsubscribed)."""
    def unwanted(digest: Digest) -> bool:
        if not digest.subscriber or not run.suppressed.suppresses(digest.lang, digest.recipient):
            return False
        tally(digest.label).suppressed += 1
        return True
    return unwanted


def _read(mailing: Mailing, shown: str, problems: list[Problem]) -> Iterator[Recipient | Problem]:
    """The lines of ``mailing``'s recipients file; one that fails to be read to the end (it
    changed while read, an I/O error) ends with a problem: the rest wait for the next run."""
    line = 0
    try:
        for item in read_recipients(mailing.recipients, shown):
            line = item.line or line
            yield item
    except OSError as exc:
        which = f"the subscribers after line {line}" if line else "any subscriber"
        problems.append(Problem(f"{mailing.label} to {shown}", f"not sent to {which}: cannot "
                                f"read {shown}: {exc.strerror or exc}; they are left for the "
                                "next run"))
