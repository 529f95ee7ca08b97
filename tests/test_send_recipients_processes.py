"""`sfb-feeds send` to a recipients file, killed with SIGKILL mid-run, then run again.

A real SMTP server on loopback (aiosmtpd) counts the copies each subscriber received. No
one may get two unless a run reported their copy "may have gone out", and no one may be
missing unless the last run reported them.
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

READERS = 30
RECORD = "id: urn:sfb:pl\ntitle: T\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\n"
UNSUBSCRIBE = "https://example.org/u?lang={lang}&address={address}&token={token}"


def make_config(root: Path, port: int, name: str) -> Path:
    """A site of one Polish statement whose ``READERS`` subscribers are named after ``name``."""
    statements = root / "statements"
    if not statements.exists():
        statements.mkdir(parents=True)
        (statements / "pl.yaml").write_text(RECORD)
    (root / f"{name}.txt").write_text("".join(f"r{n}-{name}@example.org\n"
                                              for n in range(READERS)))
    config = root / f"{name}.yaml"
    config.write_text(SITE_CONFIG + f"state: state-{name}\ncache: cache-{name}\n"
                      f'digests:\n  from: Digest <digest@example.org>\n  unsubscribe: '
                      f'"{UNSUBSCRIBE}"\n  recipients: {{pl: {name}.txt}}\n'
                      f"smtp: {{host: 127.0.0.1, port: {port}}}\n")
    return config


def start(config: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, SFB_FEEDS_SEND_BACKOFF="0", SFB_FEEDS_LOCK_WAIT="120",
               SFB_FEEDS_UNSUBSCRIBE_SECRET="secret")
    return subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds", "send", "--config", str(config), "--week",
         "2015-W36"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(run: subprocess.Popen[str]) -> str:
    out, err = run.communicate(timeout=300)
    return out + err


def delivered(handler: FaultyHandler, name: str) -> Counter[str]:
    return Counter(rcpt for _, rcpt in handler.received.copies
                   if rcpt.endswith(f"-{name}@example.org"))


def reported(output: str, kind: str) -> set[str]:
    """The subscribers an ``error:`` line of ``output`` names with ``kind`` in it."""
    prefix = "error: pl 2015-W36 to "
    return {line[len(prefix):].split(":", 1)[0] for line in output.splitlines()
            if line.startswith(prefix) and kind in line}


def test_kill_9_mid_run_then_resume_mails_each_subscriber_once(tmp_path: Path) -> None:
    rng = random.Random(17)  # a fixed seed: the same moments every time
    handler = FaultyHandler(delay=0.03)  # ~1 s of sending per run
    cut_short = 0  # runs killed before the last message (all but a stalled test process)
    with aiosmtpd_server(handler) as port:
        for n in range(6):
            name = f"k{n}"
            config = make_config(tmp_path, port, name)
            victim = start(config)
            target = handler.calls["MAIL"] + rng.randint(1, READERS - 5)
            while handler.calls["MAIL"] < target and victim.poll() is None:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.04))  # before, during or after a reply
            os.kill(victim.pid, signal.SIGKILL)
            victim.communicate()
            interrupted = delivered(handler, name)
            outputs = [finish(start(config)) for _ in range(2)]
            counts = delivered(handler, name)
            doubtful = reported("\n".join(outputs), "may have gone out")
            cut_short += sum(interrupted.values()) < READERS
            for reader in (f"r{i}-{name}@example.org" for i in range(READERS)):
                assert counts[reader] <= 1 or reader in doubtful, (n, reader, outputs)
                # (a copy that may have gone out is reported once, by one run)
                assert counts[reader] == 1 or reader in doubtful \
                    or reader in reported(outputs[-1], ""), (n, reader, outputs)
    assert cut_short >= 3
