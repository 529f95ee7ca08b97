"""WebSub publishing: after a build, tell the hub which subscription feeds changed.

One ``POST`` of ``hub.mode=publish&hub.url=<feed URL>`` per changed feed (the first alone,
then a few at once, all within ROUND seconds); feeds a hub failed to hear of wait in
``<state>/websub-pending.json`` for the next build (each with how many times a build
recorded it, so that a build clears only what no other build recorded while it was
telling the hub). The rules
(what counts as a failure, why the first one ends the round, which build warns of it,
how long a round may take):
docs/feeds.md, "Push".
This is the project's only HTTP client (the standard library's ``urllib.request``).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from . import __version__, lock
from .durable import replace_file
from .errors import Busy, SfbError, display_path
from .model import Settings
from .urls import DIGEST_FEED, KINDS, public_url

PENDING_NAME = "websub-pending.json"
LOCK_NAME = "websub.lock"  # held only while the pending file is read and rewritten
TIMEOUT = 10.0  # seconds for each request, from connecting to the answer's status line
# A build's round of requests: the first alone, then at most WORKERS at once, none started
# (and none waited for) once ROUND seconds have passed; what is left waits for the next
# build. A cron job every 5 minutes never piles up: at 2 s a request, the sample site's 19
# feeds took 38.8 s one after another, and take 13.0 s so (docs/feeds.md, "Push").
WORKERS = 4
ROUND = 20.0
_LEFT = "left"  # a feed's outcome when the round ended (a failure, or ROUND) before it was heard
_FEED_FILES = frozenset(kind.file for kind in (*KINDS, DIGEST_FEED))


def changed_feeds(settings: Settings, written: Iterable[str]) -> list[str]:
    """The public URLs of the subscription feeds (``atom.xml``, ``rss.xml``, ``feed.json``
    at the top or in a language's folder, a language's ``digests.xml``) among ``written``."""
    return sorted({public_url(settings, path) for path in written
                   if path.count("/") <= 1 and path.rpartition("/")[2] in _FEED_FILES})


def _read(path: Path) -> dict[str, int]:
    """The waiting feeds, each with how many times a build recorded it (its ``recorded``
    count; 0 in a list written before counts were kept)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing, or unreadable: rewritten whole by the next update
    feeds = data.get("feeds") if isinstance(data, dict) else None
    counts = data.get("recorded") if isinstance(data, dict) else None
    counts = counts if isinstance(counts, dict) else {}
    if not isinstance(feeds, list):
        return {}
    return {url: count if isinstance(count := counts.get(url), int) else 0
            for url in feeds if isinstance(url, str)}


def _write(path: Path, feeds: dict[str, int]) -> None:
    """Replace the pending file atomically (its folder exists: the lock file is in it)."""
    if not feeds:
        path.unlink(missing_ok=True)
        return
    data = {"feeds": sorted(feeds), "recorded": dict(sorted(feeds.items()))}
    replace_file(str(path), (json.dumps(data, indent=1) + "\n").encode())


def _busy(path: Path, waited: float) -> Busy:
    return Busy(f"{display_path(path)}: another sfb-feeds build held this lock for {waited:g} s")


