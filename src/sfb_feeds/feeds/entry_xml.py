"""Atom entries and RSS items written as XML text, byte for byte as feedgen and lxml would.

Why not feedgen's ``FeedEntry``: per entry it validated every value through dictionaries,
registered the feed's extensions and built an lxml element that then needed our repairs
(every link re-created, the language and the title's type added), ~150 µs an entry; and
building the same elements through lxml's Python API still costs ~40 µs. The yearly
archives hold almost every statement, so that was most of a cold feed build. Each entry
is therefore written here as text, ~10 µs, and :func:`splice` puts the entries where
feedgen would have appended its own in the document feedgen wrote: feedgen still writes
everything around the entries (``feedgen_adapter``).

What the text must reproduce (``tests/test_feeds_entry_xml.py`` compares it with
feedgen's own entries serialised by lxml on generated awkward cases):

* the element order of feedgen 1.0's ``FeedEntry.atom_entry`` and ``rss_entry`` plus its
  ``dc`` extension -- Atom: id, title, updated, authors, content, links, summary,
  categories, published; RSS: title, link, description, guid, categories, pubDate,
  dc:creator, dc:language;
* libxml2's escaping: ``&``, ``<``, ``>`` and carriage return in text; those, ``"``, line
  feed and tab in attribute values; everything else as UTF-8;
* lxml's pretty printing: two spaces a level, ``<a/>`` for an element without text,
  ``<a></a>`` for empty text (feedgen assigns ``""`` to a creator or category it is given
  empty, but leaves an empty summary or content without text);
* lxml's refusal of text XML cannot hold (C0 controls other than tab, line feed and
  carriage return; U+FFFE, U+FFFF): a ``ValueError``, never a broken feed.
* ``pubDate`` in RFC 2822 with English names whatever the process locale.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from html.entities import name2codepoint

from .document import HTML, Entry, Link

_ATOM_CHILD = "    "  # the indent of an entry's children (feed > entry > child)
_RSS_CHILD = "      "  # rss > channel > item > child
_TEXT_SPECIAL = re.compile("[&<>\r]")
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\n\r\t]')
# What lxml refuses to put in a document: C0 controls but tab, line feed and carriage
# return, and U+FFFE and U+FFFF (UTF-8 EF BF BE/BF); surrogates fail when encoding, as there.
_C0_NOT_XML = bytes(code for code in range(0x20) if code not in (0x09, 0x0A, 0x0D))

_END_TAG = re.compile(r"</\w+>")
_ENTITY = re.compile(r"&(#?\w+)")
# What an HTML parser would not show as written: the start of a tag, comment or
# declaration, or something that may be a character reference.
_HTML_SYNTAX = re.compile(r"<[A-Za-z/!?]|&#?\w")
# The C locale's names, which feedgen's RFC 2822 dates use.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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


def rfc2822(moment: datetime) -> str:
    """``moment`` as RSS writes dates (``Mon, 29 Dec 2025 00:00:00 +0000``)."""
    day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
    return moment.strftime(f"{day}, %d {month} %Y %H:%M:%S %z")


def link_attributes(link: Link) -> dict[str, str]:
    """A link's attributes in the order feedgen writes them; empty values left out."""
    attributes = {"href": link.href, "rel": link.rel}
    for name, value in (("type", link.type), ("hreflang", link.hreflang), ("title", link.title)):
        if value:
            attributes[name] = value
    return attributes


def _text(value: str) -> str:
    """``value`` escaped as libxml2 escapes element text."""
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _attribute(value: str) -> str:
    """``value`` escaped as libxml2 escapes an attribute value (in double quotes)."""
    if _ATTRIBUTE_SPECIAL.search(value) is None:
        return value
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
            .replace("\t", "&#9;"))


def _element(indent: str, tag: str, text: str | None, attributes: str = "") -> str:
    """One element holding only text: ``<a/>`` without text, ``<a></a>`` for ``""``."""
    if text is None:
        return f"{indent}<{tag}{attributes}/>\n"
    return f"{indent}<{tag}{attributes}>{_text(text)}</{tag}>\n"


@lru_cache(maxsize=4096)
def _link(link: Link) -> str:
    """An entry's ``<link/>`` with the attributes :func:`link_attributes` keeps, in its order.

    Cached: a statement's link to a translation is written in the entry of every other
    translation of it.
    """
    text = f'{_ATOM_CHILD}<link href="{_attribute(link.href)}" rel="{_attribute(link.rel)}"'
    if link.type:
        text += f' type="{_attribute(link.type)}"'
    if link.hreflang:
        text += f' hreflang="{_attribute(link.hreflang)}"'
    if link.title:
        text += f' title="{_attribute(link.title)}"'
    return text + "/>\n"


