"""Atom subscription feeds: metadata, entries, links (feedgen issue #135), dates, escaping."""



from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import feedparser
import pytest
from test_feeds_fixtures import (
    NOW,
    NS,
    TRICKY_PARAGRAPHS,
    TRICKY_TITLE,
    XML_LANG,
    build,
    links,
    make_settings,
    noon_if_bare,
    paragraphs_of,
    public,
    sample_site,
    statement,
    url,
    xml,
)

from sfb_feeds.feeds.atom import render_atom_feed
from sfb_feeds.language import native_name
from sfb_feeds.plan import Target
from sfb_feeds.site import make_site
from sfb_feeds.urls import entry_id


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    return build(sample_site())


HTML = "text/html"


def entry_ids(root: object) -> list[str]:
    return [e.findtext("a:id", namespaces=NS) for e in root.findall("a:entry", NS)]  # type: ignore[attr-defined]


def test_language_feed_metadata(outputs: dict[str, bytes]) -> None:
    root = xml(outputs["en/atom.xml"])
    assert root.get(XML_LANG) == "en"
    assert root.findtext("a:id", namespaces=NS) == public("en/atom.xml")
    assert root.findtext("a:title", namespaces=NS) == "Socialism From Below — English"
    assert root.findtext("a:subtitle", namespaces=NS) == (
        "Statements of the International Socialist Tendency.")
    assert root.findtext("a:author/a:name", namespaces=NS) == "International Socialist Tendency"
    assert root.find("a:generator", NS).text == "sfb-feeds"
    assert links(root, "self") == [{"href": public("en/atom.xml"), "rel": "self",
                                    "type": "application/atom+xml"}]
    assert {"href": "https://www.istendency.net/", "rel": "alternate",
            "type": "text/html"} in links(root, "alternate")
    assert links(root, "prev-archive") == [{"href": public("en/archive/2015.xml"),
                                            "rel": "prev-archive",
                                            "type": "application/atom+xml"}]


def test_language_feed_links_the_other_languages(outputs: dict[str, bytes]) -> None:
    """As ``related`` links: the site's page is the feed's only alternate (newsboat shows a
    feed's last alternate link as its website)."""
    root = xml(outputs["pl/atom.xml"])
    assert links(root, "alternate") == [{"href": "https://www.istendency.net/",
                                         "rel": "alternate", "type": "text/html"}]
    others = [link for link in links(root, "related")
              if link.get("type") == "application/atom+xml"]
    assert [(o["hreflang"], o["href"], o["title"]) for o in others] == [
        ("ar", public("ar/atom.xml"), "Socialism From Below — العربية"),
        ("en", public("en/atom.xml"), "Socialism From Below — English"),
        ("pt-BR", public("pt-BR/atom.xml"), "Socialism From Below — Português (Brasil)"),
        ("tr", public("tr/atom.xml"), "Socialism From Below — Türkçe"),
    ]


def test_entries_are_the_newest_in_order(outputs: dict[str, bytes]) -> None:
    site = sample_site()
    root = xml(outputs["en/atom.xml"])
    assert entry_ids(root) == [s.id for s in site.by_language["en"][:3]] == [
        url("intervention"), url("refugees-en"), url("tricky")]
    combined = xml(outputs["atom.xml"])
    # Same day: ties broken by language, then id.
    assert entry_ids(combined) == [url("tr-2015-c"), url("intervention"), url("refugees-ar")]


@pytest.mark.parametrize("entries", [1, 2, 50])
def test_entries_setting_caps_current_feeds(entries: int) -> None:
    site = sample_site(entries=entries)
    outputs = build(site)
    for language in site.languages:
        expected = min(entries, len(site.by_language[language]))
        assert len(xml(outputs[f"{language}/atom.xml"]).findall("a:entry", NS)) == expected
    assert len(xml(outputs["atom.xml"]).findall("a:entry", NS)) == min(
        entries, len(site.statements))


