"""What `send` costs for a recipients file of many subscribers (not a test).

    python benchmarks/send_bench.py [--recipients 10000] [--weeks 52]

Builds a one-statement site whose Polish digest goes to ``--recipients`` subscribers,
starts an aiosmtpd server on loopback in a separate process (so its memory is not counted),
and runs ``sfb-feeds send`` as cron does, in a fresh process each time:

1. the first run, sending every copy (one SMTP connection, two fsync'd ledger lines each);
2. a second run, which finds every copy in the ledger and sends nothing;
3. a run over a ledger holding ``--weeks`` earlier weeks of the same subscribers too
   (finished long ago: this run compacts them, see compaction.py);
4. a run over the ledger as the third left it.

For each: wall time, messages a second, and the peak resident memory of the send process
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, each run measured alone).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Count:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Count.n += 1
        return "250 OK"
controller = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""

CONFIG = """\
site: {{title: Bench, url: "https://bench.example.org/"}}
state: state
digests:
  from: Digest <digest@example.org>
  unsubscribe: "https://bench.example.org/u?lang={{lang}}&address={{address}}&token={{token}}"
  recipients: {{pl: pl.txt}}
smtp: {{host: 127.0.0.1, port: {port}}}
"""
RECORD = "id: urn:sfb:b\ntitle: Benchmark\ndate: 2015-09-04\nlanguage: pl\nexcerpt: {text}\n"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_site(root: Path, port: int, recipients: int) -> Path:
    (root / "statements").mkdir(parents=True)
    (root / "statements" / "b.yaml").write_text(RECORD.format(text="Lorem ipsum. " * 200))
    with (root / "pl.txt").open("w") as file:
        for n in range(recipients):
            file.write(f"reader{n}@example.org\n")
    config = root / "sfb-feeds.yaml"
    config.write_text(CONFIG.format(port=port))
    return config


def old_weeks(root: Path, recipients: int, weeks: int) -> None:
    """Ledger lines of ``weeks`` earlier weeks, as their runs would have written them: each
    digest marked due, its copies, then marked finished."""
    ledger = root / "state" / "sent.jsonl"
    with ledger.open("a") as file:
        for week in range(1, weeks + 1):
            digest = f"digests/pl/2014-W{week:02}.eml"
            own = f"<digest.2014-W{week:02}.pl.0@bench.example.org>"
            rows = [(own, "", "due")]
            rows += [(f"<digest.2014-W{week:02}.pl.0.{n:020x}@bench.example.org>",
                      f"reader{n}@example.org", state)
                     for n in range(recipients) for state in ("sending", "sent")]
            rows.append((own, "", "finished"))
            for message_id, recipient, state in rows:
                file.write(json.dumps({
                    "at": "2014-01-01T00:00:00+00:00", "digest": digest,
                    "message_id": message_id, "recipient": recipient, "state": state},
                    sort_keys=True) + "\n")


def timed_send(config: Path) -> tuple[float, int, str]:
    """(seconds, peak RSS in MiB, last output line) of one `sfb-feeds send` process."""
    env = dict(os.environ, SFB_FEEDS_UNSUBSCRIBE_SECRET="bench secret")
    command = [sys.executable, "-c", "import resource, sys\nfrom sfb_feeds.cli import main\n"
               "code = main(sys.argv[1:])\n"
               "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
               "sys.exit(code)", "send", "--config", str(config), "--week", "2015-W36"]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    lines = done.stdout.strip().splitlines()
    peak_kib = int(lines[-1].split()[1])
    summary = lines[-2] if len(lines) > 1 else (done.stderr.strip()[-200:] or "nothing to send")
    return seconds, peak_kib // 1024, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=52)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            config = make_site(root, port, args.recipients)
            for label in ("first run", "second run (all sent)"):
                seconds, peak, summary = timed_send(config)
                rate = args.recipients / seconds
                print(f"{label}: {seconds:.1f} s, {rate:,.0f} messages/s, peak RSS {peak} MiB "
                      f"- {summary}")
            old_weeks(root, args.recipients, args.weeks)
            size = (root / "state" / "sent.jsonl").stat().st_size
            seconds, peak, summary = timed_send(config)
            print(f"again with {args.weeks} earlier weeks in the ledger ({size / 2**20:.0f} MiB):"
                  f" {seconds:.1f} s, peak RSS {peak} MiB - {summary}")
            size = (root / "state" / "sent.jsonl").stat().st_size
            seconds, peak, summary = timed_send(config)
            print(f"again, the ledger now {size / 2**20:.1f} MiB: {seconds:.1f} s, peak RSS "
                  f"{peak} MiB - {summary}")
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(30)
    print(f"(this machine: {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; "
          f"bench RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB)")


if __name__ == "__main__":
    main()
