"""`send` to the subscribers of a recipients file: each gets a copy of their own.

A real SMTP server on loopback (aiosmtpd) keeps every message it accepted; the tests parse
them with the email package and the links with an HTML parser and urllib.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG, snapshot
from smtp_faults import FaultyHandler, aiosmtpd_server

from sfb_feeds.cli import main
from sfb_feeds.unsubscribe import make_app, unsubscribe_url, verify

SECRET = "a test secret"
UNSUBSCRIBE = "https://example.org/unsubscribe?lang={lang}&address={address}&token={token}"
RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang) for lang in ("pl", "tr")}
SUBSCRIBERS = """\
# the Polish digest's subscribers
ann@example.org
Bob@Example.ORG

bob@example.org
Carol <carol@example.org>
dan@example.org\rBcc: mallory@example.net
dan@example.org, eve@example.org
ann@EXAMPLE.org
eve@example.net
"""
BAD_LINES = [
    # 'Bob@' (line 3) and 'bob@' differ only in the local part's case: both are mailed, and
    # the later line is named (README).
    "warning: site/pl.txt:5: 'bob@example.org' differs from an earlier line's address only in "
    "letter case: both are mailed (a mail server may tell them apart); if they are one "
    "subscriber, remove one line",
    "warning: site/pl.txt:6: 'Carol <carol@example.org>' must be a bare address (local@domain), "
    "without < > spaces; line skipped",
    "warning: site/pl.txt:7: 'dan@example.org\\rBcc: mallory@example.net' contains a line break or "
    "a control character; line skipped",
    "warning: site/pl.txt:8: 'dan@example.org, eve@example.org' must be a bare address "
    "(local@domain), without , spaces; line skipped",
]
EXPECTED = ["ann@example.org", "Bob@example.org", "bob@example.org", "eve@example.net"]


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", SECRET)


def make_config(make_site: Any, port: int, recipients: str = SUBSCRIBERS,
                name: str = "pl.txt", extra: str = "", unsubscribe: str = UNSUBSCRIBE) -> str:
    config = make_site(STATEMENTS, config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        f'  unsubscribe: "{unsubscribe}"\n'
        f"  recipients: {{pl: {name}}}\n  lists: {{tr: tr@lists.example.org}}\n{extra}"
        f"smtp: {{host: 127.0.0.1, port: {port}}}\nstate: state\n"))
    (config.parent / name).write_text(recipients, encoding="utf-8", newline="")
    return str(config)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def send(config: str, *more: str) -> tuple[int, str, str]:
    return run("send", "--config", config, "--week", "2015-W36", *more)


def received(handler: FaultyHandler) -> list[tuple[list[str], EmailMessage]]:
    parser = BytesParser(_class=EmailMessage, policy=default)
    return [(rcpt, parser.parsebytes(data)) for rcpt, data in handler.received.messages
            if rcpt != ["tr@lists.example.org"]]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(value or "" for name, value in attrs if tag == "a" and name == "href")


def footer_links(message: EmailMessage) -> tuple[list[str], list[str]]:
    """The unsubscribe links of the HTML part (anchors) and of the text part (words)."""
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and text is not None
    links = _Links()
    links.feed(str(html.get_content()))
    words = str(text.get_content()).split()
    base = "https://example.org/unsubscribe"
    return ([h for h in links.hrefs if h.startswith(base)],
            [w for w in words if w.startswith(base)])


def test_each_subscriber_gets_a_copy_of_their_own(make_site: Any,
                                                  server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    code, out, err = send(config)
    assert (code, out) == (0, "5 sent, 0 already sent\n")
    assert err.splitlines() == BAD_LINES
    messages = received(handler)
    assert [rcpt for rcpt, _ in messages] == [[a] for a in EXPECTED]
    ids = set()
    for (address,), message in messages:
        assert message["To"] == address
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        header = str(message["List-Unsubscribe"])
        assert header.startswith("<") and header.endswith(">")
        url = header[1:-1]
        query = parse_qs(urlsplit(url).query)
        assert query["lang"] == ["pl"] and query["address"] == [address]
        assert verify(SECRET.encode(), "pl", address, query["token"][0])
        assert footer_links(message) == ([url], [url])
        ids.add(message["Message-ID"])
    assert len(ids) == len(EXPECTED)


def raw_header(data: bytes, name: str) -> list[str]:
    """The lines of header ``name`` as they are on the wire, neither unfolded nor decoded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return re.findall(rf"^{name}: [^\r\n]*(?:\r\n[ \t][^\r\n]*)*", head, re.M | re.I)


