"""The one family of user-fixable errors; the CLI turns them into messages and exit codes."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_SEND_FAILED = 4
EXIT_BUG = 70  # EX_SOFTWARE (sysexits.h): an internal error, not the user's input

# What a message must never carry raw: C0 and C1 controls (ESC starts terminal sequences,
# CR and LF forge lines), line and paragraph separators, and the bidi controls that
# reorder what follows them on a terminal.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f"
                          "\u202a-\u202e\u2066-\u2069]")


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def display_path(path: str | Path, here: str | None = None) -> str:
    """``path`` as the user should see it: relative to the working folder (``here``, found
    when not given) when inside it."""
    text = str(path)
    inside = (os.getcwd() if here is None else here).rstrip(os.sep) + os.sep
    if text.startswith(inside) and os.path.normpath(text) == text:
        # what relpath gives, without its cost: 0.05 s against 0.68 s for 100,000 files
        return text[len(inside):]
    relative = os.path.relpath(path)
    return text if relative.startswith("..") else relative


def printable(text: str) -> str:
    """``text`` with those characters written as ``\\xNN``/``\\uNNNN``."""
    return _UNPRINTABLE.sub(_escape_one, text)


def counted(count: int, noun: str, plural: str = "") -> str:
    """``1 record``, ``2 records``: a count and an English noun that agrees with it, for the
    CLI's own (English) messages. The digests' translated plurals go through i18n.py."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: ``PATH:LINE: record N: FIELD: message`` (parts that
    do not apply left out)."""

    path: str
    message: str
    line: int | None = None
    record: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [printable(self.path) + ("" if self.line is None else f":{self.line}"),
                 None if self.record is None else f"record {self.record}",
                 None if self.field is None else printable(self.field), printable(self.message)]
        return ": ".join(part for part in parts if part is not None)


class SfbError(Exception):
    """An error the user can fix; carries the process exit code."""

    exit_code = EXIT_INVALID

    def messages(self) -> list[str]:
        return [str(self)]

    def details(self) -> list[str]:
        """Lines that go on from the messages (a listing), shown as they are, indented:
        not errors of their own."""
        return []


class RunStopped(SfbError):
    """A ``send`` run stopped part way by a file it cannot read or write (the ledger, the
    suppression list). ``earlier``: what the run had to report before it stopped, said
    first; ``done``: what it had sent by then (its summary, not printed otherwise)."""

    def __init__(self, message: str, earlier: Sequence[str] = (), done: str = "") -> None:
        super().__init__(message)
        self.earlier = tuple(earlier)
        self.done = done

    def messages(self) -> list[str]:
        return [*self.earlier, str(self)]

    def details(self) -> list[str]:
        return [f"  before it stopped, this run: {self.done}"] if self.done else []


class Problems(SfbError):
    """Several problems found together, each reported on its own line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


class InvalidInput(Problems):
    """One or more records or config values are wrong; every problem is listed."""


class ConfigError(InvalidInput):
    """The site configuration is wrong."""


class UsageError(SfbError):
    """The command line asks for something that cannot be done."""

    exit_code = EXIT_USAGE


class Busy(SfbError):
    """Another run holds the lock on the output folder."""

    exit_code = EXIT_BUSY
