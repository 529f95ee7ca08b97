"""Subscribers' sending in detail: addresses, pacing, the ledger read, resending one copy."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import FaultyHandler, aiosmtpd_server
from test_send_recipients import _secret, make_config, received, run, send  # noqa: F401 - a fixture

from sfb_feeds.cli import main
from sfb_feeds.config import load_settings
from sfb_feeds.delivery import Pace, Retry
from sfb_feeds.digest.command import digest_outputs
from sfb_feeds.ledger import Ledger, State
from sfb_feeds.loader import load_statements
from sfb_feeds.recipients import Recipient, check_address, read_recipients
from sfb_feeds.send import send_digests

# Seen with Postfix (SMTPUTF8 on): an address outside ASCII before its @ cannot be given
# to it by an SMTP client without SMTPUTF8, whatever its domain; the warning said to write
# the domain in its xn-- form, which cannot help there.
LOCAL_NOT_ASCII = ("has characters outside ASCII before its @, which only mail systems with "
                   "SMTPUTF8 (RFC 6531) deliver to, and send speaks only ASCII addresses")
DOMAIN_NOT_ASCII = "has characters outside ASCII in its domain (write it in its xn-- form)"
NOW = datetime(2015, 9, 14, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "problem"), [
    ("Ann <ann@example.org>", "must be a bare address (local@domain), without < > spaces"),
    ("ann@example.org\nBcc: x@example.org", "contains a line break or a control character"),
    ("ann@example.org,bob@example.org", "must be a bare address (local@domain), without ,"),
    ('"ann smith"@example.org', 'must be a bare address (local@domain), without " spaces'),
    ("ann(comment)@example.org", "must be a bare address (local@domain), without ( )"),
    ("ann@[192.0.2.1]", "must be a bare address (local@domain), without [ ]"),
    ("żaneta@example.org", LOCAL_NOT_ASCII),
    ("zoë@düsseldorf.de", LOCAL_NOT_ASCII),
    ("jan@düsseldorf.de", DOMAIN_NOT_ASCII),
    ("ann@localhost", "is not an email address (local@domain)"),
    ("ann@@example.org", "is not an email address (local@domain)"),
    ("@example.org", "is not an email address (local@domain)"),
    ("a" * 250 + "@example.org", "is longer than 254 characters"),
])
def test_bad_addresses(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_address(text)
    assert str(caught.value) == problem


def test_addresses_keep_the_local_part_and_lower_the_domain() -> None:
    assert check_address("Ann.Smith+digest@Example.ORG") == "Ann.Smith+digest@example.org"


def test_a_recipients_file_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "pl.txt"
    path.write_bytes(b"ann@example.org\r\n\xff\xfe@example.org\n  bob@example.org  \n"
                     b"# ann@example.org\nANN@example.org\nann@EXAMPLE.org\n")
    items = [str(item) if not isinstance(item, Recipient) else item
             for item in read_recipients(path, "pl.txt")]
    assert items == [Recipient("ann@example.org", 1),
                     "pl.txt:2: is not UTF-8 text; line skipped",
                     Recipient("bob@example.org", 3),
                     Recipient("ANN@example.org", 5),
                     "pl.txt:5: 'ANN@example.org' differs from an earlier line's address only "
                     "in letter case: both are mailed (a mail server may tell them apart); if "
                     "they are one subscriber, remove one line"]


def test_a_csv_file_is_read_record_by_record(tmp_path: Path) -> None:
    """A CSV record goes on while a quote is open: a record whose email cell holds a line
    break is skipped whole, the lines it spans named; one whose other cell does is read; a
    comment line's quote opens nothing; a quote out of place skips its record; a warning
    quotes at most 80 characters of the record."""
    path = tmp_path / "pl.csv"
    path.write_bytes(b'name,email\nEvil,"x@y.org\r\nBcc: e@z.org"\nTrail,"t@example.org\n"\n'
                     b'"Doe\nJane",jane@example.org\nDan,dan@example.org\rBcc: x@y.org\n'
                     b'# Bob,"old\nAnn,ann@example.org\nLong,"' + b"x" * 100 + b"\n"
                     b'O"Brien,o@example.org\n"Doe, J",doe@example.org\n')
    items = [str(item) if not isinstance(item, Recipient) else item
             for item in read_recipients(path, "pl.csv")]
    broken = "contains a line break or a control character"
    misquoted = 'has a quote out of place (inside a quoted field, a quote is written "")'
    assert items == [
        f"pl.csv:2: 'Evil,\"x@y.org\\r\\nBcc: e@z.org\"' {broken}; lines 2-3 skipped",
        f"pl.csv:4: 'Trail,\"t@example.org\\n\"' {broken}; lines 4-5 skipped",
        Recipient("jane@example.org", 6),
        f"pl.csv:8: 'Dan,dan@example.org\\rBcc: x@y.org' {broken}; line skipped",
        Recipient("ann@example.org", 10),
        f"pl.csv:11: 'Long,\"{'x' * 74}…' {misquoted}; lines 11-12 skipped",
        Recipient("doe@example.org", 13)]


class VirtualClock:
    """Time that only ``sleep`` moves, read by the server as each message arrives."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def outputs(config: str) -> Any:
    settings = load_settings(Path(config))
    return settings, digest_outputs(settings, load_statements(settings).statements, NOW,
                                    week="2015-W36")


