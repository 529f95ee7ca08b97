"""WebSub: a build's round of publish requests is bounded however slow the hub. After the
first request, a few go at once (websub.WORKERS); no request starts, and none is waited
for, once websub.ROUND seconds have passed: the feeds the hub has not accepted stay in
``websub-pending.json`` and the next build announces them, each once.

The hub here holds every request after the first unanswered until the test lets it go, so
what is asserted is counts and states (how many requests waited at once, which feeds were
announced or left waiting), never how long anything took.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SiteMaker
from test_websub import (
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
