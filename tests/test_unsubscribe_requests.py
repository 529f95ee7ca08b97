"""Requests as the internet sends them, raw bytes on a socket, to ``python -m
sfb_feeds.unsubscribe``: what it answers, and that only a valid one-click request writes."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import SITE_CONFIG
from test_unsubscribe_server import _env, _wait_for

from sfb_feeds.suppression import load_suppressed
from sfb_feeds.unsubscribe import token

SECRET = "a secret of the raw request tests"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The quick-start server of a fresh site: its port and its state folder."""
    config = tmp_path / "sfb-feeds.yaml"
    config.write_text(SITE_CONFIG + "state: state\n", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds.unsubscribe", "--port", "0", "--config", str(config)],
        env=_env(SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET), stderr=subprocess.PIPE)
    try:
        port = int(re.findall(r":(\d+)/", _wait_for(process, r"serving"))[0])
        yield port, tmp_path / "state"
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stderr is not None
        process.stderr.close()


def _link(address: str) -> bytes:
    return ("/unsubscribe?" + urlencode({"lang": "ar", "address": address,
                                         "token": token(SECRET.encode(), "ar", address)})
            ).encode("ascii")


def _exchange(port: int, request: bytes) -> tuple[int, dict[str, str]]:
    """Send ``request`` whole, read the answer to its end: its status and headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), {name.lower(): value for name, value in fields.items()}


@pytest.mark.parametrize("length", ["-1", "+26", "26x", "0x1a", "1e2"])
def test_a_malformed_content_length_is_a_bad_request(server: tuple[int, Path],
                                                     length: str) -> None:
    port, state = server
    status, headers = _exchange(port, b"POST " + _link("ann@example.org") + (
        b" HTTP/1.1\r\nHost: example.org\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: " + length.encode() + b"\r\n\r\nList-Unsubscribe=One-Click"))
    assert (status, headers["cache-control"]) == (400, "no-store")
    assert load_suppressed(state) == set()


def test_an_over_long_body_is_still_too_large(server: tuple[int, Path]) -> None:
    port, state = server
    status, _ = _exchange(port, b"POST " + _link("ann@example.org") + (
        b" HTTP/1.1\r\nHost: example.org\r\nContent-Length: 99999999999999999999999\r\n\r\n"))
    assert status == 413
    assert load_suppressed(state) == set()
