"""The one module that talks to feedgen: a :class:`Feed` in, Atom or RSS 2.0 bytes out.

feedgen writes every document whole; what it lacks is added through its extension API
(:class:`_Extras`, :class:`_EntryExtras`), never by editing its bytes (but for RSS
attribute values' escapes, written again as character references). It puts the wall
clock in every ``updated`` unless told otherwise (each is set); it keeps only ``href`` on
entry links (upstream issue #135) and has no entry ``xml:lang``, no RFC 5005 ``fh:``
elements, and only the first self link in RSS (the extensions add them); it makes the last
link the RSS ``<link>`` (RSS is given only the links that belong there, last). Its RSS
dates have the C library's ``%Y``, "2" for the year 2, which RFC 822 readers take for
2002: the extensions write them again, with four digits.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from ..language import feed_language_tag
from ..urls import ATOM, RSS
from .document import HTML, Entry, Feed, Link

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
GENERATOR = "sfb-feeds"

_RSS_SPECIAL = re.compile("([&<>])")


def _use_character_references(parent: Any) -> None:
    """Write ``&``, ``<`` and ``>`` in the text below ``parent`` as ``&#x26;``-style
    references, as the RSS profile recommends for plain text (the validator's CharacterData
    warning): each becomes an lxml ``Entity`` node between the text around it."""
    for element in [*parent.iter(tag=etree.Element)]:
        text = element.text
        if not text or _RSS_SPECIAL.search(text) is None:
            continue
        pieces = _RSS_SPECIAL.split(text)
        element.text = pieces[0] or None
        for position, index in enumerate(range(1, len(pieces), 2)):
            reference = etree.Entity(f"#x{ord(pieces[index]):X}")
            reference.tail = pieces[index + 1] or None
            element.insert(position, reference)


def _rfc822_date(parent: Any, tag: str, moment: datetime | None) -> None:
    """The text of ``parent``'s ``tag`` element: ``moment`` as RFC 822 writes it (a
    4-digit year, English names)."""
    element = parent.find(tag)
    if element is not None and moment is not None:
        element.text = format_datetime(moment)


class _Extras(BaseExtension):  # type: ignore[misc]
    """Feed-level additions feedgen has no setter for, from ``document`` (set after
    registration): RFC 5005 marks, and in RSS the extra links (Atom writes them among
    the feed's links)."""

    document: Feed

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS} if self.document.archive or self.document.complete else {}

    def extend_atom(self, feed: Any) -> Any:
        if self.document.archive:
            etree.SubElement(feed, f"{{{HISTORY_NS}}}archive")
        if self.document.complete:
            etree.SubElement(feed, f"{{{HISTORY_NS}}}complete")
        return feed

    def extend_rss(self, rss: Any) -> Any:
        channel = rss[0]
        _rfc822_date(channel, "lastBuildDate", self.document.updated)
        for link in self.document.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", _link_dict(link))
        # Runs before feedgen appends the items, which their own extension handles.
        _use_character_references(channel)
        return rss


class _EntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """An Atom entry's links with all their attributes and its language; RSS references."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []
        self.language: str | None = None
        self.published: datetime | None = None

    def extend_atom(self, entry: Any) -> Any:
        if self.language:
            entry.set(XML_LANG, feed_language_tag(self.language))
        for element, attributes in zip(entry.iterfind("link"), self.links, strict=True):
            element.attrib.update(attributes)
        return entry

    def extend_rss(self, item: Any) -> Any:
        _rfc822_date(item, "pubDate", self.published)
        _use_character_references(item)
        return item


def _configure(generator: Any, feed: Feed) -> None:
    generator.register_extension("sfb", _Extras, _EntryExtras, atom=True, rss=True)
    generator.sfb.document = feed
    generator.id(feed.id)
    generator.title(feed.title)
    generator.subtitle(feed.subtitle)
    generator.author({"name": feed.author})
    generator.generator(GENERATOR, version=__version__)
    if feed.language:
        generator.language(feed_language_tag(feed.language))
    # Never the build time: feedgen defaults both of these to "now".
    generator.updated(feed.updated)
    generator.lastBuildDate(feed.updated)


def _link_dict(link: Link) -> dict[str, str]:
    """``link`` as feedgen's ``link()`` takes it; empty attributes left out."""
    hreflang = feed_language_tag(link.hreflang) if link.hreflang else None
    pairs = (("href", link.href), ("rel", link.rel), ("type", link.type),
             ("hreflang", hreflang), ("title", link.title))
    return {name: value for name, value in pairs if value}


