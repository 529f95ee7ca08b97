"""A disk that fills up at the worst moment.

A full disk (or a file size limit, which the kernel enforces the same way) can cut an
appended line anywhere, including just before its final newline. Such a line is torn: the
write failed and the run said so. It must stay torn: a ``sending`` line the run could not
finish writing says nothing was handed over, and the next run must send that copy, not take
it for one that may have gone out (and never send it).

The output folder: a disk that has room for every changed output but not for the new
manifest must fail the build before any output is replaced, leaving the folder as it was.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG, small_tmpfs
from smtp_faults import (
    AFTER_W36,
    STATEMENTS,
    SUBSCRIBERS,
    TR,
    FaultyHandler,
    aiosmtpd_server,
    free_port,
    per_address,
    subscribers_config,
)

from sfb_feeds.cli import main
from sfb_feeds.compaction import compact
from sfb_feeds.errors import display_path
from sfb_feeds.ledger import Ledger, Mark, Marked, State
from sfb_feeds.model import Output
from sfb_feeds.websub import PENDING_NAME
from sfb_feeds.writer import WriteError, write_outputs

pytestmark = pytest.mark.usefixtures("send_environment")

LIST = "pl@lists.example.org"
PADDING = 1 << 20  # blank lines before the limit bites: no other file the run writes is as big

# ``sfb-feeds send`` under a file size limit: no file may grow past argv[1] bytes.
_LIMITED = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))
    from sfb_feeds.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def _send(config: str, port: int) -> tuple[int, str, Counter[str]]:
    """``send`` in this process: its exit code, standard error, copies per address."""
    handler = FaultyHandler()
    with aiosmtpd_server(handler, port):
        err = io.StringIO()
        code = main(["send", "--config", config, "--now", AFTER_W36], out=io.StringIO(),
                    err=err)
    return code, err.getvalue(), per_address(handler)


def _first_sending_line_end(ledger: bytes, recipient: str) -> int:
    """Where ``recipient``'s ``sending`` line ends, before its newline."""
    start = 0
    for line in ledger.split(b"\n"):
        row = json.loads(line) if line.strip() else {}
        if row.get("recipient") == recipient and row.get("state") == "sending":
            return start + len(line)
        start += len(line) + 1
    raise AssertionError(f"no sending line for {recipient}")


def test_a_sending_line_cut_just_before_its_newline_does_not_lose_the_copy(
        make_site: Any, tmp_path: Path) -> None:
    port = free_port()
    config = subscribers_config(make_site, port, STATEMENTS, f"pl: {LIST}, tr: {TR}")
    state = Path(config).parent / "state"
    # A run with room shows where each line of this run's ledger ends.
    assert _send(config, port)[0] == 0
    cut = _first_sending_line_end((state / "sent.jsonl").read_bytes(), SUBSCRIBERS[0])
    shutil.rmtree(state)
    state.mkdir()
    (state / "sent.jsonl").write_bytes(b"\n" * PADDING)

    handler = FaultyHandler()
    with aiosmtpd_server(handler, port):
        child = subprocess.run(
            [sys.executable, "-c", _LIMITED, str(PADDING + cut), "send", "--config", config,
             "--now", AFTER_W36], capture_output=True, text=True, timeout=120)
    assert child.returncode == 1, child.stderr
    assert "cannot write the send ledger" in child.stderr
    assert per_address(handler)[SUBSCRIBERS[0]] == 0  # never handed over
    assert not (state / "sent.jsonl").read_bytes().endswith(b"\n")  # torn before its newline

    code, err, second = _send(config, port)
    assert (code, err) == (0, "")
    total = per_address(handler) + second
    assert total == Counter(dict.fromkeys([LIST, TR, *SUBSCRIBERS], 1))


NOW = datetime(2015, 9, 14, 6, 0, tzinfo=UTC)
KEY = ("<a@example.org>", "ann@example.org")
OTHER = ("<a@example.org>", "bob@example.org")


def _torn_sending_line(ledger: Ledger) -> None:
    """``ledger``'s last line: KEY's ``sending``, whole but for its newline, as a full disk
    leaves it when the write stops one byte short."""
    ledger.record(KEY, State.SENDING, NOW, "digests/pl/2015-W36.eml")
    whole = ledger.path.read_bytes()
    ledger.path.write_bytes(whole[:-1])


def test_a_line_without_its_newline_is_no_record(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "sent.jsonl")
    ledger.record(OTHER, State.SENT, NOW, "digests/pl/2015-W36.eml")
    _torn_sending_line(ledger)
    assert ledger.states() == {OTHER: State.SENT}


