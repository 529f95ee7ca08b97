"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1): per language and for all languages."""

from __future__ import annotations

import json
from typing import Any

from ..plan import Target
from ..site import Site
from ..urls import JSON_FEED
from .document import HUB_REL, Entry, current_feed

VERSION = "https://jsonfeed.org/version/1.1"


def _without_none(members: dict[str, Any]) -> dict[str, Any]:
    """``members`` without those that are None: the optional ones a feed does not have."""
    return {key: value for key, value in members.items() if value is not None}


def _item(entry: Entry) -> dict[str, Any]:
    return _without_none({
        "id": entry.id, "url": entry.url, "title": entry.title,
        # Plain text keeps the paragraphs (blank-line separated), never read as markup.
        "content_text": "\n\n".join(entry.paragraphs),
        "summary": entry.paragraphs[0] if entry.paragraphs else None,
        "date_published": entry.published.isoformat(),
        "date_modified": entry.modified.isoformat(),
        "authors": [{"name": name} for name in entry.authors] or None,
        "tags": list(entry.tags) or None, "language": entry.language,
    })


def render_json_feed(site: Site, target: Target) -> bytes:
    """``{lang}/feed.json`` (or ``feed.json`` for all languages), UTF-8, characters
    unescaped, keys in the order the spec lists them."""
    feed = current_feed(site, target.language, target.statements, JSON_FEED)
    hubs = [{"type": "WebSub", "url": link.href} for link in feed.links if link.rel == HUB_REL]
    text = json.dumps(_without_none({
        "version": VERSION, "title": feed.title, "home_page_url": feed.site_url,
        "feed_url": feed.self_url, "description": feed.subtitle,
        "authors": [{"name": feed.author}], "language": feed.language or None,
        "hubs": hubs or None, "items": [_item(entry) for entry in feed.entries],
    }), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")