def _update(path: Path, add: Iterable[str] = (), remove: Mapping[str, int] | None = None
            ) -> tuple[dict[str, int], dict[str, int]]:
    """Under the pending file's lock (held for the read and the rewrite only, never while
    the hub is asked): record ``add`` (each one's count goes up, waiting already or not),
    and clear the feeds of ``remove`` whose count is still the one given, i.e. that no
    build recorded again since they were read. The old and new lists."""
    with lock.hold_file(path.with_name(LOCK_NAME), busy=_busy):
        earlier = _read(path)
        feeds = dict(earlier)
        for url in add:
            feeds[url] = feeds.get(url, 0) + 1
        for url, count in (remove or {}).items():
            if feeds.get(url) == count:
                del feeds[url]
        _write(path, feeds)
        return earlier, feeds


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: urllib would repeat a POST as a GET, without its body."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Deadline:
    """Ends a request not answered by ``end`` (a ``time.monotonic()`` reading). A socket's
    timeout bounds each read, not their sum: a hub sending one byte every few seconds would
    never time out. Past the deadline the request's connection is shut down, which wakes
    the read (an SSL read may then still raise ValueError: ``_ask`` counts it as the hub's
    failure)."""

    def __init__(self, end: float) -> None:
        self.end = end
        self.passed = False
        self.connections: list[http.client.HTTPConnection] = []  # made for the request
        self._done = threading.Event()
        self._guard = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _Deadline:
        self._guard.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._guard.join()

    def _watch(self) -> None:
        if self._done.wait(max(0.0, self.end - time.monotonic())):
            return
        self.passed = True
        # Until the request gives up (its socket may not even exist yet):
        while not self._done.is_set():
            for made in list(self.connections):
                sock = made.sock
                if sock is not None:  # the descriptor only: SSLSocket.shutdown would also
                    with suppress(OSError):  # drop its SSL object under a read in progress
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
            self._done.wait(0.05)


class _Tracked(urllib.request.AbstractHTTPHandler):
    """An HTTP(S) handler whose connections ``deadline`` can end."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class: Any, req: urllib.request.Request,
                **http_conn_args: Any) -> http.client.HTTPResponse:
        def connection(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
            made: http.client.HTTPConnection = http_class(*args, **kwargs)
            self.deadline.connections.append(made)
            return made
        return super().do_open(connection, req, **http_conn_args)


class _HTTPHandler(_Tracked, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_Tracked, urllib.request.HTTPSHandler):
    pass


def _publish(hub: str, feed: str, round_end: float) -> str | None:
    """Send one publish request; None when the hub accepted it (2xx), else what went wrong
    (``_LEFT`` when the round ended first). The status line decides: the answer's
    body, however long, is never read."""
    body = urlencode({"hub.mode": "publish", "hub.url": feed}).encode("ascii")
    request = urllib.request.Request(hub, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": f"sfb-feeds/{__version__}"})
    own_end = time.monotonic() + TIMEOUT
    end = min(own_end, round_end)
    outcome: list[str | None] = []  # the request's, once it has ended in time

    def run() -> None:
        with _Deadline(end) as deadline:
            opener = urllib.request.build_opener(
                _NoRedirects, _HTTPHandler(deadline), _HTTPSHandler(deadline))
            failure = _ask(opener, request)
        if not deadline.passed:  # (a status line cut short may even have looked like a 200)
            outcome.append(failure)

    # In a daemon thread that is waited for until ``end`` only: the deadline cuts a
    # connection, but a request may be stuck where there is none to cut (the hub's name
    # being looked up, which no timeout bounds); one given up is left to itself, and to
    # the process's exit, which does not wait for it.
    asking = threading.Thread(target=run, name="websub-request", daemon=True)
    asking.start()
    asking.join(max(0.0, end - time.monotonic()))
    if asking.is_alive() or not outcome:
        return (_LEFT if round_end < own_end
                else f"cannot be reached (no answer within {TIMEOUT:g} s)")
    return outcome[0]


def _ask(opener: urllib.request.OpenerDirector, request: urllib.request.Request) -> str | None:
    try:
        with opener.open(request, timeout=TIMEOUT):
            pass  # accepted; closing the answer unread
    except urllib.error.HTTPError as error:
        with error:
            return f"answered {error.code} {error.reason}".rstrip()
    except (OSError, http.client.HTTPException, ValueError) as error:  # URLError: OSError
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        return f"cannot be reached ({str(reason) or type(error).__name__})"
    return None


def publish(hub: str, feeds: Sequence[str]) -> tuple[list[str], str | None]:
    """Announce ``feeds``: (those the hub accepted, what to report or None).

    The first alone, so that a hub that is down or failing costs one request; then the
    others, WORKERS at a time. No request starts after a failure or once ROUND seconds
    have passed since the first, and one still unanswered then is given up, wherever it
    is stuck (the hub's name not yet looked up too): the round never takes much more than
    ROUND seconds, however slow the hub or the resolver. The report names the
    first failure in ``feeds``' order, or else how many feeds the round had time for."""
    if not feeds:
        return [], None
    end = time.monotonic() + ROUND
    first = _publish(hub, feeds[0], end)
    rest = (_fan_out(hub, feeds[1:], end) if first is None
            else [_LEFT] * (len(feeds) - 1))
    outcomes = list(zip(feeds, [first, *rest], strict=True))
    done = [feed for feed, outcome in outcomes if outcome is None]
    failed = [(feed, outcome) for feed, outcome in outcomes
              if outcome not in (None, _LEFT)]
    if failed:
        return done, f"{failed[0][1]} for {failed[0][0]}"
    if len(done) < len(feeds):
        return done, (f"was too slow: {len(done)} of {len(feeds)} feed(s) announced within "
                      f"{ROUND:g} s")
    return done, None


def _fan_out(hub: str, feeds: Sequence[str], end: float) -> list[str | None]:
    """The outcome of each of ``feeds``' requests, WORKERS in flight at a time; once one
    fails, or ``end`` has passed, the requests not yet sent are ``_LEFT``."""
    failing = threading.Event()

    def attempt(feed: str) -> str | None:
        if failing.is_set() or time.monotonic() >= end:
            return _LEFT
        outcome = _publish(hub, feed, end)
        if outcome not in (None, _LEFT):
            failing.set()
        return outcome

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="websub") as pool:
        return list(pool.map(attempt, feeds))


