"""The send ledger: which digest messages went out, so each is sent once and only once.

An append-only JSON-lines file outside the output and cache folders, one record per line,
keyed by (Message-ID, recipient address) so that a message sent to several recipients
keeps one history per recipient. ``sending`` is written and flushed to disk once the
server has accepted the ``DATA`` command, just before the message itself is handed over;
``sent`` after the server accepted the message; ``refused`` after a ``5xx`` (certainly not
delivered); ``deferred`` after a ``4xx`` to the message (certainly not delivered). A
``sending`` record with nothing after it means the run lost the connection or died while
the server held the message: it may or may not have gone out, so it is never re-sent
automatically (at most once beats twice).

Each record is one complete line written with one ``os.write`` and fsync'd. A line torn
by a crash or a full disk is ignored when reading, and the next record starts with a
newline so that it is never glued to the torn one.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path

from .errors import SfbError

ANY_RECIPIENT = "*"  # records written before recipients were recorded (format 1)


class State(Enum):
    SENDING = "sending"
    SENT = "sent"
    REFUSED = "refused"
    DEFERRED = "deferred"
    FAILED = "failed"  # format 1's name for refused


REFUSED = (State.REFUSED, State.FAILED)
DONE = (State.SENT, State.SENDING, *REFUSED)  # not sent again without --resend


class LedgerError(SfbError):
    """The ledger cannot be read or written (full disk, I/O error): nothing more is sent."""


Key = tuple[str, str]  # (Message-ID, recipient address)


@dataclass(frozen=True, slots=True)
class Ledger:
    path: Path

    def states(self, digests: Collection[str] | None = None) -> dict[Key, State]:
        """The last recorded state of each (Message-ID, recipient), in one pass.

        ``digests``: keep only the records of these digest paths (``digests/pl/2015-W36.eml``),
        so a run reads years of history but holds only what it is about to send; a line that
        does not contain one of the paths is skipped before it is parsed.
        """
        result: dict[Key, State] = {}
        wanted = None if digests is None else {
            d: json.dumps(d, ensure_ascii=False).encode("utf-8") for d in digests}
        try:
            with self.path.open("rb") as file:
                for line in file:
                    if wanted is not None and not _mentions(line, wanted.values()):
                        continue
                    row = _parse(line, wanted)
                    if row is not None:
                        result[row[0]] = row[1]
        except FileNotFoundError:
            return result
        except OSError as exc:
            raise LedgerError(f"{self.path}: cannot read the send ledger: "
                              f"{exc.strerror or exc}") from None
        return result

    def record(self, key: Key, state: State, at: datetime, digest: str) -> None:
        """Append one complete line and flush it to disk; LedgerError if that fails."""
        message_id, recipient = key
        row = {"message_id": message_id, "recipient": recipient, "state": state.value,
               "at": at.isoformat(), "digest": digest}
        line = (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise self._error(exc) from None
        try:
            _append(fd, line)
            os.fsync(fd)
        except OSError as exc:
            raise self._error(exc) from None
        finally:
            os.close(fd)

    def _error(self, exc: OSError) -> LedgerError:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.ENOSPC:
            reason = "no space left on the device"
        return LedgerError(f"{self.path}: cannot write the send ledger: {reason}; nothing more "
                           "was sent (free space or fix the folder, then run send again)")


def lookup(states: dict[Key, State], key: Key) -> State | None:
    """The state of ``key``, counting format-1 records (no recipient) for every recipient."""
    return states.get(key) or states.get((key[0], ANY_RECIPIENT))


def _mentions(line: bytes, paths: Iterable[bytes]) -> bool:
    return any(path in line for path in paths)


def _parse(line: bytes, wanted: Mapping[str, bytes] | None) -> tuple[Key, State] | None:
    if not line.strip():
        return None
    try:
        row = json.loads(line)
        if wanted is not None and row["digest"] not in wanted:
            return None
        key = (str(row["message_id"]), str(row.get("recipient", ANY_RECIPIENT)))
        return key, State(row["state"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a torn line from a crash or a full disk: the records around it count


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _append(fd: int, line: bytes) -> None:
    """Write ``line`` in one call, after a newline if the file ends with a torn line.

    A short write leaves a torn line: it is repaired the same way and the line written
    again once; a second short write is reported as a full disk.
    """
    for _ in range(2):
        data = line if _ends_with_newline(fd) else b"\n" + line
        if os.write(fd, data) == len(data):
            return
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
