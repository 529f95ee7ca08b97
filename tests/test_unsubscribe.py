"""Unsubscribe tokens and links, and the endpoint over real HTTP on loopback (wsgiref)."""

from __future__ import annotations

import html
import http.client
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import html5lib
import pytest

from sfb_feeds.i18n import translations
from sfb_feeds.suppression import load_suppressed, suppressed_path
from sfb_feeds.unsubscribe import (
    SecretMissing,
    make_app,
    secret_from_env,
    token,
    unsubscribe_url,
    verify,
)

SECRET = b"test secret, not a real one"
TEMPLATE = "https://example.org/unsubscribe?lang={lang}&address={address}&token={token}"
ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"
XHTML = "{http://www.w3.org/1999/xhtml}"


# --- tokens and links ----------------------------------------------------------------------


def test_token_is_urlsafe_unpadded_and_stable() -> None:
    value = token(SECRET, "pl", "ann@example.org")
    assert len(value) == 43 and "=" not in value
    assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert value == token(SECRET, "pl", "ann@example.org")
    assert value != token(b"another secret", "pl", "ann@example.org")


def test_domain_case_is_ignored_local_part_case_is_not() -> None:
    assert token(SECRET, "pt-br", " Ann@Example.ORG ") == token(SECRET, "pt-BR", "Ann@example.org")
    assert token(SECRET, "pl", "Ann@example.org") != token(SECRET, "pl", "ann@example.org")


@pytest.mark.parametrize(("lang", "address"), [
    ("pl", "ann@example.org"),          # the same address in another language
    ("en", "bob@example.org"),          # another address
    ("en", "ann@example.org.uk"),       # a longer address sharing a prefix
    ("*", "ann@example.org"),           # every language is not "en"
])
def test_each_list_and_address_has_its_own_token(lang: str, address: str) -> None:
    mine = token(SECRET, "en", "ann@example.org")
    assert not verify(SECRET, lang, address, mine)
    assert verify(SECRET, "en", "ann@example.org", mine)


@pytest.mark.parametrize("candidate", [
    "", "x", "A" * 43, "é" * 43,
])
def test_verify_refuses_made_up_tokens(candidate: str) -> None:
    assert not verify(SECRET, "en", "ann@example.org", candidate)


def test_verify_refuses_bad_input_without_raising() -> None:
    good = token(SECRET, "en", "ann@example.org")
    assert not verify(SECRET, "not a tag!", "ann@example.org", good)
    assert not verify(SECRET, "en", "no-at-sign", good)
    assert not verify(b"", "en", "ann@example.org", good)


def test_url_fills_every_placeholder_and_verifies() -> None:
    url = unsubscribe_url(TEMPLATE, SECRET, "sr-latn", "Ann+digest@Example.org")
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).netloc == "example.org" and "{" not in url
    assert "%40" in url and "%2B" in url  # the address is URL-encoded, + included
    assert query["lang"] == ["sr-Latn"] and query["address"] == ["Ann+digest@example.org"]
    assert verify(SECRET, query["lang"][0], query["address"][0], query["token"][0])


def test_url_template_keeps_other_braces() -> None:
    url = unsubscribe_url("https://e.org/{lang}/{other}?t={token}", SECRET, "pl", "a@b.org")
    assert url.startswith("https://e.org/pl/{other}?t=")


def test_secret_from_env_names_the_variable() -> None:
    assert secret_from_env("MY_SECRET", {"MY_SECRET": "s3cret"}) == b"s3cret"
    for environ in ({}, {"MY_SECRET": ""}, {"MY_SECRET": "  "}):
        with pytest.raises(SecretMissing, match="MY_SECRET is not set or empty"):
            secret_from_env("MY_SECRET", environ)


