"""Plain text (titles, the feed's description) reaches a reader exactly as it was written.

A reader shows a value as text or renders it as HTML, depending on the type feedparser
(and readers like it) assign. What a reader *shows* is computed the same way here: the
value itself for text, the HTML fragment's text for HTML. JSON Feed titles are plain text
by definition (feedparser 6.0 does not read JSON Feed), so they are read with ``json``.
"""

# ruff: noqa: RUF001  (multilingual test data: its look-alike letters are meant)

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import feedparser
import html5lib
import pytest
from test_feeds_fixtures import NOW, build, make_settings, statement, url
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


def shown(detail: Any) -> str:
    """What a reader displays for a feedparser text construct."""
    if detail.type == "text/plain":
        return str(detail.value)
    fragment = html5lib.parseFragment(detail.value, namespaceHTMLElements=False)
    return "".join(fragment.itertext())


def tricky_outputs(text: str) -> dict[str, bytes]:
    base = make_settings()
    settings = replace(base, site=replace(base.site, title=text, description=text))
    statements = (statement(url("one"), text, "2015-09-04"),
                  statement("no-url", text, "2015-09-03", excerpt=("x",)))
    return build(make_site(settings, statements, NOW))


@pytest.fixture(scope="module", params=TRICKY)
def tricky(request: pytest.FixtureRequest) -> tuple[str, dict[str, bytes]]:
    return request.param, tricky_outputs(request.param)


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml"])
def test_entry_titles_show_as_written(tricky: tuple[str, dict[str, bytes]], name: str) -> None:
    text, outputs = tricky
    parsed = feedparser.parse(outputs[name])
    assert not parsed.bozo
    assert [shown(entry.title_detail) for entry in parsed.entries] == [text, text]


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml"])
def test_feed_title_and_description_show_as_written(
        tricky: tuple[str, dict[str, bytes]], name: str) -> None:
    text, outputs = tricky
    feed = feedparser.parse(outputs[name]).feed
    assert shown(feed.title_detail) == text
    assert shown(feed.subtitle_detail) == text


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
    """Raw or escaped, a title that looks like HTML draws ContainsHTML; nothing else."""
    outputs = tricky_outputs("Title </b> & <i>x</i>")
    feeds_url = make_settings().site.feeds_url
    problems = rss_problems(outputs["rss.xml"], canonical_uri(feeds_url + "rss.xml"))
    problems += atom_problems(outputs["atom.xml"], canonical_uri(feeds_url + "atom.xml"))
    assert problems and all(problem.startswith("ContainsHTML: ") for problem in problems)
