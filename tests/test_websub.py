"""WebSub: feeds (the weekly digest feeds too) link the hub, and ``build`` tells a real hub
(HTTP on 127.0.0.1) which feeds changed: all of them after a cold build, none after a
no-op, exactly the feeds that show an edited statement, and, when the hub failed or was
down, the same ones on the next build. A hub's failure is one warning line and exit 0,
never a traceback; under --quiet only the build where the failing starts prints it.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest
from conftest import GOOD_RECORD, SITE_CONFIG, SiteMaker
from lxml import etree
from test_feeds_w3c import atom_problems, rss_problems

from sfb_feeds import websub
from sfb_feeds.cli import main

NOW = "2015-09-30T12:00:00+00:00"
FEEDS = "https://www.istendency.net/feeds/"
ATOM_NS = {"a": "http://www.w3.org/2005/Atom"}
STATEMENTS = {
    "a.yaml": GOOD_RECORD,
    "b.yaml": GOOD_RECORD.replace("A statement", "Another statement")
                         .replace("2015-09-04", "2015-09-10").replace("/a\n", "/b\n"),
    "c.pl.yaml": GOOD_RECORD.replace("A statement", "Stanowisko")
                            .replace("language: en", "language: pl").replace("/a\n", "/c\n"),
}
SUBSCRIPTION_FEEDS = [f"{FEEDS}{folder}{name}" for folder in ("", "en/", "pl/")
                      for name in ("atom.xml", "rss.xml", "feed.json")]
SUBSCRIPTION_FEEDS += [f"{FEEDS}{language}/digests.xml" for language in ("en", "pl")]


class Hub:
    """A WebSub hub on loopback that records each publish request and answers ``status``,
    or, as ``answer`` says, a 200 whose body or status line never ends (see ``_answer``)."""

    def __init__(self, port: int = 0) -> None:
        self.told: list[str] = []
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.status = 202
        self.answer = "status"
        self.stopping = threading.Event()
        self.cut_off: list[int] = []  # per endless answer: bytes sent before the client left
        self.holding: threading.Event | None = None  # set: the first request waits for it
        self.held = threading.Event()  # the first request came and is waiting
        # set: each request but the first waits for it unanswered, then is dropped
        self.gate: threading.Event | None = None
        self.gated = 0  # requests waiting at the gate now
        self.most_gated = 0  # the most that waited there at once
        self.failing: set[str] = set()  # feeds whose requests are answered 500
        self.count_lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode("ascii"), strict_parsing=True)
                hub.requests.append((self.path, self.headers.get("Content-Type", ""), form))
                if hub.holding is not None and not hub.held.is_set():
                    hub.held.set()
                    hub.holding.wait(60)
                if hub.gate is not None and len(hub.requests) > 1:
                    hub.wait_at_gate(hub.gate)
                    self.close_connection = True
                    return
                status = 500 if set(form.get("hub.url", [])) & hub.failing else hub.status
                accepted = status < 300 if hub.answer == "status" else (
                    hub.answer != "trickle-status")  # a 200 whatever follows it
                if accepted:
                    hub.told.extend(form.get("hub.url", []))
                if hub.answer != "status":
                    self.close_connection = True
                    hub.endless(self.wfile)
                    return
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # what a redirected POST would become: no notice
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def endless(self, out: io.BufferedIOBase) -> None:
        """Answer as ``answer`` says until the client closes the connection (or the test
        ends), and record how many bytes of the filler it was sent: ``trickle-status`` a
        status line whose reason never ends, ``trickle-body`` a 200 with
        ``Content-Length: 40`` and its body (and more), both one byte every 50 ms;
        ``endless-body`` a 200 without a length and 64 KiB after 64 KiB."""
        head, filler, pause = {
            "trickle-status": (b"HTTP/1.0 200 OK", b"K", 0.05),
            "trickle-body": (b"HTTP/1.0 200 OK\r\nContent-Length: 40\r\n\r\n", b"x", 0.05),
            "endless-body": (b"HTTP/1.0 200 OK\r\n\r\n", b"x" * 65536, 0.0),
        }[self.answer]
        sent = 0
        try:
            out.write(head)
            while not self.stopping.wait(pause):
                out.write(filler)
                sent += len(filler)
        except OSError:  # the client closed the connection
            self.cut_off.append(sent)

    def wait_at_gate(self, gate: threading.Event) -> None:
        with self.count_lock:
            self.gated += 1
            self.most_gated = max(self.most_gated, self.gated)
        gate.wait(60)
        with self.count_lock:
            self.gated -= 1

    def take(self) -> list[str]:
        """The feed URLs announced since the last call, sorted."""
        told, self.told = sorted(self.told), []
        self.requests.clear()
        return told

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    running = Hub()
    yield running
    running.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def site_with_hub(make_site: SiteMaker, hub_url: str) -> Path:
    config = SITE_CONFIG + f"feeds:\n  websub_hub: {hub_url}\n"
    return make_site(dict(STATEMENTS), config=config)


def run_build(config: Path, noise: str = "--quiet") -> tuple[int, str]:
    """Exit code and what the CLI printed on stderr (``noise``: --quiet, --verbose or "")."""
    err = io.StringIO()
    code = main(["build", *[noise][:bool(noise)], "--config", str(config), "--now", NOW],
                out=io.StringIO(), err=err)
    return code, err.getvalue()


def feed_ids(path: Path) -> set[str]:
    """The entry ids a subscription feed shows, whatever its format."""
    if path.suffix == ".json":
        return {item["id"] for item in json.loads(path.read_bytes())["items"]}
    root = etree.fromstring(path.read_bytes())
    if root.tag == "rss":
        return {guid.text or "" for guid in root.iter("guid")}
    return {entry.findtext("a:id", namespaces=ATOM_NS) or ""
            for entry in root.findall("a:entry", ATOM_NS)}


def feeds_showing(output: Path, statement_id: str) -> list[str]:
    return sorted(url for url in SUBSCRIPTION_FEEDS
                  if statement_id in feed_ids(output / url.removeprefix(FEEDS)))


def test_every_subscription_feed_links_the_hub(make_site: SiteMaker) -> None:
    config = site_with_hub(make_site, "https://hub.example.org/")
    assert run_build(config)[0] == 0
    output = config.parent / "feeds"
    for url in SUBSCRIPTION_FEEDS:
        path = output / url.removeprefix(FEEDS)
        if path.suffix == ".json":
            document = json.loads(path.read_bytes())
            assert document["hubs"] == [{"type": "WebSub", "url": "https://hub.example.org/"}]
            assert document["feed_url"] == url
            continue
        root = etree.fromstring(path.read_bytes())
        channel = root.find("channel")
        links = (channel if channel is not None else root).findall("a:link", ATOM_NS)
        rels = {link.get("rel"): link.get("href") for link in links}
        assert rels["hub"] == "https://hub.example.org/", url
        assert rels["self"] == url
        problems = rss_problems if root.tag == "rss" else atom_problems
        assert problems(path.read_bytes(), url) == [], url
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, url
        assert {(link.get("rel"), link.get("href")) for link in parsed.feed.links} >= {
            ("hub", "https://hub.example.org/"), ("self", url)}


def test_without_a_hub_no_feed_links_one(make_site: SiteMaker) -> None:
    config = make_site(dict(STATEMENTS))
    assert run_build(config)[0] == 0
    output = config.parent / "feeds"
    assert b'rel="hub"' not in (output / "en/atom.xml").read_bytes()
    assert b'rel="hub"' not in (output / "en/rss.xml").read_bytes()
    assert "hubs" not in json.loads((output / "en/feed.json").read_bytes())
    assert b'rel="hub"' not in (output / "en/digests.xml").read_bytes()


def test_the_hub_hears_of_changed_feeds_only(make_site: SiteMaker, hub: Hub) -> None:
    config = site_with_hub(make_site, hub.url)
    assert run_build(config) == (0, "")
    assert hub.take() == sorted(SUBSCRIPTION_FEEDS)  # cold: every feed
    assert run_build(config) == (0, "")
    assert hub.take() == []  # no-op: none
    record = config.parent / "statements" / "b.yaml"
    record.write_text(record.read_text().replace("Another statement", "Edited"))
    assert run_build(config) == (0, "")
    shown_in = feeds_showing(config.parent / "feeds",
                             "https://www.istendency.net/statements/b")
    assert len(shown_in) == 6  # en and all languages, three formats each
    # and the English digest feed, whose entry for b's week now has b's new title
    digests = etree.fromstring((config.parent / "feeds/en/digests.xml").read_bytes())
    assert "Edited" in etree.tostring(digests, encoding="unicode", method="text")
    assert hub.take() == sorted([*shown_in, f"{FEEDS}en/digests.xml"])


def test_a_publish_request_is_a_form_encoded_post(make_site: SiteMaker, hub: Hub) -> None:
    config = site_with_hub(make_site, hub.url)
    assert run_build(config) == (0, "")
    assert len(hub.requests) == len(SUBSCRIPTION_FEEDS)
    for path, content_type, form in hub.requests:
        assert path == "/hub"
        assert content_type == "application/x-www-form-urlencoded"
        assert form["hub.mode"] == ["publish"]
        assert len(form["hub.url"]) == 1


def test_a_hub_error_is_one_warning_and_the_next_build_retries(
        make_site: SiteMaker, hub: Hub) -> None:
    config = site_with_hub(make_site, hub.url)
    hub.status = 500
    code, err = run_build(config)
    assert code == 0
    assert err.count("\n") == 1
    assert err.startswith(f"warning: WebSub hub {hub.url} answered 500")
    assert "Traceback" not in err
    assert (config.parent / "feeds" / "en" / "atom.xml").exists()  # the build went on
    assert len(hub.requests) == 1  # the first failure ends the round
    assert hub.take() == []
    hub.status = 204
    assert run_build(config) == (0, "")  # a no-op build, but the notices were kept
    assert hub.take() == sorted(SUBSCRIPTION_FEEDS)
    assert run_build(config) == (0, "")
    assert hub.take() == []  # told once: nothing left


def test_a_hub_that_keeps_failing_is_warned_of_once_under_quiet(
        make_site: SiteMaker, hub: Hub) -> None:
    """A failing hub is a lasting condition: --quiet warns of it in the build that first
    left feeds waiting, and not in the builds that retry and fail again (with cron's */5,
    that would be a mail every five minutes); without --quiet every such build repeats
    it. When the hub recovers, the waiting feeds are announced and --quiet prints nothing."""
    config = site_with_hub(make_site, hub.url)
    hub.status = 503
    warning = (f"warning: WebSub hub {hub.url} answered 503 Service Unavailable for "
               f"{sorted(SUBSCRIPTION_FEEDS)[0]}; 11 feed(s) will be announced by the next "
               "build\n")
    assert run_build(config) == (0, warning)  # the failure starts: warned even so
    assert run_build(config) == (0, "")  # retried, failed again: nothing under --quiet
    assert len(hub.requests) == 2
    code, err = run_build(config, "--verbose")  # explains each step, and this
    assert code == 0
    assert warning.rstrip("\n") in err.splitlines()
    assert run_build(config) == (0, "")
    assert run_build(config, "") == (0, warning)  # neither option: each build repeats it
    assert hub.take() == []
    hub.status = 202
    assert run_build(config) == (0, "")  # recovered: the feeds are announced, silently
    assert hub.take() == sorted(SUBSCRIPTION_FEEDS)
    assert not (config.parent / ".sfb-state" / "websub-pending.json").exists()
    record = config.parent / "statements" / "b.yaml"
    record.write_text(record.read_text().replace("Another statement", "Edited"))
    hub.status = 500
    code, err = run_build(config)  # failing again after a recovery: a new condition
    assert code == 0
    assert err.startswith(f"warning: WebSub hub {hub.url} answered 500 Internal Server Error")


def test_a_hub_that_is_down_is_one_warning_and_told_when_back(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    port = free_port()  # nothing listens there yet
    config = site_with_hub(make_site, f"http://127.0.0.1:{port}/hub")
    code, err = run_build(config)
    assert code == 0
    assert err.count("\n") == 1
    assert "warning: WebSub hub" in err
    assert "cannot be reached" in err
    assert "Traceback" not in err
    back = Hub(port)
    try:
        assert run_build(config) == (0, "")
        assert back.take() == sorted(SUBSCRIPTION_FEEDS)
    finally:
        back.stop()


def test_a_hub_that_never_answers_costs_one_timeout(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(websub, "TIMEOUT", 0.2)
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        config = site_with_hub(make_site, f"http://127.0.0.1:{silent.getsockname()[1]}/")
        code, err = run_build(config)
    assert code == 0
    assert err.count("\n") == 1
    assert "cannot be reached" in err
    assert "11 feed(s) will be announced by the next build" in err


def test_a_redirecting_hub_is_an_error(make_site: SiteMaker, hub: Hub) -> None:
    """urllib would follow a 302 as a GET without the form: the notice would be lost."""
    config = site_with_hub(make_site, hub.url)
    hub.status = 302
    code, err = run_build(config)
    assert code == 0
    assert "answered 302" in err


def test_the_hub_must_be_an_http_url(make_site: SiteMaker) -> None:
    config = site_with_hub(make_site, "hub.example.org")
    code, err = run_build(config)
    assert code == 1
    assert "sfb-feeds.yaml" in err
    assert "feeds.websub_hub" in err
    assert "not an absolute http(s) URL" in err
    assert not (config.parent / "feeds").exists()


def test_feeds_the_hub_did_not_hear_of_are_flushed_to_disk(
        make_site: SiteMaker, hub: Hub, flushed: set[int]) -> None:
    """The pending file survives a crash: its bytes and its name (its folder) are flushed."""
    config = site_with_hub(make_site, hub.url)
    hub.status = 500
    assert run_build(config)[0] == 0
    pending = config.parent / ".sfb-state" / "websub-pending.json"
    assert json.loads(pending.read_text("utf-8"))["feeds"] == sorted(SUBSCRIPTION_FEEDS)
    assert {pending.stat().st_ino, pending.parent.stat().st_ino} <= flushed


def run_build_guarded(config: Path) -> tuple[int, str]:
    """``run_build`` in a thread, so that a build stuck on the hub fails the test instead of
    hanging it (the bound guards against a hang; it measures no speed)."""
    result: list[tuple[int, str]] = []
    thread = threading.Thread(target=lambda: result.append(run_build(config)), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the build is stuck on the hub's answer"
    return result[0]


def wait_for_cut_offs(hub: Hub, count: int) -> list[int]:
    """The bytes each endless answer sent, once ``count`` clients closed (a guard, 10 s)."""
    for _ in range(200):
        if len(hub.cut_off) >= count:
            break
        hub.stopping.wait(0.05)
    return hub.cut_off


def test_a_2xx_is_accepted_without_reading_its_body(make_site: SiteMaker, hub: Hub) -> None:
    """The status line decides: the body of a hub answering 200 (40 bytes, one every 50 ms)
    is not waited for; the connection is closed before the body has come."""
    config = site_with_hub(make_site, hub.url)
    hub.answer = "trickle-body"
    assert run_build_guarded(config) == (0, "")
    assert hub.take() == sorted(SUBSCRIPTION_FEEDS)
    cut_off = wait_for_cut_offs(hub, len(SUBSCRIPTION_FEEDS))
    assert len(cut_off) == len(SUBSCRIPTION_FEEDS)
    assert max(cut_off) < 40  # each request closed before its body was complete
    assert run_build(config) == (0, "")  # nothing left to announce
    assert hub.take() == []


def test_an_endless_body_is_not_read(make_site: SiteMaker, hub: Hub) -> None:
    """A 200 followed by bytes without end costs neither time nor memory: the build closes
    each connection after the status line, having taken no more than socket buffers hold."""
    config = site_with_hub(make_site, hub.url)
    hub.answer = "endless-body"
    assert run_build_guarded(config) == (0, "")
    assert hub.take() == sorted(SUBSCRIPTION_FEEDS)
    cut_off = wait_for_cut_offs(hub, len(SUBSCRIPTION_FEEDS))
    assert len(cut_off) == len(SUBSCRIPTION_FEEDS)
    assert max(cut_off) < 64 * 2**20


def test_a_status_line_that_never_ends_costs_one_timeout(
        make_site: SiteMaker, hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """TIMEOUT bounds a whole request, not each read: a hub trickling its status line one
    byte every 50 ms, forever, is a failure once TIMEOUT has passed, and the round ends."""
    monkeypatch.setattr(websub, "TIMEOUT", 0.3)
    config = site_with_hub(make_site, hub.url)
    hub.answer = "trickle-status"
    first = sorted(SUBSCRIPTION_FEEDS)[0]
    assert run_build_guarded(config) == (0, (
        f"warning: WebSub hub {hub.url} cannot be reached (no answer within 0.3 s) for "
        f"{first}; 11 feed(s) will be announced by the next build\n"))
    assert len(hub.requests) == 1
    assert len(wait_for_cut_offs(hub, 1)) == 1  # the build closed the connection
    pending = config.parent / ".sfb-state" / "websub-pending.json"
    assert json.loads(pending.read_text("utf-8"))["feeds"] == sorted(SUBSCRIPTION_FEEDS)


def test_a_read_on_an_unwrapped_ssl_socket_is_the_hubs_failure(
        make_site: SiteMaker, hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    """An SSL socket read can raise ValueError (e.g. its SSL layer gone under it): that is
    the hub's failure, one warning, never a traceback."""
    def unwrapped(response: http.client.HTTPResponse) -> None:
        raise ValueError("Read on closed or unwrapped SSL socket.")

    monkeypatch.setattr(http.client.HTTPResponse, "begin", unwrapped)
    config = site_with_hub(make_site, hub.url)
    assert run_build(config) == (0, (
        f"warning: WebSub hub {hub.url} cannot be reached (Read on closed or unwrapped SSL "
        f"socket.) for {sorted(SUBSCRIPTION_FEEDS)[0]}; 11 feed(s) will be announced by the "
        "next build\n"))