def test_the_one_click_link_is_a_plain_url_on_the_wire(make_site: Any,
                                                       server: tuple[FaultyHandler, int]) -> None:
    """Mail providers read List-Unsubscribe as written: a URL in angle brackets. The email
    package folds a long word into RFC 2047 encoded words, which RFC 2047 forbids there
    and which no provider decodes: the header must be one line (998 characters at most)."""
    handler, port = server
    send(make_config(make_site, port, recipients="ann@example.org\nbob+x@example.org\n"))
    copies = [(rcpt, data) for rcpt, data in handler.received.messages
              if rcpt != ["tr@lists.example.org"]]
    assert [rcpt for rcpt, _ in copies] == [["ann@example.org"], ["bob+x@example.org"]]
    for (address,), data in copies:
        url = unsubscribe_url(UNSUBSCRIBE, SECRET.encode(), "pl", address)
        assert raw_header(data, "List-Unsubscribe") == [f"List-Unsubscribe: <{url}>"]
        assert raw_header(data, "List-Unsubscribe-Post") == [
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]


def test_a_list_copy_carries_no_personal_link(make_site: Any,
                                             server: tuple[FaultyHandler, int]) -> None:
    """pl goes to a list and to a recipients file, tr to a list only: neither list's copy
    carries an unsubscribe link with {address}/{token} unfilled (nor any of ours)."""
    handler, port = server
    config = make_config(make_site, port, extra="  lists: {pl: pl@lists.example.org, "
                                                "tr: tr@lists.example.org}\n")
    text = Path(config).read_text(encoding="utf-8")
    Path(config).write_text(text.replace("  lists: {tr: tr@lists.example.org}\n", "", 1),
                            encoding="utf-8")
    code, _, err = send(config)
    assert code == 0 and "warning: pl: both" not in err
    parser = BytesParser(_class=EmailMessage, policy=default)
    copies = {rcpt[0]: parser.parsebytes(data) for rcpt, data in handler.received.messages}
    for address in ("pl@lists.example.org", "tr@lists.example.org"):
        message = copies[address]
        assert message["List-Unsubscribe"] is None
        assert message["List-Unsubscribe-Post"] is None
        assert footer_links(message) == ([], [])
        for part in message.walk():
            if part.get_content_maintype() == "text":
                body = str(part.get_content()).lower()
                assert "{address}" not in body and "%7baddress%7d" not in body
    assert footer_links(copies["ann@example.org"])[0][0].startswith(
        "https://example.org/unsubscribe?lang=pl&address=ann%40example.org&token=")