def test_smtp_rate_spaces_the_messages(make_site: Any) -> None:
    time = VirtualClock()
    arrivals: list[float] = []

    class Timed(FaultyHandler):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            arrivals.append(time.now)
            return await super().handle_DATA(server, session, envelope)

    handler = Timed()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port, "".join(f"r{n}@example.org\n" for n in range(12)),
                             extra="")
        settings, digests = outputs(config)
        report = send_digests(settings, digests, NOW, retry=Retry(sleep=lambda _: None),
                              pace=Pace(4.0, clock=time.clock, sleep=time.sleep))
    assert report.summary() == "13 sent, 0 already sent"
    assert len(handler.peers) == 1
    gaps = [later - earlier for earlier, later in pairwise(arrivals)]
    assert len(arrivals) == 13 and min(gaps) >= 0.25


def test_smtp_rate_in_the_config(make_site: Any, server: tuple[FaultyHandler, int]) -> None:
    _, port = server
    config = make_config(make_site, port)
    Path(config).write_text(Path(config).read_text().replace("port: ", "rate: 2.5, port: "))
    assert load_settings(Path(config)).smtp.rate == 2.5
    Path(config).write_text(Path(config).read_text().replace("rate: 2.5", "rate: 0"))
    code, _, err = send(config)
    assert code == 1 and "smtp.rate: '0' must be a number of messages a second above 0" in err


def test_the_ledger_read_keeps_only_the_digests_of_the_run(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "sent.jsonl")
    for week in range(1, 40):
        for n in range(50):
            ledger.record((f"<w{week}.{n}@x>", f"r{n}@example.org"), State.SENT, NOW,
                          f"digests/pl/2015-W{week:02}.eml")
    ledger.record(("<w36.7@x>", "r7@example.org"), State.SENDING, NOW,
                  "digests/pl/2015-W36.eml")
    wanted = ledger.states({"digests/pl/2015-W36.eml"})
    assert len(wanted) == 50 and wanted[("<w36.7@x>", "r7@example.org")] is State.SENDING
    assert len(ledger.states()) == 39 * 50


