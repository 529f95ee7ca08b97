"""The send ledger: JSON lines keyed by (Message-ID, recipient), so each is sent once only.

A ``sending`` record with nothing after it may have gone out: it is never re-sent
automatically (at most once beats twice). States and their moments: README, "The ledger".
Lines with the recipient ``""`` are about a digest as a whole, not a copy (:class:`Mark`:
which digests later runs carry over); reading the copies' states skips them, as the code
before them did (a state it does not know). A digest settled long ago has its lines
compacted (compaction.py): a ``"*"`` line marked ``compacted`` then stands for every copy
of it without a line of its own (:func:`lookup`).

A line is a record only once it ends with its newline: a full disk can cut a line just before
it, and such a line (a ``sending`` the run could not record, so never handed over) must not
become a record when the next append ends it: it is ended with :data:`TORN_END` instead.
"""

from __future__ import annotations

import errno
import fcntl
import json
import mmap
import os
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from enum import Enum
from pathlib import Path
from typing import BinaryIO, NamedTuple

from .durable import fsync_path
from .errors import RunStopped, display_path
from .model import Settings

ANY_RECIPIENT = "*"  # records written before recipients were recorded (format 1)
DIGEST = ""  # the recipient of a mark: the digest as a whole
_MARK_LINE = b'"recipient": ""'  # how a mark's line shows it, found before parsing
COMPACTED = "compacted"  # a mark line's field, true: its digest's lines were compacted
TORN_END = b" (torn)\n"  # ends a torn line: no JSON text, whole or cut, reads on through it


class State(Enum):
    SENDING = "sending"
    SENT = "sent"
    REFUSED = "refused"
    REFUSING = "refusing"  # refused, and no run has said so yet (one killed first)
    # refused after its recipient was accepted, and no run has decided yet whether that was
    # the message's fault (3 in a row, delivery.Refusals) or the recipient's: not delivered,
    # so tried again by the next run (one killed first), which then decides
    UNDECIDED = "undecided"
    DEFERRED = "deferred"
    UNCERTAIN = "uncertain"  # may have gone out, and a run said so: not said again
    FAILED = "failed"  # format 1's name for refused


class Mark(Enum):
    """Where a digest stands as a whole (see carry.py)."""

    DUE = "due"  # a run selected it: runs without --week carry it over until it is finished
    FINISHED = "finished"  # none of its copies is left to send
    DROPPED = "dropped"  # carried over too long (or no longer built): no longer carried


class Marked(NamedTuple):
    mark: Mark
    message_id: str  # the digest's own


# not again without --resend
DONE = (State.SENT, State.SENDING, State.UNCERTAIN, State.REFUSING, State.REFUSED, State.FAILED)


def ledger_for(settings: Settings) -> Ledger:
    """The site's send ledger, ``<state>/sent.jsonl``."""
    return Ledger(settings.state_folder / "sent.jsonl")


class LedgerError(RunStopped):
    """The ledger cannot be read or written (full disk, I/O error): nothing more is sent."""


Key = tuple[str, str]  # (Message-ID, recipient address)


@dataclass(frozen=True, slots=True)
class Ledger:
    path: Path

    def states(self, digests: Collection[str] | None = None) -> dict[Key, State]:
        """The last recorded state of each (Message-ID, recipient), in one pass; with
        ``digests`` (paths), only theirs, so a run reads years of history but holds only what
        it sends (a line without one of the paths is skipped before it is parsed)."""
        wanted = None if digests is None else {
            d: json.dumps(d, ensure_ascii=False).encode("utf-8") for d in digests}
        try:
            with self.path.open("rb") as file:
                found = dict(filter(None, (_parse(line, wanted) for line in file)))
                if not found:
                    file.seek(0)
                    _require_records(file, self.path)
                return found
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise LedgerError(f"{display_path(self.path)}: cannot read the send ledger: "
                              f"{exc.strerror or exc}") from None

    def marks(self) -> dict[str, Marked]:
        """The last mark of each digest (by path) that has one, in one pass."""
        return {path: marked for path, (marked, _, _) in self.mark_lines().items()}

    def mark_lines(self) -> dict[str, tuple[Marked, bool, datetime | None]]:
        """The last mark of each digest (by path), whether that line says its copies' lines
        were compacted (:data:`COMPACTED`; see compaction.py), and its time (None: none
        that can be read).

        Marks are a few lines a week among a copy's two for each recipient, so they are
        found by searching the bytes, not line by line: 0.1 s instead of 0.7 s for a
        208 MiB ledger (52 weeks of 10,000 subscribers)."""
        try:
            with self.path.open("rb") as file:
                if os.fstat(file.fileno()).st_size == 0:
                    return {}
                with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
                    return dict(filter(None, map(_parse_mark, _lines_with(data, _MARK_LINE))))
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise LedgerError(f"{display_path(self.path)}: cannot read the send ledger: "
                              f"{exc.strerror or exc}") from None

    def mark(self, digest: str, marked: Marked, at: datetime) -> None:
        """Record ``marked`` for the digest at path ``digest``; LedgerError if that fails."""
        self.record((marked.message_id, DIGEST), marked.mark, at, digest)

    def record(self, key: Key, state: State | Mark, at: datetime, digest: str) -> None:
        """Append one complete line and flush it to disk; LedgerError if that fails."""
        message_id, recipient = key
        row = {"message_id": message_id, "recipient": recipient, "state": state.value,
               "at": at.isoformat(), "digest": digest}
        try:
            append_line(self.path, row, tries=2)
        except OSError as exc:
            reason = ("no space left on the device" if exc.errno == errno.ENOSPC
                      else exc.strerror or str(exc))
            raise LedgerError(f"{display_path(self.path)}: cannot write the send ledger: "
                              f"{reason}; nothing more was sent (free space or fix the folder, "
                              "then run send again)") from None