def test_entry_links_keep_rel_type_and_hreflang(outputs: dict[str, bytes]) -> None:
    """feedgen 1.0 drops everything but href on entry links (upstream #135)."""
    root = xml(outputs["en/atom.xml"])
    entry = next(e for e in root.findall("a:entry", NS)
                 if e.findtext("a:id", namespaces=NS) == url("refugees-en"))
    assert links(entry) == [
        {"href": url("refugees-en"), "rel": "alternate", "type": HTML, "hreflang": "en"},
        {"href": url("refugees-ar"), "rel": "related", "type": HTML, "hreflang": "ar",
         "title": native_name("ar")},
        {"href": url("refugees-pl"), "rel": "related", "type": HTML, "hreflang": "pl",
         "title": native_name("pl")},
        {"href": url("refugees-pt-br"), "rel": "related", "type": HTML,
         "hreflang": "pt-BR", "title": native_name("pt-BR")},
        {"href": url("tr-2015-a"), "rel": "related", "type": HTML, "hreflang": "tr",
         "title": native_name("tr")},
    ]
    parsed = feedparser.parse(outputs["en/atom.xml"])
    seen = next(e for e in parsed.entries if e.id == url("refugees-en"))
    assert [(link.rel, link.type, link.get("hreflang")) for link in seen.links] == [
        ("alternate", HTML, "en"),
        *[("related", HTML, lang) for lang in ("ar", "pl", "pt-BR", "tr")]]
    # A reader's one link for the entry is the statement itself, its only alternate link:
    # feedparser and newsboat keep the last alternate, most others the first.
    assert seen.link == url("refugees-en")


def test_translation_without_page_or_in_same_language_is_not_linked() -> None:
    key = {"translation_key": "k"}
    site = make_site(make_settings(), [
        statement(url("a"), "A", "2015-01-02", **key),
        statement(url("b"), "B", "2015-01-02", **key),  # same language: not a translation link
        statement("no-page", "C", "2015-01-02", "pl", **key),
    ], NOW)
    root = xml(build(site)["en/atom.xml"])
    for entry in root.findall("a:entry", NS):
        assert [link["hreflang"] for link in links(entry)] == ["en"]


def test_dates_are_the_statements_own(outputs: dict[str, bytes]) -> None:
    site = sample_site()
    by_id = {s.id: s for s in site.statements}
    root = xml(outputs["atom.xml"])
    updated_values = []
    for entry in root.findall("a:entry", NS):
        source = by_id[entry.findtext("a:id", namespaces=NS)]
        published = datetime.fromisoformat(entry.findtext("a:published", namespaces=NS))
        updated = datetime.fromisoformat(entry.findtext("a:updated", namespaces=NS))
        assert published == noon_if_bare(source.date)
        assert timedelta(0) < updated - noon_if_bare(source.updated) < timedelta(seconds=1)
        updated_values.append(entry.findtext("a:updated", namespaces=NS))
    assert len(set(updated_values)) == len(updated_values)
    assert root.findtext("a:updated", namespaces=NS) == max(
        updated_values, key=datetime.fromisoformat)


def test_feed_updated_is_the_newest_entry_never_the_clock(outputs: dict[str, bytes]) -> None:
    for path, data in outputs.items():
        assert NOW.date().isoformat().encode() not in data, path
        assert datetime.now().date().isoformat().encode() not in data, path


def test_feed_updated_is_the_latest_update_not_the_first_entry() -> None:
    site = make_site(make_settings(), [
        statement(url("new"), "Newest", "2015-09-06"),
        statement(url("old"), "Older, corrected later", "2015-09-01", updated="2015-09-10"),
    ], NOW)
    for path in ("en/atom.xml", "atom.xml"):
        root = xml(build(site)[path])
        updates = [e.findtext("a:updated", namespaces=NS) for e in root.findall("a:entry", NS)]
        assert updates[1].startswith("2015-09-10T12:00:00.")
        assert root.findtext("a:updated", namespaces=NS) == updates[1]


