"""The send ledger stays bounded: `send` folds old, settled digests' lines, and nothing goes twice.

Each copy of a digest leaves two ledger lines; at 10,000 subscribers that is 4 MB a week, read
by every hourly `send`. Once a digest was finished (or dropped) more than 8 weeks ago, `send`
rewrites its lines into what keeps it from going again. A real SMTP server on loopback
(aiosmtpd) counts each (Message-ID, recipient) it took; the CLI runs in this process, or as
cron starts it, in its own (to be killed, or to run beside another process appending to
the ledger).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import (
    AFTER_W36,
    AFTER_W37,
    SUBSCRIBERS,
    TR,
    FaultyHandler,
    aiosmtpd_server,
    subscribers_config,
)
from smtp_faults import TWO_WEEKS as STATEMENTS

from sfb_feeds.cli import main

EIGHT_WEEKS_ON = "2015-11-09T07:30:00+00:00"  # 8 weeks after AFTER_W37
LATER = "2015-11-16T07:30:00+00:00"  # 10 and 9 weeks after the runs that sent W36, W37
TWO_MONTHS_ON = "2016-01-18T07:30:00+00:00"  # 9 weeks after LATER
DIGESTS = [f"digests/{lang}/{week}.eml" for lang in ("pl", "tr")
           for week in ("2015-W36", "2015-W37")]


pytestmark = pytest.mark.usefixtures("send_environment")


def send(config: str, now: str, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--now", now, *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ledger(config: str) -> Path:
    return Path(config).parent / "state" / "sent.jsonl"


def rows(config: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ledger(config).read_text().splitlines()]


def two_weeks_sent(make_site: Any, handler: FaultyHandler, port: int) -> str:
    """pl to 30 subscribers, tr to its list; 2015-W36 and W37 each sent whole."""
    config = subscribers_config(make_site, port, STATEMENTS, f"tr: {TR}")
    assert send(config, AFTER_W36) == (0, "31 sent, 0 already sent\n", "")
    assert send(config, AFTER_W37) == (0, "31 sent, 0 already sent\n", "")
    return config


def old_history(config: str, weeks: int, recipients: int) -> None:
    """Ledger lines of ``weeks`` weeks of 2014, each finished, to ``recipients`` subscribers,
    as the runs that sent them wrote them (README, "The ledger")."""
    with ledger(config).open("a") as file:
        for week in range(1, weeks + 1):
            path = f"digests/pl/2014-W{week:02}.eml"
            message_id = f"<digest.2014-W{week:02}.pl@example.org>"
            lines = [(message_id, "", "due")]
            lines += [(message_id, f"reader{n}@example.org", state)
                      for n in range(recipients) for state in ("sending", "sent")]
            lines.append((message_id, "", "finished"))
            file.writelines(json.dumps({"at": "2014-12-31T00:00:00+00:00", "digest": path,
                                        "message_id": mid, "recipient": who, "state": state},
                                       sort_keys=True) + "\n" for mid, who, state in lines)


def test_old_finished_digests_are_folded_and_none_goes_twice(make_site: Any) -> None:
    # Fails on the old code: the ledger kept its 132 lines for ever.
    handler = FaultyHandler({("DATA", 5): "drop-after"})  # u4's W36 copy: may have gone out
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {TR}")
        code, out, err = send(config, AFTER_W36)
        assert (code, out) == (4, "30 sent, 0 already sent\n") and "may have gone out" in err
        assert send(config, AFTER_W37) == (0, "31 sent, 0 already sent\n", "")
        before = len(rows(config))
        assert before == 2 * 31 * 2 + 4 * 2  # each copy twice (u4: sending, uncertain), marks
        assert send(config, EIGHT_WEEKS_ON) == (0, "", "")  # W37 finished 8 weeks ago: kept
        assert Counter(row["digest"] for row in rows(config)) == Counter({
            "digests/pl/2015-W36.eml": 2, "digests/tr/2015-W36.eml": 2,
            "digests/pl/2015-W37.eml": 62, "digests/tr/2015-W37.eml": 4})
        assert send(config, LATER) == (0, "", "")  # a run with nothing to send stays silent
        after = rows(config)
        assert sorted((row["digest"], row["recipient"], row["state"]) for row in after) == sorted(
            [*((path, "*", "sent") for path in DIGESTS),
             *((path, "", "finished") for path in DIGESTS)])
        assert all(row.get("compacted") is True for row in after if row["recipient"] == "")
        stat = ledger(config).stat()
        assert send(config, LATER) == (0, "", "")  # nothing new to fold: not rewritten
        assert (ledger(config).stat().st_ino, ledger(config).stat().st_mtime_ns) == (
            stat.st_ino, stat.st_mtime_ns)
        for week in ("2015-W36", "2015-W37"):
            code, out, err = send(config, LATER, "--week", week, "-v")
            assert (code, out) == (0, "") and " 0 sent to subscribers, 30 already sent" in err
        assert max(handler.received.counts().values()) == 1
        assert len(handler.received.copies) == 62
        # --resend still sends a copy again when asked, to that one subscriber only
        assert send(config, LATER, "--resend", "--week", "2015-W36", "--lang", "pl",
                    "--recipient", "u4@example.org") == (0, "1 sent, 0 already sent\n", "")
        assert send(config, LATER) == (0, "", "")
    twice = [key for key, count in handler.received.counts().items() if count > 1]
    assert len(twice) == 1 and twice[0][1] == "u4@example.org" and "2015-W36" in twice[0][0]


def test_a_dropped_digest_keeps_what_was_left_of_it(make_site: Any) -> None:
    # The relay goes away after 11 messages of W36 and the digest is dropped later: each
    # copy keeps its own last line, so `send --week` still sends the 20 left, and only them.
    handler = FaultyHandler({("MAIL", n): "drop" for n in range(12, 1000)})
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {TR}")
        assert send(config, AFTER_W36)[:2] == (4, "11 sent, 0 already sent\n")
        handler.faults.clear()
        code, out, err = send(config, LATER, "--lang", "pl")
        assert (code, out) == (0, "") and "no longer sent automatically" in err
        assert send(config, TWO_MONTHS_ON, "--lang", "pl") == (0, "", "")  # compacts it
        kept = [row for row in rows(config) if row["digest"] == "digests/pl/2015-W36.eml"]
        assert Counter(row["state"] for row in kept) == Counter(sent=10, dropped=1)
        assert send(config, TWO_MONTHS_ON, "--week", "2015-W36", "--lang", "pl") == (
            0, "20 sent, 10 already sent\n", "")
    assert max(handler.received.counts().values()) == 1
    assert Counter(address for _, address in handler.received.copies) == Counter(
        [*SUBSCRIBERS, TR])


def test_a_compaction_that_cannot_write_leaves_the_ledger_as_it_was(make_site: Any) -> None:
    # Something in the way of the new ledger's file (here a folder where it goes): the run
    # warns, the ledger is untouched, and a later run compacts it.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = two_weeks_sent(make_site, handler, port)
        before = ledger(config).read_bytes()
        blocker = ledger(config).parent / ".sent.jsonl.sfb-tmp"
        (blocker / "in-the-way").mkdir(parents=True)
        code, out, err = send(config, LATER)
        assert (code, out) == (0, "")
        assert err == ("warning: site/state/sent.jsonl: could not compact the send ledger "
                       "(site/state/.sent.jsonl.sfb-tmp: Is a directory); it is left as it "
                       "was, and the next run tries again\n")
        assert ledger(config).read_bytes() == before
        assert send(config, LATER, "--week", "2015-W36") == (0, "", err)
        (blocker / "in-the-way").rmdir()
        blocker.rmdir()
        assert send(config, LATER) == (0, "", "")
        assert len(rows(config)) == 8
        assert send(config, LATER, "--week", "2015-W37") == (0, "", "")
    assert max(handler.received.counts().values()) == 1
    assert len(handler.received.copies) == 62


def start_send(config: str, now: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sfb_feeds", "send", "--config", config,
                             "--now", now], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ))


def test_a_send_killed_while_compacting_leaves_a_whole_ledger(make_site: Any) -> None:
    # kill -9 once the new ledger is being written: the old one is still there, whole, and
    # still stops every copy going again; the next run compacts it.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = two_weeks_sent(make_site, handler, port)
        old_history(config, weeks=20, recipients=5000)
        before = ledger(config).read_bytes()
        run = start_send(config, LATER)
        temp = ledger(config).parent / ".sent.jsonl.sfb-tmp"
        while not temp.exists() and run.poll() is None:
            time.sleep(0.001)
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
        assert run.returncode == -signal.SIGKILL and temp.exists()  # killed while writing
        now = ledger(config).read_bytes()
        assert now == before or len(now) < len(before) // 100
        for week in ("2015-W36", "2015-W37"):
            assert send(config, LATER, "--week", week) == (0, "", "")
        assert send(config, LATER) == (0, "", "")
        assert not temp.exists()
        assert len(rows(config)) == 2 * (4 + 20)  # a "*" line and a mark for each digest
        for week in ("2015-W36", "2015-W37"):
            assert send(config, LATER, "--week", week) == (0, "", "")
    assert max(handler.received.counts().values()) == 1
    assert len(handler.received.copies) == 62


APPENDER = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from sfb_feeds.ledger import Ledger, State
ledger, stop = Ledger(Path(sys.argv[1])), Path(sys.argv[2])
n = 0
at = datetime(2015, 11, 16, tzinfo=timezone.utc)
while not stop.exists() or n < 50:
    n += 1
    ledger.record((f"<probe-{n}@example.org>", "x@example.org"), State.SENT, at,
                  "digests/xx/probe.eml")
    if n == 1:
        print("started", flush=True)
print(n, flush=True)
"""


def test_a_line_appended_while_compacting_is_kept(make_site: Any, tmp_path: Path) -> None:
    # Another process appends to the ledger all through the compaction (through
    # Ledger.record, as a run does): every line it wrote is in the compacted ledger. Fails
    # when an append waiting for the lock writes to the file the compaction renames over.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = two_weeks_sent(make_site, handler, port)
        old_history(config, weeks=20, recipients=5000)
        stop = tmp_path / "stop"
        appender = subprocess.Popen([sys.executable, "-c", APPENDER, str(ledger(config)),
                                     str(stop)], stdout=subprocess.PIPE, text=True)
        assert appender.stdout is not None and appender.stdout.readline() == "started\n"
        assert send(config, LATER) == (0, "", "")
        stop.touch()
        written = int(appender.communicate(timeout=60)[0])
        probes = {row["message_id"] for row in rows(config)
                  if row["digest"] == "digests/xx/probe.eml"}
        assert probes == {f"<probe-{n}@example.org>" for n in range(1, written + 1)}
        assert len(rows(config)) == 2 * (4 + 20) + written
        for week in ("2015-W36", "2015-W37"):
            assert send(config, LATER, "--week", week) == (0, "", "")
    assert max(handler.received.counts().values()) == 1
