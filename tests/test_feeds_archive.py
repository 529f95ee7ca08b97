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

from sfb_feeds.site import Site, make_site
from sfb_feeds.urls import entry_id


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


def walk_forward(outputs: dict[str, bytes], language: str) -> tuple[list[str], list[str]]:
    """Follow next-archive from the oldest archive to a document that is no archive."""
    documents = [walk_back(outputs, language)[0][-1]]
    seen: list[str] = []
    while True:
        root = xml(outputs[documents[-1]])
        seen = ids(root) + seen
        following = one_link(root, "next-archive")
        if following is None:
            return documents, seen
        documents.append(path_of(following))
        assert documents.count(documents[-1]) == 1, "the archive links loop"


@pytest.mark.parametrize("entries", [1, 2, 3, 4, 5, 7])
def test_walking_forward_ends_at_the_subscription_feed(entries: int) -> None:
    site = make_site(make_settings(entries=entries), sample_statements(), NOW)
    outputs = build(site)
    for language in (lang for lang in site.languages if len(site.by_language[lang]) > entries):
        documents, seen = walk_forward(outputs, language)
        assert documents[-1] == f"{language}/atom.xml"
        assert seen == expected_ids(site, language), language


def test_a_lone_archive_links_the_subscription_feed_as_its_next() -> None:
    """The archived statements of a month make one archive: it still links a neighbour
    (the W3C validator's ArchiveIncomplete), the subscription feed that follows it."""
    statements = [statement(url(f"da-{day}"), f"Udtalelse {day}", f"2015-03-{day:02d}", "da")
                  for day in (2, 9, 16)]
    outputs = build(make_site(make_settings(entries=2), statements, NOW))
    assert [p for p in outputs if p.startswith("da/archive/")] == ["da/archive/2015.xml"]
    archive, feed = xml(outputs["da/archive/2015.xml"]), xml(outputs["da/atom.xml"])
    assert archive.find("fh:archive", NS) is not None
    assert ids(archive) == [url("da-2")]
    assert sorted((link["rel"], link["href"]) for link in links(archive)) == [
        ("alternate", "https://www.istendency.net/"), ("current", public("da/atom.xml")),
        ("next-archive", public("da/atom.xml")), ("self", public("da/archive/2015.xml"))]
    assert one_link(feed, "prev-archive") == public("da/archive/2015.xml")
    assert one_link(feed, "next-archive") is None and feed.find("fh:archive", NS) is None
    assert walk_back(outputs, "da")[0] == ["da/atom.xml", "da/archive/2015.xml"]


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
            public(f"en/archive/{following}.xml") if following else public("en/atom.xml"))
        assert root.findtext("a:title", namespaces=NS) == f"Socialism From Below — English — {year}"
        assert not feedparser.parse(outputs[f"en/archive/{year}.xml"]).bozo
    for path in ("en/atom.xml", "atom.xml", "en/rss.xml"):
        assert b"syndication/history" not in outputs[path]


def test_the_current_feed_links_the_newest_archive_only_for_languages() -> None:
    outputs = build(make_site(make_settings(entries=3), sample_statements(), NOW))
    assert one_link(xml(outputs["tr/atom.xml"]), "prev-archive") == public("tr/archive/2014.xml")
    assert one_link(xml(outputs["atom.xml"]), "prev-archive") is None


def history(root: object) -> list[str]:
    return [child.tag.split("}")[1] for child in root  # type: ignore[attr-defined]
            if child.tag.startswith("{http://purl.org/syndication/history/1.0}")]


def test_a_feed_that_holds_everything_is_complete_and_has_no_archives() -> None:
    """RFC 5005 section 2: nothing to backfill, so no archives and no archive links."""
    site = make_site(make_settings(entries=3), sample_statements(), NOW)
    outputs = build(site)
    # Polish: both statements fit in the subscription feed.
    assert len(site.by_language["pl"]) == 2
    pl = xml(outputs["pl/atom.xml"])
    assert history(pl) == ["complete"]
    assert links(pl, "prev-archive") == [] and links(pl, "current") == []
    assert not [p for p in outputs if p.startswith("pl/archive/")]
    # English and Turkish do not fit: not complete, archived instead.
    for language in ("en", "tr"):
        assert history(xml(outputs[f"{language}/atom.xml"])) == []
    # The all-languages feed is complete only when every statement fits in it.
    assert history(xml(outputs["atom.xml"])) == []
    everything = build(make_site(make_settings(entries=50), sample_statements(), NOW))
    assert history(xml(everything["atom.xml"])) == ["complete"]
    assert not [p for p in everything if "/archive/" in p]
    # RSS and JSON Feed have no such marker.
    assert b"syndication/history" not in everything["rss.xml"]


