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
from conftest import render_site
from test_digest_factory import BASE, NOW, refugee_statements, settings

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
