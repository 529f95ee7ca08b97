"""Languages with an ISO 639-3 code only (``ckb`` Sorani Kurdish, ``yue`` Cantonese).

Their canonical BCP 47 tags are right, but the W3C validator reports every ``xml:lang``,
``hreflang``, RSS ``<language>``/``<dc:language>`` and OPML ``language`` whose first
subtag is not an ISO 639-1 or 639-2 code as an error (InvalidLanguage). Atom and RSS
therefore name such a language by its macrolanguage, exactly still (``ku-Arab``,
``zh-yue``); JSON Feed, folders and pages keep the canonical tag. Checked on the built
documents (lxml), with the validator's rules (``test_feeds_w3c``) and with feedparser.
"""

from __future__ import annotations

import json

import feedparser
import langcodes
import pytest
from test_feeds_fixtures import NOW, NS, XML_LANG, build, make_settings, statement, url, xml
from test_feeds_w3c import XML_OUTPUTS, document_problems

from sfb_feeds.language import feed_language_tag
from sfb_feeds.site import make_site

# canonical tag -> what Atom and RSS carry
FEED_TAGS = {"ckb": "ku-Arab", "yue": "zh-yue", "pl": "pl", "en": "en"}
TITLES = {"ckb": "کرێکاران یەکگرن", "yue": "工人團結", "pl": "Solidarność", "en": "Solidarity"}


@pytest.mark.parametrize(("tag", "written"), [
    ("ckb", "ku-Arab"), ("ckb-IQ", "ku-Arab-IQ"), ("ckb-Latn", "ku-Latn"),
    ("yue", "zh-yue"), ("yue-Hant-HK", "zh-yue-Hant-HK"), ("nan-Hant-TW", "zh-nan-Hant-TW"),
    ("arz", "ar-arz"), ("cmn-Hant", "zh-Hant"), ("pes", "fa"),
    # ISO 639-1 and 639-2 codes are written as they are, and so is a tag with no
    # macrolanguage to name it by (Silesian: the validator still reports it).
    ("en", "en"), ("pt-BR", "pt-BR"), ("sr-Latn", "sr-Latn"), ("zh-Hant", "zh-Hant"),
    ("fil", "fil"), ("ast", "ast"), ("min", "min"), ("szl", "szl"),
])
def test_feed_language_tags(tag: str, written: str) -> None:
    assert feed_language_tag(tag) == written
    assert langcodes.tag_is_valid(written)
    # An ISO 639-1 code first, or the tag as it was written (ISO 639-2 or no way round).
    assert len(written.partition("-")[0]) == 2 or written == tag


def _site_outputs() -> dict[str, bytes]:
    made = []
    for number, day in enumerate(("2015-09-06", "2015-03-01")):
        for lang, title in TITLES.items():
            made.append(statement(url(f"{lang}-{number}"), f"{title} {number}", day, lang,
                                  translation_key=f"k{number}"))
    return build(make_site(make_settings(entries=50), tuple(made), NOW))


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    return _site_outputs()


def test_every_document_passes_the_validators_language_rule(outputs: dict[str, bytes]) -> None:
    paths = [p for p in outputs if p.endswith(XML_OUTPUTS)]
    assert {"ckb/atom.xml", "yue/rss.xml", "atom.xml", "rss.xml", "feeds.opml"} <= set(paths)
    for path in paths:
        assert document_problems(outputs, path) == [], path


def _languages_named(data: bytes) -> set[str]:
    """Every language tag an Atom, RSS or OPML document carries, wherever it is."""
    root = xml(data)
    named = {element.get(XML_LANG) for element in root.iter() if element.get(XML_LANG)}
    named |= {link.get("hreflang") for link in root.iter(f"{{{NS['a']}}}link")
              if link.get("hreflang")}
    named |= {element.text for element in root.iter("language", f"{{{NS['dc']}}}language")}
    return named | {outline.get("language") for outline in root.iter("outline")
                    if outline.get("language")}


def test_atom_rss_and_opml_name_each_language_as_validators_read_it(
        outputs: dict[str, bytes]) -> None:
    for path in ("atom.xml", "rss.xml", "pl/atom.xml", "pl/rss.xml", "feeds.opml"):
        assert _languages_named(outputs[path]) == set(FEED_TAGS.values()), path
    for lang, written in FEED_TAGS.items():
        assert xml(outputs[f"{lang}/atom.xml"]).get(XML_LANG) == written
        assert xml(outputs[f"{lang}/rss.xml"]).findtext("channel/language") == written
    # Folders, links to them and JSON Feed keep the canonical tag.
    assert json.loads(outputs["ckb/feed.json"])["language"] == "ckb"
    assert {item["language"] for item in json.loads(outputs["feed.json"])["items"]} == set(
        FEED_TAGS)


def test_feedparser_learns_each_language(outputs: dict[str, bytes]) -> None:
    for lang, written in FEED_TAGS.items():
        for file in ("atom.xml", "rss.xml"):
            parsed = feedparser.parse(outputs[f"{lang}/{file}"])
            assert not parsed.bozo, (lang, file)
            assert parsed.feed.language == written, (lang, file)
    by_title = {entry.title: entry for entry in feedparser.parse(outputs["rss.xml"]).entries}
    atom = {entry.title: entry for entry in feedparser.parse(outputs["atom.xml"]).entries}
    for lang, title in TITLES.items():
        assert by_title[f"{title} 0"].language == FEED_TAGS[lang]
        assert atom[f"{title} 0"].title_detail.language == FEED_TAGS[lang]