def test_a_year_partly_in_the_current_feed_keeps_only_the_rest() -> None:
    site = make_site(make_settings(entries=3), sample_statements(), NOW)
    outputs = build(site)
    # English 2015: four statements, the newest three are in en/atom.xml.
    assert ids(xml(outputs["en/archive/2015.xml"])) == [url("kathmandu")]
    assert ids(xml(outputs["en/atom.xml"])) == [
        url("intervention"), url("refugees-en"), url("tricky")]
    # Turkish: the newest three are in tr/atom.xml, all of 2015; 2015 has no archive, and
    # the one statement left makes a lone archive, named by its year.
    assert sorted(p for p in outputs if p.startswith("tr/archive/")) == ["tr/archive/2014.xml"]
    assert ids(xml(outputs["tr/archive/2014.xml"])) == [url("soma-tr")]
    assert one_link(xml(outputs["tr/atom.xml"]), "prev-archive") == public("tr/archive/2014.xml")


@pytest.mark.parametrize("entries", [1, 2, 3, 4, 5, 7, 50])
def test_no_archive_is_written_without_entries(entries: int) -> None:
    outputs = build(make_site(make_settings(entries=entries), sample_statements(), NOW))
    for path in (p for p in outputs if "/archive/" in p):
        assert ids(xml(outputs[path])), path


def test_archived_statements_in_one_year_are_archived_by_half_year_then_month() -> None:
    """A single archive could link no neighbour (the validator's ArchiveIncomplete)."""
    dates = ["2015-11-20", "2015-10-01", "2015-03-15", "2015-02-01"]
    statements = [statement(url(f"da-{n}"), f"Udtalelse {n}", day, "da")
                  for n, day in enumerate(dates)]
    outputs = build(make_site(make_settings(entries=1), statements, NOW))
    assert sorted(p for p in outputs if p.startswith("da/archive/")) == [
        "da/archive/2015-h1.xml", "da/archive/2015-h2.xml"]
    first, second = xml(outputs["da/archive/2015-h1.xml"]), xml(outputs["da/archive/2015-h2.xml"])
    assert ids(first) == [url("da-2"), url("da-3")] and ids(second) == [url("da-1")]
    assert one_link(xml(outputs["da/atom.xml"]), "prev-archive") == public(
        "da/archive/2015-h2.xml")
    assert one_link(second, "prev-archive") == public("da/archive/2015-h1.xml")
    assert one_link(first, "next-archive") == public("da/archive/2015-h2.xml")
    assert one_link(first, "prev-archive") is None
    assert one_link(second, "next-archive") == public("da/atom.xml")
    title = "Socialism From Below — Dansk — 2015"
    assert first.findtext("a:title", namespaces=NS) == f"{title} (1\u20136)"
    assert second.findtext("a:title", namespaces=NS) == f"{title} (7\u201312)"
    # Archived statements in one half-year: by month.
    by_month = build(make_site(make_settings(entries=2), statements, NOW))
    assert sorted(p for p in by_month if p.startswith("da/archive/")) == [
        "da/archive/2015-02.xml", "da/archive/2015-03.xml"]
    assert xml(by_month["da/archive/2015-03.xml"]).findtext("a:title", namespaces=NS) == (
        f"{title}-03")
    # As soon as the archived statements span two years, they are archived by year again.
    older = statement(url("da-2014"), "Ældre udtalelse", "2014-04-01", "da")
    again = build(make_site(make_settings(entries=1), (*statements, older), NOW))
    assert sorted(p for p in again if p.startswith("da/archive/")) == [
        "da/archive/2014.xml", "da/archive/2015.xml"]


def test_years_older_than_the_current_feed_do_not_change() -> None:
    settings = make_settings(entries=3)
    before = build(make_site(settings, sample_statements(), NOW))
    newer = statement(url("newest"), "A newer statement", "2015-12-01")
    after = build(make_site(settings, (*sample_statements(), newer), NOW))
    assert after["en/archive/2013.xml"] == before["en/archive/2013.xml"]
    assert after["en/archive/2014.xml"] == before["en/archive/2014.xml"]
    # 2015 gains the statement pushed out of the subscription feed.
    assert ids(xml(after["en/archive/2015.xml"])) == [url("tricky"), url("kathmandu")]


def test_archive_updated_is_its_newest_entry() -> None:
    outputs = build(make_site(make_settings(entries=3), sample_statements(), NOW))
    for path in (p for p in outputs if "/archive/" in p):
        root = xml(outputs[path])
        entry_times = [e.findtext("a:updated", namespaces=NS) for e in root.findall("a:entry", NS)]
        assert root.findtext("a:updated", namespaces=NS) == max(entry_times), path
