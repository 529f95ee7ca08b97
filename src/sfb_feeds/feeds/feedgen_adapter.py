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
from html.entities import name2codepoint
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from .document import ATOM, HTML, RSS, Entry, Feed, Link

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
GENERATOR = "sfb-feeds"

_END_TAG = re.compile(r"</\w+>")
_ENTITY = re.compile(r"&(#?\w+)")
_RSS_ESCAPES = {b"amp": b"&#x26;", b"lt": b"&#x3C;", b"gt": b"&#x3E;"}
# What an HTML parser would not show as written: the start of a tag, comment or
# declaration, or something that may be a character reference.
_HTML_SYNTAX = re.compile(r"<[A-Za-z/!?]|&#?\w")


def looks_like_markup(text: str) -> bool:
    """True when a plain-text value would read as HTML to a feed validator.

    The W3C validator flags plain text that contains an HTML end tag (``</b>``) or an
    entity-like ``&name`` (ContainsUndeclaredHTML); such Atom text is sent as escaped
    HTML instead, which shows the same characters.
    """
    if _END_TAG.search(text):
        return True
    return any(
        name in name2codepoint or name == "apos" or not name.isalpha()
        for name in _ENTITY.findall(text)
    )


def rss_text(text: str) -> str:
    """``text`` for an RSS title or channel description, so that readers show it as written.

    RSS does not say whether these hold text or HTML, and readers guess: feedparser (and
    the readers built on it) renders a title as HTML when it looks like HTML, and a channel
    description always. Text an HTML parser would change (``</b>``, ``&amp;`` meant
    literally) is therefore escaped as HTML: escaped, it always reads as HTML, and renders
    as the original text. Other text is left alone, since escaping it would make a reader
    that treats the title as plain text show the escapes. The W3C validator warns
    (ContainsHTML) about escaped text as it does about the raw markup: see docs/feeds.md.
    """
    return html.escape(text, quote=False) if _HTML_SYNTAX.search(text) else text


def _set_text_construct(element: Any) -> None:
    """Declare an Atom text construct as HTML when its plain text looks like markup."""
    if element is not None and element.text and looks_like_markup(element.text):
        element.text = html.escape(element.text, quote=False)
        element.set("type", "html")


def _link_element(link: Link, tag: str = "link") -> Any:
    return etree.Element(tag, _link_dict(link))


class _AtomEntry(FeedEntry):  # type: ignore[misc]
    """A feedgen entry that keeps its links' attributes and its language."""

    def __init__(self, links: tuple[Link, ...], language: str | None) -> None:
        super().__init__()
        self._sfb_links = links
        self._sfb_language = language

    def atom_entry(self, extensions: bool = True) -> Any:
        element = super().atom_entry(extensions=extensions)
        old_links = element.findall("link")
        position = element.index(old_links[0]) if old_links else len(element)
        for old in old_links:
            element.remove(old)
        # Re-create the links where feedgen put them, with every attribute.
        for offset, link in enumerate(self._sfb_links):
            element.insert(position + offset, _link_element(link))
        if self._sfb_language:
            element.set(XML_LANG, self._sfb_language)
        _set_text_construct(element.find("title"))
        return element


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


def _link_dict(link: Link) -> dict[str, str]:
    attributes = {"href": link.href, "rel": link.rel}
    for name, value in (("type", link.type), ("hreflang", link.hreflang), ("title", link.title)):
        if value:
            attributes[name] = value
    return attributes


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


def _common_entry(fe: Any, entry: Entry, title: str) -> None:
    fe.title(title)
    if entry.url:
        fe.link(href=entry.url, rel="alternate")
    if entry.tags:
        fe.category([{"term": tag} for tag in entry.tags])


def _atom_entry(entry: Entry, feed: Feed) -> _AtomEntry:
    own = (Link(entry.url, "alternate", HTML, entry.language),) if entry.url else ()
    fe = _AtomEntry(own + entry.translations,
                    entry.language if entry.language != feed.language else None)
    fe.id(entry.id)
    _common_entry(fe, entry, entry.title)
    fe.updated(entry.updated)
    fe.published(entry.published)
    if entry.authors:
        fe.author([{"name": name} for name in entry.authors])
    # An entry needs a summary with its alternate link, or content when it has no link.
    if entry.url:
        fe.summary(entry.summary_html, type="html")
    else:
        fe.content(entry.summary_html, type="html")
    return fe


def render_atom(feed: Feed) -> bytes:
    """An Atom 1.0 document (RFC 4287; RFC 5005 archive when ``feed.archive``)."""
    generator = _generator(feed)
    generator.link([_link_dict(link) for link in
                    (Link(feed.self_url, "self", ATOM.media_type),
                     Link(feed.site_url, "alternate", HTML), *feed.links)])
    for entry in feed.entries:
        generator.add_entry(_atom_entry(entry, feed), order="append")
    data: bytes = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return data


def _rss_item(generator: Any, entry: Entry, feed: Feed) -> None:
    fe = generator.add_entry(order="append")
    fe.guid(entry.id, permalink=entry.permalink)
    _common_entry(fe, entry, rss_text(entry.title))
    fe.description(entry.summary_html)
    fe.pubDate(entry.published)
    if entry.authors:
        fe.dc.dc_creator(list(entry.authors))
    if entry.language != feed.language:
        fe.dc.dc_language(entry.language)


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
    generator.link([_link_dict(Link(feed.self_url, "self", RSS.media_type)),
                    _link_dict(Link(feed.site_url, "alternate"))])
    for entry in feed.entries:
        _rss_item(generator, entry, feed)
    data: bytes = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return _hex_references(data)
