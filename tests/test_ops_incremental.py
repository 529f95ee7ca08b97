"""An incremental build writes exactly what a cold build would, edit after edit.

The caches reuse an output while its render key is unchanged, so a key that misses
something an output shows leaves a stale file behind. Here every edit is followed by an
incremental build of one site (caches kept) and a cold build of a copy (no caches, empty
output folder), with the real output formats, and the two output folders must hold the same
bytes. Feeds are kept short (two entries) so that statements move between the subscription
feeds and the yearly archives as records come and go.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from test_ops_build import LONDON_SITE, age, build_cleanly, outputs, record

CONFIG = LONDON_SITE + """\
feeds:
  entries: 2
"""
LANGUAGES = ("en", "pl", "tr")


def build(root: Path) -> None:
    build_cleanly(root, "2017-01-01")


def cold_build(site: Path, scratch: Path) -> dict[str, bytes]:
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()
    shutil.copytree(site / "statements", scratch / "statements")
    shutil.copy(site / "sfb-feeds.yaml", scratch / "sfb-feeds.yaml")
    build(scratch)
    return outputs(scratch)


def edit(site: Path, rng: random.Random, number: int) -> str:
    """One random change to the statements: add, change or remove a record (never the
    last: a published site's statements folder emptied is refused, nothing changed)."""
    folder = site / "statements"
    existing = sorted(folder.iterdir())
    action = rng.choice(["add", "add", "change", "remove"] if len(existing) > 1
                        else ["add", "change"] if existing else ["add"])
    if action == "add":
        date = f"{rng.choice([2014, 2015, 2016])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        name = f"r{number}.yaml"
        (folder / name).write_text(record(number, rng.choice(LANGUAGES), date), "utf-8")
        return f"add {name} {date}"
    path = rng.choice(existing)
    if action == "remove":
        path.unlink()
        return f"remove {path.name}"
    text = path.read_text("utf-8").replace("title: ", "title: Changed ", 1)
    path.write_text(text, "utf-8")
    return f"change {path.name}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_builds_match_cold_builds(tmp_path: Path, seed: int) -> None:
    site = tmp_path / "site"
    (site / "statements").mkdir(parents=True)
    (site / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    rng = random.Random(seed)
    history: list[str] = []
    for number in range(14):
        history.append(edit(site, rng, number))
        age(site / "statements")
        build(site)
        assert outputs(site) == cold_build(site, tmp_path / "cold"), history


def test_a_newer_statement_moves_an_older_one_into_its_archive(
        tmp_path: Path) -> None:
    """The case that once went stale: 2014's statements and the list of years stay the
    same, yet the 2014 archive gains the statement pushed out of the subscription feed."""
    site = tmp_path / "site"
    (site / "statements").mkdir(parents=True)
    (site / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    for number, date in enumerate(["2013-06-01", "2014-03-01", "2014-05-01", "2015-02-01"]):
        (site / "statements" / f"{number}.yaml").write_text(record(number, "en", date), "utf-8")
    age(site / "statements")
    build(site)
    before = outputs(site)["en/archive/2014.xml"]
    (site / "statements" / "9.yaml").write_text(record(9, "en", "2015-06-01"), "utf-8")
    age(site / "statements")
    build(site)
    after = outputs(site)
    assert after["en/archive/2014.xml"] != before
    assert after == cold_build(site, tmp_path / "cold")


def test_an_old_statement_edited_renders_only_what_shows_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Feeds show their newest statements and the subscribe page each language's newest
    five: editing an older statement renders neither (and a cold build agrees)."""
    import dataclasses

    from sfb_feeds import pipeline

    rendered: list[str] = []
    real = pipeline.all_formats

    def counting(*args: object) -> tuple[object, ...]:
        def spy(fmt: object) -> object:
            def render(site: object, target: object) -> bytes:
                rendered.append(fmt.name)  # type: ignore[attr-defined]
                return fmt.render(site, target)  # type: ignore[attr-defined,no-any-return]
            return dataclasses.replace(fmt, render=render)  # type: ignore[type-var]
        return tuple(spy(fmt) for fmt in real(*args))  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "all_formats", counting)
    site = tmp_path / "site"
    (site / "statements").mkdir(parents=True)
    (site / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    for number in range(12):
        (site / "statements" / f"{number}.yaml").write_text(
            record(number, "en", f"2015-{number + 1:02d}-10"), "utf-8")
    age(site / "statements")
    build(site)
    for number, expected in ((0, {"digest", "digest-archive", "atom-archive"}),
                             (11, {"atom", "rss", "json-feed", "atom-all", "rss-all",
                                   "json-feed-all", "subscribe-page"})):
        path = site / "statements" / f"{number}.yaml"
        path.write_text(path.read_text("utf-8").replace("title: ", "title: New "), "utf-8")
        age(site / "statements")
        rendered.clear()
        build(site)
        if number == 0:  # the oldest: in no feed, not on the subscribe page
            assert set(rendered) == expected
        else:  # the newest: in every feed and on the page
            assert expected <= set(rendered)
        assert outputs(site) == cold_build(site, tmp_path / "cold")


def test_an_archive_whose_neighbour_changes_is_rendered_again_and_no_other(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older year appears: the archive before it gains a ``prev-archive`` link although
    its statements are the same; the newer archives, whose neighbours stay, are not
    rendered again."""
    import dataclasses

    from sfb_feeds import pipeline
    from sfb_feeds.plan import period_label

    archives: list[str] = []
    real = pipeline.all_formats

    def counting(*args: object) -> tuple[object, ...]:
        def spy(fmt: object) -> object:
            def render(site: object, target: object) -> object:
                archives.append(period_label(target))  # type: ignore[arg-type]
                return fmt.render(site, target)  # type: ignore[attr-defined]
            return dataclasses.replace(fmt, render=render)  # type: ignore[type-var]
        return tuple(spy(fmt) if fmt.name == "atom-archive" else fmt  # type: ignore[attr-defined]
                     for fmt in real(*args))  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "all_formats", counting)
    site = tmp_path / "site"
    (site / "statements").mkdir(parents=True)
    (site / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    for number, date in enumerate(["2013-06-01", "2014-03-01", "2014-05-01", "2015-02-01",
                                   "2016-02-01", "2016-06-01"]):
        (site / "statements" / f"{number}.yaml").write_text(record(number, "en", date), "utf-8")
    age(site / "statements")
    build(site)
    assert sorted(archives) == ["2013", "2014", "2015"]
    archives.clear()
    (site / "statements" / "9.yaml").write_text(record(9, "en", "2012-04-01"), "utf-8")
    age(site / "statements")
    build(site)
    assert sorted(archives) == ["2012", "2013"]
    after = outputs(site)
    assert "en/archive/2012.xml" in after["en/archive/2013.xml"].decode()
    assert after == cold_build(site, tmp_path / "cold")


def test_a_file_edited_in_place_with_its_time_put_back_is_read_again(tmp_path: Path) -> None:
    """A statement rewritten in place to the same size, its modification time then put
    back to the nanosecond (``cp -p`` or ``rsync -t --inplace`` over it, ``touch -r``):
    the build trusted its cached records and kept publishing the old title."""
    site = tmp_path / "site"
    (site / "statements").mkdir(parents=True)
    (site / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    path = site / "statements" / "a.yaml"
    path.write_text(record(1, "en", "2015-09-04", title="Old title"), "utf-8")
    age(site / "statements")
    build(site)
    before = path.stat()
    with path.open("r+b") as file:  # (the same inode, the same size)
        file.write(b"title: New title")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    build(site)
    assert outputs(site) == cold_build(site, tmp_path / "cold")
    assert b"New title" in outputs(site)["en/atom.xml"]
