"""Unsubscribes that arrive while ``send`` runs: each copy is checked as it is about to go.

``sfb-feeds send`` runs as cron runs it, in its own process; a real SMTP server on loopback
(aiosmtpd) counts the copies each recipient receives, and, as the run goes, subscribers
unsubscribe through the one-click endpoint (served by wsgiref in this process) by POSTing
their signed link, as a mail client does (RFC 8058).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler, aiosmtpd_server

from sfb_feeds.ledger import Ledger, State
from sfb_feeds.suppression import load_suppressed
from sfb_feeds.unsubscribe import make_app, token

SECRET = "a secret of the live-unsubscribe tests"
RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
SUBSCRIBERS = [f"u{n}@example.org" for n in range(1, 13)]
UNSUBSCRIBE = "https://example.org/unsubscribe?lang={lang}&address={address}&token={token}"


def make_config(root: Path, port: int, rate: str = "") -> Path:
    """A site whose pl digest goes to the SUBSCRIBERS of pl.txt and whose tr digest goes to
    a list, through the relay on ``port``."""
    (root / "statements").mkdir(parents=True)
    for lang in ("pl", "tr"):
        (root / "statements" / f"{lang}.yaml").write_text(RECORD.format(l=lang))
    (root / "pl.txt").write_text("".join(f"{address}\n" for address in SUBSCRIBERS))
    config = root / "sfb-feeds.yaml"
    config.write_text(SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        f'  unsubscribe: "{UNSUBSCRIBE}"\n'
        "  recipients: {pl: pl.txt}\n  lists: {tr: tr@lists.example.org}\n"
        f"smtp: {{host: 127.0.0.1, port: {port}{rate}}}\nstate: state\n"))
    return config


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    """The one-click endpoint of the site in ``tmp_path``, served on loopback: its URL."""
    app = make_app(tmp_path / "state", SECRET.encode())
    with make_server("127.0.0.1", 0, app, WSGIServer, _Quiet) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_port}/"
        server.shutdown()
        thread.join(30)


def one_click(url: str, lang: str, address: str) -> int:
    """POST the signed one-click link of ``address`` as a mail client does; the status."""
    query = urlencode({"lang": lang, "address": address,
                       "token": token(SECRET.encode(), lang, address)})
    request = Request(f"{url}?{query}", data=b"List-Unsubscribe=One-Click", method="POST",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urlopen(request, timeout=30) as answer:
        return int(answer.status)


class Unsubscribing(FaultyHandler):
    """A relay at which, once it has taken its ``after``-th message, each address of
    ``leaving`` unsubscribes through the endpoint (before the relay answers, so before the
    run can send its next copy)."""

    def __init__(self, url: str, leaving: dict[int, list[tuple[str, str]]]) -> None:
        super().__init__()
        self.url = url
        self.leaving = leaving
        self.statuses: list[int] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        for lang, address in self.leaving.get(self.calls["DATA"], []):
            status = await asyncio.get_running_loop().run_in_executor(
                None, one_click, self.url, lang, address)
            self.statuses.append(status)
        return answer


def send(config: Path, *more: str) -> tuple[int, str]:
    env = dict(os.environ, SFB_FEEDS_UNSUBSCRIBE_SECRET=SECRET, SFB_FEEDS_SEND_BACKOFF="0")
    done = subprocess.run([sys.executable, "-m", "sfb_feeds", "send", "--config", str(config),
                           "--week", "2015-W36", *more], env=env, capture_output=True,
                          text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def per_recipient(handler: FaultyHandler) -> Counter[str]:
    return Counter(recipient for _, recipient in handler.received.copies)


def test_an_address_that_unsubscribes_during_the_run_gets_nothing(
        tmp_path: Path, endpoint: str) -> None:
    # After the 1st message (the list's or a subscriber's), u7 leaves the pl digest and u9
    # every language's, written by the endpoint while the run holds its list in memory.
    handler = Unsubscribing(endpoint, {1: [("pl", "u7@example.org"), ("*", "u9@example.org")]})
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port)
        code, output = send(config)
        again, output_again = send(config)
    assert handler.statuses == [200, 200]
    assert load_suppressed(tmp_path / "state") == {("pl", "u7@example.org"),
                                                    ("*", "u9@example.org")}
    expected = Counter({a: 1 for a in SUBSCRIBERS if a not in ("u7@example.org",
                                                                 "u9@example.org")})
    expected["tr@lists.example.org"] = 1
    assert per_recipient(handler) == expected, output + output_again
    assert (code, output) == (0, "11 sent, 0 already sent, 2 unsubscribed skipped\n")
    # The ledger holds no record of theirs, and the next run has nothing left to send.
    states = Ledger(tmp_path / "state" / "sent.jsonl").states()
    assert {recipient for (_, recipient), state in states.items()
            if state is State.SENT} == set(expected)
    assert (again, output_again) == (0, "")


class LeavingWhileRetried(FaultyHandler):
    """A relay that turns ``address`` away once with a 4xx at RCPT, and ``address``
    unsubscribes just then: the run's next try of that copy must not send it."""

    def __init__(self, url: str, address: str) -> None:
        super().__init__()
        self.url, self.address = url, address
        self.statuses: list[int] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address == self.address and not self.statuses:
            status = await asyncio.get_running_loop().run_in_executor(
                None, one_click, self.url, "pl", address)
            self.statuses.append(status)
            return "451 4.3.0 try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


