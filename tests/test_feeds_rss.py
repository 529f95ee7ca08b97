"""RSS 2.0 feeds: the RSS Advisory Board profile, guids, dc:creator, dates, escaping."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

import feedparser
import pytest
from test_feeds_fixtures import (
    NS,
    TRICKY_PARAGRAPHS,
    TRICKY_TITLE,
    build,
    noon_if_bare,
    paragraphs_of,
    public,
    sample_site,
    url,
    xml,
)

from sfb_feeds.model import Statement
from sfb_feeds.site import Site
from sfb_feeds.urls import entry_id

# RFC 822 as the W3C validator accepts it without a warning: four-digit year, seconds,
# and a numeric zone whose minutes are 00 or 30 (ProblematicalRFC822Date otherwise).
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                    r"Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d\d[03]0$")


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    return build(sample_site(entries=50))


def channel(data: bytes) -> object:
    root = xml(data)
    assert root.tag == "rss" and root.get("version") == "2.0"
    return root.find("channel")


def test_channel_metadata(outputs: dict[str, bytes]) -> None:
    ch = channel(outputs["pl/rss.xml"])
    assert ch.findtext("title") == "Socialism From Below — Polski"
    assert ch.findtext("link") == "https://www.istendency.net/"
    assert ch.findtext("description") == "Statements of the International Socialist Tendency."
    assert ch.findtext("language") == "pl"
    assert ch.findtext("generator") == "sfb-feeds"
    assert ch.findtext("docs") == "http://www.rssboard.org/rss-specification"
    self_links = [dict(e.attrib) for e in ch.findall("atom:link", NS) if e.get("rel") == "self"]
    assert self_links == [{"href": public("pl/rss.xml"), "rel": "self",
                           "type": "application/rss+xml"}]
    others = [(e.get("hreflang"), e.get("href"), e.get("type"))
              for e in ch.findall("atom:link", NS) if e.get("rel") == "related"]
    assert others == [(lang, public(f"{lang}/rss.xml"), "application/rss+xml")
                      for lang in ("ar", "en", "pt-BR", "tr")]


def by_guid(site: Site) -> dict[str, Statement]:
    return {entry_id(s.id, s.date, site.settings): s for s in site.statements}


def test_items_newest_first_with_guids(outputs: dict[str, bytes]) -> None:
    site = sample_site(entries=50)
    items = channel(outputs["en/rss.xml"]).findall("item")
    statements = by_guid(site)
    assert [statements[i.findtext("guid")] for i in items] == list(site.by_language["en"])
    guids = {i.findtext("guid"): i.find("guid").get("isPermaLink") for i in items}
    assert guids[url("intervention")] == "true"
    # Ids that are not the statement's web page are not permalinks.
    assert guids["tag:www.istendency.net,2013-11-07:ist-2013-founding"] == "false"
    assert guids[url("upper~case")] == "false"
    no_page = next(i for i in items if "founding" in i.findtext("guid"))
    assert no_page.find("link") is None


def test_authors_are_dc_creators_never_invented_emails(outputs: dict[str, bytes]) -> None:
    items = channel(outputs["en/rss.xml"]).findall("item")
    assert all(item.find("author") is None for item in items)
    tricky = next(i for i in items if i.findtext("guid") == url("tricky"))
    assert [c.text for c in tricky.findall("dc:creator", NS)] == [
        "DSIP", "Revolutionary Socialists (Egypt)"]
    assert b"@" not in b"".join(c.text.encode() for i in items for c in i.findall("dc:creator", NS))
    parsed = next(e for e in feedparser.parse(outputs["en/rss.xml"]).entries
                  if e.id == url("tricky"))
    assert [author.name for author in parsed.authors] == [
        "DSIP", "Revolutionary Socialists (Egypt)"]
    assert "email" not in parsed.authors[0]


def test_an_item_without_authors_names_the_sites_author(outputs: dict[str, bytes]) -> None:
    """As Atom (the feed's author) and JSON Feed (the feed's authors) say of such an entry."""
    site = sample_site(entries=50)
    for path in ("en/rss.xml", "rss.xml", "tr/rss.xml"):
        items = {item.findtext("guid"): item for item in channel(outputs[path]).findall("item")}
        parsed = {entry.id: entry for entry in feedparser.parse(outputs[path]).entries}
        assert items
        for statement in site.statements:
            guid = entry_id(statement.id, statement.date, site.settings)
            if guid not in items:
                continue
            names = list(statement.authors) or ["International Socialist Tendency"]
            assert [c.text for c in items[guid].findall("dc:creator", NS)] == names, guid
            assert [author.name for author in parsed[guid].authors] == names, guid


def test_dates_are_rfc822_and_the_newest_update(outputs: dict[str, bytes]) -> None:
    site = sample_site(entries=50)
    ch = channel(outputs["en/rss.xml"])
    statements = by_guid(site)
    for item in ch.findall("item"):
        text = item.findtext("pubDate")
        assert RFC822.match(text), text
        assert parsedate_to_datetime(text) == noon_if_bare(statements[item.findtext("guid")].date)
    last_build = ch.findtext("lastBuildDate")
    assert RFC822.match(last_build)
    assert parsedate_to_datetime(last_build) == max(
        noon_if_bare(s.updated) for s in site.by_language["en"]).replace(microsecond=0)


def test_offsets_that_are_not_half_hours_are_written_in_utc(outputs: dict[str, bytes]) -> None:
    items = channel(outputs["en/rss.xml"]).findall("item")
    kathmandu = next(i for i in items if i.findtext("guid") == url("kathmandu"))
    assert kathmandu.findtext("pubDate") == "Sat, 02 May 2015 03:45:00 +0000"


def test_combined_feed_names_each_item_language(outputs: dict[str, bytes]) -> None:
    ch = channel(outputs["rss.xml"])
    assert ch.find("language") is None
    site = sample_site(entries=50)
    assert [i.findtext("dc:language", namespaces=NS) for i in ch.findall("item")] == [
        s.language for s in site.statements]
    language_feed = channel(outputs["ar/rss.xml"])
    assert [i.find("dc:language", NS) for i in language_feed.findall("item")] == [None]


def test_text_reaches_a_reader_exactly_as_written(outputs: dict[str, bytes]) -> None:
    parsed = feedparser.parse(outputs["en/rss.xml"])
    assert not parsed.bozo
    entry = next(e for e in parsed.entries if e.id == url("tricky"))
    assert entry.title == TRICKY_TITLE
    assert paragraphs_of(entry.summary) == list(TRICKY_PARAGRAPHS)
    assert [tag.term for tag in entry.tags] == ["a & b", "<tag>"]
    item = next(i for i in channel(outputs["en/rss.xml"]).findall("item")
                if i.findtext("guid") == url("tricky"))
    assert item.findtext("title") == TRICKY_TITLE
    assert paragraphs_of(item.findtext("description")) == list(TRICKY_PARAGRAPHS)


def test_special_characters_use_hexadecimal_references(outputs: dict[str, bytes]) -> None:
    """The RSS profile's advice (validator: CharacterData) for '&', '<' and '>'."""
    data = outputs["en/rss.xml"]
    for entity in (b"&amp;", b"&lt;", b"&gt;"):
        assert entity not in data
    assert b"Profits &#x3C; wages &#x26; " in data
    assert b"\xe2\x9c\x8a" in data  # the emoji itself, UTF-8, not a reference