def recipient_key(address: str) -> str:
    """How the ledger knows a recipient: the bare address, its domain lower-cased, so that a
    list's display name or the case of its domain (free to change in the config between
    runs) does not make it someone new; the local part's case is kept (RFC 5321)."""
    if any(sign in address for sign in '<( "'):
        address = parseaddr(address)[1] or address
    local, at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}" if at else address


def lookup(states: dict[Key, State], key: Key, digest: str) -> State | None:
    """The state of ``key``, a copy of the digest at path ``digest``: its own record, else a
    format-1 record (no recipient) of its Message-ID, else the record that stands for every
    copy of a compacted digest (see compaction.py)."""
    return (states.get(key) or states.get((key[0], ANY_RECIPIENT))
            or states.get((digest, ANY_RECIPIENT)))


def _parse(line: bytes, wanted: Mapping[str, bytes] | None) -> tuple[Key, State] | None:
    if _passed_over(line, wanted):
        return None
    try:
        row = json.loads(line)
        if wanted is not None and row["digest"] not in wanted:
            return None
        recipient = str(row.get("recipient", ANY_RECIPIENT))
        if recipient == ANY_RECIPIENT and row.get(COMPACTED) is True:  # every copy of it
            return (str(row["digest"]), ANY_RECIPIENT), State(row["state"])
        return (str(row["message_id"]), recipient_key(recipient)), State(row["state"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a torn line from a crash or a full disk: the records around it count


def _passed_over(line: bytes, wanted: Mapping[str, bytes] | None) -> bool:
    """Whether ``line`` is torn (no newline yet), blank, or not about the digests wanted
    (found before parsing)."""
    return not line.endswith(b"\n") or not line.strip() or (
        wanted is not None and not any(p in line for p in wanted.values()))


def _require_records(file: BinaryIO, path: Path) -> None:
    """LedgerError if ``file`` has lines but not one record (a copy's or a mark), and some
    line no crash could have left of one: another program's file, or zeroed blocks. Read
    as a ledger, it would say that nothing was sent, and every copy would go again. A line
    torn by a crash (a record's start, ``{``, cut short) is no such line."""
    foreign = 0
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except ValueError:
            torn = line.startswith(b"{")
        else:
            if _parse(line, None) is not None or _parse_mark(line) is not None:
                return
            torn = not line.endswith(b"\n")  # a whole record still waiting for its newline
        foreign = foreign or (0 if torn else number)
    if foreign:
        raise LedgerError(
            f"{display_path(path)}: not a send ledger: line {foreign} is no record sfb-feeds "
            "writes, and no line is; nothing was sent (read as a ledger, it would send every "
            "digest again to everyone: put the real ledger back, or move this file away if "
            "no digest was ever sent from this state folder)")


def _time(at: object) -> datetime | None:
    """A line's ``at``, if it is a time with its offset."""
    try:
        moment = datetime.fromisoformat(str(at))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _lines_with(data: mmap.mmap, needle: bytes) -> Iterator[bytes]:
    """Each whole line of ``data`` (ended by its newline) that holds ``needle``, in order."""
    found = data.find(needle)
    while found != -1:
        end = data.find(b"\n", found)
        if end == -1:
            return  # the last line, torn
        yield data[data.rfind(b"\n", 0, found) + 1:end]
        found = data.find(needle, end)


def _parse_mark(line: bytes) -> tuple[str, tuple[Marked, bool, datetime | None]] | None:
    try:
        row = json.loads(line)
        if row["recipient"] != DIGEST:
            return None
        marked = Marked(Mark(row["state"]), str(row["message_id"]))
        return str(row["digest"]), (marked, row.get(COMPACTED) is True, _time(row.get("at")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # torn, or not a mark after all


def open_locked(path: Path, flags: int) -> int:
    """``path`` opened for reading and writing (with ``flags``), under an ``flock``: the file
    the name holds once the lock is had. A file replaced by a rename while this waited for
    the lock (a compacted ledger) is let go and the new one opened, so that no line goes to
    a file no one will read again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | flags, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            held = os.fstat(fd)
            named = os.stat(path)
        except FileNotFoundError:  # renamed away, nothing put in its place (yet)
            named = None
        except BaseException:
            os.close(fd)
            raise
        if named is not None and (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino):
            return fd
        os.close(fd)


def append_line(path: Path, row: Mapping[str, str], tries: int = 1,
                *, unless: Callable[[], bool] | None = None) -> None:
    """Append ``row`` as one JSON line written in one call and flushed to disk. Under an
    ``flock``, a torn last line (a crash, a full disk, a short write) is ended with a newline
    first (:data:`TORN_END`: even one cut just before its newline stays no record), so it
    never swallows this one; ``tries`` short writes raise ENOSPC. If
    ``unless`` is given and, asked under the lock, returns True, nothing is written."""
    line = (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = open_locked(path, os.O_APPEND | os.O_CREAT)
    try:
        if unless is not None and unless():
            return
        for tried in range(1, tries + 1):
            size = os.fstat(fd).st_size
            data = line if size == 0 or os.pread(fd, 1, size - 1) == b"\n" else TORN_END + line
            written = os.write(fd, data)
            if written == len(data):
                break
            if tried == tries:  # the torn line is ended by the next append
                raise OSError(errno.ENOSPC, f"short write ({written} of {len(data)} bytes)")
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    if size == 0 and tried == 1:
        fsync_path(str(path.parent))  # a new file's name must survive a crash too