def test_an_address_that_unsubscribes_while_its_copy_is_retried_gets_nothing(
        tmp_path: Path, endpoint: str) -> None:
    handler = LeavingWhileRetried(endpoint, "u5@example.org")
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port)
        code, output = send(config)
        again, output_again = send(config)
    assert handler.statuses == [200]
    expected = Counter({a: 1 for a in SUBSCRIBERS if a != "u5@example.org"})
    expected["tr@lists.example.org"] = 1
    assert per_recipient(handler) == expected, output + output_again
    assert (code, output) == (0, "12 sent, 0 already sent, 1 unsubscribed skipped\n")
    assert (again, output_again) == (0, "")


class Vanishing(FaultyHandler):
    """A relay at which, once it has taken its ``after``-th message, the suppression list
    becomes unreadable (a folder where the file was)."""

    def __init__(self, suppressed: Path, after: int) -> None:
        super().__init__()
        self.suppressed, self.after = suppressed, after

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.calls["DATA"] == self.after:
            self.suppressed.unlink()
            self.suppressed.mkdir()
        return answer


def test_a_list_that_turns_unreadable_during_the_run_stops_it(tmp_path: Path) -> None:
    suppressed = tmp_path / "state" / "suppressed.jsonl"
    suppressed.parent.mkdir()
    suppressed.write_text("")
    handler = Vanishing(suppressed, 2)
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port)
        code, output = send(config)
        assert (code, output) == (1, (
            "error: state/suppressed.jsonl: cannot read the suppression list: Is a directory; "
            "no more copies were sent to subscribers (without it, addresses that unsubscribed "
            "would be mailed: fix it, then run send again)\n"
            "  before it stopped, this run: 2 sent, 0 already sent\n"))
        assert sum(per_recipient(handler).values()) == 2
        suppressed.rmdir()  # fixed: a run without --week goes on with the rest
        again, output_again = send(config)
    assert (again, output_again) == (0, "11 sent, 2 already sent\n")
    expected = Counter(SUBSCRIBERS)
    expected["tr@lists.example.org"] = 1
    assert per_recipient(handler) == expected


def test_a_list_that_turns_unreadable_after_the_last_copy_still_gets_the_summary(
        tmp_path: Path) -> None:
    # The run then looks again only to tell whether each digest is finished.
    suppressed = tmp_path / "state" / "suppressed.jsonl"
    suppressed.parent.mkdir()
    suppressed.write_text("")
    handler = Vanishing(suppressed, 1 + len(SUBSCRIBERS))
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port)
        code, output = send(config)
        assert (code, output) == (1, (
            "error: state/suppressed.jsonl: cannot read the suppression list: Is a directory; "
            "no more copies were sent to subscribers (without it, addresses that unsubscribed "
            "would be mailed: fix it, then run send again)\n"
            "  before it stopped, this run: 13 sent, 0 already sent\n"))
        suppressed.rmdir()
        again, output_again = send(config)
    assert (again, output_again) == (0, "")
    expected = Counter(SUBSCRIBERS)
    expected["tr@lists.example.org"] = 1
    assert per_recipient(handler) == expected


class Rewriting(Unsubscribing):
    """A relay at which u7 unsubscribes after the 1st message, and after the 3rd the list
    is caught as an editor saving it in place leaves it for a moment: emptied, then only
    partly written again (u7's line not yet)."""

    def __init__(self, url: str, suppressed: Path) -> None:
        super().__init__(url, {1: [("pl", "u7@example.org")]})
        self.suppressed = suppressed

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.calls["DATA"] == 3:
            kept = self.suppressed.read_bytes().split(b"\n")[0]  # u1's line, written first
            with self.suppressed.open("r+b") as file:
                file.truncate(0)
                file.write(kept[:10])
        return answer


def test_a_list_caught_half_rewritten_still_suppresses_who_left(
        tmp_path: Path, endpoint: str) -> None:
    suppressed = tmp_path / "state" / "suppressed.jsonl"
    handler = Rewriting(endpoint, suppressed)
    with aiosmtpd_server(handler) as port:
        config = make_config(tmp_path, port)
        suppressed.parent.mkdir()
        suppressed.write_text(json.dumps({"address": "u1@example.org", "lang": "pl"}) + "\n")
        code, output = send(config)
    assert handler.statuses == [200]
    expected = Counter({a: 1 for a in SUBSCRIBERS if a not in ("u1@example.org",
                                                                 "u7@example.org")})
    expected["tr@lists.example.org"] = 1
    assert per_recipient(handler) == expected, output
    assert (code, output) == (0, "11 sent, 0 already sent, 2 unsubscribed skipped\n")