# A build whose process dies once its outputs are in place, before it tells the hub.
KILLED_BEFORE_ANNOUNCING = """\
import os, sys
from sfb_feeds import websub
websub.announce = lambda *args, **kwargs: os._exit(137)
from sfb_feeds.cli import main
sys.exit(main(["build", "--quiet", "--config", sys.argv[1], "--now", sys.argv[2]]))
"""


def test_a_build_killed_before_announcing_leaves_its_feeds_to_the_next(
        make_site: SiteMaker, hub: Hub) -> None:
    """The feeds a build changes are recorded as waiting before they are put in place, so
    a build killed between writing them and telling the hub loses no notice: the next
    build, a no-op, announces them."""
    config = site_with_hub(make_site, hub.url)
    killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_ANNOUNCING, str(config), NOW],
                            capture_output=True, timeout=120)
    assert killed.returncode == 137, killed.stderr
    assert (config.parent / "feeds" / "en" / "atom.xml").exists()  # the outputs are there
    assert hub.take() == []
    assert run_build(config) == (0, "")
    assert hub.take() == sorted(SUBSCRIPTION_FEEDS)
    assert run_build(config) == (0, "")
    assert hub.take() == []


def test_a_state_folder_that_cannot_be_used_is_a_warning(make_site: SiteMaker, hub: Hub) -> None:
    """The feeds are written whatever becomes of the notices: a state folder the pending
    list cannot go in (here a file in its place) costs the build a warning, not exit 1
    after every output was written."""
    config = site_with_hub(make_site, hub.url)
    state = config.parent / ".sfb-state"
    state.write_text("not a folder\n", encoding="utf-8")
    assert run_build(config) == (0, (
        "warning: WebSub: cannot keep the list of feeds to announce: site/.sfb-state: not a "
        "folder "
        "(the lock file websub.lock goes in it); move it away or change the config\n"))
    assert (config.parent / "feeds" / "en" / "atom.xml").exists()
    assert state.read_text(encoding="utf-8") == "not a folder\n"


