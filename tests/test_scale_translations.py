"""A translation key copied onto many records: each digest and feed entry names each other
language once, so a key shared by thousands of records does not make every entry list
thousands of links (found by a scale probe: 2,000 records sharing one key over five
languages made the week's digests 128 MB of text and took 1 GB to build)."""

from __future__ import annotations

from test_digest import by_class, outputs, parse, text_of
from test_digest_factory import site, statement

from sfb_feeds.feeds.document import make_entry


def _copies(count: int) -> list:
    """One Polish statement and ``count`` English ones, all under one key."""
    english = [statement(f"Copy {n}", key="k", slug=f"copy-{n}") for n in range(count)]
    return [statement("Pierwszy", lang="pl", key="k", slug="pierwszy"), *english]


def test_a_digest_names_each_other_language_once() -> None:
    """The Polish statement's "Also in" names English once (the first English record by
    id), however many English records carry the key, as README.md says: a second statement
    in the same language with the key is not shown as a translation."""
    result = outputs(site(_copies(40)))
    root = parse(result["digests/pl/2015-W36.html"])
    [also] = by_class(root, "also")
    assert [a.get("hreflang") for a in also.iter("a")] == ["en"]
    assert text_of(also).endswith(": English")
    text = result["digests/pl/2015-W36.txt"].decode()
    assert text.count("https://www.istendency.net/statements/copy-") == 1


def test_each_statement_lists_one_translation_per_language() -> None:
    """Through the site every renderer receives, and the feeds' entries: at most one
    translation per language."""
    built = site(_copies(40))
    for record in built.statements:
        shown = [t.language for t in built.translations_of(record)]
        assert len(shown) == len(set(shown)) <= 1
        entry = make_entry(built, record)
        assert len(entry.translations) <= 1
