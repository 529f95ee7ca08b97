"""The suppression list: addresses that asked to get no more digests, kept in the state folder.

``<state>/suppressed.jsonl`` is append-only JSON lines, one entry a line::

    {"address": "Ann@example.org", "at": "2026-12-05T09:30:00Z", "lang": "pl", "source": "page"}

``lang`` is a canonical BCP 47 tag, or ``*`` for every language. Entries are appended as
the ledger's are (:func:`sfb_feeds.ledger.append_line`); a torn line is skipped on reading.
A ``send`` run watches the list as it goes (:class:`SuppressionList`): an address that
unsubscribes while the run mails others gets none of its copies from then on.
"""

from __future__ import annotations

import json
import mmap
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from .errors import RunStopped, display_path
from .language import canonical_tag
from .ledger import append_line
from .recipients import MAX_ADDRESS

ALL_LANGUAGES = "*"
# White space (``\s`` is str.isspace's set), control characters, angle brackets. One search,
# not a test per character: reading 100,000 entries took 0.6 s, 60 % of it in that test.
_NOT_IN_ADDRESS = re.compile(r"[\s\x00-\x1f<>]")

Suppressed = set[tuple[str, str]]


class SuppressionError(RunStopped):
    """The suppression list could not be written or read (full disk, permissions)."""


