"""Keep the send ledger bounded: old digests' lines folded into what stops them going twice.

Each copy of a digest leaves two lines (``sending``, ``sent``): 10,000 subscribers add
about 4 MB a week, which every ``send`` would read for ever. Once a digest is settled (its
last mark ``finished`` or ``dropped``) and that mark is more than :data:`KEEP_WEEKS` weeks
old, ``send`` rewrites its lines, under the send lock, as:

- ``finished``: one line, recipient ``"*"``, state ``sent``, ``"compacted": true``, under
  its own Message-ID, that :func:`ledger.lookup` counts for every copy of that digest
  without a line of its own; it stands for each copy of that Message-ID (the list's, and
  the subscribers' derived from it) that is ``sent``, ``uncertain``, ``refused`` or
  ``failed`` (none goes again without ``--resend``). A copy whose last line is
  ``sending`` or ``refusing`` (not reported yet), ``undecided`` or ``deferred`` (not
  sent), or that is
  under another Message-ID (before ``site.url`` changed), keeps its last line, so it is
  reported, or sent, as before;
- ``dropped``: each copy's last line only (its earlier ones say nothing more), so that
  ``send --week`` still sends what was left of it to those who did not have it;
- then its last mark, with ``"compacted": true``: later runs know there is nothing more
  to fold until a run marks that digest again.

Digests without a mark (written before marks existed), lines that cannot be read (torn) and
everything else are copied as they are. The new ledger is written beside the old one,
flushed to disk and renamed over it, holding the ``flock`` that appends take (they reopen a
ledger replaced while they waited): a kill at any moment leaves the old ledger or the new
one, whole. README, "The ledger"; docs/operations.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from .durable import fsync_path, temp_name, unlink
from .errors import display_path
from .ledger import (
    ANY_RECIPIENT,
    COMPACTED,
    DIGEST,
    TORN_END,
    Ledger,
    Mark,
    Marked,
    State,
    open_locked,
    recipient_key,
)

# Each copy's own lines are kept two months after its digest was settled: longer than the 4
# weeks a digest is carried over (carry.CARRY_WEEKS), and long enough to answer "did this
# subscriber get last month's digest?" from the ledger. At 10,000 subscribers, about 9
# weeks of 4 MB.
KEEP_WEEKS = 8

FOLDED = (State.SENT, State.UNCERTAIN, State.REFUSED, State.FAILED)  # into "*": never again
_DIGEST_FIELD = b'"digest": "'  # how the tool writes a line's digest (json.dumps, sorted)


@dataclass(slots=True)
class _Digest:
    """What a compaction keeps of one digest: its last mark, whether copies were folded
    into its "*" line, and the last line of each copy that keeps one (by its key)."""

    mark: dict[str, Any] | None = None
    folded: bool = False
    kept: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def clash(self, own: str) -> bool:
        """Whether a format-1 record of its own Message-ID, not folded, would stand for the
        copies folded (a "*" record ``deferred``, say): then nothing is folded."""
        return self.folded and (own, ANY_RECIPIENT) in self.kept


def compact(ledger: Ledger, now: datetime) -> list[str]:
    """Compact ``ledger`` if a digest is due for it (see the module); its warnings (none
    when done, or when nothing was due; one when it could not be written, the ledger left
    as it was). Call it holding the send lock."""
    due = compactable(ledger, now)
    if not due:
        return []
    try:
        rewrite(ledger, due)
    except OSError as exc:
        where = display_path(exc.filename) if exc.filename else display_path(ledger.path)
        return [f"{display_path(ledger.path)}: could not compact the send ledger ({where}: "
                f"{exc.strerror or exc}); it is left as it was, and the next run tries again"]
    return []


def compactable(ledger: Ledger, now: datetime) -> dict[str, Marked]:
    """The digests (path: last mark) whose lines a compaction would fold now: settled more
    than KEEP_WEEKS weeks before ``now`` (their last mark's time), and not compacted since."""
    due: dict[str, Marked] = {}
    for path, (marked, compacted, at) in ledger.mark_lines().items():
        if not compacted and marked.mark in (Mark.FINISHED, Mark.DROPPED) and at is not None \
                and now - at > timedelta(weeks=KEEP_WEEKS):
            due[path] = marked
    return due


def rewrite(ledger: Ledger, due: Mapping[str, Marked]) -> None:
    """Fold the lines of the digests ``due`` (see the module): read the ledger, write the
    new one beside it, flush it and rename it over the old one, holding the ledger's
    ``flock``. OSError if that fails (the ledger then is as it was)."""
    wanted = {json.dumps(path, ensure_ascii=False)[1:-1].encode("utf-8"): path for path in due}
    fd = open_locked(ledger.path, 0)
    try:
        with os.fdopen(os.dup(fd), "rb") as old:
            digests = _kept_of(old, wanted, due)
            if digests is None:
                return  # a mark changed since it was read: left for the next run
            temp = temp_name(str(ledger.path))
            try:
                _write(old, temp, wanted, digests, os.fstat(fd).st_mode & 0o7777)
                os.replace(temp, ledger.path)
            except BaseException:
                unlink(temp)
                raise
        fsync_path(str(ledger.path.parent))
    finally:
        os.close(fd)  # releases the lock


def _kept_of(old: BinaryIO, wanted: Mapping[bytes, str],
             due: Mapping[str, Marked]) -> dict[str, _Digest] | None:
    """What is kept of each digest due; None if one's last mark is no longer the one
    ``due`` has. A digest whose folding would clash (:meth:`_Digest.clash`) is read again
    with each copy's last line kept, as a dropped one is."""
    fold = {path: marked.message_id for path, marked in due.items()
            if marked.mark is Mark.FINISHED}
    while True:
        old.seek(0)
        digests = _read(old, wanted, fold)
        if any(_changed(digest, due[path]) for path, digest in digests.items()):
            return None
        clash = _clashing(digests, fold)
        if not clash:
            old.seek(0)
            return digests
        fold = {path: own for path, own in fold.items() if path not in clash}


def _clashing(digests: Mapping[str, _Digest], fold: Mapping[str, str]) -> set[str]:
    """The digests of ``fold`` whose folding would clash (:meth:`_Digest.clash`)."""
    return {path for path, own in fold.items() if digests.get(path, _Digest()).clash(own)}


def _changed(digest: _Digest, marked: Marked) -> bool:
    """Whether the last mark read is not ``marked``, the one the digest was chosen by."""
    row = digest.mark
    return (row is None or row.get(COMPACTED) is True
            or Marked(Mark(row["state"]), str(row["message_id"])) != marked)


def _read(old: BinaryIO, wanted: Mapping[bytes, str], fold: Mapping[str, str]
          ) -> dict[str, _Digest]:
    """What is kept of each digest wanted, from one pass over the ledger: of those in
    ``fold`` (path: its own Message-ID), the copies of that Message-ID settled are folded;
    every other copy keeps its last line."""
    digests: dict[str, _Digest] = {}
    for line in old:
        row = _row(line, wanted)
        if row is None:
            continue
        digest = digests.setdefault(row["digest"], _Digest())
        if row.get("recipient") == DIGEST:
            digest.mark = row
            continue
        message_id = str(row["message_id"])
        key = (message_id, recipient_key(str(row.get("recipient", ANY_RECIPIENT))))
        digest.kept.pop(key, None)
        own = fold.get(row["digest"])
        if own is not None and State(row["state"]) in FOLDED and _copy_of(message_id, own):
            digest.folded = True
        else:
            digest.kept[key] = _ended(line)
    return digests


def _copy_of(message_id: str, own: str) -> bool:
    """Whether ``message_id`` is the digest's own, ``<left@right>``, or a subscriber's copy
    of it, ``<left.HASH@right>`` (personalise.Personaliser.message_id)."""
    left, _, right = own.strip("<>").rpartition("@")
    if message_id == own:
        return True
    prefix, suffix = f"<{left}.", f"@{right}>"
    mark = message_id[len(prefix):-len(suffix)]
    return (message_id.startswith(prefix) and message_id.endswith(suffix) and len(mark) == 20
            and all(c in "0123456789abcdef" for c in mark))


def _row(line: bytes, wanted: Mapping[bytes, str]) -> dict[str, Any] | None:
    """The line, parsed, if it is a readable record of a digest wanted; None for any other
    (copied as it is), a torn one too (no newline: the ledger's last line, cut short)."""
    if not line.endswith(b"\n"):
        return None
    start = line.find(_DIGEST_FIELD)
    if start != -1:
        start += len(_DIGEST_FIELD)
        if line[start:line.find(b'"', start)] not in wanted:
            return None  # another digest's: not parsed
    try:
        row = json.loads(line)
        if not isinstance(row, dict) or row.get("digest") not in wanted.values():
            return None
        str(row["message_id"])
        Mark(row["state"]) if row.get("recipient") == DIGEST else State(row["state"])
    except (ValueError, KeyError, TypeError):
        return None
    return row


def _ended(line: bytes) -> bytes:
    return line if line.endswith(b"\n") else line + TORN_END


def _write(old: BinaryIO, temp: str, wanted: Mapping[bytes, str],
           digests: Mapping[str, _Digest], mode: int) -> None:
    """The new ledger in ``temp`` (any leftover of a killed run replaced), flushed: every
    line of ``old`` not of a digest folded, then what is kept of each."""
    unlink(temp)
    with open(temp, "xb") as new:
        os.fchmod(new.fileno(), mode)
        for line in old:
            if _row(line, wanted) is None:
                new.write(_ended(line))
        for path in sorted(digests):
            new.writelines(_kept(path, digests[path]))
        new.flush()
        os.fsync(new.fileno())


def _kept(path: str, digest: _Digest) -> Iterator[bytes]:
    """The lines that stand for ``digest`` once compacted."""
    assert digest.mark is not None  # (checked by _kept_of)
    if digest.folded:
        yield _line({"at": digest.mark.get("at", ""), COMPACTED: True, "digest": path,
                     "message_id": digest.mark["message_id"], "recipient": ANY_RECIPIENT,
                     "state": State.SENT.value})
    yield from digest.kept.values()
    yield _line({**digest.mark, COMPACTED: True})


def _line(row: Mapping[str, Any]) -> bytes:
    return (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
