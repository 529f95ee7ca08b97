"""Feed readers are woken only when what they see changes: edits to a record that publish
the same entry leave every feed's ``updated`` where it was (README, "Statement records")."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from cli_run import run
from conftest import SiteMaker

NOW = ["--now", "2016-01-01"]

RECORD = """\
id: {id}
title: Stanowisko
date: 2015-09-04
language: pl
url: https://www.istendency.net/statements/2015-09-04-pl
excerpt: Tekst.
"""


def _build(config: Path) -> None:
    code, _, err = run(["build", "--config", str(config), "--quiet", *NOW])
    assert code == 0, err


def _updated(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """A feed's ``updated`` and each entry's id and ``updated``, as feedparser reads them."""
    parsed = feedparser.parse(path.read_bytes())
    return parsed.feed.updated, [(entry.id, entry.updated) for entry in parsed.entries]


@pytest.mark.parametrize("written", [
    "HTTPS://WWW.istendency.net/statements/2015-09-04-pl-id",
    "https://www.istendency.net:443/statements/2015-09-04-pl-id",
    "https://www.istendency.net/statements/../statements/2015-09-04-pl-id",
])
def test_an_id_rewritten_in_a_form_published_alike_moves_no_updated(
        make_site: SiteMaker, written: str) -> None:
    """The id is published in RFC 3986 normal form, so rewriting it in another spelling of
    that form publishes the same id: no ``updated`` of an entry, a feed or the weekly digest
    feed may move, or readers would show the statement as edited."""
    published = "https://www.istendency.net/statements/2015-09-04-pl-id"
    config = make_site({"pl.yaml": RECORD.format(id=published)})
    _build(config)
    output = config.parent / "feeds"
    feeds = ["pl/atom.xml", "atom.xml", "pl/digests.xml"]
    before = {name: _updated(output / name) for name in feeds}
    (config.parent / "statements" / "pl.yaml").write_text(RECORD.format(id=written),
                                                         encoding="utf-8")
    _build(config)
    assert {name: _updated(output / name) for name in feeds} == before
    assert before["pl/atom.xml"][1][0][0] == published


def _published_files(output: Path) -> dict[str, bytes]:
    """Every file a reader can fetch (the build's own dotfiles left out)."""
    return {str(path.relative_to(output)): path.read_bytes() for path in output.rglob("*")
            if path.is_file() and not path.name.startswith(".")}


def test_an_id_rewritten_so_changes_no_file_of_statements_published_together(
        make_site: SiteMaker) -> None:
    """Statements of one moment and language are ordered by id: by the id as published,
    or rewriting ``https://…/a`` as ``HTTPS://…/a`` reorders them and every feed, digest
    and page showing them is written again (and announced to a WebSub hub)."""
    record = "id: {id}\ntitle: T {n}\ndate: 2015-09-04\nlanguage: en\nexcerpt: Text {n}.\n"
    base = "https://www.istendency.net/statements/"
    config = make_site({f"{n}.yaml": record.format(id=base + n, n=n) for n in "ab"})
    _build(config)
    output = config.parent / "feeds"
    before = _published_files(output)
    (config.parent / "statements" / "b.yaml").write_text(
        record.format(id="HTTPS://WWW.istendency.net/statements/b", n="b"), encoding="utf-8")
    _build(config)
    changed = sorted(name for name, data in _published_files(output).items()
                     if before.get(name) != data)
    assert changed == []


ORDER_CONFIG = """\
site:
  title: Socialism From Below
  url: https://www.istendency.net/
  timezone: Europe/London
feeds:
  entries: 1
"""
AT_NOON = ("id: urn:ist:noon\ntitle: Noon by default\ndate: {date}\nlanguage: en\n"
           "url: https://www.istendency.net/noon\nexcerpt: A.\n")
AT_EIGHT = ("id: urn:ist:eight\ntitle: Eight in the morning\ndate: 2015-09-04T08:00:00+01:00\n"
            "language: en\nurl: https://www.istendency.net/eight\nexcerpt: B.\n")


def test_the_subscription_feed_holds_the_statement_it_publishes_as_newest(
        make_site: SiteMaker) -> None:
    """A statement dated with a day only is published at 12:00 that day: a statement of
    08:00 the same day is older, so a feed of one entry holds the noon one, and every
    feed lists its entries newest first by the dates it publishes."""
    config = make_site({"noon.yaml": AT_NOON.format(date="2015-09-04"),
                        "eight.yaml": AT_EIGHT}, config=ORDER_CONFIG)
    _build(config)
    output = config.parent / "feeds"
    current = feedparser.parse((output / "en" / "atom.xml").read_bytes())
    assert [entry.title for entry in current.entries] == ["Noon by default"]
    for name in ("atom.xml", "en/rss.xml", "en/archive/2015.xml"):
        parsed = feedparser.parse((output / name).read_bytes())
        dates = [entry.published_parsed for entry in parsed.entries]
        assert dates == sorted(dates, reverse=True), name


def test_a_day_rewritten_as_the_noon_it_is_published_at_changes_no_file(
        make_site: SiteMaker) -> None:
    """``date: 2015-09-04`` is published as 2015-09-04T12:00:00+01:00 (London): writing
    that time out publishes the same dates, so no file may change."""
    config = make_site({"noon.yaml": AT_NOON.format(date="2015-09-04"),
                        "eight.yaml": AT_EIGHT}, config=ORDER_CONFIG)
    _build(config)
    output = config.parent / "feeds"
    before = _published_files(output)
    (config.parent / "statements" / "noon.yaml").write_text(
        AT_NOON.format(date="2015-09-04T12:00:00+01:00"), encoding="utf-8")
    _build(config)
    changed = sorted(name for name, data in _published_files(output).items()
                     if before.get(name) != data)
    assert changed == []


@pytest.mark.parametrize(("edit", "old", "new"), [
    ("language", "language: en", "language: da"),
    ("url", "excerpt: Text.", "excerpt: Text.\nurl: https://www.istendency.net/s/a"),
])
def test_check_names_every_edit_that_changes_a_made_up_id(
        make_site: SiteMaker, edit: str, old: str, new: str) -> None:
    """A record without ``id`` or ``url`` gets ``tag:<domain>,<date>:<language>/<slug>``:
    correcting its language, or adding the ``url`` that then becomes its id, publishes it
    under a new id (a new entry to every reader), so ``check``'s warning names both."""
    record = "title: No id here\ndate: 2015-09-04\nlanguage: en\nexcerpt: Text.\n"
    config = make_site({"a.yaml": record})
    _build(config)
    first = feedparser.parse((config.parent / "feeds" / "atom.xml").read_bytes()).entries
    (config.parent / "statements" / "a.yaml").write_text(record.replace(old, new),
                                                        encoding="utf-8")
    _build(config)
    second = feedparser.parse((config.parent / "feeds" / "atom.xml").read_bytes()).entries
    assert first[0].id != second[0].id  # the id did change
    (config.parent / "statements" / "a.yaml").write_text(record, encoding="utf-8")
    _, _, err = run(["check", "--config", str(config), *NOW])
    assert "id: not set" in err
    assert edit in err.split("which changes if", 1)[1]
