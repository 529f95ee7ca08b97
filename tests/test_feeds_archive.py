"""RFC 5005 archives: walking the links like a client sees every statement exactly once."""

from __future__ import annotations

from collections import Counter

import feedparser
import pytest
from test_feeds_fixtures import (
    NOW,
    NS,
    build,
    links,
    make_settings,
    public,
    sample_statements,
    statement,
    url,
    xml,
)

from sfb_feeds.feeds.urls import entry_id
from sfb_feeds.site import Site, make_site


def path_of(href: str) -> str:
    assert href.startswith(public(""))
    return href[len(public("")):]


def one_link(root: object, rel: str) -> str | None:
    found = links(root, rel)
    assert len(found) <= 1
    return found[0]["href"] if found else None


def ids(root: object) -> list[str]:
    return [e.findtext("a:id", namespaces=NS) for e in root.findall("a:entry", NS)]  # type: ignore[attr-defined]


def walk_back(outputs: dict[str, bytes], language: str) -> tuple[list[str], list[str]]:
    """Follow prev-archive from the subscription feed; returns (documents, entry ids)."""
    documents, seen = [f"{language}/atom.xml"], []
    root = xml(outputs[documents[0]])
    while True:
        seen.extend(ids(root))
        previous = one_link(root, "prev-archive")
        if previous is None:
            return documents, seen
        documents.append(path_of(previous))
        assert documents.count(documents[-1]) == 1, "the archive links loop"
        root = xml(outputs[documents[-1]])


def expected_ids(site: Site, language: str) -> list[str]:
    return [entry_id(s.id, s.date, site.settings) for s in site.by_language[language]]


@pytest.mark.parametrize("entries", [1, 2, 3, 4, 5, 7, 50])
def test_walking_back_sees_each_statement_exactly_once(entries: int) -> None:
    site = make_site(make_settings(entries=entries), sample_statements(), NOW)
    outputs = build(site)
    for language in site.languages:
        documents, seen = walk_back(outputs, language)
        counts = Counter(seen)
        assert all(count == 1 for count in counts.values()), (language, counts)
        # Newest first throughout: subscription feed, then archives from the newest year.
        assert seen == expected_ids(site, language), language
        archives = sorted(p for p in outputs if p.startswith(f"{language}/archive/"))
        assert sorted(documents[1:]) == archives


def test_archive_documents_are_marked_and_linked() -> None:
    site = make_site(make_settings(entries=3), sample_statements(), NOW)
    outputs = build(site)
    assert sorted(p for p in outputs if p.startswith("en/archive/")) == [
        "en/archive/2013.xml", "en/archive/2014.xml", "en/archive/2015.xml"]
    for year, previous, following in [(2013, None, 2014), (2014, 2013, 2015),
                                      (2015, 2014, None)]:
        root = xml(outputs[f"en/archive/{year}.xml"])
        assert root.find("fh:archive", NS) is not None
        assert one_link(root, "self") == public(f"en/archive/{year}.xml")
        assert links(root, "current") == [{
            "href": public("en/atom.xml"), "rel": "current", "type": "application/atom+xml",
            "hreflang": "en", "title": "Socialism From Below — English"}]
        assert one_link(root, "prev-archive") == (
            public(f"en/archive/{previous}.xml") if previous else None)
        assert one_link(root, "next-archive") == (
            public(f"en/archive/{following}.xml") if following else None)
        assert root.findtext("a:title", namespaces=NS) == f"Socialism From Below — English — {year}"
        assert not feedparser.parse(outputs[f"en/archive/{year}.xml"]).bozo
    for path in ("en/atom.xml", "atom.xml", "en/rss.xml"):
        assert b"syndication/history" not in outputs[path]


def test_the_current_feed_links_the_newest_archive_only_for_languages() -> None:
    outputs = build(make_site(make_settings(entries=3), sample_statements(), NOW))
    assert one_link(xml(outputs["tr/atom.xml"]), "prev-archive") == public("tr/archive/2015.xml")
    assert one_link(xml(outputs["atom.xml"]), "prev-archive") is None


def test_a_year_partly_in_the_current_feed_keeps_only_the_rest() -> None:
    site = make_site(make_settings(entries=3), sample_statements(), NOW)
    outputs = build(site)
    # English 2015: four statements, the newest three are in en/atom.xml.
    assert ids(xml(outputs["en/archive/2015.xml"])) == [url("kathmandu")]
    assert ids(xml(outputs["en/atom.xml"])) == [
        url("intervention"), url("refugees-en"), url("tricky")]
    # Polish: both statements fit in the subscription feed; the one archive is empty.
    assert ids(xml(outputs["pl/archive/2015.xml"])) == []


def test_years_older_than_the_current_feed_do_not_change() -> None:
    settings = make_settings(entries=3)
    before = build(make_site(settings, sample_statements(), NOW))
    newer = statement(url("newest"), "A newer statement", "2015-12-01")
    after = build(make_site(settings, (*sample_statements(), newer), NOW))
    assert after["en/archive/2013.xml"] == before["en/archive/2013.xml"]
    assert after["en/archive/2014.xml"] == before["en/archive/2014.xml"]
    # 2015 gains the statement pushed out of the subscription feed.
    assert ids(xml(after["en/archive/2015.xml"])) == [url("tricky"), url("kathmandu")]


def test_archive_updated_is_its_newest_entry_or_its_year() -> None:
    outputs = build(make_site(make_settings(entries=3), sample_statements(), NOW))
    full = xml(outputs["en/archive/2014.xml"])
    entry_times = [e.findtext("a:updated", namespaces=NS) for e in full.findall("a:entry", NS)]
    assert full.findtext("a:updated", namespaces=NS) == max(entry_times)
    empty = xml(outputs["pl/archive/2015.xml"])
    assert empty.findtext("a:updated", namespaces=NS).startswith("2015-09-04T00:00:00.")