def _own_link(url: str, language: str) -> str:
    """The entry's alternate link to the statement itself (never repeated: not cached)."""
    hreflang = f' hreflang="{_attribute(language)}"' if language else ""
    return (f'{_ATOM_CHILD}<link href="{_attribute(url)}" rel="alternate" type="{HTML}"'
            f"{hreflang}/>\n")


def _atom_title(title: str) -> str:
    # Most titles hold neither "<" nor "&" and cannot look like markup.
    if ("<" in title or "&" in title) and looks_like_markup(title):
        return f'{_ATOM_CHILD}<title type="html">{_text(html.escape(title, quote=False))}</title>\n'
    return f"{_ATOM_CHILD}<title>{_text(title)}</title>\n"


def _atom_author(name: str) -> str:
    return (f"{_ATOM_CHILD}<author>\n{_ATOM_CHILD}  <name>{_text(name)}</name>\n"
            f"{_ATOM_CHILD}</author>\n")


def atom_entry_xml(entry: Entry, feed_language: str | None) -> str:
    """``entry`` as an Atom ``<entry>`` (a child of ``<feed>``, pretty-printed).

    ``xml:lang`` is written when the entry's language differs from the feed's. An entry has
    a summary beside its alternate link, or its content when it has no link.
    """
    language = entry.language
    lang = f' xml:lang="{_attribute(language)}"' if language and language != feed_language else ""
    parts = [f"  <entry{lang}>\n{_ATOM_CHILD}<id>{_text(entry.id)}</id>\n",
             _atom_title(entry.title),
             f"{_ATOM_CHILD}<updated>{entry.updated.isoformat()}</updated>\n"]
    parts.extend(_atom_author(name) for name in entry.authors if name)
    summary = entry.summary_html
    if entry.url:
        parts.append(_own_link(entry.url, language))
        parts.extend(_link(link) for link in entry.translations)
        parts.append(_element(_ATOM_CHILD, "summary", summary or None, ' type="html"'))
    else:
        parts.append(_element(_ATOM_CHILD, "content", summary or None, ' type="html"'))
    parts.extend(f'{_ATOM_CHILD}<category term="{_attribute(tag)}"/>\n' for tag in entry.tags)
    parts.append(f"{_ATOM_CHILD}<published>{entry.published.isoformat()}</published>\n")
    if not entry.url:
        # Where feedgen's entry put links it never had: after everything else.
        parts.extend(_link(link) for link in entry.translations)
    parts.append("  </entry>\n")
    return "".join(parts)


def rss_item_xml(entry: Entry, feed_language: str | None) -> str:
    """``entry`` as an RSS ``<item>`` (a child of ``<channel>``, pretty-printed)."""
    parts = ["    <item>\n"]
    title = rss_text(entry.title)
    if title:
        parts.append(f"{_RSS_CHILD}<title>{_text(title)}</title>\n")
    if entry.url:
        parts.append(f"{_RSS_CHILD}<link>{_text(entry.url)}</link>\n")
    summary = entry.summary_html
    if summary:
        parts.append(f"{_RSS_CHILD}<description>{_text(summary)}</description>\n")
    if entry.id:
        permalink = "true" if entry.permalink else "false"
        parts.append(f'{_RSS_CHILD}<guid isPermaLink="{permalink}">{_text(entry.id)}</guid>\n')
    parts.extend(f"{_RSS_CHILD}<category>{_text(tag)}</category>\n" for tag in entry.tags)
    parts.append(f"{_RSS_CHILD}<pubDate>{rfc2822(entry.published)}</pubDate>\n")
    parts.extend(f"{_RSS_CHILD}<dc:creator>{_text(name)}</dc:creator>\n"
                 for name in entry.authors)
    if entry.language != feed_language:
        parts.append(f"{_RSS_CHILD}<dc:language>{_text(entry.language)}</dc:language>\n")
    parts.append("    </item>\n")
    return "".join(parts)


def splice(document: bytes, closing: bytes, fragments: Iterable[str]) -> bytes:
    """``document`` with ``fragments`` inserted before its final ``closing`` tags.

    Raises ValueError, as lxml would have, if the fragments hold text XML cannot carry.
    """
    text = "".join(fragments)
    if not text:
        return document
    if not document.endswith(closing):
        raise RuntimeError(f"feedgen's document does not end with {closing!r}")
    data = text.encode("utf-8")
    if not _is_xml(data):
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes "
                         "or control characters")
    return b"".join((document[:-len(closing)], data, closing))


def _is_xml(data: bytes) -> bool:
    """False when UTF-8 ``data`` holds a character lxml refuses.

    Checked on the bytes because a regular expression over the text costs ~5 µs an entry
    (the text is mostly non-ASCII), deleting the controls and comparing lengths ~1 µs.
    """
    if len(data.translate(None, _C0_NOT_XML)) != len(data):
        return False
    return b"\xef\xbf" not in data or (b"\xef\xbf\xbe" not in data
                                        and b"\xef\xbf\xbf" not in data)
