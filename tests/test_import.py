"""`sfb-feeds import`: records written, never overwritten, valid for `sfb-feeds check`."""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import stat
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from sfb_feeds.cli import main
from sfb_feeds.errors import InvalidInput, UsageError
from sfb_feeds.importer import ImportReport, import_listings

FIXTURES = Path(__file__).parent / "fixtures" / "listings"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
BASE = "https://www.istendency.net/"
REQUIRED = ("id", "title", "date", "language", "excerpt", "url")

SITE_CONFIG = """\
site:
  title: Socialism From Below
  description: Statements of the International Socialist Tendency.
  url: https://www.istendency.net/
  feeds_url: https://www.istendency.net/feeds/
  author: International Socialist Tendency
statements: statements
"""


def fixture(name: str) -> Path:
    return FIXTURES / name


def records(folder: Path) -> dict[str, dict[str, Any]]:
    """Every YAML file in ``folder`` (not hidden), parsed."""
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        found[path.name] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return found


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_records_have_the_required_fields(tmp_path: Path) -> None:
    out = tmp_path / "statements"
    report = import_listings([fixture("basic.txt"), fixture("odd.txt")], out, BASE)
    written = records(out)
    assert sorted(written) == sorted(p.name for p in report.written)
    assert len(written) == 3 + 5
    for name, record in written.items():
        assert isinstance(record, dict)
        for field in REQUIRED:
            assert record.get(field), (name, field)
        assert isinstance(record["date"], date)
        assert name == f"{record['date'].isoformat()}-{name[11:]}"
        assert record["excerpt"].endswith("...\n")
        assert not {"review", "translation_key"} & set(record)


