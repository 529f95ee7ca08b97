"""``feeds.opml``: an OPML 2.0 subscription list of every feed, grouped by language."""

from __future__ import annotations

from lxml import etree

from ..language import native_name
from ..plan import Target
from ..site import Site
from ..urls import KINDS, RSS, FeedKind, feed_path, public_url, site_url
from .document import display_title, feed_title

SPEC = "http://opml.org/spec2.opml"


def _outline(parent: etree._Element, site: Site, kind: FeedKind, language: str | None) -> None:
    title = f"{display_title(site, language)} ({kind.label})"
    element = etree.SubElement(parent, "outline", text=title, title=title, type="rss")
    element.set("xmlUrl", public_url(site.settings, feed_path(kind, language)))
    element.set("htmlUrl", site_url(site.settings))
    if language:
        element.set("language", language)
    if kind is RSS:
        # OPML's version names the RSS dialect; it has no value for Atom or JSON Feed.
        element.set("version", "RSS2")


def _folder(body: etree._Element, site: Site, text: str, language: str | None) -> None:
    folder = etree.SubElement(body, "outline", text=text)
    for kind in KINDS:
        _outline(folder, site, kind, language)


def render_opml(site: Site, target: Target) -> bytes:
    """Every subscription feed (all languages, then each language) in Atom, RSS and JSON."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{feed_title(site, None)}: feeds"
    etree.SubElement(head, "ownerName").text = site.settings.site.author
    etree.SubElement(head, "docs").text = SPEC
    body = etree.SubElement(root, "body")
    _folder(body, site, "All languages", None)
    for language in site.languages:
        _folder(body, site, native_name(language), language)
    data: bytes = etree.tostring(root, pretty_print=True, encoding="UTF-8",
                                 xml_declaration=True)
    return data
