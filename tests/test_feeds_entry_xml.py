"""Entries written as text are, byte for byte, feedgen's FeedEntry elements serialised by lxml.

``entry_xml`` replaced feedgen's per-entry path for speed; the promise is that no output
byte changed. The reference below is the feedgen-based construction the adapter used
before (feedgen's entry, then our repairs: links with every attribute, ``xml:lang``, the
title's type), run on generated entries with the awkward cases drawn often: no url, an
empty excerpt, empty author names, markup-like titles, other languages.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sfb_feeds.feeds.document import HTML, TRANSLATION_TYPE, Entry, Link
from sfb_feeds.feeds.entry_xml import (
    atom_entry_xml,
    link_attributes,
    looks_like_markup,
    rfc2822,
    rss_item_xml,
    rss_text,
    splice,
)

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DC_NS = "http://purl.org/dc/elements/1.1/"

_TRICKY = st.sampled_from(["<b>", "</b>", "&amp;", "&", "&#38;", "a & b", "<", ">", "\n", "\t",
                           "\r", '"', "'", " ", "]]>", "\x7f", "\U0001f600", "\u03a9",
                           "\u0627", "\ud55c", "\ufffd", "\uffe5", "\uffdc"])
_TEXT = st.lists(st.one_of(_TRICKY, st.text(st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=8)),
    max_size=4).map("".join)
_NON_EMPTY = _TEXT.filter(bool)
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
        Link(draw(_URLS), "alternate", TRANSLATION_TYPE, draw(_LANGUAGES), draw(_TEXT) or None)
        for _ in range(draw(st.integers(0, 2)))) if url else ()
    entry_id = draw(st.one_of(st.just(url or "tag:example.org,2015-01-01:x"), _URLS))
    return Entry(
        id=entry_id,
        title=draw(_NON_EMPTY),
        url=url,
        language=draw(_LANGUAGES),
        published=draw(_MOMENTS),
        updated=draw(_MOMENTS),
        modified=draw(_MOMENTS),
        paragraphs=tuple(draw(st.lists(_TEXT, max_size=3))),
        authors=tuple(draw(st.lists(_TEXT, max_size=3))),
        tags=tuple(draw(st.lists(_TEXT, max_size=3))),
        translations=translations,
    )


def _feedgen_atom(entry: Entry, feed_language: str | None) -> Any:
    fe = FeedEntry()
    fe.id(entry.id)
    fe.title(entry.title)
    if entry.url:
        fe.link(href=entry.url, rel="alternate")
    if entry.tags:
        fe.category([{"term": tag} for tag in entry.tags])
    fe.updated(entry.updated)
    fe.published(entry.published)
    if entry.authors:
        fe.author([{"name": name} for name in entry.authors])
    if entry.url:
        fe.summary(entry.summary_html, type="html")
    else:
        fe.content(entry.summary_html, type="html")
    element = fe.atom_entry()
    # The repairs: feedgen keeps only href on entry links, and has no xml:lang or title type.
    old_links = element.findall("link")
    position = element.index(old_links[0]) if old_links else len(element)
    for old in old_links:
        element.remove(old)
    own = (Link(entry.url, "alternate", HTML, entry.language),) if entry.url else ()
    for offset, link in enumerate(own + entry.translations):
        element.insert(position + offset, etree.Element("link", link_attributes(link)))
    if entry.language != feed_language:
        element.set(XML_LANG, entry.language)
    title = element.find("title")
    if title.text and looks_like_markup(title.text):
        title.text = title.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        title.set("type", "html")
    return element


def _feedgen_rss(entry: Entry, feed_language: str | None) -> Any:
    fe = FeedEntry()
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    fe.guid(entry.id, permalink=entry.permalink)
    fe.title(rss_text(entry.title))
    if entry.url:
        fe.link(href=entry.url, rel="alternate")
    if entry.tags:
        fe.category([{"term": tag} for tag in entry.tags])
    fe.description(entry.summary_html)
    fe.pubDate(entry.published)
    if entry.authors:
        fe.dc.dc_creator(list(entry.authors))
    if entry.language != feed_language:
        fe.dc.dc_language(entry.language)
    return fe.rss_entry()


# Parents with a child, as feedgen's documents always have, so that they have end tags.
def _atom_parent() -> Any:
    feed = etree.Element("feed", xmlns="http://www.w3.org/2005/Atom")
    etree.SubElement(feed, "id").text = "tag:example.org,2015:feed"
    return feed


def _rss_parent() -> Any:
    rss = etree.Element("rss", version="2.0", nsmap={"dc": DC_NS})
    channel = etree.SubElement(rss, "channel")
    etree.SubElement(channel, "title").text = "Feed"
    return channel


def _serialised(parent: Any) -> bytes:
    data: bytes = etree.tostring(parent.getroottree(), pretty_print=True, encoding="UTF-8",
                                 xml_declaration=True)
    return data


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(_entries(), min_size=1, max_size=3),
       feed_language=st.one_of(st.none(), _LANGUAGES))
def test_atom_entries_match_feedgen(entries: list[Entry], feed_language: str | None) -> None:
    theirs = _atom_parent()
    ours = splice(_serialised(_atom_parent()), b"</feed>\n",
                  [atom_entry_xml(entry, feed_language) for entry in entries])
    for entry in entries:
        theirs.append(_feedgen_atom(entry, feed_language))
    assert ours == _serialised(theirs)


@settings(max_examples=150, deadline=None)
@given(entries=st.lists(_entries(), min_size=1, max_size=3),
       feed_language=st.one_of(st.none(), _LANGUAGES))
def test_rss_items_match_feedgen(entries: list[Entry], feed_language: str | None) -> None:
    theirs = _rss_parent()
    ours = splice(_serialised(_rss_parent()), b"  </channel>\n</rss>\n",
                  [rss_item_xml(entry, feed_language) for entry in entries])
    for entry in entries:
        theirs.append(_feedgen_rss(entry, feed_language))
    assert ours == _serialised(theirs)


@pytest.mark.parametrize("bad", ["\x00", "\x0b", "\x1f", "\ufffe", "\uffff"])
def test_text_xml_cannot_hold_is_refused_as_lxml_refuses_it(bad: str) -> None:
    entry = replace(_PLAIN_ENTRY, title=f"a{bad}b")
    with pytest.raises(ValueError, match="XML compatible"):
        etree.Element("title").text = entry.title
    with pytest.raises(ValueError, match="XML compatible"):
        splice(_serialised(_atom_parent()), b"</feed>\n", [atom_entry_xml(entry, None)])


def test_a_document_without_the_expected_end_is_not_patched() -> None:
    with pytest.raises(RuntimeError, match="does not end with"):
        splice(b"<feed/>\n", b"</feed>\n", [atom_entry_xml(_PLAIN_ENTRY, None)])


_PLAIN_ENTRY = Entry(
    id="https://example.org/a", title="A", url="https://example.org/a", language="en",
    published=datetime(2015, 9, 6, tzinfo=UTC), updated=datetime(2015, 9, 6, tzinfo=UTC),
    modified=datetime(2015, 9, 6, tzinfo=UTC), paragraphs=("One.",), authors=(), tags=(),
    translations=())


def test_rfc2822_is_english_whatever_the_date() -> None:
    moment = datetime(2015, 9, 6, 18, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert rfc2822(moment) == "Sun, 06 Sep 2015 18:30:00 +0530"
    assert [rfc2822(datetime(2021, month, 1, tzinfo=UTC))[8:11] for month in (1, 5, 12)] == [
        "Jan", "May", "Dec"]
