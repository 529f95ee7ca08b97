"""Subscribers' addresses from a recipients file, streamed one at a time.

The file's two forms and the address rules: README, "Sending to subscribers one by one".
Addresses are ASCII because ``smtplib`` speaks no SMTPUTF8; duplicates are found through a
set of 16-byte hashes, the domain's case ignored (RFC 5321 leaves the local part's).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from email.utils import getaddresses
from itertools import chain
from pathlib import Path

from .errors import Problem

MAX_ADDRESS = 254  # RFC 5321's limit on a path, less the angle brackets
_FORBIDDEN = '"<>(),;:\\[]'  # quoting, display names, comments, lists, domain literals
_CONTROL = frozenset(map(chr, [*range(32), 127]))
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")  # str.splitlines's
_BROKEN = "contains a line break or a control character"
# A local part outside ASCII needs SMTPUTF8 (RFC 6531) of every mail system on the way,
# and smtplib's client offers none; a domain has its ASCII (xn--) form to write instead.
_LOCAL_WIDE = ("has characters outside ASCII before its @, which only mail systems with "
               "SMTPUTF8 (RFC 6531) deliver to, and send speaks only ASCII addresses")
_DOMAIN_WIDE = "has characters outside ASCII in its domain (write it in its xn-- form)"


@dataclass(frozen=True, slots=True)
class Recipient:
    """One subscriber's address (domain lower-cased) and where the file gives it."""

    address: str
    line: int


def check_address(text: str) -> str:
    """``text`` as a bare ``local@domain`` with the domain lower-cased; ValueError saying
    what is wrong otherwise."""
    if problem := _problem(text):
        raise ValueError(problem)
    try:
        parsed = Address(addr_spec=text)
    except (ValueError, IndexError, HeaderParseError, MessageDefect):
        raise ValueError(_NOT_AN_ADDRESS) from None
    if parsed.addr_spec != text or not parsed.username or "." not in parsed.domain.strip("."):
        raise ValueError(_NOT_AN_ADDRESS)
    labels = parsed.domain.split(".")
    if not all(map(_LABEL.fullmatch, labels)) or labels[-1].isdigit():
        raise ValueError(_NOT_A_HOST)
    return f"{parsed.username}@{parsed.domain.lower()}"


_NOT_AN_ADDRESS = "is not an email address (local@domain)"
# A domain's labels as a mail server takes them (Postfix refuses any other at RCPT with
# "501 5.1.3 Bad recipient address syntax", so the subscriber could never be mailed):
# RFC 1035's letters, digits and hyphens, with the underscore Postfix allows too.
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_NOT_A_HOST = ("has a domain that is not a host name (labels of letters, digits, hyphens and "
               "underscores, at most 63 characters each, none starting or ending with a "
               "hyphen; the last not all digits)")
_ONE = "give one address (local@domain, or Name <local@domain>)"
_C1 = frozenset(map(chr, range(0x80, 0xA0)))


def check_one_address(text: str) -> str:
    """``text`` as one address, ``local@domain`` or ``Name <local@domain>`` (``--to``): the
    bare address, checked as ``check_address`` does; ValueError saying what is wrong."""
    if not (_CONTROL | _C1 | _LINE_BREAKS).isdisjoint(text):
        raise ValueError(f"{_BROKEN}; {_ONE}")
    found = getaddresses([text])
    if len(found) != 1:
        raise ValueError(f"is several addresses; {_ONE}")
    return check_address(found[0][1])


def _problem(text: str) -> str | None:
    """What keeps ``text`` from being a bare ASCII address short enough for SMTP, if anything."""
    if not _CONTROL.isdisjoint(text):
        return _BROKEN
    if not text.isascii():
        return _LOCAL_WIDE if not text.rpartition("@")[0].isascii() else _DOMAIN_WIDE
    bad = sorted({"spaces" if char.isspace() else char for char in text
                  if char in _FORBIDDEN or char.isspace()})
    if bad:
        return f"must be a bare address (local@domain), without {' '.join(bad)}"
    if len(text) > MAX_ADDRESS:
        return f"is longer than {MAX_ADDRESS} characters"
    return None


RECORD_LINES = 100  # lines a quoted CSV field may span; a quote open longer is a stray one
_UNCLOSED = f"has a quote that is not closed within {RECORD_LINES} lines"
_MISQUOTED = 'has a quote out of place (inside a quoted field, a quote is written "")'
_SHOWN = 80  # characters of a skipped line a warning quotes


def _lines(path: Path, shown: str, problems: list[Problem]) -> Iterator[tuple[int, str]]:
    """(line number, text with its line ending) of each line; a Problem in ``problems``
    for each line that is not UTF-8 (and it is skipped). OSError if the file changes while
    it is read but for lines added at its end (rewritten in place: what follows is part of
    neither version)."""
    with path.open("rb") as file:
        watch = _Watch(file.fileno())
        for number, raw in enumerate(file, 1):
            watch.check()
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(shown, "is not UTF-8 text; line skipped", number))
        watch.check()  # the end may be a truncation's, before the new text is written


