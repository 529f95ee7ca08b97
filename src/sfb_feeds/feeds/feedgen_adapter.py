"""The one module that talks to feedgen: a :class:`Feed` in, Atom or RSS 2.0 bytes out.

Why feedgen still writes the Atom documents although it needs three repairs: it owns the
element order, escaping and the RSS mapping, and each repair below is a small public hook
(a ``FeedEntry`` subclass, a registered extension) rather than a second Atom writer.

What feedgen gets wrong, and what we do about it:

* It puts the wall clock in ``atom:updated`` and ``lastBuildDate`` unless told otherwise:
  every feed and entry gets its ``updated`` set explicitly.
* feedgen 1.0 writes only ``href`` on entry links (upstream issue #135), losing ``rel``,
  ``type`` and ``hreflang``: :class:`_AtomEntry` rewrites the entry's links after feedgen
  built the element.
* It has no ``xml:lang`` on entries, no ``fh:archive`` (RFC 5005), no text-construct
  type for titles, and maps only the first self link into RSS: :class:`_Extras` and
  :class:`_AtomEntry` add those.
* It keeps the last feed-level link as the RSS channel ``<link>``: the site link is
  always given last for RSS.
"""

from __future__ import annotations

import html
import re
from typing import Any

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from .document import ATOM, HTML, RSS, Entry, Feed, Link
from .entry_xml import (
    append_atom_entry,
    append_rss_item,
    link_attributes,
    looks_like_markup,
    rss_text,
)

__all__ = ["looks_like_markup", "render_atom", "render_rss", "rss_text"]

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
GENERATOR = "sfb-feeds"

_RSS_ESCAPES = {b"amp": b"&#x26;", b"lt": b"&#x3C;", b"gt": b"&#x3E;"}



def _set_text_construct(element: Any) -> None:
    """Declare an Atom text construct as HTML when its plain text looks like markup."""
    if element is not None and element.text and looks_like_markup(element.text):
        element.text = html.escape(element.text, quote=False)
        element.set("type", "html")


def _link_element(link: Link, tag: str = "link") -> Any:
    return etree.Element(tag, link_attributes(link))


class _Extras(BaseExtension):  # type: ignore[misc]
    """Feed-level additions feedgen has no setter for (configured after registration)."""

    def __init__(self) -> None:
        self.archive = False
        self.rss_links: tuple[Link, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS} if self.archive else {}

    def extend_atom(self, feed: Any) -> Any:
        _set_text_construct(feed.find("title"))
        _set_text_construct(feed.find("subtitle"))
        if self.archive:
            etree.SubElement(feed, f"{{{HISTORY_NS}}}archive")
        return feed

    def extend_rss(self, rss: Any) -> Any:
        channel = rss[0]
        for link in self.rss_links:
            channel.append(_link_element(link, f"{{{ATOM_NS}}}link"))
        return rss


def _generator(feed: Feed, rss_links: tuple[Link, ...] = ()) -> Any:
    generator = FeedGenerator()
    generator.register_extension("sfb", _Extras, None, atom=True, rss=True)
    generator.sfb.archive = feed.archive
    generator.sfb.rss_links = rss_links
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(feed.id)
    generator.title(feed.title)
    generator.subtitle(feed.subtitle)
    generator.author({"name": feed.author})
    generator.generator(GENERATOR, version=__version__)
    if feed.language:
        generator.language(feed.language)
    # Never the build time: feedgen defaults both of these to "now".
    generator.updated(feed.updated)
    generator.lastBuildDate(feed.updated)
    return generator


class _Entries(BaseExtension):  # type: ignore[misc]
    """Appends the entries, built by ``entry_xml``, where feedgen appends its own.

    Registered after every other extension, so it runs last, right before feedgen's
    (empty) loop over its own entries: the document is the one feedgen would write.
    """

    def __init__(self) -> None:
        self.entries: tuple[Entry, ...] = ()
        self.language: str | None = None

    def extend_atom(self, feed: Any) -> Any:
        for entry in self.entries:
            append_atom_entry(feed, entry, self.language)
        return feed

    def extend_rss(self, rss: Any) -> Any:
        channel = rss[0]
        for entry in self.entries:
            append_rss_item(channel, entry, self.language)
        return rss


def _add_entries(generator: Any, feed: Feed) -> None:
    generator.register_extension("sfb_entries", _Entries, None, atom=True, rss=True)
    generator.sfb_entries.entries = feed.entries
    generator.sfb_entries.language = feed.language


def render_atom(feed: Feed) -> bytes:
    """An Atom 1.0 document (RFC 4287; RFC 5005 archive when ``feed.archive``)."""
    generator = _generator(feed)
    generator.link([link_attributes(link) for link in
                    (Link(feed.self_url, "self", ATOM.media_type),
                     Link(feed.site_url, "alternate", HTML), *feed.links)])
    _add_entries(generator, feed)
    data: bytes = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return data


def _hex_references(data: bytes) -> bytes:
    """Write ``&``, ``<`` and ``>`` as hexadecimal references, as the RSS profile asks.

    Readers disagree on whether RSS text may hold HTML; the RSS Advisory Board profile
    recommends ``&#x26;`` and ``&#x3C;`` in plain text (the validator's CharacterData
    warning). lxml writes only entity references, and every ``&`` it writes starts one,
    so replacing the three entities is an exact, equivalent rewrite.
    """
    return re.sub(rb"&(amp|lt|gt);", lambda match: _RSS_ESCAPES[match.group(1)], data)


def render_rss(feed: Feed) -> bytes:
    """An RSS 2.0 document following the RSS Advisory Board profile."""
    alternates = tuple(link for link in feed.links if link.rel == "alternate")
    generator = _generator(feed, rss_links=alternates)
    generator.title(rss_text(feed.title))
    generator.description(rss_text(feed.subtitle))
    # feedgen uses the last link as the channel <link>: the site's page comes last.
    generator.link([link_attributes(Link(feed.self_url, "self", RSS.media_type)),
                    link_attributes(Link(feed.site_url, "alternate"))])
    _add_entries(generator, feed)
    data: bytes = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return _hex_references(data)
