"""The standard streams as cron jobs and operators' shells leave them: closed (`>&-`,
`2>&-`) or on a full disk (`>/dev/full`). Each command still does its work and exits with
its own code; what cannot be printed is never reported as a bug (exit 70) or a traceback."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import SITE_CONFIG, SiteMaker

from sfb_feeds.suppression import load_suppressed
from sfb_feeds.unsubscribe import token

BAD = "title: B\ndate: 2015-02-30\nlanguage: pl\nexcerpt: x\nid: urn:sfb:b\n"
SECRET = "a secret of this test"
GOOD = "title: A\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\nid: urn:sfb:a\n"


def run_with(redirections: str, config: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    """``sfb-feeds ARGV --config CONFIG`` started by a shell with ``redirections``
    (``>&-``, ``2>/dev/full``...); whichever stream is left open is captured."""
    command = [sys.executable, "-m", "sfb_feeds", *argv, "--config", str(config)]
    return subprocess.run(["sh", "-c", f'exec "$@" {redirections}', "sh", *command],
                          capture_output=True, check=False, cwd=config.parent)


def written(config: Path) -> list[str]:
    feeds = config.parent / "feeds"
    return sorted(path.name for path in feeds.iterdir()) if feeds.exists() else []


@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_a_build_with_a_closed_stream_builds_and_exits_0(make_site: SiteMaker,
                                                          closed: str) -> None:
    """`sfb-feeds build >&-` (or `2>&-`): Python has no sys.stdout (or sys.stderr) then;
    the build was reported as an internal error with a traceback (exit 1, or exit 70 and
    nothing built with standard error closed)."""
    config = make_site({"a.yaml": GOOD})
    done = run_with(closed, config, "build")
    summary = b"" if ">&-" in closed.split() else b"13 written, 0 unchanged, 0 removed\n"
    assert (done.returncode, done.stdout, done.stderr) == (0, summary, b"")
    assert "atom.xml" in written(config)


def test_a_failed_build_with_standard_output_closed_says_why_on_standard_error(
        make_site: SiteMaker) -> None:
    """A bad record under `>&-`: its error on standard error and exit 1, as with standard
    output open (there was a traceback after it)."""
    config = make_site({"b.yaml": BAD})
    done = run_with(">&-", config, "build")
    assert done.returncode == 1 and written(config) == []
    assert done.stderr.decode().splitlines() == [
        "error: statements/b.yaml:2: record 1: date: 2015-02-30 is not a date (use YYYY-MM-DD)"]


def test_a_failed_build_with_standard_error_closed_exits_1(make_site: SiteMaker) -> None:
    """Under `2>&-` the error has nowhere to go, but the exit code still says it (it was
    70, an internal error, printed on standard output)."""
    config = make_site({"b.yaml": BAD})
    done = run_with("2>&-", config, "build")
    assert (done.returncode, done.stdout, written(config)) == (1, b"", [])


@pytest.mark.parametrize("argv", [["check"], ["build"],
                                  ["digest", "--week", "2015-W36", "--part", "html"]])
def test_standard_output_on_a_full_disk_is_an_error_that_names_it(
        make_site: SiteMaker, argv: list[str]) -> None:
    """`> /dev/full`: what the command prints cannot be written. That is said on standard
    error, exit 1, not reported as a bug in sfb-feeds (exit 70); a build's files are
    written all the same."""
    config = make_site({"a.yaml": GOOD})
    done = run_with(">/dev/full", config, *argv)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        f"error: standard output: cannot write what {argv[0]} prints: "
        f"{os.strerror(28)}"]
    assert ("atom.xml" in written(config)) == (argv[0] == "build")


def test_warnings_on_a_full_disk_leave_the_commands_exit_code(make_site: SiteMaker) -> None:
    """`check 2>/dev/full` of a site with a warning (pl has no list address): nothing can
    be said, and the check passed: exit 0, its summary printed (it was exit 1, after a
    failed attempt at reporting an internal error)."""
    config = make_site({"a.yaml": GOOD}, config=SITE_CONFIG + (
        "digests:\n  lists: {da: da@example.org}\n  from: D <d@example.org>\n"))
    assert run_with("", config, "check").stderr.startswith(b"warning: pl: ")
    done = run_with("2>/dev/full", config, "check")
    assert (done.returncode, done.stdout) == (0, b"1 statement OK in 1 language (0 scheduled, "
                                                 b"0 drafts)\n  pl: 1\n")


def _answers(port: int, process: subprocess.Popen[bytes]) -> bool:
    """Whether the endpoint on ``port`` takes connections (it may still be starting)."""
    assert process.poll() is None, process.communicate()
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def test_the_endpoint_with_standard_error_closed_logs_nothing_anywhere(tmp_path: Path) -> None:
    """`python -m sfb_feeds.unsubscribe ... 2>&-`: each request's log line raised on a
    missing sys.stderr, and the tracebacks of that, a dozen lines a request, went to
    standard output (the answers were sent). Now the log goes to the null device."""
    config = tmp_path / "sfb-feeds.yaml"
    config.write_text(SITE_CONFIG + "state: state\n", encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", str(port),
               "--config", str(config)]
    env = dict(os.environ, SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET)
    process = subprocess.Popen(["sh", "-c", 'exec "$@" 2>&-', "sh", *command],
                               stdout=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120  # a bound against hanging, not a timing assertion
        while not _answers(port, process) and time.monotonic() < deadline:
            time.sleep(0.05)
        query = urlencode({"lang": "pl", "address": "ann@example.org",
                           "token": token(SECRET.encode(), "pl", "ann@example.org")})
        for _ in range(2):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", f"/unsubscribe?{query}", body=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert conn.getresponse().status == 200
            conn.close()
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=30)
    assert load_suppressed(tmp_path / "state") == {("pl", "ann@example.org")}
    assert out == b""
