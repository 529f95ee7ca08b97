"""Public URLs in digests, .eml headers and the subscribe page: right with any feeds_url."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from dataclasses import replace
from urllib.parse import urljoin

import html5lib
import pytest
from cli_run import run
from conftest import SiteMaker, render_site
from test_digest_factory import BASE, NOW, refugee_statements, settings

from sfb_feeds.personalise import Personaliser
from sfb_feeds.site import make_site

FEEDS = BASE + "feeds/"


def outputs(feeds_url: str) -> dict[str, bytes]:
    base = settings()
    configured = replace(base, site=replace(base.site, feeds_url=feeds_url))
    site = make_site(configured, refugee_statements(), NOW)
    return {o.path: o.data for o in render_site(site)}


@pytest.fixture(scope="module", params=[FEEDS, FEEDS.rstrip("/")], ids=["slash", "no-slash"])
def built(request: pytest.FixtureRequest) -> dict[str, bytes]:
    return outputs(request.param)


def hrefs(data: bytes, page: str) -> list[str]:
    """Every link and autodiscovery address of an HTML page, resolved against the page."""
    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    document = parser.parse(data)
    return [urljoin(FEEDS + page, element.get("href"))
            for element in document.iter() if element.get("href")]


def published(url: str, built: dict[str, bytes]) -> bool:
    """True when ``url`` is under feeds_url and names a file the build writes."""
    return url.startswith(FEEDS) and url.removeprefix(FEEDS) in built


def test_the_feeds_url_needs_no_trailing_slash() -> None:
    assert outputs(FEEDS.rstrip("/")) == outputs(FEEDS)


@pytest.mark.parametrize("page", ["digests/pl/2015-W36.html", "digests/pl/index.html",
                                  "index.html"])
def test_every_link_into_the_feeds_folder_names_an_output(
        built: dict[str, bytes], page: str) -> None:
    links = [url for url in hrefs(built[page], page) if url.startswith(BASE + "feeds")]
    assert links, "the page links nothing in the feeds folder"
    assert [url for url in links if not published(url, built)] == []


def test_digest_links_its_feeds_archive_and_browser_copy(built: dict[str, bytes]) -> None:
    links = set(hrefs(built["digests/pl/2015-W36.html"], "digests/pl/2015-W36.html"))
    assert {FEEDS + "pl/atom.xml", FEEDS + "pl/rss.xml", FEEDS + "pl/feed.json",
            FEEDS + "digests/pl/index.html", FEEDS + "digests/pl/2015-W36.html"} <= links


def test_subscribe_page_links_each_digest_archive(built: dict[str, bytes]) -> None:
    links = set(hrefs(built["index.html"], "index.html"))
    assert {FEEDS + f"digests/{lang}/index.html" for lang in ("en", "pl")} <= links


def test_eml_list_archive_is_the_archive_page(built: dict[str, bytes]) -> None:
    message = email.message_from_bytes(built["digests/pl/2015-W36.eml"],
                                       policy=email.policy.default)
    archive = str(message["List-Archive"])
    assert archive.startswith("<") and archive.endswith(">")
    assert archive[1:-1] == FEEDS + "digests/pl/index.html"
    assert published(archive[1:-1], built)


@pytest.mark.parametrize("module", ["sfb_feeds.digest", "sfb_feeds.feeds", "sfb_feeds.digest.eml",
                                    "sfb_feeds.digest.view", "sfb_feeds.feeds.index_page",
                                    "sfb_feeds.pipeline"])
def test_modules_import_first_without_a_cycle(module: str) -> None:
    """Feeds link to digests and digests to feeds: any of them may be imported first."""
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


INTERNATIONAL = """\
site:
  title: T
  url: https://bücher.example/
digests:
  unsubscribe: "{unsubscribe}"
"""


@pytest.mark.parametrize("unsubscribe", [
    "https://bücher.example/abmelden?list={lang}",
    "https://bücher.example/abmelden?lang={lang}&address={address}&token={token}",
])
def test_an_international_host_is_idna_in_url_headers(make_site: SiteMaker,
                                                      unsubscribe: str) -> None:
    """A mail header carries only ASCII: a host such as bücher.example goes into
    List-Unsubscribe and List-Archive in its IDNA form (RFC 3987 section 3.1), never
    percent-encoded, in the build's .eml and in a subscriber's copy; the body's links stay
    as they were."""
    record = "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\nid: urn:sfb:a\n"
    config = make_site({"a.yaml": record}, config=INTERNATIONAL.format(unsubscribe=unsubscribe))
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    data = (config.parent / "feeds" / "digests" / "en" / "2015-W36.eml").read_bytes()
    copy = Personaliser.parse(data, unsubscribe, b"secret", "en").build("ann@example.org")
    for message in (email.message_from_bytes(raw, policy=email.policy.default)
                    for raw in (data, copy)):
        assert str(message["Message-ID"]).endswith("@xn--bcher-kva.example>")
        assert str(message["List-Id"]) == "T <en.digests.xn--bcher-kva.example>"
        assert message["List-Archive"] == \
            "<https://xn--bcher-kva.example/feeds/digests/en/index.html>"
        link = str(message["List-Unsubscribe"])
        assert link.startswith("<https://xn--bcher-kva.example/abmelden?"), link
        assert link.endswith(">") and "%" not in link.split("?")[0]
    text = (config.parent / "feeds" / "digests" / "en" / "2015-W36.txt").read_text("utf-8")
    if "{address}" not in unsubscribe:  # (a subscriber's link is in the .eml alone)
        assert "https://bücher.example/abmelden?list=en" in text
    else:
        body = email.message_from_bytes(copy, policy=email.policy.default).get_body(("plain",))
        assert body is not None
        assert "https://bücher.example/abmelden?lang=en&address=" in str(body.get_content())
