"""Records the importer writes read back exactly, whatever the text holds."""
# ruff: noqa: RUF001  (Greek, Turkish and typographic letters on purpose)

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sfb_feeds.fields import paragraphs, shows_nothing
from sfb_feeds.importer.text import clean_text, join_words
from sfb_feeds.loader import ParseOptions, parse_file
from sfb_feeds.model import Settings, SiteSettings
from sfb_feeds.yamlio import dump_record

SETTINGS = Settings(
    config_path=Path("sfb-feeds.yaml"),
    site=SiteSettings(title="Socialism From Below", description="d",
                      url="https://www.istendency.net/",
                      feeds_url="https://www.istendency.net/feeds/", author="IST"),
    statements_dir=Path("statements"),
    output_dir=Path("feeds"),
)

NASTY = [
    "no", "Yes", "null", "~", "2015-09-04", "1984", "0x1F", "1e3", ".inf",
    "- leading dash", "# a hash", "#solidarity", "key: value", "ends with colon:",
    "'single quoted'", '"double quoted"', "it's", "@at", "`tick", "%percent", "!bang",
    "&anchor", "*alias", "|pipe", ">folded", "{brace}", "[bracket]", "a, b", "? query",
    "trailing space ", " leading space", "Ελλάδα: η απεργία", "الإضراب العام", "노동자 연대",
    "Erdoğan’s “speech”", "emoji ✊🏽", "back\\slash", "---", "...", "=",
]


def record(title: str, excerpt: str) -> dict[str, object]:
    return {"id": "https://www.istendency.net/statements/x", "title": title,
            "date": date(2015, 9, 4), "language": "en",
            "url": "https://www.istendency.net/statements/x", "excerpt": excerpt}


def validated_title_and_excerpt(text: str) -> tuple[str, tuple[str, ...]]:
    result = parse_file(Path("x.yaml"), text.encode("utf-8"), ParseOptions(settings=SETTINGS))
    assert result.problems == ()
    (statement,) = result.statements
    return statement.title, statement.excerpt


@pytest.mark.parametrize("value", NASTY)
def test_nasty_text_round_trips(value: str) -> None:
    excerpt = f"{value}\n\n{value} again ...\n"
    text = dump_record(record(value, excerpt), ["a comment: with # and 'quotes'"])
    assert yaml.safe_load(text) == record(value, excerpt)
    if value.strip():
        title, paras = validated_title_and_excerpt(text)
        assert title == value.strip()
        assert paras == paragraphs(excerpt)[0]
        assert len(paras) == 2


def test_excerpt_is_a_literal_block() -> None:
    text = dump_record(record("T", "First: one.\n\n# Second\n\n- third ...\n"))
    assert text.endswith("excerpt: |\n  First: one.\n\n  # Second\n\n  - third ...\n")


# What a listing line can hold once cleaned: any printable text.
_LINE = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(title=_LINE, body=st.lists(_LINE, min_size=1, max_size=4))
def test_any_cleaned_text_round_trips(title: str, body: list[str]) -> None:
    clean_title = join_words([clean_text(title)])
    paras = [p for p in (join_words([clean_text(line)]) for line in body) if p]
    if shows_nothing(clean_title) or all(map(shows_nothing, paras)):
        return  # refused by check: a title or excerpt must show something
    excerpt = "\n\n".join(paras) + "\n"
    text = dump_record(record(clean_title, excerpt))
    assert yaml.safe_load(text) == record(clean_title, excerpt)
    title_read, excerpt_read = validated_title_and_excerpt(text)
    assert title_read == clean_title
    assert excerpt_read == paragraphs(excerpt)[0]


@pytest.mark.parametrize("title", ["emoji ✊🏽 strike", "Ελλάδα η απεργία", "노동자 연대"])
def test_text_is_written_as_itself_not_as_escapes(title: str) -> None:
    """Records are for editors: every letter, an emoji beyond U+FFFF too, as written."""
    text = dump_record(record(title, "Body ...\n"))
    assert f"title: {title}\n" in text.splitlines(keepends=True)
    assert yaml.safe_load(text)["title"] == title
