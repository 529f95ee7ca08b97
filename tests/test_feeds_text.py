"""Plain text (titles, the feed's description) reaches a reader exactly as it was written.

Titles are plain text in every format: Atom's ``type="text"`` (read here by feedparser,
which follows the declared type), RSS text escaped once as XML (RSS Best Practices: a
title is not HTML; read here with an XML parser, as newsboat and sfeed read it, see
``test_feeds_readers.py``; feedparser guesses HTML in RSS titles that look like it, a
guess the RSS profile advises against), JSON Feed strings as they are (read with
``json``; feedparser 6.0 does not read JSON Feed).
"""

# ruff: noqa: RUF001  (multilingual test data: its look-alike letters are meant)

from __future__ import annotations

import json
from dataclasses import replace

import feedparser
import pytest
from test_feeds_fixtures import NOW, build, make_settings, statement, url, xml
from test_feeds_w3c import atom_problems, rss_problems

from sfb_feeds.site import make_site
from sfb_feeds.urls import canonical_uri

TRICKY = (
    "Title </b> & <i>x</i>",
    "<b>bold</b> and <script>alert(1)</script>",
    "&amp; written literally, and &copy; and &#x26; and &#38;",
    "<tag> opened and never closed",
    "5 < 6 > 4 & more",
    "AT&T; R&D",
    "Quotes: \"double\" 'single' «guillemets» ‘curly’",
    "Emoji ✊🏽 and 👩‍👩‍👧",
    "RTL: העובדים מאוחדים / العمال يتحدون",
    "Combining: Z\u0351a\u0352l\u0353g\u0354o e\u0301",
    "A plain title",
)


def tricky_outputs(text: str) -> dict[str, bytes]:
    base = make_settings()
    settings = replace(base, site=replace(base.site, title=text, description=text))
    statements = (statement(url("one"), text, "2015-09-04"),
                  statement("no-url", text, "2015-09-03", excerpt=("x",)))
    return build(make_site(settings, statements, NOW))


@pytest.fixture(scope="module", params=TRICKY)
def tricky(request: pytest.FixtureRequest) -> tuple[str, dict[str, bytes]]:
    return request.param, tricky_outputs(request.param)


def test_atom_titles_are_text_shown_as_written(tricky: tuple[str, dict[str, bytes]]) -> None:
    text, outputs = tricky
    parsed = feedparser.parse(outputs["atom.xml"])
    assert not parsed.bozo
    details = [entry.title_detail for entry in parsed.entries]
    details += [parsed.feed.title_detail, parsed.feed.subtitle_detail]
    assert [(detail.type, detail.value) for detail in details] == [("text/plain", text)] * 4


def test_rss_titles_are_text_escaped_once(tricky: tuple[str, dict[str, bytes]]) -> None:
    text, outputs = tricky
    channel = xml(outputs["rss.xml"]).find("channel")
    assert [item.findtext("title") for item in channel.findall("item")] == [text, text]
    assert (channel.findtext("title"), channel.findtext("description")) == (text, text)


def test_json_feed_text_is_exactly_as_written(tricky: tuple[str, dict[str, bytes]]) -> None:
    text, outputs = tricky
    document = json.loads(outputs["feed.json"])
    assert (document["title"], document["description"]) == (text, text)
    assert [item["title"] for item in document["items"]] == [text, text]


def test_text_without_markup_is_written_as_it_is(tricky: tuple[str, dict[str, bytes]]) -> None:
    """Only text an HTML reader would misread is escaped (the validator warns either way)."""
    text, outputs = tricky
    parsed = feedparser.parse(outputs["rss.xml"])
    for detail in (parsed.entries[0].title_detail, parsed.feed.title_detail):
        if detail.type == "text/plain":
            assert detail.value == text


@pytest.mark.parametrize("text", ["5 < 6 > 4 & more", "A plain title",
                                  "Quotes: \"double\" 'single' «guillemets» ‘curly’"])
def test_text_without_markup_raises_no_validator_warning(text: str) -> None:
    outputs = tricky_outputs(text)
    feeds_url = make_settings().site.feeds_url
    assert rss_problems(outputs["rss.xml"], canonical_uri(feeds_url + "rss.xml")) == []
    assert atom_problems(outputs["atom.xml"], canonical_uri(feeds_url + "atom.xml")) == []


def test_markup_in_a_title_costs_only_the_documented_validator_warning() -> None:
    """Plain text that looks like HTML draws ContainsHTML (RSS) or ContainsUndeclaredHTML
    (Atom) and nothing else (docs/feeds.md)."""
    outputs = tricky_outputs("Title </b> & <i>x</i>")
    feeds_url = make_settings().site.feeds_url
    problems = rss_problems(outputs["rss.xml"], canonical_uri(feeds_url + "rss.xml"))
    problems += atom_problems(outputs["atom.xml"], canonical_uri(feeds_url + "atom.xml"))
    assert problems and all(problem.startswith(("ContainsHTML: ", "ContainsUndeclaredHTML: "))
                            for problem in problems)


def test_markup_in_a_category_costs_only_the_documented_validator_warning() -> None:
    """An RSS category (or Atom term) is plain text too: ContainsHTML, nothing else."""
    site = make_site(make_settings(), [
        statement(url("one"), "A title", "2015-09-04", tags=("Why </b> matters", "a & b"))],
        NOW)
    outputs = build(site)
    feeds_url = make_settings().site.feeds_url
    problems = rss_problems(outputs["rss.xml"], canonical_uri(feeds_url + "rss.xml"))
    assert problems == ["ContainsHTML: item 0: Why </b> matters"]
    item = xml(outputs["rss.xml"]).find("channel/item")
    assert [c.text for c in item.findall("category")] == ["Why </b> matters", "a & b"]
    assert atom_problems(outputs["atom.xml"], canonical_uri(feeds_url + "atom.xml")) == []