def test_one_subscriber_resent_by_hand(make_site: Any, server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    send(config)
    code, out, _ = send(config, "--resend", "--recipient", "eve@EXAMPLE.net")
    assert (code, out) == (0, "1 sent, 0 already sent\n")
    (first, *_, last) = received(handler)
    assert last[0] == ["eve@example.net"]
    assert [m["Message-ID"] for _, m in received(handler)].count(last[1]["Message-ID"]) == 2
    assert first[0] == ["ann@example.org"]


def test_an_unsubscribe_differing_only_in_case_is_mailed_with_a_warning(
        make_site: Any, server: tuple[FaultyHandler, int]) -> None:
    """RFC 5321: ``Ann@`` and ``ann@`` may be two mailboxes, so the subscriber is still
    mailed; the operator who typed the wrong case is told, in the dry run and the run."""
    handler, port = server
    config = make_config(make_site, port, "ann@example.org\nbob@example.org\n")
    assert run("unsubscribe", "--config", config, "Ann@example.org")[0] == 0
    warning = ("warning: site/pl.txt:1: ann@example.org is mailed, though Ann@example.org "
               "(the same but for letter case) unsubscribed; if they are one person, run: "
               "sfb-feeds unsubscribe ann@example.org\n")
    code, out, err = send(config, "--dry-run")
    assert (code, err) == (0, warning)
    assert "would send pl 2015-W36 to 2 subscribers (0 already sent, 0 unsubscribed skipped)" \
        in out
    assert send(config)[::2] == (0, warning)
    assert sorted(rcpt for rcpt, _ in received(handler)) == [["ann@example.org"],
                                                            ["bob@example.org"]]
    assert run("unsubscribe", "--config", config, "ann@example.org")[0] == 0
    assert send(config, "--dry-run", "--resend")[::2] == (0, "")


def test_a_recipient_in_no_file_is_an_error(make_site: Any,
                                            server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    for more in ((), ("--resend",), ("--dry-run",)):
        code, out, err = send(config, "--recipient", "nobody@example.org", *more)
        assert (code, out) == (2, "")
        assert err == ("error: --recipient: nobody@example.org is in no recipients file of the "
                       "selected digests (digests.recipients: site/pl.txt); nothing was sent\n"
                       "(see: sfb-feeds send --help)\n")
    assert send(config, "--lang", "tr", "--recipient", "ann@example.org")[2].endswith(
        "(digests.recipients: none); nothing was sent\n(see: sfb-feeds send --help)\n")
    assert handler.received.messages == []


@pytest.mark.parametrize(("address", "problem"), [
    ("ann@example.org, bob@example.org", "must be a bare address (local@domain), without , "
                                          "spaces"),
    ("ann@example.org\nBcc: x@example.org", "contains a line break or a control character"),
    ("Ann <ann@example.org>", "must be a bare address (local@domain), without < > spaces"),
])
def test_a_malformed_recipient_is_a_usage_error(make_site: Any,
                                                server: tuple[FaultyHandler, int],
                                                address: str, problem: str) -> None:
    handler, port = server
    config = make_config(make_site, port)
    assert send(config, "--resend", "--recipient", address) == (
        2, "", f"error: --recipient: {address!r} {problem}\n(see: sfb-feeds send --help)\n")
    assert handler.received.messages == []


@pytest.mark.parametrize(("address", "problem"), [
    ("mailto:carol@example.org", "must be a bare address (local@domain), without :"),
    ("dave@example.org.", "is not an email address (local@domain)"),
    ("a@@b.org", "is not an email address (local@domain)"),
    ("a@b..org", "is not an email address (local@domain)"),
    ("é@ex.org", LOCAL_NOT_ASCII),
    ("Ann <ann@example.org>", "must be a bare address (local@domain), without < > spaces"),
])
def test_unsubscribe_refuses_an_address_no_recipients_file_can_give(
        make_site: Any, address: str, problem: str) -> None:
    """The address is checked as the recipients files' are: one that can never match a
    subscriber is a usage error, and the suppression list is not touched."""
    config = make_config(make_site, 25)
    assert run("unsubscribe", "--config", config, address) == (
        2, "", f"error: ADDRESS: {address!r} {problem}\n(see: sfb-feeds unsubscribe --help)\n")
    assert not (Path(config).parent / "state").exists()


@pytest.mark.parametrize(("lang", "problem"), [
    ("fr", "no subscribers in 'fr' (digests.recipients: pl); leave out --lang to stop every "
           "language"),
    ("tr", "no subscribers in 'tr' (digests.recipients: pl); leave out --lang to stop every "
           "language"),
    ("", "'' is not a language tag (e.g. pl, pt-BR)"),
    ("*", "'*' is not a language tag (e.g. pl, pt-BR)"),
])
def test_unsubscribe_refuses_a_language_without_subscribers(
        make_site: Any, lang: str, problem: str) -> None:
    config = make_config(make_site, 25)
    assert run("unsubscribe", "--config", config, "ann@example.org", "--lang", lang) == (
        2, "", f"error: --lang: {problem}\n(see: sfb-feeds unsubscribe --help)\n")
    assert not (Path(config).parent / "state").exists()


def test_unsubscribe_takes_a_subscribers_language_before_its_first_digest(
        make_site: Any, server: tuple[FaultyHandler, int]) -> None:
    """A language of digests.recipients with nothing published yet can be left already."""
    _, port = server
    config = make_config(make_site, port, extra="  recipients: {pl: pl.txt, fr: pl.txt}\n")
    text = Path(config).read_text(encoding="utf-8")
    Path(config).write_text(text.replace("  recipients: {pl: pl.txt}\n", "", 1),
                            encoding="utf-8")
    assert run("unsubscribe", "--config", config, " ann@EXAMPLE.org ", "--lang", "FR") == (
        0, "ann@example.org: no more fr digests (send skips it from now on)\n", "")
    assert send(config, "--dry-run")[1].splitlines()[-1] == "would send 5"  # pl untouched


def test_check_reports_bad_lines_and_the_secret(make_site: Any, monkeypatch: pytest.MonkeyPatch,
                                                server: tuple[FaultyHandler, int]) -> None:
    _, port = server
    config = make_config(make_site, port, "ann@example.org\nnot an address\n")
    monkeypatch.delenv("SFB_FEEDS_UNSUBSCRIBE_SECRET")
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", "--config", config], out=out, err=err) == 0
    assert err.getvalue().splitlines() == [
        f"warning: {config}: digests.unsubscribe_secret_env: the environment variable "
        "SFB_FEEDS_UNSUBSCRIBE_SECRET is not set or empty: it must hold the unsubscribe secret "
        "(e.g. the output of `openssl rand -base64 32`); send needs it to sign each "
        "subscriber's unsubscribe link",
        "warning: site/pl.txt:2: 'not an address' must be a bare address (local@domain), "
        "without spaces; line skipped"]


def test_a_garbled_footer_link_stops_that_digest(make_site: Any, tmp_path: Path,
                                                 server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    settings, digests = outputs(config)
    garbled = [d if not d.path.endswith("pl/2015-W36.eml") else type(d)(
        d.path, d.data.replace(b"address=3D{address}", b"addr=3D{address}")) for d in digests]
    report = send_digests(settings, garbled, NOW, retry=Retry(sleep=lambda _: None))
    assert [str(p) for p in report.problems] == [
        "pl 2015-W36 to site/pl.txt: not sent to any subscriber: its text/html part has an "
        "{address} or {token} placeholder outside the unsubscribe link "
        "https://example.org/unsubscribe?lang=pl&address={address}&token={token}, so it cannot "
        "be made personal"]
    assert [rcpt for rcpt, _ in handler.received.messages] == [["tr@lists.example.org"]]
    # A dry run reports the same problem (it once ended in a traceback) and sends nothing.
    handler.received.messages.clear()
    report = send_digests(settings, garbled, NOW, dry_run=True, resend=True)
    assert [str(p) for p in report.problems] == [
        "pl 2015-W36 to site/pl.txt: not sent to any subscriber: its text/html part has an "
        "{address} or {token} placeholder outside the unsubscribe link "
        "https://example.org/unsubscribe?lang=pl&address={address}&token={token}, so it cannot "
        "be made personal"]
    assert all(tally.would_send == 0 for tally in report.subscribers.values())
    assert handler.received.messages == []


def test_a_test_copy_carries_the_testers_own_link(make_site: Any,
                                                   server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    code, out, _ = send(config, "--lang", "pl", "--to", "me@example.net")
    assert (code, out) == (0, "1 test copy sent to me@example.net; nothing recorded\n")
    ((rcpt, message),) = received(handler)
    assert rcpt == ["me@example.net"] and message["To"] == "me@example.net"
    assert "address=me%40example.net&token=" in str(message["List-Unsubscribe"])
    assert not (Path(config).parent / "state" / "sent.jsonl").exists()



PLAIN = ("its text/plain part has an {address} or {token} placeholder outside the unsubscribe "
         "link https://example.org/unsubscribe?lang=pl&address={address}&token={token}, so it "
         "cannot be made personal")


@pytest.mark.parametrize(("more", "problem"), [
    ((), f"pl 2015-W36 to site/pl.txt: not sent to any subscriber: {PLAIN}"),
    (("--to", "me@example.net"), f"pl 2015-W36 to me@example.net: test copy not sent: {PLAIN}"),
])
def test_a_placeholder_in_a_statement_stops_that_digest_by_name(
        make_site: Any, server: tuple[FaultyHandler, int], more: tuple[str, ...],
        problem: str) -> None:
    """A statement that quotes ``{token}`` puts it in the digest outside the unsubscribe link:
    a run, and a test copy alike (it once ended as an internal error, exit 70), name the digest
    and the problem, exit 4 and send the other languages' digests."""
    handler, port = server
    config = make_config(make_site, port)
    statement = Path(config).parent / "statements" / "pl.yaml"
    statement.write_text(statement.read_text().replace("excerpt: x", "excerpt: see {token}"))
    code, _, err = send(config, *more)
    assert (code, err) == (4, f"error: {problem}\n")
    assert [rcpt for rcpt, _ in handler.received.messages] == [
        [more[-1] if more else "tr@lists.example.org"]]
    assert run("send", "--config", config, "--week", "2015-W36", "--dry-run", *more)[::2] == (
        4, f"error: {problem}\n")
