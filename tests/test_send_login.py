"""``send`` logging in to the relay (``smtp.username``, ``smtp.password_env``): a real
aiosmtpd server on loopback that asks for a login (AUTH PLAIN; loopback may go without
TLS, README ``smtp.security``)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler, free_port

from sfb_feeds.cli import main

# aiosmtpd's own warning about its side of a login without TLS (our test server's choice)
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang) for lang in ("pl", "tr")}
PL, TR = "pl@lists.example.org", "tr@lists.example.org"
NOW = "2015-09-07T07:30:00+00:00"  # the last complete week: 2015-W36


class Logins:
    """Accepts the login ``digest`` / ``right``; keeps every attempt."""

    def __init__(self) -> None:
        self.tried: list[tuple[str, str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.tried.append((mechanism, login, password))
        # handled=False: aiosmtpd answers a failure with its 535 (True: the hook did)
        return AuthResult(success=(login, password) == ("digest", "right"), handled=False)


@contextlib.contextmanager
def relay(handler: FaultyHandler, logins: Logins) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, authenticator=logins,
                            auth_require_tls=False, auth_required=True,
                            # PLAIN alone: smtplib tries each mechanism offered in turn
                            auth_exclude_mechanism=["LOGIN"])
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def send(make_site: Any, port: int) -> tuple[int, str, str]:
    config = make_site(STATEMENTS, config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        f"  lists: {{pl: {PL}, tr: {TR}}}\nstate: state\n"
        f"smtp: {{host: 127.0.0.1, port: {port}, username: digest, "
        "password_env: SFB_TEST_SMTP_PASSWORD}\n"))
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", str(config), "--now", NOW], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ledger(tmp_path: Path) -> list[tuple[str, str]]:
    path = tmp_path / "site" / "state" / "sent.jsonl"
    return [(row["recipient"], row["state"])
            for row in map(json.loads, path.read_text().splitlines())]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFB_FEEDS_SEND_BACKOFF", "0")


def test_send_logs_in_with_the_password_from_the_environment(
    make_site: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SFB_TEST_SMTP_PASSWORD", "right")
    handler, logins = FaultyHandler(), Logins()
    with relay(handler, logins) as port:
        assert send(make_site, port) == (0, "2 sent, 0 already sent\n", "")
    assert [(login, password) for _, login, password in logins.tried] == [("digest", "right")]
    assert sorted(address for _, address in handler.received.copies) == [PL, TR]


def test_a_wrong_password_stops_the_run_at_once_and_leaves_everything_for_the_next(
    make_site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The relay turns the login down (535): that is no passing fault, so the run does not
    # knock again (one try, not three), says so for each digest with the login it used,
    # exits 4 and records no copy; once the password is right, the next run sends each once.
    monkeypatch.setenv("SFB_TEST_SMTP_PASSWORD", "wrong")
    handler, logins = FaultyHandler(), Logins()
    with relay(handler, logins) as port:
        code, out, err = send(make_site, port)
        assert (code, out) == (4, "")
        reason = (f"127.0.0.1:{port} refused the login of 'digest': 535 5.7.8 Authentication "
                  "credentials invalid")
        assert err.splitlines() == [
            f"error: pl 2015-W36 to {PL}: not sent ({reason}); it is left for the next run",
            f"error: tr 2015-W36 to {TR}: not sent ({reason}); it is left for the next run"]
        assert len(logins.tried) == 1
        assert ledger(tmp_path) == [("", "due"), ("", "due")]
        monkeypatch.setenv("SFB_TEST_SMTP_PASSWORD", "right")
        assert send(make_site, port) == (0, "2 sent, 0 already sent\n", "")
        assert send(make_site, port) == (0, "", "")
    assert sorted(address for _, address in handler.received.copies) == [PL, TR]


class BusyLogins(Logins):
    """Turns the first ``busy`` logins away for now (454: the relay's password store is
    unreachable), then accepts the right one."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
        result = super().__call__(server, session, envelope, mechanism, data)
        if len(self.tried) <= self.busy:
            return AuthResult(success=False, handled=False,
                              message="454 4.7.0 Temporary authentication failure")
        return result


def test_a_login_turned_away_for_now_is_tried_again(
    make_site: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 454 to AUTH says "not now" (RFC 4954), not "wrong password": the run connects again,
    # as for any passing fault. Fails on the old code: any failed login stopped the run at
    # once, as a 535 does ('refused the login', exit 4, nothing sent).
    monkeypatch.setenv("SFB_TEST_SMTP_PASSWORD", "right")
    handler, logins = FaultyHandler(), BusyLogins(busy=1)
    with relay(handler, logins) as port:
        assert send(make_site, port) == (0, "2 sent, 0 already sent\n", "")
    assert len(logins.tried) == 2
    assert sorted(address for _, address in handler.received.copies) == [PL, TR]


def test_a_login_turned_away_for_now_every_time_leaves_everything_for_the_next_run(
    make_site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SFB_TEST_SMTP_PASSWORD", "right")
    handler, logins = FaultyHandler(), BusyLogins(busy=100)
    with relay(handler, logins) as port:
        code, out, err = send(make_site, port)
        assert (code, out) == (4, "")
        reason = (f"127.0.0.1:{port} turned the login of 'digest' away for now: 454 4.7.0 "
                  "Temporary authentication failure")
        assert err.splitlines() == [
            f"error: pl 2015-W36 to {PL}: not sent ({reason}); it is left for the next run",
            f"error: tr 2015-W36 to {TR}: not sent ({reason}); it is left for the next run"]
        assert len(logins.tried) == 3  # README: at most 3 failed connections in a row
        assert ledger(tmp_path) == [("", "due"), ("", "due")]
        logins.busy = 0
        assert send(make_site, port) == (0, "2 sent, 0 already sent\n", "")
    assert sorted(address for _, address in handler.received.copies) == [PL, TR]
