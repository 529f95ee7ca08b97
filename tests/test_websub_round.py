"""WebSub: a build's round of publish requests is bounded however slow the hub. After the
first request, a few go at once (websub.WORKERS); no request starts, and none is waited
for, once websub.ROUND seconds have passed: the feeds the hub has not accepted stay in
``websub-pending.json`` and the next build announces them, each once.

The hub here holds every request after the first unanswered until the test lets it go, so
what is asserted is counts and states (how many requests waited at once, which feeds were
announced or left waiting), never how long anything took. The same holds where there is no
connection to cut yet: a build whose lookups of the hub's name never end (``getaddrinfo``
made to wait for ever, in a subprocess) ends its round and exits all the same.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SiteMaker
from test_websub import (
    NOW,
    SUBSCRIPTION_FEEDS,
    Hub,
    run_build,
    run_build_guarded,
    site_with_hub,
)

from sfb_feeds import websub

ALL = sorted(SUBSCRIPTION_FEEDS)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    running = Hub()
    yield running
    running.stop()


def pending(config: Path) -> list[str]:
    path = config.parent / ".sfb-state" / "websub-pending.json"
    return json.loads(path.read_text("utf-8"))["feeds"] if path.exists() else []


def test_a_hub_that_stops_answering_ends_the_round_and_the_rest_wait(
        make_site: SiteMaker, hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub accepts the first feed, then answers nothing: the build asks WORKERS feeds at
    once, starts no other request, gives those up when the round is over, and ends (exit 0,
    one warning); the ten feeds not accepted wait, and the next build announces exactly
    them. (Before: one request after another, each given 10 s: 11 feeds, 100 s.)"""
    # (the first request is answered at once; raising=False: before ROUND there was none)
    monkeypatch.setattr(websub, "ROUND", 2.0, raising=False)
    config = site_with_hub(make_site, hub.url)
    hub.gate = threading.Event()
    try:
        result = run_build_guarded(config)
        assert hub.most_gated > 1  # several at once (before: one after another)
        assert hub.most_gated == websub.WORKERS  # and never more
        assert len(hub.requests) == 1 + websub.WORKERS  # none started after the round
    finally:
        hub.gate.set()
    assert result == (0, f"warning: WebSub hub {hub.url} was too slow: 1 of 11 feed(s) "
                         "announced within 2 s; 10 feed(s) will be announced by the next "
                         "build\n")
    told = hub.take()
    assert told == ALL[:1]
    assert pending(config) == ALL[1:]
    hub.gate = None
    assert run_build(config) == (0, "")  # a no-op build: the waiting feeds, each once
    assert hub.take() == ALL[1:]
    assert pending(config) == []
    assert run_build(config) == (0, "")
    assert hub.take() == []


def test_a_hub_that_answers_a_failure_mid_round(make_site: SiteMaker, hub: Hub) -> None:
    """A failure after the first feed ends the round as the first one would: the failing
    feed is named, the feeds the hub accepted meanwhile are cleared, the others wait for
    the next build, which announces each of them once."""
    config = site_with_hub(make_site, hub.url)
    broken = ALL[5]
    hub.failing = {broken}
    code, err = run_build_guarded(config)
    told = hub.take()
    left = pending(config)
    assert code == 0
    assert re.fullmatch(
        rf"warning: WebSub hub {re.escape(hub.url)} answered 500 Internal Server Error for "
        rf"{re.escape(broken)}; {len(left)} feed\(s\) will be announced by the next build\n",
        err)
    assert broken in left
    assert ALL[0] in told  # the first, alone
    assert sorted(told + left) == ALL  # each feed announced or waiting, not both
    hub.failing = set()
    assert run_build(config) == (0, "")
    assert hub.take() == left
    assert pending(config) == []


# A build (the real CLI, in a process of its own) whose lookups of the hub's name answer
# 127.0.0.1 the first ``answered`` times (-1: always), then never return: getaddrinfo is
# made to wait for ever, as a resolver that does not answer would (no timeout bounds it).
# Each lookup that waits adds a line to the file ``stuck``.
STUCK_LOOKUPS = """\
import socket, sys, threading
from sfb_feeds import websub
from sfb_feeds.cli import main
config, now, answered, stuck, round_, timeout = sys.argv[1:]
websub.ROUND, websub.TIMEOUT = float(round_), float(timeout)
real, never, lookups = socket.getaddrinfo, threading.Event(), [int(answered)]
def lookup(host, *args, **kwargs):
    if host != "hub.test":
        return real(host, *args, **kwargs)
    if lookups[0] != 0:
        lookups[0] -= 1
        return real("127.0.0.1", *args, **kwargs)
    with open(stuck, "a") as note:
        note.write("waiting\\n")
    never.wait()
socket.getaddrinfo = lookup
sys.exit(main(["build", "--quiet", "--config", config, "--now", now]))
"""


def build_with_lookups(config: Path, answered: int, round_: float = 20.0,
                       timeout: float = 10.0) -> tuple[int, str, int]:
    """Exit code, stderr and how many lookups were left waiting, of a build whose lookups
    of ``hub.test`` answer ``answered`` times and then hang (the subprocess's timeout only
    guards against a build that never ends)."""
    stuck = config.parent / "stuck-lookups"
    stuck.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", STUCK_LOOKUPS, str(config), NOW, str(answered), str(stuck),
         str(round_), str(timeout)],
        env={**os.environ, "no_proxy": "*"}, capture_output=True, text=True, timeout=120)
    waiting = len(stuck.read_text().splitlines()) if stuck.exists() else 0
    return done.returncode, done.stderr, waiting


def test_a_hub_name_that_is_never_looked_up_costs_one_timeout(
        make_site: SiteMaker) -> None:
    """The first request waits for the hub's name for ever, before there is a connection to
    cut: the build gives it up after TIMEOUT, warns, exits (the lookup still waiting), and
    every feed waits for the next build. (Before: the build waited with it, for ever.)"""
    config = site_with_hub(make_site, "http://hub.test:9/hub")
    assert build_with_lookups(config, answered=0, timeout=0.5) == (0, (
        "warning: WebSub hub http://hub.test:9/hub cannot be reached (no answer within "
        f"0.5 s) for {ALL[0]}; 11 feed(s) will be announced by the next build\n"), 1)
    assert pending(config) == ALL


def test_lookups_that_hang_mid_round_end_with_the_round(make_site: SiteMaker, hub: Hub) -> None:
    """The hub's name is found for the first request, then its lookups never end: the round
    gives the WORKERS requests waiting on them up when it is over, starts no other, and the
    process exits with those lookups still waiting; the next build announces the rest, each
    once. (Before: the pool's threads were waited for, for ever.)"""
    config = site_with_hub(make_site, hub.url.replace("127.0.0.1", "hub.test"))
    url = hub.url.replace("127.0.0.1", "hub.test")
    assert build_with_lookups(config, answered=1, round_=2.0) == (0, (
        f"warning: WebSub hub {url} was too slow: 1 of 11 feed(s) announced within 2 s; "
        "10 feed(s) will be announced by the next build\n"), websub.WORKERS)
    assert hub.take() == ALL[:1]
    assert pending(config) == ALL[1:]
    assert build_with_lookups(config, answered=-1) == (0, "", 0)
    assert hub.take() == ALL[1:]
    assert pending(config) == []
