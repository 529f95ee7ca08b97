"""The ledger filling up at the end of a ``send`` run, once every copy was handled: when it
records what the run reported (a copy that may have gone out) or marks a digest finished.

Exit 1 naming the ledger, after what the run had to report; nothing is sent twice by the
next run. The disk fills at that moment: ``os.write`` to ``sent.jsonl`` fails with
ENOSPC for the line wanted (the seam tests/test_writer.py uses for a full disk).
"""

from __future__ import annotations

import errno
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import FaultyHandler, aiosmtpd_server, subscribers_config

from sfb_feeds.cli import main
from sfb_feeds.errors import display_path

RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang) for lang in ("pl", "tr")}
TR = "tr@lists.example.org"
NOW = "2015-09-07T07:30:00+00:00"  # the last complete week: 2015-W36


pytestmark = pytest.mark.usefixtures("send_environment")


def send(config: str, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--now", NOW, *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ledger(config: str) -> Path:
    return Path(config).parent / "state" / "sent.jsonl"


def disk_full_for(monkeypatch: pytest.MonkeyPatch, state: bytes) -> list[bool]:
    """Writing a ledger line with ``state`` fails (no space left) while the list returned
    holds True."""
    real, full = os.write, [True]

    def write(fd: int, data: Any) -> int:
        if full[0] and os.readlink(f"/proc/self/fd/{fd}").endswith("sent.jsonl") \
                and b'"state": "' + state + b'"' in bytes(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)
    return full


def full(config: str) -> str:
    return (f"error: {display_path(ledger(config))}: cannot write the send ledger: no space "
            "left on the device; nothing more was sent (free space or fix the folder, then "
            "run send again)")


def test_a_full_disk_when_the_run_marks_a_digest_finished(
    make_site: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every copy went (the list's and 30 subscribers'); the disk fills as the run marks the
    # digests finished: exit 1 naming the ledger. Each copy's `sent` is recorded, so the
    # next run (space again) sends nothing, finds them sent, and marks them finished.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {TR}")
        disk = disk_full_for(monkeypatch, b"finished")
        # what went out before the disk filled is said (the run's summary is not printed)
        assert send(config) == (1, "", full(config) + "\n  before it stopped, this run: 31 "
                                "sent, 0 already sent\n")
        disk[0] = False  # space again
        assert send(config, "-v") == (0, "", "pl 2015-W36: 0 sent to subscribers, 30 already "
                                      "sent, 0 unsubscribed skipped\nnothing to send: 31 already "
                                      "sent\n")
        assert send(config) == (0, "", "")
    assert max(handler.received.counts().values()) == 1
    assert len(handler.received.copies) == 31
    rows = [json.loads(line) for line in ledger(config).read_text().splitlines()]
    assert Counter(row["state"] for row in rows if row["recipient"] == "") == Counter(
        {"due": 2, "finished": 2})


def test_a_full_disk_when_the_run_records_a_copy_it_reported(
    make_site: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An earlier run was killed after handing tr's copy over (its last record `sending`).
    # This run reports it ("may have gone out"; never sent again) and records that it did
    # (`uncertain`, so no later run says it again), but the disk is full then: the report
    # comes first, then the ledger error, exit 1; nothing is sent, and the next run, which
    # could not know it was said, says it (exit 4) and records it; then silence.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {TR}")
        assert send(config, "--lang", "tr") == (0, "1 sent, 0 already sent\n", "")
        path = ledger(config)
        sent = next(line for line in path.read_text().splitlines() if '"sent"' in line)
        path.write_text(path.read_text() + sent.replace('"sent"', '"sending"') + "\n")
        disk = disk_full_for(monkeypatch, b"uncertain")
        code, out, err = send(config, "--lang", "tr")
        assert (code, out) == (1, "")
        lines = err.splitlines()
        assert lines[0].startswith(f"error: tr 2015-W36 to {TR}: may have gone out in an "
                                   "earlier run")
        assert lines[1:] == [full(config), "  before it stopped, this run: 0 sent, 0 already "
                             "sent"]
        disk[0] = False  # space again
        code, out, err = send(config, "--lang", "tr")
        assert (code, out, err.splitlines()) == (4, "", lines[:1])
        assert send(config, "--lang", "tr") == (0, "", "")
    assert handler.received.copies == [(handler.received.copies[0][0], TR)]