def _atom_links(entry: Entry) -> list[dict[str, str]]:
    """The entry's own page (if it has one), then its translations."""
    own = (Link(entry.url, "alternate", HTML, entry.language or None),) if entry.url else ()
    return [_link_dict(link) for link in (*own, *entry.translations)]


def _atom_entry(generator: Any, entry: Entry, feed_language: str | None) -> None:
    fe = generator.add_entry(order="append")
    fe.id(entry.id)
    fe.title(entry.title)
    fe.updated(entry.updated)
    names = [{"name": name} for name in entry.authors if name]
    if names:
        fe.author(names)
    _atom_text(fe, entry)
    attributes = _atom_links(entry)
    if attributes:
        fe.link(attributes)
    if entry.tags:
        fe.category([{"term": tag} for tag in entry.tags])
    fe.published(entry.published)
    # feedgen 1.0 keeps only each entry link's href: the extension sets the rest.
    fe.sfb.links = attributes
    fe.sfb.language = entry.language if entry.language != feed_language else None


def _atom_text(fe: Any, entry: Entry) -> None:
    """Its full content, else its summary: as the summary beside a page, else the content."""
    if entry.content_html is not None:
        fe.content(entry.content_html, type="html")
    elif entry.url:
        fe.summary(entry.summary_html, type="html")
    else:
        fe.content(entry.summary_html, type="html")


def render_atom(feed: Feed) -> bytes:
    """An Atom 1.0 document (RFC 4287; RFC 5005 archive or complete feed as ``feed`` says)."""
    generator = FeedGenerator()
    _configure(generator, feed)
    links = (Link(feed.self_url, "self", ATOM.media_type),
             Link(feed.site_url, "alternate", HTML), *feed.links)
    generator.link([_link_dict(link) for link in links])
    for entry in feed.entries:
        _atom_entry(generator, entry, feed.language)
    return bytes(generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True))


def _rss_item(generator: Any, entry: Entry, feed: Feed) -> None:
    fe = generator.add_entry(order="append")
    fe.guid(entry.id, permalink=entry.permalink)
    if entry.title:
        fe.title(entry.title)
    if entry.url:
        # feedgen's item <link> is the entry's last alternate link: give it only its own.
        fe.link({"href": entry.url, "rel": "alternate"})
    if entry.paragraphs:
        fe.description(entry.summary_html)
    if entry.tags:
        fe.category([{"term": tag} for tag in entry.tags])
    fe.pubDate(entry.published)
    fe.sfb.published = entry.published
    # As in Atom and JSON Feed, where an entry without authors has the feed's: RSS has no
    # channel author to inherit (<managingEditor> is an e-mail address), so each item says it.
    fe.dc.dc_creator(list(entry.authors) or [feed.author])
    if entry.language != feed.language:
        fe.dc.dc_language(feed_language_tag(entry.language))


def render_rss(feed: Feed) -> bytes:
    """An RSS 2.0 document (RSS Advisory Board profile); the feed's extra links (hub, other
    languages) are the channel's ``atom:link`` elements."""
    generator = FeedGenerator()
    # dc first: its elements are then in place when ours rewrites each item's text.
    generator.load_extension("dc", atom=False, rss=True)
    _configure(generator, feed)
    generator.description(feed.subtitle)
    # feedgen uses the last link as the channel <link>: the site's page comes last.
    generator.link([{"href": feed.self_url, "rel": "self", "type": RSS.media_type},
                    {"href": feed.site_url, "rel": "alternate"}])
    for entry in feed.entries:
        _rss_item(generator, entry, feed)
    data = bytes(generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))
    # Attribute values (a link's title or href) cannot hold Entity nodes, and lxml writes
    # their & < > as &amp; &lt; &gt;, which the validator's CharacterData rule flags there
    # too: the same characters as references, the only place those escapes occur.
    return data.replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;").replace(b"&gt;",
                                                                                  b"&#x3E;")