def test_the_next_line_does_not_make_a_torn_line_whole(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "sent.jsonl")
    _torn_sending_line(ledger)
    ledger.record(OTHER, State.SENT, NOW, "digests/pl/2015-W36.eml")
    assert ledger.states() == {OTHER: State.SENT}
    lines = ledger.path.read_bytes().split(b"\n")
    assert len(lines) == 3 and lines[0].startswith(b'{"at"')  # alone on its line, kept
    assert json.loads(lines[1]) == {"at": NOW.isoformat(), "digest": "digests/pl/2015-W36.eml",
                                    "message_id": OTHER[0], "recipient": OTHER[1],
                                    "state": "sent"}


def test_compacting_does_not_make_a_torn_line_whole(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "sent.jsonl")
    old = "digests/pl/2015-W20.eml"
    ledger.record(("<old@example.org>", "x@example.org"), State.SENT, NOW, old)
    ledger.mark(old, Marked(Mark.FINISHED, "<old@example.org>"), NOW)
    _torn_sending_line(ledger)
    assert compact(ledger, NOW + timedelta(weeks=9)) == []
    assert b'"compacted": true' in ledger.path.read_bytes()  # it was rewritten
    assert KEY not in ledger.states()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs; skipped where mounting is not allowed (not root)."""
    with small_tmpfs(tmp_path / "small", "1m") as mount:
        yield mount


def _leave_free(disk: Path, blocks: int) -> None:
    """Fill ``disk`` up to ``blocks`` free blocks (a filler file beside the output)."""
    vfs = os.statvfs(disk)
    size = (vfs.f_bavail - blocks) * vfs.f_bsize
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        os.ftruncate(fd, 0)
        view = memoryview(b"\0" * size)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    assert os.statvfs(disk).f_bavail == blocks


def _visible(folder: Path) -> dict[str, bytes]:
    """What a web server that hides dot-files serves from ``folder``."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in
                                       p.relative_to(folder).parts)}


def test_no_room_for_the_new_manifest_replaces_no_output(small_disk: Path) -> None:
    out = small_disk / "feeds"
    old = [Output(f"lang/feed{n:02d}.xml", f"<old n='{n}'/>".encode()) for n in range(60)]
    write_outputs(out, old)
    before = _visible(out)
    new = [*old, *(Output(f"lang/added{n:02d}.xml", f"<new n='{n}'/>".encode())
                   for n in range(10))]
    # Room for the ten new files and the intent (a block each), none for the manifest
    # (60 entries and more: more than one block).
    assert (out / ".sfb-feeds-manifest.json").stat().st_size > os.statvfs(out).f_bsize
    _leave_free(small_disk, 11)
    with pytest.raises(WriteError) as caught:
        write_outputs(out, new)
    assert "No space left on device" in str(caught.value)
    assert _visible(out) == before  # every output as it was, no temporary file in sight
    (small_disk / "filler").unlink()
    report = write_outputs(out, new)
    assert len(report.written) == 10
    assert _visible(out) == {o.path: o.data for o in new}


def test_a_full_cache_disk_leaves_no_temporary_files_behind(
        small_disk: Path, make_site: Any) -> None:
    # A cache that cannot be written costs only time: the build succeeds. Each file it
    # could not finish was left as ``.<name>.<pid>.tmp``, a few more every build, for ever.
    cache = small_disk / "cache"
    config = make_site(config=f"{SITE_CONFIG}cache: {cache}\n")
    assert main(["build", "--quiet", "--config", str(config)]) == 0
    shutil.rmtree(cache)
    cache.mkdir()
    _leave_free(small_disk, 0)
    for _ in range(3):
        (config.parent / "statements" / "a.yaml").touch()  # (each build has work to do)
        assert main(["build", "--quiet", "--config", str(config), "--now",
                     "2020-01-01T00:00:00+00:00"]) == 0
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == []


def test_a_full_state_disk_costs_websub_a_plain_warning_and_no_leftover(
        small_disk: Path, make_site: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # The feeds waiting for the hub cannot be kept: one warning naming the list's file and
    # the reason in words (it printed Python's "[Errno 28] ..." and the temporary file's
    # absolute path), and that temporary file is not left in the state folder.
    state = small_disk / "state"
    config = make_site(config=(f"{SITE_CONFIG}state: {state}\nfeeds:\n  websub_hub: "
                               f"http://127.0.0.1:{free_port()}/\n"))
    state.mkdir()
    _leave_free(small_disk, 0)
    assert main(["build", "--quiet", "--config", str(config)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "WebSub" in line]
    assert len(warnings) == 1, warnings
    assert warnings[0].endswith("WebSub: cannot keep the list of feeds to announce: "
                                f"{display_path(state / PENDING_NAME)}: No space left on device")
    assert not [p.name for p in state.iterdir() if p.name.startswith(f".{PENDING_NAME}")]