def normalise_address(address: str) -> str:
    """``address`` stripped, its domain lower-cased, its local part as written (RFC 5321
    leaves its case to the receiving host: ``Ann@`` and ``ann@`` may be two mailboxes);
    ValueError for anything that is not ``local@domain`` on one line."""
    value = address.strip()
    local, at, domain = value.rpartition("@")
    if (not at or not local or "." not in domain.strip(".") or len(value) > MAX_ADDRESS
            or _NOT_IN_ADDRESS.search(value)):
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
    canonical ``lang`` or for every language. Only the lines holding the address's local
    part and its ``@`` (as JSON writes it) are parsed, found by searching the file's bytes:
    with 100,000 entries an unsubscribe took 0.55 s parsing every line, under the lock
    that every other unsubscribe waits for (docs/operations.md). A line that spells the
    address otherwise (``\\u`` escapes) is missed, and the entry added again: harmless,
    as every reader takes the list as a set."""
    wanted = {(lang, address), (ALL_LANGUAGES, address)}
    needle = json.dumps(address.rpartition("@")[0], ensure_ascii=False)[1:-1] + "@"
    with path.open("rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return False
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return any(_entry(line) in wanted for line in _lines_with(data, needle.encode()))


def _lines_with(data: mmap.mmap, needle: bytes) -> Iterable[bytes]:
    """Each line of ``data`` that holds ``needle``, with its newline if it has one."""
    found = data.find(needle)
    while found != -1:
        end = data.find(b"\n", found)
        end = len(data) if end == -1 else end + 1
        yield data[data.rfind(b"\n", 0, found) + 1:end]
        found = data.find(needle, end)


def load_suppressed(state_dir: Path) -> Suppressed:
    """Every suppressed ``(lang, address)`` pair, in one pass over the file; torn and
    malformed lines are skipped. SuppressionError if the file is there but cannot be read
    (sending without it would mail addresses that unsubscribed)."""
    found = SuppressionList(state_dir)
    found.refresh()
    return set(found.entries)


class SuppressionList:
    """The list as it stands at each look: :meth:`refresh` reads only what was appended
    since the last one (the whole file again if it was replaced, or rewritten in place),
    and nothing at all when its size, time and inode are unchanged (one ``stat``). A
    ``send`` run asks before each copy; ``state_dir`` None: a list that suppresses no one
    (a run with no subscribers).

    It never forgets an entry: one taken off the file (an edit) still counts until the next
    run reads the list afresh, so a file caught half-rewritten, emptied or missing for a
    moment suppresses everyone it suppressed before."""

    _TAIL = 64  # bytes before the end of what was read: still there, so only appended to

    def __init__(self, state_dir: Path | None) -> None:
        self.path = None if state_dir is None else suppressed_path(state_dir)
        self._entries: Suppressed = set()
        self._folded: dict[tuple[str, str], str] = {}  # (lang, casefolded): first as listed
        self._stamp: tuple[int, ...] | None = None  # dev, inode, size, mtime of the last look
        self._read = 0  # bytes read: up to the end of the last whole line
        self._tail = b""
        self._looked = False
        self._lines = 0  # whole lines read since the file's start
        self._foreign = 0  # the first line that no writer of the list left (0: none)

    @property
    def entries(self) -> frozenset[tuple[str, str]]:
        """The ``(lang, address)`` pairs as of the last :meth:`refresh`."""
        return frozenset(self._entries)

    def suppresses(self, lang: str, address: str) -> bool:
        """Whether ``address`` is suppressed for ``lang`` now (see :func:`is_suppressed`)."""
        self.refresh()
        return is_suppressed(self._entries, lang, address)

    def same_but_case(self, lang: str, address: str) -> str | None:
        """An address suppressed for ``lang`` (or every language) that differs from
        ``address`` only in letter case, as of the last :meth:`refresh`; None if none."""
        key = address.casefold()
        return self._folded.get((normalise_lang(lang), key)) or self._folded.get(
            (ALL_LANGUAGES, key))

    def refresh(self) -> None:
        """Take in what changed since the last look. SuppressionError if the file is
        there but cannot be read (sending without it would mail addresses that
        unsubscribed): nothing was sent if this was the first look, else nothing more."""
        if self.path is None:
            return
        what = "no more copies were sent to subscribers" if self._looked else "nothing was sent"
        try:
            self._look(self.path)
        except OSError as exc:
            raise SuppressionError(
                f"{display_path(self.path)}: cannot read the suppression list: "
                f"{exc.strerror or exc}; {what} (without it, addresses that unsubscribed "
                "would be mailed: fix it, then run send again)") from None
        if self._foreign and not self._entries:  # zeroed by a crash, another program's
            raise SuppressionError(
                f"{display_path(self.path)}: not a suppression list: line {self._foreign} is "
                f"no entry sfb-feeds writes, and no line is; {what} (read as the list, it "
                "would mail everyone who unsubscribed: put the real list back, or move this "
                "file away if no one ever unsubscribed)")
        self._looked = True

    def _look(self, path: Path) -> None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return self._restart()
        if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == self._stamp:
            return None
        try:
            with path.open("rb") as file:
                return self._take_in(file)
        except FileNotFoundError:
            return self._restart()

    def _take_in(self, file: BinaryIO) -> None:
        """Read ``file`` from where the last look stopped (from its start if it is not the
        file read then, only appended to), line by line, up to its last whole line."""
        st = os.fstat(file.fileno())
        if not self._appended(file.fileno(), st):
            self._restart()
        file.seek(self._read)
        for line in file:
            if not line.endswith(b"\n"):
                self._note(line, self._lines + 1)
                break  # torn: read again once it is ended (a full read skips it until then)
            self._lines += 1
            self._add(line)
            self._read += len(line)
        self._tail = os.pread(file.fileno(), min(self._read, self._TAIL),
                              self._read - min(self._read, self._TAIL))
        self._stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _appended(self, fd: int, st: os.stat_result) -> bool:
        """Whether the file open as ``fd`` is the one read last time, only appended to."""
        if self._stamp is None or self._stamp[:2] != (st.st_dev, st.st_ino):
            return False
        start = self._read - len(self._tail)
        return st.st_size >= self._read and os.pread(fd, len(self._tail), start) == self._tail

    def _add(self, line: bytes) -> None:
        entry = _entry(line)
        if entry is None:
            self._note(line, self._lines)
        elif entry not in self._entries:
            self._entries.add(entry)
            self._folded.setdefault((entry[0], entry[1].casefold()), entry[1])

    def _note(self, line: bytes, number: int) -> None:
        """Remember ``line`` (not an entry) if no writer of the list could have left it:
        not blank, and not an entry cut short by a crash (those start with ``{``)."""
        if self._foreign or not line.strip():
            return
        try:
            json.loads(line)
        except ValueError:
            if line.startswith(b"{"):
                return
        if _entry(line.rstrip(b"\n") + b"\n") is None:  # (one whole but for its newline)
            self._foreign = number

    def _restart(self) -> None:
        """Read the file from its start at the next look (the entries are kept)."""
        self._stamp, self._read, self._tail, self._lines = None, 0, b"", 0


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
