"""`sfb-feeds send` as cron runs it, in separate processes: overlapping runs, kill -9.

A real SMTP server on loopback (aiosmtpd) counts what it received for each (Message-ID,
recipient). No message may arrive twice unless a run reported it "may have gone out", and
none may be missing unless the last run reported it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler, aiosmtpd_server

LANGS = ("da", "de", "es", "fr", "pl", "tr")
RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"


def make_config(root: Path, port: int, name: str) -> Path:
    """A site of one statement per language; ``name`` gives its own ledger and lists."""
    statements = root / "statements"
    if not statements.exists():
        statements.mkdir(parents=True)
        for lang in LANGS:
            (statements / f"{lang}.yaml").write_text(RECORD.format(l=lang))
    lists = ", ".join(f"{lang}: {lang}-{name}@lists.example.org" for lang in LANGS)
    config = root / f"{name}.yaml"
    config.write_text(SITE_CONFIG + f"state: state-{name}\ncache: cache-{name}\n"
                      "digests:\n  from: Digest <digest@example.org>\n"
                      f"  lists: {{{lists}}}\nsmtp: {{host: 127.0.0.1, port: {port}}}\n")
    return config


def start(config: Path, lock_wait: float = 120, cwd: Path | None = None
          ) -> subprocess.Popen[str]:
    env = dict(os.environ, SFB_FEEDS_SEND_BACKOFF="0", SFB_FEEDS_LOCK_WAIT=str(lock_wait))
    return subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds", "send", "--config", str(config), "--week",
         "2015-W36"], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def finish(run: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = run.communicate(timeout=300)
    return run.returncode, out + err


def delivered(handler: FaultyHandler, name: str) -> Counter[str]:
    """Copies received per language for the lists of ``name``."""
    return Counter(rcpt.split("-", 1)[0] for _, rcpt in handler.received.copies
                   if rcpt.endswith(f"-{name}@lists.example.org"))


def reported(output: str, kind: str) -> set[str]:
    return {lang for lang in LANGS for line in output.splitlines()
            if line.startswith(f"error: {lang} 2015-W36 ") and kind in line}


@pytest.mark.parametrize("stagger", [0.0, 0.5], ids=["together", "half-a-second-apart"])
def test_overlapping_sends_deliver_each_digest_once(tmp_path: Path, stagger: float) -> None:
    # Fails without the send lock: each run would read the ledger and send it all.
    handler = FaultyHandler(delay=0.05)  # sending takes a while, so the runs overlap
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port, "run")
        runs = []
        for _ in range(4 if stagger == 0 else 2):
            runs.append(start(config))
            time.sleep(stagger)
        results = [finish(run) for run in runs]
    assert [code for code, _ in results] == [0] * len(runs), results
    assert delivered(handler, "run") == Counter(LANGS)
    assert sum("6 sent, 0 already sent" in output for _, output in results) == 1, results


def test_a_second_send_gives_up_with_exit_3_naming_the_lock(tmp_path: Path) -> None:
    handler = FaultyHandler(delay=1.0)  # the first run holds the lock for seconds
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port, "busy")
        first = start(config)
        while not handler.calls["DATA"]:  # the first run is sending, under its lock
            time.sleep(0.05)
        code, output = finish(start(config, lock_wait=0.2))
        assert finish(first)[0] == 0
    lock = Path("state-busy", "send.lock")  # (named from the working folder, tmp_path)
    assert code == 3
    assert output.startswith(f"error: {lock}: another sfb-feeds send (process {first.pid}) "
                             "holds this lock; gave up after waiting 0.2 s. Nothing was sent.")
    assert delivered(handler, "busy") == Counter(LANGS)


def wait_for_a_moment(rng: random.Random, handler: FaultyHandler,
                      victim: subprocess.Popen[str], n: int) -> None:
    """A random moment of the run: from its start (even runs), or in the middle of sending
    (odd runs: after a random number of messages began, plus up to one reply's delay)."""
    if n % 2 == 0:
        time.sleep(rng.uniform(0.2, 1.6))  # from start-up to after the last message
        return
    target = handler.calls["MAIL"] + rng.randint(1, len(LANGS))
    while handler.calls["MAIL"] < target and victim.poll() is None:
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.15))