@contextlib.contextmanager
def build_held_at_the_hub(config: Path, hub: Hub) -> Iterator[list[tuple[int, str]]]:
    """A build of ``config`` in a thread, inside the block held telling the hub of its
    first feed (the hub does not answer until the block ends); the list gets its (exit
    code, stderr) once it has finished, after the block."""
    hub.holding = threading.Event()
    first: list[tuple[int, str]] = []
    thread = threading.Thread(target=lambda: first.append(run_build(config)), daemon=True)
    thread.start()
    try:
        assert hub.held.wait(60)  # the build is telling the hub, which has not answered
        yield first
    finally:
        hub.holding.set()
        thread.join(60)


def test_a_slow_hub_holds_up_no_other_build(make_site: SiteMaker, hub: Hub) -> None:
    """The hub is told once the outputs are written and the output folder's lock is let
    go: a build waiting on a slow hub (up to 10 s a feed) keeps no other build from
    writing, which would otherwise wait for the lock and give up busy (exit 3)."""
    config = site_with_hub(make_site, hub.url)
    with build_held_at_the_hub(config, hub) as first:
        record = config.parent / "statements" / "b.yaml"
        record.write_text(record.read_text().replace("Another statement", "Edited"))
        second = subprocess.run(
            [sys.executable, "-m", "sfb_feeds", "build", "--quiet", "--config", str(config),
             "--now", NOW], env={**os.environ, "SFB_FEEDS_LOCK_WAIT": "1"},
            capture_output=True, text=True, timeout=120)
        assert (second.returncode, second.stderr) == (0, "")
    assert first == [(0, "")]
    assert "Edited" in (config.parent / "feeds" / "en" / "atom.xml").read_text("utf-8")


