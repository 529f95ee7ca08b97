"""The one module that talks to feedgen: a :class:`Feed` in, Atom or RSS 2.0 bytes out.

feedgen writes each document around its entries: the root, the feed-level metadata and
links, their order, escaping and the RSS mapping, with our additions as small public
hooks (a registered extension) rather than a second feed writer. The entries themselves
are written by ``entry_xml`` (feedgen's per-entry path was most of a cold build) and
spliced in where feedgen would have appended its own, byte for byte the same.

What feedgen gets wrong, and what we do about it:

* It puts the wall clock in ``atom:updated`` and ``lastBuildDate`` unless told otherwise:
  every feed gets its ``updated`` set explicitly (entries carry their own).
* feedgen 1.0 writes only ``href`` on entry links (upstream issue #135), losing ``rel``,
  ``type`` and ``hreflang``, and has no ``xml:lang`` on entries: ``entry_xml`` writes
  both.
* It has no ``fh:archive`` (RFC 5005), no text-construct type for titles, and maps only
  the first self link into RSS: :class:`_Extras` adds those.
* It keeps the last feed-level link as the RSS channel ``<link>``: the site link is
  always given last for RSS.
"""

from __future__ import annotations

import html
import re
from typing import Any

from feedgen.ext.base import BaseExtension
from lxml import etree

from .. import __version__
from ..urls import ATOM, RSS
from .document import HTML, Feed, Link
from .entry_xml import (
    atom_entry_xml,
    link_attributes,
    looks_like_markup,
    rss_item_xml,
    rss_text,
    splice,
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
        self.complete = False
        self.rss_links: tuple[Link, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY_NS} if self.archive or self.complete else {}

    def extend_atom(self, feed: Any) -> Any:
        _set_text_construct(feed.find("title"))
        _set_text_construct(feed.find("subtitle"))
        if self.archive:
            etree.SubElement(feed, f"{{{HISTORY_NS}}}archive")
        if self.complete:
            etree.SubElement(feed, f"{{{HISTORY_NS}}}complete")
        return feed

    def extend_rss(self, rss: Any) -> Any:
        channel = rss[0]
        for link in self.rss_links:
            channel.append(_link_element(link, f"{{{ATOM_NS}}}link"))
        return rss


def prepare_feedgen(_: object = None) -> None:
    """Import feedgen ahead of the first Atom or RSS render (see ``OutputFormat.prepare``)."""
    import feedgen.feed  # noqa: F401


def _generator(feed: Feed, rss_links: tuple[Link, ...] = ()) -> Any:
    # Imported here: feedgen.feed pulls in dateutil (~20 ms), which a build that renders
    # no Atom or RSS document (a digest-only change) never needs.
    from feedgen.feed import FeedGenerator

    generator = FeedGenerator()
    generator.register_extension("sfb", _Extras, None, atom=True, rss=True)
    generator.sfb.archive = feed.archive
    generator.sfb.complete = feed.complete
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


def render_atom(feed: Feed) -> bytes:
    """An Atom 1.0 document (RFC 4287; RFC 5005 archive or complete feed as ``feed`` says)."""
    generator = _generator(feed)
    generator.link([link_attributes(link) for link in
                    (Link(feed.self_url, "self", ATOM.media_type),
                     Link(feed.site_url, "alternate", HTML), *feed.links)])
    data: bytes = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    # The entries go where feedgen would have appended them: last in <feed>.
    return splice(data, b"</feed>\n",
                  (atom_entry_xml(entry, feed.language) for entry in feed.entries))


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
    data: bytes = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    # The items go where feedgen would have appended them: last in <channel>.
    data = splice(data, b"  </channel>\n</rss>\n",
                  (rss_item_xml(entry, feed.language) for entry in feed.entries))
    return _hex_references(data)
