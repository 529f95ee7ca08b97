"""Translation links on entries: never a statement's only link, so readers open its language."""

from __future__ import annotations

import json

import feedparser
from test_feeds_fixtures import NOW, NS, build, links, make_settings, statement, url, xml

from sfb_feeds.site import make_site

KEY = {"translation_key": "k"}


def outputs() -> dict[str, bytes]:
    return build(make_site(make_settings(), [
        statement("ist-printed-only", "Printed only", "2015-01-02", **KEY),  # no url
        statement(url("pl"), "Po polsku", "2015-01-02", "pl", **KEY),
        statement(url("tr"), "Türkçe", "2015-01-02", "tr", **KEY),
    ], NOW))


def test_a_statement_without_a_url_links_no_translation() -> None:
    data = outputs()
    entry = next(e for e in xml(data["atom.xml"]).findall("a:entry", NS)
                 if e.findtext("a:title", namespaces=NS) == "Printed only")
    assert links(entry) == []
    assert entry.find("a:content", NS) is not None  # an Atom entry without a link has content
    parsed = feedparser.parse(data["atom.xml"])
    seen = next(e for e in parsed.entries if e.title == "Printed only")
    assert seen.get("links", []) == []
    assert seen.link == seen.id  # feedparser's fallback when an entry has no link
    item = next(i for i in json.loads(data["feed.json"])["items"] if i["title"] == "Printed only")
    assert "url" not in item


def test_a_statement_with_a_url_still_links_its_translations() -> None:
    parsed = feedparser.parse(outputs()["atom.xml"])
    seen = next(e for e in parsed.entries if e.title == "Po polsku")
    assert seen.link == url("pl")
    assert [(link.rel, link.get("hreflang"), link.href) for link in seen.links] == [
        ("alternate", "pl", url("pl")), ("related", "tr", url("tr"))]


def test_one_link_per_other_language_the_first_translation_in_each() -> None:
    # A second English version is not a translation of the English entry; of two Polish
    # versions, the first by id is linked, once.
    data = build(make_site(make_settings(), [
        statement(url("en"), "Original", "2015-01-02", **KEY),
        statement(url("en-2"), "Also in English", "2015-01-02", **KEY),
        statement(url("pl-b"), "Po polsku (b)", "2015-01-02", "pl", **KEY),
        statement(url("pl-a"), "Po polsku (a)", "2015-01-02", "pl", **KEY),
    ], NOW))
    seen = next(e for e in feedparser.parse(data["atom.xml"]).entries if e.title == "Original")
    assert [(link.rel, link.get("hreflang"), link.href) for link in seen.links] == [
        ("alternate", "en", url("en")), ("related", "pl", url("pl-a"))]
