"""The incremental machinery through its public functions: exact record round trips,
invalidation, racy files, corrupt files, the build stamp, render keys. (Whole builds,
incremental against cold, are in test_ops_incremental.py and test_ops_build.py.)"""

from __future__ import annotations

import dataclasses
import marshal
import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sfb_feeds.errors import Problem, display_path
from sfb_feeds.incremental import keys as render_keys
from sfb_feeds.incremental import records as cache
from sfb_feeds.incremental import stamp as stamps
from sfb_feeds.loader import FileResult, scan_statement_files
from sfb_feeds.model import Settings, SiteSettings, Source, Statement
from sfb_feeds.plan import OutputFormat, PlannedOutput, Scope, plan_outputs
from sfb_feeds.site import make_site

LONDON = ZoneInfo("Europe/London")


def settings(tmp_path: Path, **site: str) -> Settings:
    values = {"title": "SFB", "description": "", "url": "https://www.istendency.net/",
              "feeds_url": "https://www.istendency.net/feeds/", "author": "IST", **site}
    return Settings(config_path=tmp_path / "sfb-feeds.yaml", site=SiteSettings(**values),
                    statements_dir=tmp_path / "statements", output_dir=tmp_path / "feeds",
                    cache_dir=tmp_path / ".sfb-cache")


def statement(number: int = 1, *, language: str = "en", date: datetime | None = None,
              key: str | None = None, title: str = "", fingerprint: str = "") -> Statement:
    moment = date or datetime(2015, 9, 4, tzinfo=LONDON)
    return Statement(
        id=f"urn:sfb:{number}", title=title or f"Statement {number}", date=moment,
        language=language, excerpt=("First paragraph.", "Second…"), truncated=True,
        url=f"https://www.istendency.net/s/{number}", authors=("IST",), tags=("war",),
        translation_key=key, updated=moment + timedelta(hours=1), draft=False,
        id_generated=False, source=Source(path=f"statements/{number}.yaml", line=1, record=1),
        fingerprint=fingerprint or f"fp{number}-{title}",
    )


def test_the_codec_knows_every_field_of_the_model() -> None:
    assert tuple(f.name for f in dataclasses.fields(Statement)) == cache.STATEMENT_FIELDS
    assert cache.RECORDS_ENABLED


@pytest.mark.parametrize("moment", [
    datetime(2015, 9, 4, tzinfo=LONDON),
    datetime(2015, 10, 25, 1, 30, tzinfo=LONDON, fold=1),  # the second 01:30 that night
    datetime(2015, 9, 4, 12, 0, 0, 250, tzinfo=timezone(timedelta(hours=3))),
    datetime(2015, 9, 4, tzinfo=UTC),
])
def test_statements_survive_the_cache_exactly(moment: datetime) -> None:
    original = result(statement(date=moment, key="refugees"))
    encoded = cache.encode_result(original, "")
    assert encoded is not None
    restored = cache.decode_result(marshal.loads(marshal.dumps(encoded)), "", {})
    assert restored == original
    date, was = restored.statements[0].date, original.statements[0].date
    assert date.tzinfo == was.tzinfo and date.fold == was.fold
    assert date.utcoffset() == was.utcoffset() and date.tzname() == was.tzname()


def test_a_result_that_cannot_be_cached_is_not_encoded() -> None:
    odd = statement(date=datetime(2015, 9, 4, tzinfo=timezone(timedelta(hours=2), "CEST")))
    assert cache.encode_result(result(odd), "") is None  # the zone's name would be lost
    assert cache.encode_result(result(statement(1), problems=(Problem("a.yaml", "bad", 1),)),
                               "") is None


