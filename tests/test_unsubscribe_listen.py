"""Where ``python -m sfb_feeds.unsubscribe`` listens: IPv6 as well as IPv4, and a clear
error, not a traceback, when it cannot listen where it is told to."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import SITE_CONFIG
from test_unsubscribe_server import _env, _wait_for

from sfb_feeds.suppression import load_suppressed
from sfb_feeds.unsubscribe import token

SECRET = "a secret of the listening tests"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    config = tmp_path / "sfb-feeds.yaml"
    config.write_text(SITE_CONFIG + "state: state\n", encoding="utf-8")
    return config



def _serve(site: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "sfb_feeds.unsubscribe", *options, "--config", str(site)]


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_it_listens_on_an_ipv6_address(site: Path,
                                       running: list[subprocess.Popen[bytes]]) -> None:
    running.append(subprocess.Popen(_serve(site, "--host", "::1", "--port", "0"),
                                    env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET),
                                    stderr=subprocess.PIPE))
    line = _wait_for(running[0], r"serving one-click unsubscribe on http://\[::1\]:\d+/")
    port = int(re.findall(r"\]:(\d+)/", line)[0])
    query = urlencode({"lang": "he", "address": "ann@example.org",
                       "token": token(SECRET.encode(), "he", "ann@example.org")})
    conn = http.client.HTTPConnection("::1", port, timeout=30)
    try:
        conn.request("POST", f"/unsubscribe?{query}", body=b"List-Unsubscribe=One-Click",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert load_suppressed(site.parent / "state") == {("he", "ann@example.org")}


def test_a_port_in_use_is_one_clear_error(site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(_serve(site, "--host", "127.0.0.1", "--port", str(port)),
                              env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET),
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == (f"error: cannot listen on 127.0.0.1 port {port}: "
                           "Address already in use\n")


def test_a_host_that_does_not_resolve_is_one_clear_error(site: Path) -> None:
    done = subprocess.run(_serve(site, "--host", "no-such-host.invalid", "--port", "0"),
                          env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --host no-such-host.invalid: ")
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