def test_record_contents(tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_listings([fixture("basic.txt")], out, BASE)
    name = "2014-03-03-rail-workers-strike-against-privatisation-socialist-workers.yaml"
    text = (out / name).read_text(encoding="utf-8")
    assert text.startswith("# Imported by sfb-feeds from basic.txt, line 7.\nid: ")
    assert "excerpt: |\n  Thousands of rail workers" in text  # a literal block
    record = yaml.safe_load(text)
    stem = name.removesuffix(".yaml")
    assert record == {
        "id": f"https://www.istendency.net/statements/{stem}",
        "title": "Rail workers strike against privatisation (Socialist Workers Party)",
        "date": date(2014, 3, 3),
        "language": "en",
        "authors": ["Jane Example", "Socialist Workers Party"],
        "url": f"https://www.istendency.net/statements/{stem}",
        "excerpt": "Thousands of rail workers stopped work this morning in protest at government "
                   "plans to sell the remaining public lines to private operators.\n\n"
                   "Ticket offices stayed shut in most towns, and pickets said that the strike "
                   "had stronger support than any in the last ten years ...\n",
    }


def test_link_from_the_listing_becomes_the_url_but_not_the_id(tmp_path: Path) -> None:
    import_listings([fixture("odd.txt")], tmp_path, BASE)
    record = yaml.safe_load((tmp_path / "2014-06-10-teachers-reject-the-new-contract.yaml")
                            .read_text(encoding="utf-8"))
    assert record["url"] == "https://example.org/statements/teachers-reject-contract"
    assert record["id"] == ("https://www.istendency.net/statements/"
                            "2014-06-10-teachers-reject-the-new-contract")
    assert record["authors"] == ["Education Workers' Network"]


def test_second_import_changes_nothing(tmp_path: Path) -> None:
    listings = [fixture(name) for name in ("basic.txt", "odd.txt", "translations.txt")]
    first = import_listings(listings, tmp_path, BASE)
    before = snapshot(tmp_path)
    second = import_listings(listings, tmp_path, BASE)
    assert second.written == ()
    assert sorted(second.existing) == sorted(first.written)
    assert snapshot(tmp_path) == before
    assert second.summary().startswith("0 records written, 14 already present (left unchanged)")


def test_same_import_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    listings = [fixture("translations.txt"), fixture("world.txt")]
    import_listings(listings, tmp_path / "a", BASE)
    import_listings(listings, tmp_path / "b", BASE)
    one = {k: v[0] for k, v in snapshot(tmp_path / "a").items()}
    two = {k: v[0] for k, v in snapshot(tmp_path / "b").items()}
    assert one == two


def test_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    name = "2014-04-01-no.yaml"
    (tmp_path / name).write_text("hand-written: true\n", encoding="utf-8")
    report = import_listings([fixture("basic.txt")], tmp_path, BASE)
    assert (tmp_path / name).read_text(encoding="utf-8") == "hand-written: true\n"
    assert report.existing == (tmp_path / name,)
    assert len(report.written) == 2
    assert [(w.line, w.message) for w in report.warnings] == [
        (52, "'Miners' families demand answers' has no \"Full statement\" line after it: the "
             "listing seems cut off here, so it is skipped (copy the whole statement in)"),
        (40, f"{name} already holds another record, so this statement was not imported "
             "(rename that file, or import into another folder)"),
    ]


def test_record_moved_elsewhere_is_recognised_by_its_id(tmp_path: Path) -> None:
    import_listings([fixture("basic.txt")], tmp_path, BASE)
    archive = tmp_path / "2014"
    archive.mkdir()
    for path in tmp_path.glob("*.yaml"):
        path.rename(archive / f"renamed-{path.name}")
    report = import_listings([fixture("basic.txt")], tmp_path, BASE)
    assert report.written == ()
    assert sorted(p.parent for p in report.existing) == [archive] * 3
    assert list(tmp_path.glob("*.yaml")) == []


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    import_listings([fixture("basic.txt")], tmp_path, BASE)
    import_listings([fixture("basic.txt")], tmp_path, BASE)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_records_and_their_names_are_flushed_to_disk(tmp_path: Path,
                                                     flushed: set[int]) -> None:
    """A written record survives a crash: its bytes, and its name (its folder's entry)."""
    report = import_listings([fixture("basic.txt")], tmp_path / "records", BASE)
    assert len(report.written) == 3
    written = {path.stat().st_ino for path in report.written}
    assert written | {(tmp_path / "records").stat().st_ino} <= flushed


def test_untitled_statement_is_flagged_for_review(tmp_path: Path) -> None:
    report = import_listings([fixture("odd.txt")], tmp_path, BASE)
    name = "2014-06-05-bus-drivers-in-all-of-the-city-s-depots-have-voted-to-strike.yaml"
    path = tmp_path / name
    assert report.review == (path,)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == ("# REVIEW: the listing has no title; this one is the excerpt's first "
                        "sentence ('Bus drivers in all of the city's depots have voted to "
                        "strike…'), then delete this line.")
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert record["title"] == "Bus drivers in all of the city's depots have voted to strike…"
    assert set(record) == {"id", "title", "date", "language", "url", "excerpt"}
    reviews = [w for w in report.warnings if w.message.startswith("review ")]
    assert [(w.line, w.message.split(": ")[0]) for w in reviews] == [(1, f"review {name}")]
    assert reviews[0].message.endswith(": the listing has no title; this one is the excerpt's "
                                       "first sentence ('Bus drivers in all of the city's "
                                       "depots have voted to strike…')")


def test_undetectable_language(tmp_path: Path) -> None:
    def unsure(text: str) -> str | None:
        return None

    report = import_listings([fixture("basic.txt")], tmp_path, BASE, detect=unsure)
    written = records(tmp_path)
    climate = written["2014-03-22-climate-strike-the-planet-before-profit-english-catalan-"
                      "span.yaml"]
    assert climate["language"] == "en"  # the first language the title names
    rail = written["2014-03-03-rail-workers-strike-against-privatisation-socialist-workers.yaml"]
    assert "language" not in rail
    assert len(report.review) == 2
    text = (tmp_path / "2014-04-01-no.yaml").read_text(encoding="utf-8")
    assert "# REVIEW: the excerpt's language could not be detected; add a `language:` field, " \
           "then delete this line.\n" in text


def test_languages_come_from_the_excerpt_not_the_title(tmp_path: Path) -> None:
    import_listings([fixture("world.txt")], tmp_path, BASE)
    found = [(r["title"].split(":")[0], r["language"]) for r in records(tmp_path).values()]
    assert sorted(found) == sorted([
        ("Factory closures", "en"), ("Poland", "pl"), ("Turkey", "tr"), ("Denmark", "da"),
        ("Spain", "es"), ("France", "fr"), ("Germany", "de"), ("Serbia", "sr-Latn"),
        ("Egypt", "ar"), ("Korea", "ko"), ("Greece", "el"),
    ])


def test_translation_keys(tmp_path: Path) -> None:
    report = import_listings([fixture("translations.txt")], tmp_path, BASE)
    assert report.warnings == ()
    keys = {r["language"] + " " + r["date"].isoformat(): r.get("translation_key")
            for r in records(tmp_path).values()}
    key = "2020-03-12-declaracion-sobre-las-huelgas-en-la-sanidad"
    assert keys == {
        "es 2020-03-12": key, "el 2020-03-12": key, "sr-Latn 2020-03-12": key,
        "ko 2020-03-12": None, "en 2020-03-12": None, "en 2020-03-13": None,
    }


def test_same_title_on_the_same_day_gets_distinct_files(tmp_path: Path) -> None:
    listing = tmp_path / "twice.txt"
    listing.write_text(
        "Solidarity\n\nFriday 4th September 2015\n\nWorkers across the region walked out this "
        "morning after the company announced that it would close two factories ...\n\n"
        "Full statement\n\nSolidarity\n\nFriday 4th September 2015\n\nLes travailleurs de "
        "toute la région ont cessé le travail ce matin après l'annonce de la fermeture de deux "
        "usines ...\n\nFull statement\n", encoding="utf-8")
    report = import_listings([listing], tmp_path / "out", BASE)
    assert [p.name for p in report.written] == ["2015-09-04-solidarity.yaml",
                                                "2015-09-04-solidarity-fr.yaml"]


def test_a_statement_in_two_listings_is_imported_once(tmp_path: Path) -> None:
    copy = tmp_path / "page2.txt"
    shutil.copy(fixture("basic.txt"), copy)
    report = import_listings([fixture("basic.txt"), copy], tmp_path / "out", BASE)
    assert len(report.written) == 3
    duplicates = [(w.path, w.line, w.message) for w in report.warnings]
    first = str(fixture("basic.txt"))  # shown in full: it is outside the working folder
    assert duplicates[-3:] == [
        ("page2.txt", line, f"the same statement as {first}:{line}; imported once")
        for line in (7, 22, 40)
    ]


@pytest.mark.parametrize("base", ["", "www.istendency.net", "ftp://x.org", "/statements"])
def test_bad_base_url(tmp_path: Path, base: str) -> None:
    with pytest.raises(UsageError, match="not an absolute http"):
        import_listings([fixture("basic.txt")], tmp_path, base)
    assert list(tmp_path.iterdir()) == []


def test_missing_listing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nothing\.txt: cannot read the listing"):
        import_listings([tmp_path / "nothing.txt"], tmp_path / "out", BASE)
    assert not (tmp_path / "out").exists()


def test_listing_that_is_not_utf8(tmp_path: Path) -> None:
    listing = tmp_path / "latin1.txt"
    listing.write_bytes(b"A title\n\nTuesday 1st April 2014\n\nCaf\xe9 ...\n\nFull statement\n")
    with pytest.raises(InvalidInput) as raised:
        import_listings([listing], tmp_path / "out", BASE)
    assert raised.value.messages() == [
        "latin1.txt:5: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    ]


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_import(tmp_path: Path) -> None:
    code, out, err = run_cli("import", str(fixture("odd.txt")), "--out", "records",
                             "--base-url", BASE)
    assert code == 0
    assert out.splitlines()[0] == "5 records written, 0 already present (left unchanged), " \
                                  "1 to review"
    warnings = err.splitlines()
    assert len(warnings) == 5
    assert all(line.startswith("warning: ") for line in warnings)
    assert len(list((tmp_path / "records").glob("*.yaml"))) == 5


def test_cli_import_with_bad_base_url_is_a_usage_error() -> None:
    code, _, err = run_cli("import", str(fixture("odd.txt")), "--out", "x", "--base-url", "x")
    assert code == 2
    assert "base URL 'x' is not an absolute http(s) address" in err


def test_an_out_folder_that_is_a_file_is_named_and_kept(tmp_path: Path) -> None:
    (tmp_path / "records").write_text("mine\n", encoding="utf-8")
    for out_dir in ("records", "records/sub", "records/sub/deeper"):
        code, out, err = run_cli("import", str(fixture("odd.txt")), "--out", out_dir,
                                 "--base-url", BASE)
        assert (code, out) == (1, "")
        # the file in the way is named, not the folder that could not be made under it
        assert err == ("error: records: cannot write a record: not a folder (records "
                       "written before it are whole; importing again skips them)\n")
    assert (tmp_path / "records").read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records"]


def test_a_disk_that_fills_up_during_an_import_leaves_whole_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record that could not be written is named; those before it are whole, and
    importing again once there is room writes the rest."""
    real, flushed = os.fsync, []

    def full_after_two(fd: int) -> None:  # records' flushes fail; their folder's do not
        if stat.S_ISREG(os.fstat(fd).st_mode):
            if len(flushed) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
            flushed.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", full_after_two)
    code, _, err = run_cli("import", str(fixture("odd.txt")), "--out", "records",
                           "--base-url", BASE)
    assert code == 1
    assert re.fullmatch(r"error: records/[^/]+\.yaml: cannot write a record: No space left on "
                        r"device \(records written before it are whole; importing again "
                        r"skips them\)\n", err)
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == sorted(
        p.name for p in (tmp_path / "records").glob("*.yaml"))  # no temporary file left
    assert len(records(tmp_path / "records")) == 2
    monkeypatch.setattr(os, "fsync", real)  # (undo() would also leave tmp_path)
    code, out, _ = run_cli("import", str(fixture("odd.txt")), "--out", "records",
                           "--base-url", BASE)
    assert (code, out.splitlines()[0]) == (0, "3 records written, 2 already present (left "
                                              "unchanged), 0 to review")
    assert len(records(tmp_path / "records")) == 5


def _site(tmp_path: Path) -> Path:
    config = tmp_path / "sfb-feeds.yaml"
    config.write_text(SITE_CONFIG, encoding="utf-8")
    return config


def test_imported_records_pass_check(tmp_path: Path) -> None:
    listings = [fixture(n) for n in ("basic.txt", "odd.txt", "translations.txt", "world.txt")]
    listings += sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    config = _site(tmp_path)
    report = import_listings(listings, tmp_path / "statements", BASE)
    assert len(report.written) >= 25
    code, out, err = run_cli("check", "--config", str(config))
    assert (code, err) == (0, "")
    assert out.startswith(f"{len(report.written)} statements OK in 11 languages")


def test_check_warns_and_detects_for_a_record_without_language(tmp_path: Path) -> None:
    config = _site(tmp_path)
    import_listings([fixture("basic.txt")], tmp_path / "statements", BASE,
                    detect=lambda text: None)
    code, out, err = run_cli("check", "--config", str(config))
    assert code == 0
    assert "language: is missing; detected 'en' from the excerpt" in err
    assert out.startswith("3 statements OK in 1 language ")


def test_seeds_import(tmp_path: Path) -> None:
    paths = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    wanted = {"000_a29fb0dd65264991.txt", "002_70706690ccb3e20c.txt"}
    if not wanted <= {p.name for p in paths}:
        pytest.skip(f"the seed listings are not in {SEEDS}")
    report = import_listings([p for p in paths if p.name in wanted], tmp_path, BASE)
    assert report.warnings == ()
    found = sorted((r["date"].isoformat(), r["language"], r.get("translation_key"))
                   for r in records(tmp_path).values())
    key = "2015-09-04-stanowisko-nurtu-miedzynarodowego-socjalizmu-w-sprawie-europ"
    assert found == [
        ("2014-05-17", "en", None), ("2014-05-21", "en", None),
        ("2015-09-04", "da", key), ("2015-09-04", "pl", key), ("2015-09-04", "tr", key),
        ("2015-09-06", "en", None),
    ]
    again: ImportReport = import_listings([p for p in paths if p.name in wanted], tmp_path, BASE)
    assert (again.written, len(again.existing)) == ((), 6)



DOCKERS = """\
Dockers walk out over Sunday shifts

Monday 2nd June 2014

Dock workers at the container port stopped work at dawn after the operator announced
compulsory Sunday shifts without extra pay ...

Full statement https://example.org/dockers
"""
BY_HAND = "title: Dockers strike (edited)\ndate: 2014-06-03\nlanguage: en\nexcerpt: By hand.\n"


@pytest.mark.parametrize(("field", "written_as", "why"), [
    ("id", "HTTPS://WWW.istendency.net:443/statements/2014-06-02-dockers-walk-out-over-sunday-"
     "shifts", ""),
    ("url", "HTTPS://Example.ORG:443/./dockers", "the same url"),
])
def test_an_id_or_url_written_in_another_form_is_already_present(
        tmp_path: Path, field: str, written_as: str, why: str) -> None:
    """Ids and urls are compared as feeds publish them (RFC 3986 normal form), as `build`
    compares ids: importing the statement again would make a duplicate `check` refuses."""
    config = _site(tmp_path)
    (tmp_path / "statements").mkdir()
    (tmp_path / "statements" / "by-hand.yaml").write_text(
        f"{field}: {written_as}\n{BY_HAND}", encoding="utf-8")
    (tmp_path / "dockers.txt").write_text(DOCKERS, encoding="utf-8")
    before = snapshot(tmp_path / "statements")
    code, out, err = run_cli("import", "dockers.txt", "--out", "statements",
                             "--base-url", BASE)
    assert (code, out) == (0, "0 records written, 1 already present (left unchanged), "
                              "0 to review\n  kept  statements/by-hand.yaml\n")
    assert err == ("" if not why else "warning: dockers.txt:1: 'Dockers walk out over Sunday "
                   f"shifts' is already present as statements/by-hand.yaml ({why}); "
                   "not imported\n")
    assert snapshot(tmp_path / "statements") == before
    assert run_cli("check", "--config", str(config))[0] == 0


def test_the_same_title_on_another_date_is_imported_with_a_warning(tmp_path: Path) -> None:
    """The site corrected a statement's date: the listing's statement has the title and
    language of a record already there, on another date. Both are kept (it may be another
    statement), and the import says so, naming both, for an editor to remove one."""
    _site(tmp_path)
    (tmp_path / "statements").mkdir()
    (tmp_path / "statements" / "by-hand.yaml").write_text(
        "# written by hand\ntitle: Dockers walk out over Sunday shifts\ndate: 2014-06-03\n"
        "language: en\nexcerpt: By hand.\nid: urn:sfb:by-hand\n", encoding="utf-8")
    (tmp_path / "dockers.txt").write_text(DOCKERS, encoding="utf-8")
    before = snapshot(tmp_path / "statements")
    code, out, err = run_cli("import", "dockers.txt", "--out", "statements",
                             "--base-url", BASE)
    name = "statements/2014-06-02-dockers-walk-out-over-sunday-shifts.yaml"
    assert (code, out) == (0, "1 record written, 0 already present (left unchanged), "
                              f"0 to review\n  wrote {name}\n")
    assert err == ("warning: dockers.txt:1: 'Dockers walk out over Sunday shifts' (2014-06-02) "
                   "has the title and language of statements/by-hand.yaml:2 (2014-06-03): it "
                   "may be the same statement with a corrected date; both are kept, remove "
                   f"one of them ({name} is the new one)\n")
    after = snapshot(tmp_path / "statements")
    assert after["by-hand.yaml"] == before["by-hand.yaml"]
    assert sorted(after) == ["2014-06-02-dockers-walk-out-over-sunday-shifts.yaml",
                             "by-hand.yaml"]


def test_a_killed_import_leaves_no_temporary_file_after_the_next(tmp_path: Path) -> None:
    """An import killed while writing a record (SIGKILL) leaves its hidden temporary file;
    the next import removes it, but never one of an import still running."""
    out = tmp_path / "statements"
    out.mkdir()
    gone = subprocess.Popen(["true"])  # (a process id that has ended)
    gone.wait()
    stale = out / f".2014-05-21-some-statement.yaml.{gone.pid}.0a1b2c3d.tmp"
    running = out / f".2014-05-21-other-statement.yaml.{os.getpid()}.4e5f6a7b.tmp"
    for path in (stale, running):
        path.write_bytes(b"id: https://www.istendency.net/statements/2014-05-21-some-st")
    code, _, _ = run_cli("import", str(fixture("basic.txt")), "--out", str(out),
                         "--base-url", BASE)
    assert code == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [running.name]
    assert len(records(out)) == 3
