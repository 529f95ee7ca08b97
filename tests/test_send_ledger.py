"""The send ledger cannot tear: torn lines, short writes and a full disk."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import small_tmpfs

from sfb_feeds import ledger as ledger_module
from sfb_feeds.errors import display_path
from sfb_feeds.ledger import Ledger, LedgerError, Mark, Marked, State

NOW = datetime(2015, 9, 14, 6, 0, tzinfo=UTC)
A = ("<a@example.org>", "pl@lists.example.org")
B = ("<b@example.org>", "pl@lists.example.org")


def test_each_record_is_one_line_keyed_by_message_and_recipient(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state" / "sent.jsonl")
    ledger.record(A, State.SENDING, NOW, "digests/pl/2015-W36.eml")
    ledger.record(A, State.SENT, NOW, "digests/pl/2015-W36.eml")
    ledger.record((A[0], "other@example.org"), State.REFUSED, NOW, "digests/pl/2015-W36.eml")
    assert ledger.path.read_text().splitlines()[0] == (
        '{"at": "2015-09-14T06:00:00+00:00", "digest": "digests/pl/2015-W36.eml", '
        '"message_id": "<a@example.org>", "recipient": "pl@lists.example.org", '
        '"state": "sending"}')
    assert ledger.states() == {A: State.SENT, (A[0], "other@example.org"): State.REFUSED}


def test_a_torn_last_line_is_closed_before_the_next_record(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "sent.jsonl")
    ledger.record(A, State.SENT, NOW, "a")
    with ledger.path.open("a") as torn:
        torn.write('{"message_id": "<b@exam')
    ledger.record(B, State.SENT, NOW, "b")
    lines = ledger.path.read_text().split("\n")
    assert lines[1] == '{"message_id": "<b@exam (torn)'  # alone on its line, marked torn
    assert ledger.states() == {A: State.SENT, B: State.SENT}


def test_a_short_write_is_repaired_and_written_again(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger(tmp_path / "sent.jsonl")
    ledger.record(A, State.SENT, NOW, "a")
    real_write = os.write
    shorts = iter([True])

    def short_once(fd: int, data: bytes) -> int:
        if next(shorts, False):
            return real_write(fd, data[: len(data) // 2])
        return real_write(fd, data)

    monkeypatch.setattr(ledger_module.os, "write", short_once)
    ledger.record(B, State.SENDING, NOW, "b")
    monkeypatch.undo()
    assert ledger.states() == {A: State.SENT, B: State.SENDING}
    assert len(ledger.path.read_text().splitlines()) == 3  # A, half of B, B


def test_writes_that_stay_short_are_a_clean_error(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger(tmp_path / "sent.jsonl")
    real_write = os.write
    monkeypatch.setattr(ledger_module.os, "write",
                        lambda fd, data: real_write(fd, data[:10]))
    with pytest.raises(LedgerError) as caught:
        ledger.record(A, State.SENDING, NOW, "a")
    assert str(caught.value).startswith(f"{display_path(ledger.path)}: cannot write the send "
                                        "ledger: no space left on the device; nothing more "
                                        "was sent")
    assert caught.value.exit_code == 1


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KB tmpfs, filled up; skipped where mounting is not allowed."""
    with small_tmpfs(tmp_path / "small", "64k") as mount:
        (mount / "state").mkdir()
        yield mount / "state"


def fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"x" * 512):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk_is_a_clean_error_naming_the_ledger(full_disk: Path) -> None:
    ledger = Ledger(full_disk / "sent.jsonl")
    ledger.record(A, State.SENT, NOW, "a")
    fill(full_disk)
    with pytest.raises(LedgerError, match="no space left on the device"):
        for n in range(100):  # the records that still fit in the file's last page
            ledger.record((f"<{n}@example.org>", "x@example.org"), State.SENT, NOW, "b")
    data = ledger.path.read_bytes()
    complete = data.count(b"\n")  # a full disk may have taken half a line (a short write)
    assert len(ledger.states()) == complete
    (full_disk / "filler").unlink()  # space again: the next record starts on a new line
    ledger.record(B, State.SENT, NOW, "b")
    assert len(ledger.states()) == complete + 1
    assert ledger.states()[B] is State.SENT


def test_marks_are_lines_about_a_digest_that_the_copies_states_skip(tmp_path: Path) -> None:
    # A mark (recipient "") says where a digest stands as a whole; its state is none a copy
    # can have, so reading the copies' states (in this code and the code before marks)
    # skips it. A torn mark counts for nothing, as a torn record does.
    ledger = Ledger(tmp_path / "sent.jsonl")
    pl, tr = "digests/pl/2015-W36.eml", "digests/tr/2015-W36.eml"
    ledger.mark(pl, Marked(Mark.DUE, A[0]), NOW)
    ledger.record(A, State.SENT, NOW, pl)
    ledger.mark(pl, Marked(Mark.FINISHED, A[0]), NOW)
    ledger.mark(tr, Marked(Mark.DUE, B[0]), NOW)
    with ledger.path.open("a") as torn:
        torn.write('{"at": "x", "digest": "digests/tr/2015-W36.eml", "message_id": "<b@e')
    assert ledger.path.read_text().splitlines()[0] == (
        '{"at": "2015-09-14T06:00:00+00:00", "digest": "digests/pl/2015-W36.eml", '
        '"message_id": "<a@example.org>", "recipient": "", "state": "due"}')
    assert ledger.marks() == {pl: Marked(Mark.FINISHED, A[0]), tr: Marked(Mark.DUE, B[0])}
    assert ledger.states() == ledger.states([pl, tr]) == {A: State.SENT}