def test_a_feed_recorded_while_another_build_announces_it_stays_waiting(
        make_site: SiteMaker, hub: Hub) -> None:
    """Two builds at once: the first is telling the hub about a feed (the hub has not
    answered) when the second changes that feed, records it as waiting, and is killed
    before it can announce it. The first build, once answered, clears only what nobody
    recorded since it read the list: the second build's feeds stay waiting, and the next
    build announces them."""
    config = site_with_hub(make_site, hub.url)
    with build_held_at_the_hub(config, hub) as first:  # (all-languages atom.xml first)
        record = config.parent / "statements" / "b.yaml"
        record.write_text(record.read_text().replace("Another statement", "Edited"))
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_BEFORE_ANNOUNCING, str(config), NOW],
            env={**os.environ, "SFB_FEEDS_LOCK_WAIT": "1"}, capture_output=True, timeout=120)
        assert killed.returncode == 137, killed.stderr
    assert first == [(0, "")]
    assert hub.take() == sorted(SUBSCRIPTION_FEEDS)
    changed = sorted([f"{FEEDS}en/digests.xml", *(
        f"{FEEDS}{folder}{name}" for folder in ("", "en/")
        for name in ("atom.xml", "rss.xml", "feed.json"))])
    pending = config.parent / ".sfb-state" / "websub-pending.json"
    assert json.loads(pending.read_text("utf-8"))["feeds"] == changed
    assert run_build(config) == (0, "")
    assert hub.take() == changed
    assert not pending.exists()