class _Watch:
    """Whether an open file still begins with the bytes it had when it was opened."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.version = _version(fd)
        self.size = self.version[0]
        self.digest = _prefix(fd, self.size)

    def check(self) -> None:
        """Return if the file is as it was, or only longer; OSError otherwise."""
        now = _version(self.fd)
        if now == self.version:
            return
        if now[0] < self.size or _prefix(self.fd, self.size) != self.digest:
            raise OSError("it changed while it was being read (write the new file under "
                          "another name, then rename it into place)")
        self.version = now  # lines were added at the end: they are read in turn


def _version(fd: int) -> tuple[int, int, int]:
    """What changes when the open file's bytes do."""
    st = os.fstat(fd)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _prefix(fd: int, size: int) -> bytes:
    """A hash of the first ``size`` bytes of the file, read in pieces."""
    digest, offset = hashlib.blake2b(digest_size=16), 0
    while offset < size and (piece := os.pread(fd, min(1 << 16, size - offset), offset)):
        digest.update(piece)
        offset += len(piece)
    return digest.digest()


def _skipped(text: str) -> bool:
    """Whether a line (that does not continue a quoted field) is blank or a comment."""
    return not text.strip() or text.lstrip().startswith("#")


def _email_column(text: str) -> int | None:
    """The index of the ``email`` column if ``text`` is a CSV header row naming one."""
    try:
        header = [cell.strip().lower() for cell in next(csv.reader([text.strip()]), [])]
    except csv.Error:  # a line break inside: no header
        return None
    return header.index("email") if "email" in header else None


@dataclass(frozen=True, slots=True)
class _Record:
    """The lines of one entry: one line, or a CSV record whose quoted fields span lines."""

    lines: list[tuple[int, str]]

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.lines)

    def where(self) -> str:
        first, last = self.lines[0][0], self.lines[-1][0]
        return "line skipped" if first == last else f"lines {first}-{last} skipped"


def _csv_records(lines: Iterator[tuple[int, str]]) -> Iterator[_Record]:
    """The CSV records of ``lines``, blank and comment lines left out. A record goes on
    while a quote is open (an odd number of quotes so far); a quote still open after
    RECORD_LINES lines, or at the end of the file, is taken for a stray one: its line is a
    record alone (refused), and the lines after it are read again, one by one."""
    again: deque[tuple[int, str]] = deque()
    while (first := again.popleft() if again else next(lines, None)) is not None:
        record, quotes = [first], first[1].count('"')
        if _skipped(first[1]):
            continue
        while quotes % 2 and len(record) < RECORD_LINES and (
                line := again.popleft() if again else next(lines, None)) is not None:
            record.append(line)
            quotes += line[1].count('"')
        if quotes % 2:
            again.extendleft(reversed(record[1:]))
            del record[1:]
        yield _Record(record)


def _cells(record: _Record) -> list[str]:
    """The cells of a CSV record; ValueError if it is not one (a stray quote, text after a
    closing quote, a carriage return outside quotes)."""
    text = record.text
    if text.count('"') % 2:
        raise ValueError(_UNCLOSED)
    try:
        return next(csv.reader([line for _, line in record.lines], strict=True), [])
    except csv.Error:
        raise ValueError(_BROKEN if "\r" in text.rstrip("\r\n") else _MISQUOTED) from None


def _address(record: _Record, column: int | None) -> str:
    """The address of an entry: the whole line (``column`` None) or that column of the CSV
    record; ValueError if none. (A cell with a line break, a header injection, is refused
    by ``check_address``.)"""
    if column is None:
        return check_address(record.text.strip())
    cells = _cells(record)
    if column >= len(cells):
        raise ValueError(f"has no email column (column {column + 1})")
    if not _LINE_BREAKS.isdisjoint(cells[column]):
        raise ValueError(_BROKEN)
    return check_address(cells[column].strip())


def _entries(lines: Iterator[tuple[int, str]]) -> tuple[int | None, Iterator[_Record]]:
    """The ``email`` column (None for a plain list) and the entries after the header."""
    first = next((line for line in lines if not _skipped(line[1])), None)
    column = None if first is None else _email_column(first[1])
    if column is not None:
        return column, _csv_records(lines)
    rest = lines if first is None else chain([first], lines)
    return None, (_Record([line]) for line in rest if not _skipped(line[1]))


def _shown(text: str) -> str:
    """``text`` stripped and cut to ``_SHOWN`` characters, quoted, for a warning."""
    text = text.strip()
    return repr(text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…")


def read_recipients(path: Path, shown: str) -> Iterator[Recipient | Problem]:
    """Each new valid address of the file, in order, and a Problem for each bad line (a
    CSV line with a line break in a field or a quote left open is bad: a header injection).

    ``shown`` is the file's name in messages. OSError when the file cannot be read.
    """
    seen: set[bytes] = set()
    folded: set[bytes] = set()  # each address in lower case, to name one differing only so
    problems: list[Problem] = []
    column, records = _entries(_lines(path, shown, problems))
    for record in records:
        yield from problems
        problems.clear()
        number = record.lines[0][0]
        try:
            address = _address(record, column)
        except ValueError as exc:
            yield Problem(shown, f"{_shown(record.text)} {exc}; {record.where()}", number)
            continue
        key = _key(address)
        if key not in seen:
            seen.add(key)
            yield Recipient(address, number)
            if (lower := _key(address.lower())) in folded:  # (the same address: not here)
                yield Problem(shown, f"{_shown(address)} differs from an earlier line's "
                              "address only in letter case: both are mailed (a mail server "
                              "may tell them apart); if they are one subscriber, remove one "
                              "line", number)
            folded.add(lower)
    yield from problems


def _key(address: str) -> bytes:
    return hashlib.blake2b(address.encode("ascii"), digest_size=16).digest()
