"""No duplicates: a statement already in the folder under another id is not written again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sfb_feeds.importer import import_listings

REPO = Path(__file__).resolve().parents[1]
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
BASE = "https://www.istendency.net/"

LISTING = """\
Dockers walk out over Sunday shifts

Monday 2nd June 2014

Dock workers at the container port stopped work at dawn after the operator announced
compulsory Sunday shifts without extra pay ...

Full statement https://example.org/dockers

Egypt's prisoners must be freed!

Saturday 7th June 2014

Thousands of political prisoners are held in jails without trial, many of them young
activists arrested at demonstrations ...

Full statement
"""


def english(text: str) -> str | None:
    return "en"


def import_page(folder: Path, base: str = BASE) -> tuple[list[str], list[str]]:
    listing = folder.parent / "page.txt"
    listing.write_text(LISTING, encoding="utf-8")
    report = import_listings([listing], folder, base, detect=english)
    return sorted(p.name for p in report.written), [w.message for w in report.warnings]


def test_reimport_under_other_ids_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "statements"
    written, _ = import_page(folder, "https://one.example/")
    assert len(written) == 2
    again, warnings = import_page(folder, "https://two.example/")
    assert again == []
    assert warnings == [
        "'Dockers walk out over Sunday shifts' is already present as "
        "statements/2014-06-02-dockers-walk-out-over-sunday-shifts.yaml (the same url); "
        "not imported",
        "'Egypt's prisoners must be freed!' is already present as "
        "statements/2014-06-07-egypt-s-prisoners-must-be-freed.yaml (the same date, "
        "language and title); not imported",
    ]


def test_reimport_under_the_same_ids_is_quiet(tmp_path: Path) -> None:
    folder = tmp_path / "statements"
    import_page(folder)
    assert import_page(folder) == ([], [])


RECORD = """\
id: tag:example.org,2014:{name}
title: {title}
date: {day}
language: {language}
excerpt: Written by hand.
"""

SAME_OR_NOT = [
    # (title, date, language, imported?) of a record written by hand before the import
    ("\"EGYPT'S   prisoners must be freed\"", "2014-06-07", "en", False),
    ("Egypts prisoners - must be freed.", "2014-06-07", "EN", False),
    ("Egypt's prisoners must be freed!", "2014-06-07T10:00:00+02:00", "en", False),
    ("Egypt's prisoners must be freed!", "2014-06-08", "en", True),
    ("Egypt's prisoners must be freed!", "2014-06-07", "ar", True),
    ("Egypt's prisoners must be freed at once", "2014-06-07", "en", True),
]


@pytest.mark.parametrize(("title", "day", "language", "imported"), SAME_OR_NOT)
def test_same_statement_by_date_language_and_title(
        tmp_path: Path, title: str, day: str, language: str, imported: bool) -> None:
    folder = tmp_path / "statements"
    (folder / "by-hand").mkdir(parents=True)
    (folder / "by-hand" / "prisoners.yaml").write_text(
        RECORD.format(name="prisoners", title=title, day=day, language=language),
        encoding="utf-8")
    written, _ = import_page(folder)
    assert ("2014-06-07-egypt-s-prisoners-must-be-freed.yaml" in written) is imported


def test_same_statement_by_url(tmp_path: Path) -> None:
    folder = tmp_path / "statements"
    folder.mkdir()
    (folder / "docks.yml").write_text(
        "id: urn:sfb:x:docks\ntitle: Port strike\ndate: 2014-06-03\nlanguage: de\n"
        "url: https://example.org/dockers\nexcerpt: Anders.\n", encoding="utf-8")
    written, warnings = import_page(folder)
    assert written == ["2014-06-07-egypt-s-prisoners-must-be-freed.yaml"]
    assert warnings == ["'Dockers walk out over Sunday shifts' is already present as "
                        "statements/docks.yml (the same url); not imported"]


def test_seeds_into_the_sample_statements_write_no_duplicate(tmp_path: Path) -> None:
    seeds = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not seeds:
        pytest.skip(f"no seed listings in {SEEDS} (they are not part of the repository)")
    folder = tmp_path / "statements"
    shutil.copytree(REPO / "statements", folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*.yaml"))
    report = import_listings(seeds, folder, BASE)
    assert report.written == ()
    assert sorted(p.relative_to(folder) for p in folder.rglob("*.yaml")) == before
    assert len(report.existing) == len(before)
    assert all("is already present as" in w.message for w in report.warnings)
