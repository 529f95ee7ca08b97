"""The suppression list: addresses that asked to get no more digests, kept in the state folder.

``<state>/suppressed.jsonl`` is append-only JSON lines, one entry a line::

    {"address": "Ann@example.org", "at": "2026-12-05T09:30:00Z", "lang": "pl", "source": "page"}

``lang`` is a canonical BCP 47 tag, or ``*`` for every language. Entries are appended as
the ledger's are (:func:`sfb_feeds.ledger.append_line`); a torn line is skipped on reading.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path

from .errors import SfbError, display_path
from .language import canonical_tag
from .ledger import append_line
from .recipients import MAX_ADDRESS

ALL_LANGUAGES = "*"

Suppressed = set[tuple[str, str]]


class SuppressionError(SfbError):
    """The suppression list could not be written or read (full disk, permissions)."""


def normalise_address(address: str) -> str:
    """``address`` stripped, its domain lower-cased, its local part as written (RFC 5321
    leaves its case to the receiving host: ``Ann@`` and ``ann@`` may be two mailboxes);
    ValueError for anything that is not ``local@domain`` on one line."""
    value = address.strip()
    local, at, domain = value.rpartition("@")
    if (not at or not local or "." not in domain.strip(".") or len(value) > MAX_ADDRESS
            or any(c.isspace() or ord(c) < 32 or c in "<>" for c in value)):
        raise ValueError(f"{address!r} is not an email address (local@domain)")
    return f"{local}@{domain.lower()}"


def normalise_lang(lang: str) -> str:
    """The canonical BCP 47 tag (``pt-br`` -> ``pt-BR``), or ``*``; ValueError otherwise."""
    if lang == ALL_LANGUAGES:
        return lang
    tag = canonical_tag(lang)
    if tag is None:
        raise ValueError(f"{lang!r} is not a BCP 47 language tag")
    return tag


def suppressed_path(state_dir: Path) -> Path:
    return state_dir / "suppressed.jsonl"


def suppress(state_dir: Path, lang: str, address: str, source: str,
             *, at: datetime | None = None) -> None:
    """Append ``(lang, address)`` (``lang`` may be ``*``) and flush it to disk, unless the
    list (read under the writers' lock) already suppresses it, for ``lang`` or for ``*``:
    a replayed link adds nothing. ``source`` says where the request came from
    (``one-click``, ``page``, ``cli``...). ValueError for a bad address or language;
    SuppressionError if the list could not be read or the line written whole."""
    moment = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    row = {"lang": normalise_lang(lang), "address": normalise_address(address),
           "at": moment.isoformat().replace("+00:00", "Z"), "source": source}
    path = suppressed_path(state_dir)
    try:
        append_line(path, row, unless=lambda: _listed(path, row["lang"], row["address"]))
    except OSError as exc:
        raise SuppressionError(f"{path}: cannot add to the suppression list: "
                               f"{exc.strerror or exc}") from None


def _listed(path: Path, lang: str, address: str) -> bool:
    """Whether the list at ``path`` already suppresses the normalised ``address`` for the
    canonical ``lang`` or for every language (one pass, stopping at the first match)."""
    wanted = {(lang, address), (ALL_LANGUAGES, address)}
    with path.open("rb") as file:
        return any(_entry(raw) in wanted for raw in file)


def load_suppressed(state_dir: Path) -> Suppressed:
    """Every suppressed ``(lang, address)`` pair, in one pass over the file; torn and
    malformed lines are skipped. SuppressionError if the file is there but cannot be read
    (sending without it would mail addresses that unsubscribed)."""
    path = suppressed_path(state_dir)
    try:
        with contextlib.suppress(FileNotFoundError), path.open("rb") as file:
            return set(filter(None, map(_entry, file)))
    except OSError as exc:
        raise SuppressionError(f"{display_path(path)}: cannot read the suppression list: "
                               f"{exc.strerror or exc}; nothing was sent (without it, addresses "
                               "that unsubscribed would be mailed: fix it, then run send "
                               "again)") from None
    return set()


def _entry(raw: bytes) -> tuple[str, str] | None:
    """The ``(lang, address)`` of one line; None for a torn or malformed one."""
    if not raw.endswith(b"\n"):
        return None  # torn: the next append ends it, and it stays unreadable
    try:
        row = json.loads(raw)
        return normalise_lang(row["lang"]), normalise_address(row["address"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def is_suppressed(suppressed: Suppressed, lang: str, address: str) -> bool:
    """Whether ``address`` asked to leave ``lang``'s digests, or every language's (not if it
    cannot be normalised: callers check recipients first)."""
    try:
        key = normalise_address(address)
        tag = normalise_lang(lang)
    except ValueError:
        return False
    return (tag, key) in suppressed or (ALL_LANGUAGES, key) in suppressed
