"""``feeds.opml``: an OPML 2.0 subscription list, one Atom feed per language and one for all
(every format of every language made readers subscribe to each statement several times)."""

from __future__ import annotations

from lxml import etree

from ..language import feed_language_tag
from ..plan import Target
from ..site import Site, feed_title
from ..urls import ATOM, feed_path, public_url, site_url
from .document import display_title


def render_opml(site: Site, target: Target) -> bytes:
    """The all-languages Atom feed, then each language's Atom feed."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{feed_title(site, None)}: feeds"
    # No <docs> (OPML 2.0 has it): the W3C validator knows no such head element, an error.
    etree.SubElement(head, "ownerName").text = site.settings.site.author
    body = etree.SubElement(root, "body")
    for language in (None, *site.languages):
        # Titled with the language's own name ("Socialism From Below — Polski").
        title = display_title(site, language)
        outline = etree.SubElement(body, "outline", text=title, title=title, type="rss",
                                   xmlUrl=public_url(site.settings, feed_path(ATOM, language)),
                                   htmlUrl=site_url(site.settings))
        if language:
            outline.set("language", feed_language_tag(language))
    return bytes(etree.tostring(root, pretty_print=True, encoding="UTF-8", xml_declaration=True))