def record(settings: Settings, written: Iterable[str]) -> set[str] | None:
    """Add the changed feeds among ``written`` to the feeds waiting for the hub, before the
    writer puts them in place: a build killed before :func:`announce` then leaves them to
    the next build. The feeds that were waiting before, or None (no hub, nothing changed,
    or the pending file cannot be kept: ``announce`` tries again and says so)."""
    changed = changed_feeds(settings, written)
    if not settings.feeds.websub_hub or not changed:
        return None
    try:
        return set(_update(settings.state_folder / PENDING_NAME, add=changed)[0])
    except (SfbError, OSError):
        return None


def _not_kept(path: Path, error: SfbError | OSError) -> str:
    """The warning when the list of feeds to announce cannot be kept: Busy or the lock
    file's WriteError say it all; an OSError of the list's own file (a full or read-only
    disk) is said in words, naming the list."""
    why = (str(error) if isinstance(error, SfbError)
           else f"{display_path(path)}: {error.strerror or error}")
    return f"WebSub: cannot keep the list of feeds to announce: {why}"


def announce(settings: Settings, written: Iterable[str], earlier: set[str] | None = None
             ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Tell the WebSub hub about the changed feeds among ``written`` and every feed a
    previous build could not announce: (warnings, reminders), at most one line in all.
    ``earlier``: what :func:`record` returned for ``written``, if it was called.

    A failing hub is a lasting condition: the build that first leaves feeds waiting
    warns of it; one that finds feeds waiting already (an earlier build warned) and fails
    again only reminds (``--quiet`` does not show reminders). Does nothing without
    ``feeds.websub_hub``. Never raises for a hub's failure, nor for the state folder's.
    """
    hub = settings.feeds.websub_hub
    if not hub:
        return (), ()
    path = settings.state_folder / PENDING_NAME
    changed = changed_feeds(settings, written)
    try:
        before, due = _update(path, add=changed) if changed else (_read(path),) * 2
        earlier = set(before) if earlier is None else earlier
        if not due:
            return (), ()
        done, failure = publish(hub, sorted(due))
        left = _update(path, remove={feed: due[feed] for feed in done})[1]
    except (SfbError, OSError) as error:
        return (_not_kept(path, error),), ()
    if failure is None:
        return (), ()
    message = (f"WebSub hub {hub} {failure}; {len(left)} feed(s) will be announced "
               f"by the next build",)
    return ((), message) if earlier else (message, ())
