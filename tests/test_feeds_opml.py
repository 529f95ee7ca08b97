"""feeds.opml: an OPML 2.0 list of every subscription feed, grouped by language."""

from __future__ import annotations

import pytest
from test_feeds_fixtures import build, public, sample_site, xml


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    return build(sample_site())


def test_head(outputs: dict[str, bytes]) -> None:
    root = xml(outputs["feeds.opml"])
    assert root.tag == "opml" and root.get("version") == "2.0"
    head = root.find("head")
    assert head.findtext("title") == "Socialism From Below: feeds"
    assert head.findtext("ownerName") == "International Socialist Tendency"
    assert head.findtext("docs") == "http://opml.org/spec2.opml"


def test_lists_every_feed_once(outputs: dict[str, bytes]) -> None:
    root = xml(outputs["feeds.opml"])
    leaves = root.findall("body/outline/outline")
    feed_paths = sorted(p for p in outputs if "/archive/" not in p
                        and p.endswith(("atom.xml", "rss.xml", "feed.json")))
    assert sorted(o.get("xmlUrl") for o in leaves) == sorted(public(p) for p in feed_paths)
    for outline in leaves:
        assert outline.get("type") == "rss"
        assert outline.get("text") == outline.get("title")
        assert outline.get("htmlUrl") == "https://www.istendency.net/"
        assert (outline.get("version") == "RSS2") == outline.get("xmlUrl").endswith("rss.xml")


def test_grouped_by_language_in_its_own_name(outputs: dict[str, bytes]) -> None:
    site = sample_site()
    folders = xml(outputs["feeds.opml"]).findall("body/outline")
    assert [f.get("text") for f in folders] == [
        "All languages", "العربية", "English", "Polski", "Português (Brasil)", "Türkçe"]
    for folder in folders:
        assert set(folder.attrib) == {"text"}
    for folder, language in zip(folders[1:], site.languages, strict=True):
        outlines = folder.findall("outline")
        assert {o.get("language") for o in outlines} == {language}
        assert [o.get("title") for o in outlines] == [
            f"Socialism From Below — {folder.get('text')} ({kind})"
            for kind in ("Atom", "RSS", "JSON Feed")]
    assert all(o.get("language") is None for o in folders[0].findall("outline"))
