"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1): per language and for all languages."""

from __future__ import annotations

import json
from typing import Any

from ..plan import Target
from ..site import Site
from ..urls import JSON_FEED
from .document import HUB_REL, Entry, Feed, current_feed

VERSION = "https://jsonfeed.org/version/1.1"


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry.id}
    if entry.url:
        item["url"] = entry.url
    item["title"] = entry.title
    # Plain text keeps the paragraphs (blank-line separated) and is never read as markup.
    item["content_text"] = "\n\n".join(entry.paragraphs)
    if entry.paragraphs:
        item["summary"] = entry.paragraphs[0]
    item["date_published"] = entry.published.isoformat()
    item["date_modified"] = entry.modified.isoformat()
    if entry.authors:
        item["authors"] = [{"name": name} for name in entry.authors]
    if entry.tags:
        item["tags"] = list(entry.tags)
    item["language"] = entry.language
    return item


def feed_object(feed: Feed) -> dict[str, Any]:
    """The JSON Feed object of ``feed`` (keys in the order the spec lists them)."""
    document: dict[str, Any] = {
        "version": VERSION, "title": feed.title, "home_page_url": feed.site_url,
        "feed_url": feed.self_url, "description": feed.subtitle,
        "authors": [{"name": feed.author}],
    }
    if feed.language:
        document["language"] = feed.language
    hubs = [{"type": "WebSub", "url": link.href} for link in feed.links if link.rel == HUB_REL]
    if hubs:
        document["hubs"] = hubs
    document["items"] = [_item(entry) for entry in feed.entries]
    return document


def render_json_feed(site: Site, target: Target) -> bytes:
    """``{lang}/feed.json`` (or ``feed.json`` for all languages), UTF-8, characters unescaped."""
    feed = current_feed(site, target.language, target.statements, JSON_FEED)
    text = json.dumps(feed_object(feed), ensure_ascii=False, indent=2)
    return (text + "\n").encode("utf-8")
