"""Subscribers' addresses from a recipients file, streamed one at a time.

The file's two forms and the address rules: README, "Sending to subscribers one by one".
Addresses are ASCII because ``smtplib`` speaks no SMTPUTF8; duplicates are found through a
set of 16-byte hashes, the domain's case ignored (RFC 5321 leaves the local part's).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address
from pathlib import Path

from .errors import Problem

MAX_ADDRESS = 254  # RFC 5321's limit on a path, less the angle brackets
_FORBIDDEN = '"<>(),;:\\[]'  # quoting, display names, comments, lists, domain literals
_CONTROL = frozenset(map(chr, [*range(32), 127]))


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


def _problem(text: str) -> str | None:
    """What keeps ``text`` from being a bare ASCII address short enough for SMTP, if anything."""
    if not _CONTROL.isdisjoint(text):
        return "contains a line break or a control character"
    if not text.isascii():
        return "has characters outside ASCII (write the domain in its xn-- form)"
    bad = sorted({"spaces" if char.isspace() else char for char in text
                  if char in _FORBIDDEN or char.isspace()})
    if bad:
        return f"must be a bare address (local@domain), without {' '.join(bad)}"
    if len(text) > MAX_ADDRESS:
        return f"is longer than {MAX_ADDRESS} characters"
    return None


def _lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of each line that is not blank or a comment; None for a line
    that is not UTF-8."""
    with path.open("rb") as file:
        for number, raw in enumerate(file, 1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError:
                yield number, None
                continue
            if text and not text.startswith("#"):
                yield number, text


def _email_column(text: str) -> int | None:
    """The index of the ``email`` column if ``text`` is a CSV header row naming one."""
    header = [cell.strip().lower() for cell in next(csv.reader([text]), [])]
    return header.index("email") if "email" in header else None


def _cell(text: str, column: int) -> str:
    row = next(csv.reader([text]), [])
    if column >= len(row):
        raise ValueError(f"has no email column (column {column + 1})")
    return row[column].strip()


def read_recipients(path: Path, shown: str) -> Iterator[Recipient | Problem]:
    """Each new valid address of the file, in order, and a Problem for each bad line.

    ``shown`` is the file's name in messages. OSError when the file cannot be read.
    """
    seen: set[bytes] = set()
    column: int | None = None
    first = True
    for number, text in _lines(path):
        if text is None:
            yield Problem(shown, "is not UTF-8 text; line skipped", number)
            continue
        if first:
            first = False
            column = _email_column(text)
            if column is not None:
                continue
        try:
            address = check_address(text if column is None else _cell(text, column))
        except ValueError as exc:
            yield Problem(shown, f"{text!r} {exc}; line skipped", number)
            continue
        key = hashlib.blake2b(address.encode("ascii"), digest_size=16).digest()
        if key not in seen:
            seen.add(key)
            yield Recipient(address, number)