def test_kill_9_at_random_moments_never_sends_twice_or_loses_silently(tmp_path: Path) -> None:
    rng = random.Random(14)  # a fixed seed: the same moments every time
    handler = FaultyHandler(delay=0.1)  # sending takes ~0.6 s of a run's ~1.2 s
    with aiosmtpd_server(handler) as port:
        for n in range(20):
            name = f"k{n}"
            config = make_config(tmp_path, port, name)
            victim = start(config)
            wait_for_a_moment(rng, handler, victim, n)
            os.kill(victim.pid, signal.SIGKILL)
            victim.communicate()
            outputs = [finish(start(config))[1] for _ in range(2)]
            counts = delivered(handler, name)
            doubtful = reported("\n".join(outputs), "may have gone out")
            for lang in LANGS:
                assert counts[lang] <= 1 or lang in doubtful, (n, lang, outputs)
                # (a copy that may have gone out is reported once, by one run)
                assert counts[lang] == 1 or lang in doubtful \
                    or lang in reported(outputs[-1], ""), (n, lang, outputs)


def test_a_run_killed_after_meeting_a_doubtful_copy_leaves_it_for_the_next_to_report(
    tmp_path: Path,
) -> None:
    # An earlier run left da's copy `sending` (it may have gone out). The next run meets it
    # first, then is killed while delivering the others, before it could report anything:
    # the run after it must say it (README: reported once, "or, when that run was killed, by
    # the next one"). Fails on the old code: the copy was recorded `uncertain` (said) the
    # moment it was met, so no run ever reported it.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port, "met")
        assert finish(start(config))[0] == 0
        ledger = tmp_path / "state-met" / "sent.jsonl"
        ledger.write_text("".join(line for line in ledger.read_text().splitlines(True)
                                  if "digests/da/" in line and '"sending"' in line))
        handler.delay = 5.0  # de's copy is still being delivered when the run is killed
        before = handler.calls["DATA"]
        victim = start(config)
        while handler.calls["DATA"] == before:
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        assert victim.communicate()[0] == ""  # killed before it reported anything
        handler.delay = 0.0
        code, output = finish(start(config))
    assert code == 4
    assert "da" in reported(output, "may have gone out in an earlier run"), output


def test_a_refusal_met_by_a_run_killed_before_it_could_say_so_is_said_by_the_next(
    tmp_path: Path,
) -> None:
    # da's list is refused (550); the run is killed while the server takes de's copy,
    # before it printed anything. A refusal is reported once, by the run it happened in;
    # that run never said it, so the next must (as for a copy that may have gone out).
    # Fails on the old code: the refusal was recorded `refused` (said) at once, so every
    # later run skipped it quietly and no run ever reported it.
    handler = FaultyHandler({("RCPT", 1): "550 5.7.1 list is moderated"}, delay=5.0)
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port, "refused")
        victim = start(config)
        while handler.calls["DATA"] == 0:  # de's copy: da's was refused before it
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)
        assert victim.communicate() == ("", "")  # killed before it reported anything
        handler.delay = 0.0
        code, output = finish(start(config))
        assert finish(start(config)) == (0, "")
    ledger = tmp_path / "state-refused" / "sent.jsonl"
    assert code == 4
    assert (
        "error: da 2015-W36 to da-refused@lists.example.org: refused by the mail server in an "
        f"earlier run that stopped before it could say so; recorded as refused in {ledger}: "
        "later runs skip it (after a fix, sfb-feeds send --resend --week 2015-W36 --lang da "
        "tries again)") in output.splitlines()
    assert reported(output, "refused by the mail server") == {"da"}
    assert delivered(handler, "refused")["da"] == 0
