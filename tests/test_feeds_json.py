"""JSON Feed 1.1: required fields, items, language, text exactly as written."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from cli_run import run
from conftest import SiteMaker
from test_feeds_fixtures import (
    TRICKY_PARAGRAPHS,
    TRICKY_TITLE,
    build,
    noon_if_bare,
    public,
    sample_site,
    url,
    xml,
)

from sfb_feeds.urls import entry_id

FEED_KEYS = {"version", "title", "home_page_url", "feed_url", "description", "authors",
             "language", "items"}
ATOM = "{http://www.w3.org/2005/Atom}"
ITEM_KEYS = {"id", "url", "title", "content_text", "summary", "date_published",
             "date_modified", "authors", "tags", "language"}


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    return build(sample_site())


def load(data: bytes) -> dict[str, object]:
    document = json.loads(data.decode("utf-8"))
    assert isinstance(document, dict)
    return document


def test_language_feed_top_level(outputs: dict[str, bytes]) -> None:
    feed = load(outputs["ar/feed.json"])
    assert set(feed) <= FEED_KEYS
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Socialism From Below — العربية"
    assert feed["home_page_url"] == "https://www.istendency.net/"
    assert feed["feed_url"] == public("ar/feed.json")
    assert feed["language"] == "ar"
    assert feed["authors"] == [{"name": "International Socialist Tendency"}]


def test_items_in_order_with_every_field(outputs: dict[str, bytes]) -> None:
    site = sample_site()
    feed = load(outputs["en/feed.json"])
    items = feed["items"]
    assert isinstance(items, list)
    expected = site.by_language["en"][:3]
    assert [item["id"] for item in items] == [
        entry_id(s.id, s.date, site.settings) for s in expected]
    for item, source in zip(items, expected, strict=True):
        assert set(item) <= ITEM_KEYS
        assert item["title"] == source.title
        assert item["url"] == source.url
        assert item["content_text"].split("\n\n") == list(source.excerpt)
        assert item["summary"] == source.excerpt[0]
        assert datetime.fromisoformat(item["date_published"]) == noon_if_bare(source.date)
        assert datetime.fromisoformat(item["date_modified"]) == noon_if_bare(source.updated)
        assert item["language"] == "en"
        assert item.get("tags", []) == list(source.tags)
        # The site's author when the statement names none (docs/feeds.md, Authors).
        assert item["authors"] == [{"name": name} for name in
                                   source.authors or ("International Socialist Tendency",)]


def test_combined_feed_has_item_languages_only(outputs: dict[str, bytes]) -> None:
    feed = load(outputs["feed.json"])
    assert "language" not in feed
    assert [item["language"] for item in feed["items"]] == ["tr", "en", "ar"]


def test_text_is_exact_and_not_escaped(outputs: dict[str, bytes]) -> None:
    data = outputs["en/feed.json"]
    item = next(i for i in load(data)["items"] if i["id"] == url("tricky"))
    assert item["title"] == TRICKY_TITLE
    assert item["content_text"] == "\n\n".join(TRICKY_PARAGRAPHS)
    assert "✊🏽".encode() in data and b"\\u" not in data
    assert data.endswith(b"}\n")


def test_a_repeated_tag_or_author_is_published_once(make_site: SiteMaker) -> None:
    """``tags: [a, a, " a "]`` (one tag once spaces are trimmed) showed "a, a, a" in readers:
    every format lists each tag and author once, in the order first written."""
    record = ("title: T\ndate: 2015-09-04\nlanguage: en\nexcerpt: e\nid: urn:ist:t\n"
              "tags: [a, b, a, ' a ', b]\nauthors: [Ann, Bob, Ann]\n")
    site = make_site({"a.yaml": record})
    assert run(["build", "--config", str(site)])[0] == 0
    feeds = site.parent / "feeds"
    item = load((feeds / "en" / "feed.json").read_bytes())["items"][0]
    assert (item["tags"], item["authors"]) == (["a", "b"], [{"name": "Ann"}, {"name": "Bob"}])
    entry = xml((feeds / "en" / "atom.xml").read_bytes()).find(f"{ATOM}entry")
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["a", "b"]
    assert [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")] == ["Ann", "Bob"]
