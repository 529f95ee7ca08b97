"""What feedgen writes for our entries, read back with an XML parser.

feedgen writes every document whole; our extensions add what it drops (entry link
attributes, upstream issue #135; ``xml:lang``; the title's type). Generated entries with
the awkward cases drawn often (no url, an empty excerpt, empty author names, markup-like
titles, other languages, characters XML escapes) must come back exactly as they went in.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sfb_feeds.feeds.document import HTML, Entry, Feed, Link
from sfb_feeds.feeds.feedgen_adapter import render_atom, render_rss

NS = {"a": "http://www.w3.org/2005/Atom", "dc": "http://purl.org/dc/elements/1.1/"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_TRICKY = st.sampled_from(["<b>", "</b>", "&amp;", "&", "&#38;", "a & b", "<", ">", "\n", "\t",
                           '"', "'", " ", "]]>", "\x7f", "\U0001f600", "\u03a9",
                           "\u0627", "\ud55c", "\ufffd"])
_TEXT = st.lists(st.one_of(_TRICKY, st.text(st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=8)),
    max_size=4).map("".join)
_NON_EMPTY = _TEXT.filter(lambda text: bool(text.strip()))
_LANGUAGES = st.sampled_from(["en", "pl", "pt-BR", "ar"])
_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                          timezone(timedelta(hours=-3))])
_MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1),
                        timezones=_ZONES)
_URLS = st.sampled_from(["https://example.org/a", "https://example.org/b?x=1&y=2",
                         'https://example.org/"<c>"'])


@st.composite
def _entries(draw: st.DrawFn) -> Entry:
    url = draw(st.one_of(st.none(), _URLS))
    translations = tuple(
        Link(draw(_URLS), "related", HTML, draw(_LANGUAGES), draw(_TEXT) or None)
        for _ in range(draw(st.integers(0, 2)))) if url else ()
    return Entry(
        id=draw(st.one_of(st.just(url or "tag:example.org,2015-01-01:x"), _URLS)),
        title=draw(_NON_EMPTY), url=url, language=draw(_LANGUAGES),
        published=draw(_MOMENTS), updated=draw(_MOMENTS), modified=draw(_MOMENTS),
        paragraphs=tuple(draw(st.lists(_TEXT, max_size=3))),
        authors=tuple(draw(st.lists(_TEXT, max_size=3))),
        tags=tuple(draw(st.lists(_TEXT, max_size=3))),
        translations=translations,
    )


def _feed(entries: list[Entry], language: str | None) -> Feed:
    return Feed(id="https://example.org/feeds/atom.xml", title="Feed & <co>",
                subtitle="About", language=language,
                self_url="https://example.org/feeds/atom.xml", site_url="https://example.org/",
                author="IST", updated=datetime(2016, 1, 1, tzinfo=UTC), links=(),
                entries=tuple(entries))


def _parse(data: bytes) -> Any:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))




def _links(element: Any) -> list[dict[str, str]]:
    return [dict(link.attrib) for link in element.findall("a:link", NS)]


def _expected_links(entry: Entry) -> list[dict[str, str]]:
    if not entry.url:
        return []
    links = [Link(entry.url, "alternate", HTML, entry.language), *entry.translations]
    return [{name: value for name, value in (("href", link.href), ("rel", link.rel),
                                            ("type", link.type), ("hreflang", link.hreflang),
                                            ("title", link.title)) if value}
            for link in links]


@settings(max_examples=120, deadline=None)
@given(entries=st.lists(_entries(), min_size=1, max_size=3),
       language=st.one_of(st.none(), _LANGUAGES))
def test_atom_entries_keep_every_value(entries: list[Entry], language: str | None) -> None:
    root = _parse(render_atom(_feed(entries, language)))
    written = root.findall("a:entry", NS)
    assert len(written) == len(entries)
    for entry, element in zip(entries, written, strict=True):
        assert element.findtext("a:id", namespaces=NS) == entry.id
        title = element.find("a:title", NS)
        assert (title.get("type", "text"), title.text) == ("text", entry.title)
        assert _links(element) == _expected_links(entry)
        assert element.get(XML_LANG) == (None if entry.language == language else entry.language)
        assert [c.get("term") for c in element.findall("a:category", NS)] == list(entry.tags)
        assert [a.findtext("a:name", namespaces=NS) for a in element.findall("a:author", NS)
                ] == [name for name in entry.authors if name]
        assert (datetime.fromisoformat(element.findtext("a:updated", namespaces=NS)) ==
                entry.updated)
        assert (datetime.fromisoformat(element.findtext("a:published", namespaces=NS)) ==
                entry.published)
        body = element.find("a:summary" if entry.url else "a:content", NS)
        assert (body.get("type"), body.text or "") == ("html", entry.summary_html)


@settings(max_examples=120, deadline=None)
@given(entries=st.lists(_entries(), min_size=1, max_size=3),
       language=st.one_of(st.none(), _LANGUAGES))
def test_rss_items_keep_every_value(entries: list[Entry], language: str | None) -> None:
    data = render_rss(_feed(entries, language))
    items = _parse(data).find("channel").findall("item")
    assert len(items) == len(entries)
    for entry, item in zip(entries, items, strict=True):
        assert item.findtext("title") == entry.title  # escaped once, as XML
        assert item.findtext("link") == entry.url  # its own page, never a translation
        assert item.findtext("guid") == entry.id
        assert item.find("guid").get("isPermaLink") == str(entry.permalink).lower()
        assert (item.findtext("description") or "") == entry.summary_html
        assert [c.text or "" for c in item.findall("category")] == list(entry.tags)
        # An entry without authors has the feed's, as in Atom and JSON Feed.
        assert [c.text or "" for c in item.findall("dc:creator", NS)] == (
            list(entry.authors) or ["IST"])
        assert item.findtext("dc:language", namespaces=NS) == (
            None if entry.language == language else entry.language)
        assert (parsedate_to_datetime(item.findtext("pubDate")) ==
                entry.published.replace(microsecond=0))  # RFC 2822 has whole seconds


_PLAIN_ENTRY = Entry(
    id="https://example.org/a", title="A", url="https://example.org/a", language="en",
    published=datetime(2015, 9, 6, tzinfo=UTC), updated=datetime(2015, 9, 6, tzinfo=UTC),
    modified=datetime(2015, 9, 6, tzinfo=UTC), paragraphs=("One.",), authors=(), tags=(),
    translations=())


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1f", "\ufffe", "\uffff"])
@pytest.mark.parametrize("render", [render_atom, render_rss])
def test_text_xml_cannot_hold_is_refused_not_written(bad: str, render: Any) -> None:
    with pytest.raises(ValueError, match="XML compatible"):
        render(_feed([replace(_PLAIN_ENTRY, title=f"a{bad}b")], "en"))


def test_rss_dates_are_english_whatever_the_date() -> None:
    moment = datetime(2015, 9, 6, 18, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    data = render_rss(_feed([replace(_PLAIN_ENTRY, published=moment)], "en"))
    assert _parse(data).find("channel/item").findtext("pubDate") == (
        "Sun, 06 Sep 2015 18:30:00 +0530")


def test_rss_text_uses_hexadecimal_references_only_in_text() -> None:
    """The RSS profile's CharacterData advice, with the parsed text unchanged."""
    entry = replace(_PLAIN_ENTRY, title="Profits < wages & more > less", tags=("a&b",))
    data = render_rss(_feed([entry], "en"))
    assert b"Profits &#x3C; wages &#x26; more &#x3E; less" in data
    item = _parse(data).find("channel/item")
    assert item.findtext("title") == "Profits < wages & more > less"
    assert item.findtext("category") == "a&b"