def test_combined_feed_marks_each_entry_language(outputs: dict[str, bytes]) -> None:
    root = xml(outputs["atom.xml"])
    assert root.get(XML_LANG) is None
    site = sample_site()
    assert [e.get(XML_LANG) for e in root.findall("a:entry", NS)] == [
        s.language for s in site.statements[:3]]
    language_feed = xml(outputs["tr/atom.xml"])
    assert [e.get(XML_LANG) for e in language_feed.findall("a:entry", NS)] == [None] * 3
    hreflangs = [link["hreflang"] for link in links(root, "related") if "hreflang" in link]
    assert hreflangs == ["ar", "en", "pl", "pt-BR", "tr"]
    parsed = feedparser.parse(outputs["atom.xml"])
    assert [e.title_detail.language for e in parsed.entries] == ["tr", "en", "ar"]


def test_text_reaches_a_reader_exactly_as_written(outputs: dict[str, bytes]) -> None:
    parsed = feedparser.parse(outputs["en/atom.xml"])
    assert not parsed.bozo
    entry = next(e for e in parsed.entries if e.id == url("tricky"))
    assert entry.title == TRICKY_TITLE
    assert entry.title_detail.type == "text/plain"
    assert entry.summary_detail.type == "text/html"
    assert paragraphs_of(entry.summary) == list(TRICKY_PARAGRAPHS)
    assert [author.name for author in entry.authors] == [
        "DSIP", "Revolutionary Socialists (Egypt)"]
    assert [tag.term for tag in entry.tags] == ["a & b", "<tag>"]
    # And to an XML parser: escaped exactly once.
    root = xml(outputs["en/atom.xml"])
    summary = next(e for e in root.findall("a:entry", NS)
                   if e.findtext("a:id", namespaces=NS) == url("tricky")).find("a:summary", NS)
    assert summary.get("type") == "html"
    assert paragraphs_of(summary.text) == list(TRICKY_PARAGRAPHS)
    assert "&amp;amp;" in summary.text  # the literal "&amp;" of the text, escaped once for HTML


def test_statement_without_page_gets_content_and_a_tag_id(outputs: dict[str, bytes]) -> None:
    root = xml(outputs["en/archive/2013.xml"])
    entry = next(e for e in root.findall("a:entry", NS)
                 if "founding" in e.findtext("a:id", namespaces=NS))
    assert entry.findtext("a:id", namespaces=NS) == (
        "tag:www.istendency.net,2013-11-07:ist-2013-founding")
    assert links(entry) == []
    assert entry.find("a:summary", NS) is None
    content = entry.find("a:content", NS)
    assert content.get("type") == "html" and content.text == "<p>It was only ever printed.</p>"


def test_ids_are_written_in_canonical_form(outputs: dict[str, bytes]) -> None:
    root = xml(outputs["en/archive/2013.xml"])
    assert url("upper~case") in entry_ids(root)


def test_every_entry_names_its_authors_the_sites_if_none(outputs: dict[str, bytes]) -> None:
    """Atom lets an entry inherit the feed's author, but feedparser (like newsboat and
    sfeed) shows an entry without its own as having none: each entry carries them."""
    site = sample_site()
    for path in ("en/atom.xml", "atom.xml", "en/archive/2013.xml"):
        parsed = {entry.id: entry for entry in feedparser.parse(outputs[path]).entries}
        assert parsed
        for source in site.statements:
            entry = parsed.get(entry_id(source.id, source.date, site.settings))
            if entry is not None:
                names = list(source.authors) or ["International Socialist Tendency"]
                assert [author.name for author in entry.authors] == names, entry.id


