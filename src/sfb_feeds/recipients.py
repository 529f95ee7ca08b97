"""Subscribers' addresses from a recipients file, streamed one at a time.

The file's two forms and the address rules: README, "Sending to subscribers one by one".
Addresses are ASCII because ``smtplib`` speaks no SMTPUTF8; duplicates are found through a
set of 16-byte hashes, the domain's case ignored (RFC 5321 leaves the local part's).
"""

from __future__ import annotations

import csv
import hashlib
import os
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
    return f"{parsed.username}@{parsed.domain.lower()}"


_NOT_AN_ADDRESS = "is not an email address (local@domain)"
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
        return "has characters outside ASCII (write the domain in its xn-- form)"
    bad = sorted({"spaces" if char.isspace() else char for char in text
                  if char in _FORBIDDEN or char.isspace()})
    if bad:
        return f"must be a bare address (local@domain), without {' '.join(bad)}"
    if len(text) > MAX_ADDRESS:
        return f"is longer than {MAX_ADDRESS} characters"
    return None


_UNCLOSED = "has a quote that is not closed on its line"
_SHOWN = 80  # characters of a skipped line a warning quotes


def _lines(path: Path, shown: str, problems: list[Problem]) -> Iterator[tuple[int, str]]:
    """(line number, text with its line ending) of each line that is not blank or a comment;
    a Problem in ``problems`` for each line that is not UTF-8. OSError if the file changes
    while it is read but for lines added at its end (rewritten in place: what follows is
    part of neither version)."""
    with path.open("rb") as file:
        watch = _Watch(file.fileno())
        for number, raw in enumerate(file, 1):
            watch.check()
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(shown, "is not UTF-8 text; line skipped", number))
                continue
            if text.strip() and not text.lstrip().startswith("#"):
                yield number, text
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


def _email_column(text: str) -> int | None:
    """The index of the ``email`` column if ``text`` is a CSV header row naming one."""
    try:
        header = [cell.strip().lower() for cell in next(csv.reader([text.strip()]), [])]
    except csv.Error:  # a line break inside: no header
        return None
    return header.index("email") if "email" in header else None


def _cells(text: str) -> list[str]:
    """The cells of one line read as one CSV record; ValueError if it is not one. A quoted
    field never spans lines: a line whose quote is left open (or closes one left open above:
    an odd number of quotes) is refused alone, so no part of such a record (a header
    injection) is mailed and the lines after it are read as usual."""
    if not _LINE_BREAKS.isdisjoint(text):
        raise ValueError(_BROKEN)
    if text.count('"') % 2:
        raise ValueError(_UNCLOSED)
    try:
        return next(csv.reader([text], strict=True), [])
    except csv.Error:  # a quote opened after a stray one, text after a closing quote
        raise ValueError(_UNCLOSED) from None


def _address(text: str, column: int | None) -> str:
    """The address of a line (with its line ending): the whole line (``column`` None) or
    that column of the CSV record; ValueError if none."""
    if column is None:
        return check_address(text.strip())
    cells = _cells(text.removesuffix("\n").removesuffix("\r"))
    if column >= len(cells):
        raise ValueError(f"has no email column (column {column + 1})")
    return check_address(cells[column].strip())


def _entries(lines: Iterator[tuple[int, str]]) -> tuple[int | None, Iterator[tuple[int, str]]]:
    """The ``email`` column (None for a plain list) and the lines after the header."""
    first = next(lines, None)
    column = None if first is None else _email_column(first[1])
    if column is not None or first is None:
        return column, lines
    return None, chain([first], lines)


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
    problems: list[Problem] = []
    column, records = _entries(_lines(path, shown, problems))
    for number, text in records:
        yield from problems
        problems.clear()
        try:
            address = _address(text, column)
        except ValueError as exc:
            yield Problem(shown, f"{_shown(text)} {exc}; line skipped", number)
            continue
        key = hashlib.blake2b(address.encode("ascii"), digest_size=16).digest()
        if key not in seen:
            seen.add(key)
            yield Recipient(address, number)
    yield from problems