def make_file(folder: Path, name: str, text: str, age: int = 3600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def result(*statements: Statement, problems: tuple[Problem, ...] = ()) -> FileResult:
    return FileResult(statements, problems,
                      (Problem("statements/a.yaml", "a warning", 2, 1, "id"),))


def store(config: Settings, results: dict[Path, FileResult]) -> None:
    """What a build does: scan, take what is cached, keep what was parsed now."""
    records = cache.RecordCache(config, "")
    files = scan_statement_files(config.statements_dir)
    records.update(files, {str(path): cache.encode_result(found, records.prefix)
                           for path, found in results.items()})
    records.save()


def cached(config: Settings) -> dict[str, FileResult]:
    return cache.RecordCache(config, "").cached(scan_statement_files(config.statements_dir))


def test_an_unchanged_file_comes_from_the_cache(tmp_path: Path) -> None:
    config = settings(tmp_path)
    path = make_file(tmp_path / "statements", "a.yaml", "title: A\n")
    assert cached(config) == {}
    store(config, {path: result(statement(1))})
    assert cached(config) == {str(path): result(statement(1))}


@pytest.mark.parametrize("change", ["content", "mtime", "replaced", "restored in place"])
def test_a_changed_file_is_parsed_again(tmp_path: Path, change: str) -> None:
    config = settings(tmp_path)
    path = make_file(tmp_path / "statements", "a.yaml", "title: A\n")
    store(config, {path: result(statement(1))})
    if change == "content":
        make_file(path.parent, "a.yaml", "title: AB\n")
    elif change == "mtime":
        os.utime(path, (time.time() - 60, time.time() - 60))
    elif change == "replaced":  # same size and time, another file: save-by-rename, a restore
        st = path.stat()
        other = make_file(path.parent, "b.yaml", "title: B\n")
        os.replace(other, path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:  # same file, size and time: `cp -p`, `rsync -t --inplace`, `touch -r` after an edit
        st = path.stat()
        with path.open("r+b") as file:
            file.write(b"title: B\n")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        now = path.stat()  # (what the scan used to compare: all as before)
        assert (now.st_size, now.st_mtime_ns, now.st_ino) == (st.st_size, st.st_mtime_ns,
                                                              st.st_ino)
    assert cached(config) == {}


def test_a_cache_written_from_one_working_folder_serves_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = settings(tmp_path)  # the tests run in tmp_path: paths show as statements/...
    path = make_file(tmp_path / "statements", "1.yaml", "title: A\n")
    store(config, {path: result(statement(1))})
    monkeypatch.chdir(tmp_path / "statements")  # e.g. cron starts in another folder
    found = cached(config)[str(path)]
    assert found.statements[0].source.path == "1.yaml"
    assert found.warnings[0].path == "a.yaml"
    for elsewhere in ("/", str(tmp_path.parent), str(tmp_path / "statements")):
        monkeypatch.chdir(elsewhere)  # shown as the loader shows it from there
        found = cached(config)[str(path)]
        assert found.statements[0].source.path == display_path(path)


def test_files_too_fresh_to_trust_and_files_with_problems_are_not_cached(tmp_path: Path) -> None:
    config = settings(tmp_path)
    fresh = make_file(tmp_path / "statements", "fresh.yaml", "x", age=0)
    broken = make_file(tmp_path / "statements", "broken.yaml", "x")
    store(config, {fresh: result(statement(1)),
                   broken: result(problems=(Problem("broken.yaml", "bad", 1),))})
    assert cached(config) == {}


def test_other_site_settings_or_a_corrupt_file_mean_an_empty_cache(tmp_path: Path) -> None:
    config = settings(tmp_path)
    path = make_file(tmp_path / "statements", "a.yaml", "title: A\n")
    store(config, {path: result(statement(1))})
    # A bare date means midnight in the site's timezone: another zone, other records.
    assert cached(settings(tmp_path, timezone="Asia/Tokyo")) == {}
    assert config.cache_dir is not None
    stored = config.cache_dir / cache.RECORDS_DIR / f"{cache.shard_of(str(path)):02d}.marshal"
    stored.write_bytes(stored.read_bytes()[:40])
    assert cached(config) == {}
    stored.write_bytes(b"\x00garbage")
    assert cached(config) == {}


def test_files_no_longer_seen_are_forgotten(tmp_path: Path) -> None:
    config = settings(tmp_path)
    a = make_file(tmp_path / "statements", "a.yaml", "a")
    b = make_file(tmp_path / "statements", "b.yaml", "b")
    store(config, {a: result(statement(1)), b: result(statement(2))})
    b.unlink()
    store(config, {})
    make_file(tmp_path / "statements", "b.yaml", "b")  # back, with its old status
    os.utime(b, ns=(os.stat(a).st_atime_ns, os.stat(a).st_mtime_ns))
    assert cached(config).keys() == {str(a)}


def test_one_edited_file_rewrites_one_shard_of_the_cache(tmp_path: Path) -> None:
    config = settings(tmp_path)
    paths = [make_file(tmp_path / "statements", f"{i}.yaml", "x") for i in range(40)]
    store(config, {path: result(statement(1)) for path in paths})
    assert config.cache_dir is not None
    shards = config.cache_dir / cache.RECORDS_DIR
    before = {p.name: p.stat().st_mtime_ns for p in shards.iterdir()}
    assert len(before) > 1
    make_file(paths[7].parent, paths[7].name, "edited", age=60)
    store(config, {paths[7]: result(statement(1))})
    after = {p.name: p.stat().st_mtime_ns for p in shards.iterdir()}
    assert {name for name in after if after[name] != before[name]} == {
        f"{cache.shard_of(str(paths[7])):02d}.marshal"}
    assert len(cached(config)) == 40


def test_the_build_stamp_round_trips_and_bounds_the_clock(tmp_path: Path) -> None:
    config = settings(tmp_path)
    stamp = stamps.Stamp("inputs", 100.0, 200.0, (1, 2, 3), (("en/atom.xml", 10, 20, 30),))
    stamps.save_stamp(config, stamp)
    assert stamps.load_stamp(config) == stamp

    def at(seconds: float) -> datetime:
        return datetime.fromtimestamp(seconds, UTC)

    manifest = (1, 2, 3)
    assert stamp.fits("inputs", at(100), manifest)
    assert stamp.fits("inputs", at(199.9), manifest)
    assert not stamp.fits("inputs", at(200), manifest)  # the scheduled statement is due
    assert not stamp.fits("inputs", at(99), manifest)  # a replay from before the newest
    assert not stamp.fits("other", at(150), manifest)
    assert not stamp.fits("inputs", at(150), (1, 2, 4))  # another manifest
    assert not stamp.fits("inputs", at(150), None)  # an interrupted run
    assert stamps.Stamp("inputs", None, None, manifest, ()).fits("inputs", at(0), manifest)
    stamps.save_stamp(config, None)
    assert stamps.load_stamp(config) is None


def test_a_corrupt_stamp_is_no_stamp(tmp_path: Path) -> None:
    config = settings(tmp_path)
    stamps.save_stamp(config, stamps.Stamp("inputs", None, None, (1, 2, 3), ()))
    assert config.cache_dir is not None
    path = config.cache_dir / stamps.STAMP_FILE
    path.write_bytes(path.read_bytes()[:-3])
    assert stamps.load_stamp(config) is None
    path.write_bytes(marshal.dumps(("sfb-feeds-stamp", 0, "inputs", None, None, (1, 2, 3), ())))
    assert stamps.load_stamp(config) is None


def test_scanning_finds_statement_files_in_a_stable_order(tmp_path: Path) -> None:
    folder = tmp_path / "statements"
    for name in ("b.yaml", "a.yml", "2015/x.yaml", "2015/deep/y.yaml", "2014/z.yaml",
                 ".hidden.yaml", ".git/c.yaml", "notes.txt", "2015/.w.yaml.swp"):
        make_file(folder / name.rpartition("/")[0], name.rpartition("/")[2], "x")
    scanned = scan_statement_files(folder)
    assert [os.path.relpath(path, folder) for path, *_ in scanned] == [
        "a.yml", "b.yaml", "2014/z.yaml", "2015/x.yaml", "2015/deep/y.yaml"]
    st = (folder / "b.yaml").stat()
    assert (str(folder / "b.yaml"), st.st_size, st.st_mtime_ns, st.st_ino,
            st.st_ctime_ns) in scanned


def test_the_input_digest_refuses_files_modified_just_now(tmp_path: Path) -> None:
    config = settings(tmp_path)
    make_file(tmp_path / "statements", "old.yaml", "x")
    folder = tmp_path / "statements"
    assert stamps.input_digest(config, scan_statement_files(folder), "")
    make_file(tmp_path / "statements", "fresh.yaml", "x", age=0)
    assert stamps.input_digest(config, scan_statement_files(folder), "") is None


def test_the_publication_window_runs_from_the_newest_to_the_next_scheduled() -> None:
    now = datetime(2015, 9, 10, tzinfo=UTC)
    statements = [statement(1, date=datetime(2015, 9, 4, tzinfo=UTC)),
                  statement(2, date=datetime(2015, 9, 8, tzinfo=UTC)),
                  statement(3, date=datetime(2015, 9, 20, tzinfo=UTC)),
                  dataclasses.replace(statement(4, date=datetime(2015, 9, 12, tzinfo=UTC)),
                                      draft=True)]
    assert stamps.publication_window(statements, now) == (
        datetime(2015, 9, 8, tzinfo=UTC).timestamp(), datetime(2015, 9, 20, tzinfo=UTC).timestamp())
    assert stamps.publication_window([], now) == (None, None)


def _bytes(site: object, target: object) -> bytes:
    return b""


FORMATS = (
    OutputFormat(name="feed", media_type="text/plain", path="{lang}/feed", scope=Scope.LANGUAGE,
                 render=_bytes),
    OutputFormat(name="week", media_type="text/plain", path="{lang}/{period}",
                 scope=Scope.LANGUAGE_WEEK, render=_bytes),
    OutputFormat(name="index", media_type="text/plain", path="index", scope=Scope.SITE,
                 render=_bytes),
)


def keys(tmp_path: Path, statements: list[Statement]) -> dict[str, str]:
    config = settings(tmp_path)
    site = make_site(config, statements, datetime(2016, 1, 1, tzinfo=UTC))
    planned: list[PlannedOutput] = plan_outputs(site, FORMATS)
    found = render_keys.RenderKeys(site, "base")
    return {path: key for item in planned
            for path, key in zip(item.paths, found.keys(item), strict=True)}


BASE = [statement(1, key="refugees"), statement(2, language="pl", key="refugees"),
        statement(3, date=datetime(2015, 9, 14, 12, tzinfo=LONDON))]


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def test_render_keys_change_with_what_an_output_shows(tmp_path: Path) -> None:
    before = keys(tmp_path, BASE)
    assert set(before) == {"en/feed", "pl/feed", "en/2015-W36", "en/2015-W38", "pl/2015-W36",
                           "index"}
    edited = [statement(1, key="refugees"), BASE[1], statement(3, title="New title",
                                                               date=BASE[2].date)]
    assert changed(before, keys(tmp_path, edited)) == {"en/feed", "en/2015-W38", "index"}


def test_render_keys_follow_translations(tmp_path: Path) -> None:
    before = keys(tmp_path, BASE)
    edited = [BASE[0], statement(2, language="pl", key="refugees", title="Uchodźcy"), BASE[2]]
    # The Polish edit shows in the English outputs that link to the translation.
    assert changed(before, keys(tmp_path, edited)) == {"pl/feed", "pl/2015-W36", "en/feed",
                                                       "en/2015-W36", "index"}


def test_render_keys_follow_the_language_list_and_the_periods(tmp_path: Path) -> None:
    before = keys(tmp_path, BASE)
    added = [*BASE, statement(4, language="tr")]
    assert changed(before, keys(tmp_path, added)) - {"tr/feed", "tr/2015-W36"} == set(before)
    new_week = [*BASE, statement(5, date=datetime(2015, 9, 21, 12, tzinfo=LONDON))]
    # A new English week: its page and the lists; the other weeks' pages show no
    # neighbours (a target that does carries them in its ``history``).
    assert changed(before, keys(tmp_path, new_week)) == {"en/feed", "en/2015-W39", "index"}


def test_the_code_fingerprint_is_stable() -> None:
    assert stamps.code_fingerprint() == stamps.code_fingerprint()
    assert stamps.RENDERING_DISTRIBUTIONS