def test_message_ids_are_stable_across_runs(make_site: Any,
                                            server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    send(config)
    first = [m["Message-ID"] for _, m in received(handler)]
    assert send(config)[:2] == (0, "")  # all sent already: nothing goes out
    assert len(received(handler)) == len(EXPECTED)
    Path(config).with_name("state").rename(Path(config).with_name("old-state"))
    send(config)  # a fresh ledger: everything again, with the same Message-IDs
    assert [m["Message-ID"] for _, m in received(handler)] == first * 2


def test_a_csv_file_with_an_email_column(make_site: Any,
                                         server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    table = ('\ufeffName,Email,Joined\n"Doe, Jane",jane@example.org,2014\n'
             "# a comment\nBob,,2015\nAnn,ann@example.org,2015\nAnn again,ANN@example.org,\n")
    config = make_config(make_site, port, table, name="pl.csv")
    code, out, err = send(config)
    assert (code, out) == (0, "4 sent, 0 already sent\n")  # and the tr list's
    assert err == ("warning: site/pl.csv:4: 'Bob,,2015' is not an email address (local@domain); "
                   "line skipped\n"
                   "warning: site/pl.csv:6: 'ANN@example.org' differs from an earlier line's "
                   "address only in letter case: both are mailed (a mail server may tell them "
                   "apart); if they are one subscriber, remove one line\n")
    assert [rcpt for rcpt, _ in received(handler)] == [
        ["jane@example.org"], ["ann@example.org"], ["ANN@example.org"]]


def test_an_unclosed_quote_skips_its_line_only(make_site: Any,
                                              server: tuple[FaultyHandler, int]) -> None:
    """A quote left open on one line of a CSV file skips that line, not the rest of the
    file: the subscribers after it are mailed."""
    handler, port = server
    table = 'email,name\na@x.org,"Smith, J\nb@x.org,Bob\nc@x.org,Carol\n'
    config = make_config(make_site, port, table, name="pl.csv")
    warning = ("warning: site/pl.csv:2: 'a@x.org,\"Smith, J' has a quote that is not closed "
               "within 100 lines; line skipped\n")
    assert run("check", "--config", config)[2].endswith(warning)
    code, out, err = send(config, "--lang", "pl")
    assert (code, out, err) == (0, "2 sent, 0 already sent\n", warning)
    assert [rcpt for rcpt, _ in received(handler)] == [["b@x.org"], ["c@x.org"]]


def test_a_quoted_csv_field_with_a_line_break_is_skipped(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    """An email cell spanning two lines (a header injection) is never mailed: the record is
    skipped whole, the address before the break included."""
    handler, port = server
    table = 'name,email\r\nEvil,"x@y.org\r\nBcc: e@z.org"\r\nAnn,ann@example.org\r\n'
    config = make_config(make_site, port, table, name="subs-pl.csv")
    warning = ("warning: site/subs-pl.csv:2: 'Evil,\"x@y.org\\r\\nBcc: e@z.org\"' contains a "
               "line break or a control character; lines 2-3 skipped\n")
    assert run("check", "--config", config)[2].endswith(warning)
    code, out, err = send(config, "--lang", "pl")
    assert (code, out, err) == (0, "1 sent, 0 already sent\n", warning)
    assert [rcpt for rcpt, _ in received(handler)] == [["ann@example.org"]]


def test_no_line_of_a_record_spanning_lines_is_mailed_alone(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    """The middle line of a quoted email cell spanning three lines looks like a record of
    its own holding an address: it is part of the cell, and nobody in it is mailed."""
    handler, port = server
    table = 'email,name\n"a@x.org\nb@x.org\nc@x.org",Three\nd@x.org,Dee\n'
    config = make_config(make_site, port, table, name="pl.csv")
    warning = ("warning: site/pl.csv:2: '\"a@x.org\\nb@x.org\\nc@x.org\",Three' contains a line "
               "break or a control character; lines 2-4 skipped\n")
    code, out, err = send(config, "--lang", "pl")
    assert (code, out, err) == (0, "1 sent, 0 already sent\n", warning)
    assert [rcpt for rcpt, _ in received(handler)] == [["d@x.org"]]


def test_a_multi_line_cell_beside_the_address_is_read_as_csv(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    """A spreadsheet's cell of several lines (a postal address, a note), saved as CSV, is
    one quoted field: the subscriber on its record is mailed, and a note's line that looks
    like an address, or a comment or blank line inside it, is part of the note."""
    handler, port = server
    table = ('Name,Postal address,Email,Notes\n'
             'Ann,"1 Main St\nFlat 2\n\nLondon",ann@x.org,"see also:\nbob@x.org"\n'
             'Cy,"Paris\n# not a comment, ""quoted""",cy@x.org,\n'
             'Dee,,dee@x.org,\n')
    config = make_config(make_site, port, table, name="pl.csv")
    assert run("check", "--config", config)[2] == ""
    code, out, err = send(config, "--lang", "pl")
    assert (code, out, err) == (0, "3 sent, 0 already sent\n", "")
    assert [rcpt for rcpt, _ in received(handler)] == [["ann@x.org"], ["cy@x.org"],
                                                        ["dee@x.org"]]


def test_a_stray_quote_is_its_line_only_even_with_another_far_below(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    """A quote still open 100 lines on is taken for a stray one: its line is skipped and
    the lines after it are read one by one, as if it were never closed."""
    handler, port = server
    rows = [f"s{n}@x.org,Name {n}\n" for n in range(120)]
    table = 'email,name\na@x.org,"Smith, J\n' + "".join(rows) + 'z@x.org,"Zed\n'
    config = make_config(make_site, port, table, name="pl.csv")
    unclosed = "has a quote that is not closed within 100 lines; line skipped"
    warnings = (f"warning: site/pl.csv:2: 'a@x.org,\"Smith, J' {unclosed}\n"
                f"warning: site/pl.csv:123: 'z@x.org,\"Zed' {unclosed}\n")
    code, out, err = send(config, "--lang", "pl")
    assert (code, out, err) == (0, "120 sent, 0 already sent\n", warnings)
    assert [rcpt for rcpt, _ in received(handler)] == [[f"s{n}@x.org"] for n in range(120)]


def test_a_refused_recipient_among_good_ones(make_site: Any) -> None:
    handler = FaultyHandler({("RCPT", 3): "550 5.1.1 no such user"}, keep=True)
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        code, out, err = send(config)
        assert code == 4
        assert out == "4 sent, 0 already sent\n"
        assert ("error: pl 2015-W36 to Bob@example.org: refused by the mail server (550 5.1.1 "
                "no such user at RCPT TO); recorded as refused in ") in err
        assert [rcpt for rcpt, _ in received(handler)] == [
            ["ann@example.org"], ["bob@example.org"], ["eve@example.net"]]
        code, out, err = send(config)  # reported once; later runs skip it quietly
        assert (code, out, "error" in err) == (0, "", False)
        code, out, _ = send(config, "--resend", "--recipient", "Bob@example.org")
        assert (code, out) == (0, "1 sent, 0 already sent\n")
    assert Counter(a for (a,), _ in received(handler)) == Counter(EXPECTED)


def test_an_unsubscribed_address_is_never_mailed(make_site: Any,
                                                 server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    assert run("unsubscribe", "--config", config, "bob@EXAMPLE.org", "--lang", "pl")[0] == 0
    assert run("unsubscribe", "--config", config, "eve@example.net")[0] == 0  # every language
    code, out, _ = send(config, "--dry-run")
    assert out.splitlines()[-2:] == [
        "would send pl 2015-W36 to 2 subscribers (0 already sent, 2 unsubscribed skipped)",
        "would send 3"]
    code, out, _ = send(config)
    assert (code, out) == (0, "3 sent, 0 already sent, 2 unsubscribed skipped\n")
    assert [rcpt for rcpt, _ in received(handler)] == [["ann@example.org"],
                                                       ["Bob@example.org"]]


def test_a_run_with_nothing_to_send_is_silent_though_someone_unsubscribed(
    make_site: Any, server: tuple[FaultyHandler, int],
) -> None:
    # send runs hourly: README promises silence when there is nothing to send. Fails on the
    # old code: every later run printed "0 sent, 2 already sent, 1 unsubscribed skipped".
    handler, port = server
    config = make_config(make_site, port, "ann@example.org\nbob@example.org\neve@example.org\n")
    assert run("unsubscribe", "--config", config, "eve@example.org")[0] == 0
    assert send(config) == (0, "3 sent, 0 already sent, 1 unsubscribed skipped\n", "")
    assert send(config) == (0, "", "")
    code, out, err = send(config, "-v")
    assert (code, out) == (0, "")
    assert "pl 2015-W36: 0 sent to subscribers, 2 already sent, 1 unsubscribed skipped" in err
    assert len(handler.received.messages) == 3


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[str]:
    """The unsubscribe endpoint on loopback, keeping its list in the site's state folder."""

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    app = make_app(tmp_path / "site" / "state", SECRET.encode())
    httpd = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def test_a_one_click_post_stops_the_next_send(make_site: Any, endpoint: str,
                                              server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port)
    send(config)
    (address,), message = received(handler)[1]
    link = urlsplit(str(message["List-Unsubscribe"]).strip("<>"))
    request = Request(f"{endpoint}{link.path}?{link.query}", data=b"List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urlopen(request, timeout=10) as answer:  # as a mail provider does (RFC 8058)
        assert answer.status == 200
    code, out, _ = send(config, "--resend")
    assert (code, out) == (0, "4 sent, 0 already sent, 1 unsubscribed skipped\n")
    counts = Counter(a for (a,), _ in received(handler))
    assert counts == Counter({a: 1 if a == address else 2 for a in EXPECTED})


def test_one_connection_carries_many_messages(make_site: Any,
                                              server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    many = "".join(f"reader{n}@example.org\n" for n in range(40))
    config = make_config(make_site, port, many)
    assert send(config)[:2] == (0, "41 sent, 0 already sent\n")
    assert len(handler.peers) == 1


def test_the_unsubscribe_link_must_name_and_sign_the_subscriber(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    _, port = server
    config = make_config(make_site, port)
    text = Path(config).read_text().replace("&token={token}", "")
    Path(config).write_text(text)
    code, _, err = send(config)
    assert code == 1
    assert "digests.unsubscribe: must be an https:// URL with {address} and {token} (it " \
           "lacks {token}), because digests.recipients mails each subscriber" in err


NOT_READ = ("error: site/sfb-feeds.yaml:10: digests.unsubscribe: must carry lang={lang}, "
            "address={address} and token={token} as parameters of its query, each once and as "
            "the whole value (wrong or missing: %s), because digests.recipients mails each "
            "subscriber a link that only the unsubscribe endpoint can check, and it reads only "
            "those three; other fixed parameters may stay (e.g. https://example.org/unsubscribe"
            "?lang={lang}&address={address}&token={token})\n")


@pytest.mark.parametrize(("template", "wrong"), [
    ("https://example.org/unsubscribe?list={lang}&address={address}&token={token}", "lang"),
    ("https://example.org/unsubscribe?address={address}&token={token}", "lang"),
    ("https://example.org/unsubscribe/{lang}/{address}/{token}", "lang, address, token"),
    ("https://example.org/unsubscribe?email={address}&t={token}&lang={lang}", "address, token"),
    ("https://example.org/unsubscribe?lang={lang}&address=x{address}&token={token}", "address"),
    ("https://example.org/unsubscribe?lang=en&lang={lang}&address={address}&token={token}",
     "lang"),
    ("https://example.org/u/{lang}?lang={lang}&address={address}&token={token}", "lang"),
    ("https://example.org/unsubscribe?lang={lang}&address={address}#token={token}", "token"),
])
def test_a_link_the_endpoint_cannot_read_is_refused(
    make_site: Any, server: tuple[FaultyHandler, int], template: str, wrong: str
) -> None:
    """The endpoint reads lang, address and token from the query only: a personal template
    that puts them anywhere else would give links that unsubscribe no one."""
    handler, port = server
    config = make_config(make_site, port, unsubscribe=template)
    expected = NOT_READ % wrong
    assert run("check", "--config", config) == (1, "", expected)
    assert send(config) == (1, "", expected)
    assert handler.received.messages == []
    assert not (Path(config).parent / "state").exists()


def test_a_query_too_long_for_the_endpoint_is_refused(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    handler, port = server
    fixed = "".join(f"&f{n}=x" for n in range(8))
    config = make_config(make_site, port, unsubscribe=UNSUBSCRIBE + fixed)
    expected = ("error: site/sfb-feeds.yaml:10: digests.unsubscribe: has 11 query parameters, "
                "but the unsubscribe endpoint reads at most 10; keep lang={lang}, "
                "address={address} and token={token} and drop the others\n")
    assert run("check", "--config", config) == (1, "", expected)
    assert send(config) == (1, "", expected)
    assert handler.received.messages == []


@pytest.mark.parametrize("template", [
    "https://example.org/unsubscribe?from=digest&token={token}&address={address}&lang={lang}",
    "https://example.org/unsubscribe?lang={lang}&address={address}&token={token}&via=mail#top",
])
def test_a_link_of_an_accepted_template_unsubscribes(
    make_site: Any, endpoint: str, server: tuple[FaultyHandler, int], template: str
) -> None:
    """Whatever template check accepts gives links that the endpoint honours."""
    handler, port = server
    config = make_config(make_site, port, unsubscribe=template)
    assert run("check", "--config", config)[0] == 0
    assert send(config)[:2] == (0, "5 sent, 0 already sent\n")
    (address,), message = received(handler)[0]
    link = urlsplit(str(message["List-Unsubscribe"]).strip("<>"))
    request = Request(f"{endpoint}{link.path}?{link.query}", data=b"List-Unsubscribe=One-Click",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    assert send(config, "--resend")[:2] == (
        0, "4 sent, 0 already sent, 1 unsubscribed skipped\n")
    assert address not in [a for (a,), _ in received(handler)[len(EXPECTED):]]


def test_send_names_the_unset_secret_variable(make_site: Any, monkeypatch: pytest.MonkeyPatch,
                                              server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = make_config(make_site, port, extra="  unsubscribe_secret_env: SITE_UNSUB_KEY\n")
    code, _, err = send(config)
    assert code == 1
    assert ("digests.unsubscribe_secret_env: the environment variable SITE_UNSUB_KEY is not "
            "set or empty") in err
    assert handler.received.messages == []
    monkeypatch.setenv("SITE_UNSUB_KEY", "another secret")
    assert send(config)[:2] == (0, "5 sent, 0 already sent\n")


def test_published_pages_carry_no_unfillable_link(make_site: Any) -> None:
    """With a personal unsubscribe template, the built web page and text (served to anyone)
    show no link with {address}/{token}; the .eml, which send signs per recipient, keeps it."""
    config = make_config(make_site, 25)
    code, _, err = run("build", "--config", config, "--now", "2015-09-10")
    assert code == 0, err
    week = Path(config).parent / "feeds" / "digests" / "pl" / "2015-W36"
    page = _Links()
    page.feed(week.with_suffix(".html").read_text(encoding="utf-8"))
    assert [h for h in page.hrefs if "unsubscribe" in h] == []
    assert "unsubscribe" not in week.with_suffix(".txt").read_text(encoding="utf-8")
    message = BytesParser(_class=EmailMessage, policy=default).parsebytes(
        week.with_suffix(".eml").read_bytes())
    html_links, text_links = footer_links(message)
    assert html_links and text_links
    assert all("{address}" in link or "%7Baddress%7D" in link
               for link in html_links + text_links)


@pytest.mark.parametrize("more", [(), ("--resend",), ("--dry-run",), ("--lang", "tr")])
def test_send_names_the_config_line_of_a_recipients_file_it_cannot_read(
        make_site: Any, server: tuple[FaultyHandler, int], more: tuple[str, ...]) -> None:
    """As `check` does (the same message: key, line, file, what to do): exit 1, nothing
    sent, the ledger as it was; even for a run that would mail only the lists (`check`
    refuses this config too)."""
    handler, port = server
    config = make_config(make_site, port)
    assert send(config)[:2] == (0, "5 sent, 0 already sent\n")
    sent = len(handler.received.messages)
    state = Path(config).parent / "state"
    before = snapshot(state)
    (Path(config).parent / "pl.txt").unlink()
    expected = ("error: site/sfb-feeds.yaml:11: digests.recipients.pl: cannot read site/pl.txt: "
                "No such file or directory (send mails the language's subscribers from it; "
                "correct the path or create the file)\n")
    assert run("check", "--config", config, "--now", "2015-09-14") == (1, "", expected)
    assert send(config, *more) == (1, "", expected)
    assert len(handler.received.messages) == sent
    assert snapshot(state) == before