# --- the endpoint over HTTP ----------------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Endpoint:
    port: int
    state: Path

    def request(self, method: str, query: dict[str, str] | str, body: bytes = b"",
                content_type: str = FORM) -> tuple[int, bytes, http.client.HTTPResponse]:
        path = "/unsubscribe?" + (query if isinstance(query, str) else urlencode(query))
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Content-Type": content_type} if method == "POST" else {}
            conn.request(method, path, body=body if method == "POST" else None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read(), response
        finally:
            conn.close()


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[Endpoint]:
    state = tmp_path / "state"
    server = make_server("127.0.0.1", 0, make_app(state, SECRET), _Server, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Endpoint(server.server_port, state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _link(lang: str, address: str) -> dict[str, str]:
    return {"lang": lang, "address": address, "token": token(SECRET, lang, address)}


def test_one_click_post_suppresses(endpoint: Endpoint) -> None:
    status, _, response = endpoint.request("POST", _link("pl", "ann@example.org"), ONE_CLICK)
    assert status == 200
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    assert load_suppressed(endpoint.state) == {("pl", "ann@example.org")}
    assert '"source": "one-click"' in suppressed_path(endpoint.state).read_text()


def test_multipart_one_click_post_suppresses(endpoint: Endpoint) -> None:
    # RFC 8058 says the body SHOULD be multipart/form-data (Gmail sends it so).
    body = (b'--b0undary\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--b0undary--\r\n")
    status, _, _ = endpoint.request("POST", _link("ar", "Sam@Example.org"), body,
                                    "multipart/form-data; boundary=b0undary")
    assert status == 200
    assert load_suppressed(endpoint.state) == {("ar", "Sam@example.org")}


@pytest.mark.parametrize("body", [ONE_CLICK + b"\r\n", ONE_CLICK + b"\n",
                                  b"List-Unsubscribe=%20One-Click%09\r\n"])
def test_urlencoded_one_click_value_may_have_surrounding_space(endpoint: Endpoint,
                                                                body: bytes) -> None:
    """As in a multipart body, a line break or space around the value is not part of it."""
    status, _, _ = endpoint.request("POST", _link("pl", "ann@example.org"), body)
    assert status == 200
    assert load_suppressed(endpoint.state) == {("pl", "ann@example.org")}


def _altered(value: str) -> str:
    return ("B" if value[5] == "A" else "A").join((value[:5], value[6:]))


BAD_LINKS = {
    "wrong token": {"lang": "pl", "address": "ann@example.org", "token": "A" * 43},
    "altered token": {**_link("pl", "ann@example.org"),
                      "token": _altered(token(SECRET, "pl", "ann@example.org"))},
    "another address's token": {**_link("pl", "ann@example.org"),
                                "token": token(SECRET, "pl", "bob@example.org")},
    "another language's token": {**_link("pl", "ann@example.org"),
                                 "token": token(SECRET, "en", "ann@example.org")},
    "no token": {"lang": "pl", "address": "ann@example.org"},
    "not an address": {**_link("pl", "ann@example.org"), "address": "ann"},
    "token for every language": {**_link("pl", "ann@example.org"),
                                 "token": token(SECRET, "*", "ann@example.org")},
}


@pytest.mark.parametrize("case", sorted(BAD_LINKS))
def test_bad_links_change_nothing_and_answer_as_success(endpoint: Endpoint, case: str) -> None:
    bad_status, bad_body, _ = endpoint.request("POST", BAD_LINKS[case], ONE_CLICK)
    assert not suppressed_path(endpoint.state).exists()
    # The same answer as a real unsubscribe of a (so far unknown) address: no oracle.
    status, body, _ = endpoint.request("POST", _link("pl", "zoe@example.org"), ONE_CLICK)
    assert (bad_status, bad_body) == (status, body) == (200, body)
    assert load_suppressed(endpoint.state) == {("pl", "zoe@example.org")}


def _parse(body: bytes) -> Any:
    """The page as an ElementTree element (html5lib's default tree)."""
    return html5lib.parse(body, transport_encoding="utf-8")


@pytest.mark.parametrize(("lang", "direction"), [("pl", "ltr"), ("ar", "rtl")])
def test_get_shows_one_button_in_the_lists_language(endpoint: Endpoint, lang: str,
                                                    direction: str) -> None:
    link = _link(lang, "ann@example.org")
    status, body, response = endpoint.request("GET", link)
    assert status == 200 and response.getheader("Cache-Control") == "no-store"
    assert not suppressed_path(endpoint.state).exists()  # a prefetch unsubscribes no one
    page = _parse(body)
    assert (page.get("lang"), page.get("dir")) == (lang, direction)
    (form,) = page.iter(f"{XHTML}form")
    (button,) = form.iter(f"{XHTML}button")
    assert button.text == translations(lang).gettext("Unsubscribe") != "Unsubscribe"
    assert "ann@example.org" in "".join(page.find(f".//{XHTML}p").itertext())
    fields = {i.get("name"): i.get("value") for i in form.iter(f"{XHTML}input")}
    assert form.get("method") == "post" and fields["List-Unsubscribe"] == "One-Click"
    # Submitting the form, as a browser would, unsubscribes.
    action = urlsplit(urljoin("http://x/unsubscribe?old", form.get("action")))
    assert parse_qs(action.query) == {key: [value] for key, value in link.items()}
    status, _, _ = endpoint.request("POST", action.query, urlencode(fields).encode())
    assert status == 200
    assert '"source": "page"' in suppressed_path(endpoint.state).read_text()


@pytest.mark.parametrize("lang", ["ps", "yi", "sw", "am"])
def test_a_language_without_a_catalog_gets_an_english_page(endpoint: Endpoint,
                                                           lang: str) -> None:
    """The page's words come from the language's catalog, or are English without one; the
    page then says it is English, laid out left to right. Before, a Pashto or Yiddish link
    showed the English sentence as Pashto or Yiddish (lang="ps", a screen reader's Pashto
    voice) laid out right to left, its question mark drawn at the far left."""
    link = _link(lang, "ann@example.org")
    _, body, _ = endpoint.request("GET", link)
    _, done, _ = endpoint.request("POST", link, ONE_CLICK)
    for page in (_parse(body), _parse(done)):
        assert (page.get("lang"), page.get("dir")) == ("en", "ltr")
    shown = "".join(_parse(body).find(f".//{XHTML}p").itertext())
    assert shown == "Stop sending these digests to ann@example.org?"


def test_get_escapes_what_it_shows(endpoint: Endpoint) -> None:
    nasty = '"><script>alert(1)</script>@x.org'
    for address in (nasty, "a&b<i>@example.org", "ok@example.org"):
        query = {"lang": '"><b>', "address": address, "token": "<img src=x>"}
        _, body, _ = endpoint.request("GET", query)
        tree = _parse(body)
        names = {element.tag for element in tree.iter()}
        assert not names & {f"{XHTML}script", f"{XHTML}img", f"{XHTML}b", f"{XHTML}i"}
        assert b"<script" not in body and b"<img" not in body
    # An address may hold "&" and quotes: shown as written, not read as markup.
    address = "tom&amp;jerry's@example.org"
    _, body, _ = endpoint.request("GET", _link("pl", address))
    assert address in "".join(_parse(body).find(f".//{XHTML}p").itertext())


def test_post_without_the_one_click_body_changes_nothing(endpoint: Endpoint) -> None:
    link = _link("pl", "ann@example.org")
    for body in (b"", b"List-Unsubscribe=Yes", b"Other=One-Click", b" List-Unsubscribe=One-Click",
                 b"List-Unsubscribe=One-Click\r\nX", b"List-Unsubscribe=One Click"):
        status, _, _ = endpoint.request("POST", link, body)
        assert status == 400
    assert not suppressed_path(endpoint.state).exists()


def test_large_bodies_are_refused_unread(endpoint: Endpoint) -> None:
    body = ONE_CLICK + b"&pad=" + b"x" * 9000
    status, _, _ = endpoint.request("POST", _link("pl", "ann@example.org"), body)
    assert status == 413
    assert not suppressed_path(endpoint.state).exists()


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_405(endpoint: Endpoint, method: str) -> None:
    status, _, response = endpoint.request(method, _link("pl", "ann@example.org"))
    assert status == 405 and response.getheader("Allow") == "GET, HEAD, POST"
    assert not suppressed_path(endpoint.state).exists()


def test_fifty_concurrent_posts_lose_no_entry(endpoint: Endpoint) -> None:
    addresses = [f"reader{n}@example.org" for n in range(50)]
    barrier = threading.Barrier(len(addresses))
    statuses: list[int] = []

    def post(address: str) -> None:
        barrier.wait()
        statuses.append(endpoint.request("POST", _link("de", address), ONE_CLICK)[0])

    threads = [threading.Thread(target=post, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 50
    assert load_suppressed(endpoint.state) == {("de", a) for a in addresses}
    lines = suppressed_path(endpoint.state).read_bytes().split(b"\n")
    assert len(lines) == 51 and lines[-1] == b""  # 50 whole lines, nothing glued together


def test_replayed_link_adds_nothing_and_answers_the_same(endpoint: Endpoint) -> None:
    """Whoever holds one valid link cannot grow the list: an address already suppressed
    for that language (or for every one) adds no line, and gets the same page."""
    link = _link("pl", "ann@example.org")
    first = endpoint.request("POST", link, ONE_CLICK)[:2]
    listed = suppressed_path(endpoint.state).read_bytes()
    replays = {endpoint.request("POST", link, ONE_CLICK)[:2] for _ in range(5)}
    assert replays == {first} and first[0] == 200
    assert suppressed_path(endpoint.state).read_bytes() == listed
    assert listed.count(b"\n") == 1


def test_concurrent_replays_of_one_link_add_one_line(endpoint: Endpoint) -> None:
    link = _link("de", "ann@example.org")
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def post() -> None:
        barrier.wait()
        statuses.append(endpoint.request("POST", link, ONE_CLICK)[0])

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    assert suppressed_path(endpoint.state).read_bytes().count(b"\n") == 1


# --- the page in a browser -----------------------------------------------------------------

# Scripts run by the page around the iframe that shows the endpoint's page (the page's own
# Content-Security-Policy forbids scripts in it, not in this one); each one's result is
# written as JSON into #result. DRAWN: where each character of ``needle`` is drawn in the
# paragraph; WIDTHS: the page's scroll width and its width.
_DRAWN = """
const d = document.querySelector('iframe').contentDocument;
const needle = document.body.dataset.needle, chars = [];
const walker = d.createTreeWalker(d.querySelector('p'), NodeFilter.SHOW_TEXT);
for (let node; (node = walker.nextNode());)
  for (let at = 0; at < node.textContent.length; at++) chars.push([node, at]);
const text = chars.map(([node, at]) => node.textContent[at]).join('');
const start = text.indexOf(needle);
return start < 0 ? null : chars.slice(start, start + needle.length).map(([node, at]) => {
  const range = d.createRange(); range.setStart(node, at); range.setEnd(node, at + 1);
  return range.getBoundingClientRect().left; });
"""
_WIDTHS = """
const page = document.querySelector('iframe').contentDocument.documentElement;
return [page.scrollWidth, page.clientWidth];
"""


def _in_chromium(tmp_path: Path, page: bytes, script: str, *, width: int = 600,
                 needle: str = "") -> Any:
    """What ``script`` returns once ``page`` is shown in Chromium, ``width`` px wide."""
    from test_browser import CHROMIUM, FLAGS

    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium not found at {CHROMIUM} (Debian's 'chromium' package)")
    shown = tmp_path / "shown.html"
    shown.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>body{margin:0}</style>"
        f"</head><body data-needle='{html.escape(needle, quote=True)}'><iframe "
        f"width='{width}' height='600' style='border:0' "
        f"srcdoc=\"{html.escape(page.decode('utf-8'), quote=True)}\"></iframe>"
        "<pre id='result'></pre><script>window.addEventListener('load', () => { "
        "document.getElementById('result').textContent = JSON.stringify((() => {"
        f"{script}}})()); }});</script></body></html>", encoding="utf-8")
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         shown.as_uri()], capture_output=True, timeout=180, check=False,
        env={**os.environ, "HOME": str(tmp_path)})
    result = html5lib.parse(done.stdout, namespaceHTMLElements=False).find(
        ".//pre[@id='result']")
    assert result is not None and result.text, done.stderr[-2000:]
    return json.loads(result.text)


@pytest.mark.parametrize(("lang", "address"), [
    ("ar", "2024-ann@example.org"), ("he", "12.34@example.org"), ("fa", "1990_ann@example.org"),
    ("ar", "ann@example.org"), ("en", "2024-ann@example.org"),
])
def test_the_page_shows_the_address_as_written(endpoint: Endpoint, tmp_path: Path,
                                               lang: str, address: str) -> None:
    """The address on the page reads left to right, its characters in order, in a
    right-to-left language too. Before, UAX #9 reordered its runs in the Arabic and
    Hebrew sentences: '2024-ann@example.org' was drawn 'ann@example.org-2024' and
    '12.34@example.org' 'example.org@12.34'."""
    _, body, _ = endpoint.request("GET", _link(lang, address))
    lefts = _in_chromium(tmp_path, body, _DRAWN, needle=address)
    assert lefts == sorted(lefts) and len(set(lefts)) == len(address), lefts


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_long_address_fits_a_phone_screen(endpoint: Endpoint, tmp_path: Path,
                                            lang: str) -> None:
    """On a 320 px wide phone the page, a long address included, needs no sideways
    scrolling. Before, 'firstname.lastname.department@university-example.ac.uk' ran off
    the screen (the page 349 px wide), the address cut at 'univers'."""
    address = "firstname.lastname.department@university-example.ac.uk"
    _, body, _ = endpoint.request("GET", _link(lang, address))
    scroll_width, width = _in_chromium(tmp_path, body, _WIDTHS, width=320)
    assert 0 < width <= 320 and scroll_width <= width