def test_an_escaped_reserved_character_keeps_the_case_it_was_published_in() -> None:
    """RFC 3986's normal form writes ``%2f`` as ``%2F``, and the W3C validator warns of an
    atom:id with ``%2f`` (NonCanonicalURI); but ids are already published so, and a changed
    id is a new entry to every reader: each id stays as it is published today, in every
    format (an escaped reserved character as written, but ``%2f`` inside an http(s) path
    segment, which is written ``%2F``)."""
    published = {"urn:ist:ru%2fone": "urn:ist:ru%2fone",
                 "https://www.istendency.net/a%2fb%3a?q=%2f":
                 "https://www.istendency.net/a%2Fb%3a?q=%2f"}
    site = make_site(make_settings(entries=50), tuple(
        statement(ident, f"Title {n}", f"2015-0{n + 1}-01")
        for n, ident in enumerate(published)), NOW)
    outputs = build(site)
    ids = list(published.values())
    assert sorted(entry_ids(xml(outputs["en/atom.xml"]))) == sorted(ids)
    assert sorted(g.text for g in xml(outputs["en/rss.xml"]).iter("guid")) == sorted(ids)
    assert sorted(i["id"] for i in json.loads(outputs["en/feed.json"])["items"]) == sorted(ids)


@pytest.mark.parametrize("text", [
    "Wages < profits & rents", "AT&T and R&D", "Why </b> matters", "Fish &amp chips",
    "Caf&#233;", "A&B2", "<b>bold</b> and <script>alert(1)</script>"])
def test_titles_are_plain_text_shown_as_written(text: str) -> None:
    site = make_site(make_settings(), [statement(url("x"), text, "2015-01-01")], NOW)
    data = render_atom_feed(site, Target(language="en", period=None,
                                         statements=site.by_language["en"]))
    title = xml(data).find("a:entry/a:title", NS)
    assert (title.get("type", "text"), title.text) == ("text", text)
    parsed = feedparser.parse(data).entries[0]
    assert (parsed.title_detail.type, parsed.title) == ("text/plain", text)


def test_empty_site_still_renders_valid_feeds() -> None:
    site = make_site(make_settings(), [], NOW)
    outputs = build(site)
    assert sorted(outputs) == ["atom.xml", "feed.json", "feeds.opml", "index.html", "rss.xml"]
    root = xml(outputs["atom.xml"])
    assert root.findall("a:entry", NS) == []
    assert root.findtext("a:updated", namespaces=NS) == "2000-01-01T00:00:00+00:00"


def test_a_date_without_a_time_shows_as_that_date_from_utc_minus_11_to_plus_12() -> None:
    """Published at 12:00 in site.timezone; a time written in the record is kept."""
    site = make_site(make_settings(), [
        statement(url("bare"), "Bare date", "2015-09-06"),
        statement(url("timed"), "With a time", datetime.fromisoformat(
            "2015-09-05T00:00:00+01:00")),
    ], NOW)
    outputs = build(site)
    entries = {e.findtext("a:id", namespaces=NS): e for e in
               xml(outputs["en/atom.xml"]).findall("a:entry", NS)}
    bare = datetime.fromisoformat(entries[url("bare")].findtext("a:published", namespaces=NS))
    assert bare.isoformat() == "2015-09-06T12:00:00+01:00"
    for hours in range(-11, 13):
        assert bare.astimezone(timezone(timedelta(hours=hours))).date().isoformat() == (
            "2015-09-06")
    timed = entries[url("timed")].findtext("a:published", namespaces=NS)
    assert timed == "2015-09-05T00:00:00+01:00"
    items = {i.findtext("guid"): i for i in xml(outputs["en/rss.xml"]).iter("item")}
    assert items[url("bare")].findtext("pubDate") == "Sun, 06 Sep 2015 12:00:00 +0100"
    item = next(i for i in json.loads(outputs["en/feed.json"])["items"] if i["id"] == url("bare"))
    assert item["date_published"] == "2015-09-06T12:00:00+01:00"
