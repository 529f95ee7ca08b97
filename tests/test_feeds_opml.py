"""feeds.opml: an OPML 2.0 list that subscribes a reader to each language once."""

from __future__ import annotations

import pytest
from test_feeds_fixtures import build, public, sample_site, xml

from sfb_feeds.language import native_name


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    return build(sample_site())


def test_head(outputs: dict[str, bytes]) -> None:
    root = xml(outputs["feeds.opml"])
    assert root.tag == "opml" and root.get("version") == "2.0"
    head = root.find("head")
    assert head.findtext("title") == "Socialism From Below: feeds"
    assert head.findtext("ownerName") == "International Socialist Tendency"
    assert [child.tag for child in head] == ["title", "ownerName"]


def test_lists_one_atom_feed_per_language_and_the_all_languages_feed(
        outputs: dict[str, bytes]) -> None:
    site = sample_site()
    paths = ["atom.xml", *[f"{language}/atom.xml" for language in site.languages]]
    assert all(path in outputs for path in paths)
    outlines = xml(outputs["feeds.opml"]).findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [public(path) for path in paths]
    assert all(o.findall("outline") == [] for o in outlines)  # no folders, no other formats


def test_each_feed_is_titled_by_its_language_s_own_name(outputs: dict[str, bytes]) -> None:
    site = sample_site()
    outlines = xml(outputs["feeds.opml"]).findall("body/outline")
    assert [o.get("title") for o in outlines] == [
        "Socialism From Below — all languages",
        *[f"Socialism From Below — {native_name(language)}" for language in site.languages]]
    assert [o.get("language") for o in outlines] == [None, *site.languages]
    for outline in outlines:
        assert outline.get("type") == "rss"  # OPML's type for any feed
        assert outline.get("text") == outline.get("title")
        assert outline.get("htmlUrl") == "https://www.istendency.net/"
    assert len({o.get("title") for o in outlines}) == len(outlines)
