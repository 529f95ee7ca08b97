"""The caches: exact record round trips, invalidation, racy files, corrupt files, render keys."""

from __future__ import annotations

import dataclasses
import marshal
import os
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sfb_feeds import cache
from sfb_feeds.errors import Problem
from sfb_feeds.loader import SUFFIXES, FileResult, display_path, find_statement_files
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
    original = statement(date=moment, key="refugees")
    restored = cache.decode_statement(marshal.loads(marshal.dumps(
        cache.encode_statement(original))))
    assert restored == original
    assert restored.date.tzinfo == original.date.tzinfo
    assert restored.date.fold == original.date.fold
    assert restored.date.utcoffset() == original.date.utcoffset()
    assert restored.date.tzname() == original.date.tzname()


def test_a_named_fixed_offset_is_not_cached() -> None:
    odd = statement(date=datetime(2015, 9, 4, tzinfo=timezone(timedelta(hours=2), "CEST")))
    with pytest.raises(cache._Uncacheable):
        cache.encode_statement(odd)


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


def test_an_unchanged_file_comes_from_the_cache(tmp_path: Path) -> None:
    config = settings(tmp_path)
    path = make_file(tmp_path / "statements", "a.yaml", "title: A\n")
    first = cache.RecordCache.open(config)
    assert first.lookup(path) is None
    first.store(path, result(statement(1)))
    first.save()
    second = cache.RecordCache.open(config)
    assert second.lookup(path) == result(statement(1))
    assert (second.hits, second.misses) == (1, 0)


@pytest.mark.parametrize("age", [3600, 0])
def test_a_file_parsed_in_a_worker_comes_back_encoded_and_whole(tmp_path: Path,
                                                                  age: int) -> None:
    """What a worker sends back (plain values) gives the loader the very same result, is
    counted as parsed, and is cached unless the file was modified just now."""
    config = settings(tmp_path)
    path = make_file(tmp_path / "statements", "a.yaml", "title: A\n", age=age)
    records = cache.RecordCache.open(config)
    assert records.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES)) == [
        str(path)]
    parsed = result(statement(1), statement(2))
    encoded = records.encode(parsed)  # in the worker
    assert encoded is not None
    records.remember_encoded(str(path), encoded)  # back here
    assert records.lookup(path) == parsed
    assert (records.hits, records.misses) == (0, 1)
    records.save()
    again = cache.RecordCache.open(config)
    again.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    assert (again.lookup(path) is not None) == (age > 0)  # a racy file is never cached


def test_a_result_that_cannot_be_cached_travels_whole() -> None:
    records = cache.RecordCache(None, ("header",))
    assert records.encode(result(statement(1), problems=(Problem("a.yaml", "bad", 1),))) \
        is None
    odd = statement(date=datetime(2015, 9, 4, tzinfo=timezone(timedelta(hours=2), "CEST")))
    assert records.encode(result(odd)) is None


@pytest.mark.parametrize("change", ["content", "mtime", "replaced"])
def test_a_changed_file_is_parsed_again(tmp_path: Path, change: str) -> None:
    config = settings(tmp_path)
    path = make_file(tmp_path / "statements", "a.yaml", "title: A\n")
    records = cache.RecordCache.open(config)
    records.lookup(path)
    records.store(path, result(statement(1)))
    records.save()
    if change == "content":
        make_file(path.parent, "a.yaml", "title: AB\n")
    elif change == "mtime":
        os.utime(path, (time.time() - 60, time.time() - 60))
    else:  # same size and time, another file: an editor's save-by-rename, or a restore
        st = path.stat()
        other = make_file(path.parent, "b.yaml", "title: B\n")
        os.replace(other, path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.RecordCache.open(config).lookup(path) is None


def test_a_cache_written_from_one_working_folder_serves_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = settings(tmp_path)  # the tests run in tmp_path: paths show as statements/...
    path = make_file(tmp_path / "statements", "1.yaml", "title: A\n")
    records = cache.RecordCache.open(config)
    records.lookup(path)
    records.store(path, result(statement(1)))
    records.save()
    monkeypatch.chdir(tmp_path / "statements")  # e.g. cron starts in another folder
    found = cache.RecordCache.open(config).lookup(path)
    assert found is not None
    assert found.statements[0].source.path == "1.yaml"
    assert found.warnings[0].path == "a.yaml"
    for elsewhere in ("/", str(tmp_path.parent), str(tmp_path / "statements")):
        monkeypatch.chdir(elsewhere)  # shown as the loader shows it from there
        found = cache.RecordCache.open(config).lookup(path)
        assert found is not None
        assert found.statements[0].source.path == display_path(path)


def test_files_too_fresh_to_trust_and_files_with_problems_are_not_cached(tmp_path: Path) -> None:
    config = settings(tmp_path)
    fresh = make_file(tmp_path / "statements", "fresh.yaml", "x", age=0)
    broken = make_file(tmp_path / "statements", "broken.yaml", "x")
    records = cache.RecordCache.open(config)
    for path in (fresh, broken):
        records.lookup(path)
    records.store(fresh, result(statement(1)))
    records.store(broken, result(problems=(Problem("broken.yaml", "bad", 1),)))
    records.save()
    again = cache.RecordCache.open(config)
    assert again.lookup(fresh) is None
    assert again.lookup(broken) is None


def test_other_site_settings_or_a_corrupt_file_mean_an_empty_cache(tmp_path: Path) -> None:
    config = settings(tmp_path)
    path = make_file(tmp_path / "statements", "a.yaml", "title: A\n")
    records = cache.RecordCache.open(config)
    records.lookup(path)
    records.store(path, result(statement(1)))
    records.save()
    # A bare date means midnight in the site's timezone: another zone, other records.
    assert cache.RecordCache.open(settings(tmp_path, timezone="Asia/Tokyo")).lookup(path) is None
    assert config.cache_dir is not None
    stored = config.cache_dir / cache.RECORDS_DIR / f"{cache.shard_of(str(path)):02d}.marshal"
    stored.write_bytes(stored.read_bytes()[:40])
    assert cache.RecordCache.open(config).lookup(path) is None


def test_files_no_longer_seen_are_forgotten(tmp_path: Path) -> None:
    config = settings(tmp_path)
    a = make_file(tmp_path / "statements", "a.yaml", "a")
    b = make_file(tmp_path / "statements", "b.yaml", "b")
    records = cache.RecordCache.open(config)
    for path in (a, b):
        records.lookup(path)
        records.store(path, result(statement(1)))
    records.save()
    records = cache.RecordCache.open(config)
    records.lookup(a)
    records.save()
    assert config.cache_dir is not None
    assert cache.RecordCache.open(config)._entries.keys() == {str(a)}


def test_one_edited_file_rewrites_one_shard_of_the_cache(tmp_path: Path) -> None:
    config = settings(tmp_path)
    paths = [make_file(tmp_path / "statements", f"{i}.yaml", "x") for i in range(40)]
    records = cache.RecordCache.open(config)
    for path in paths:
        records.lookup(path)
        records.store(path, result(statement(1)))
    records.save()
    assert config.cache_dir is not None
    shards = config.cache_dir / cache.RECORDS_DIR
    before = {p.name: p.stat().st_mtime_ns for p in shards.iterdir()}
    assert len(before) > 1
    make_file(paths[7].parent, paths[7].name, "edited", age=60)
    records = cache.RecordCache.open(config)
    for path in paths:
        if records.lookup(path) is None:
            records.store(path, result(statement(1)))
    records.save()
    after = {p.name: p.stat().st_mtime_ns for p in shards.iterdir()}
    assert {name for name in after if after[name] != before[name]} == {
        f"{cache.shard_of(str(paths[7])):02d}.marshal"}


def test_the_build_stamp_round_trips_and_bounds_the_clock(tmp_path: Path) -> None:
    config = settings(tmp_path)
    stamp = cache.Stamp("inputs", 100.0, 200.0, (1, 2, 3), (("en/atom.xml", 10, 20, 30),))
    cache.save_stamp(config, stamp)
    assert cache.load_stamp(config) == stamp

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
    assert cache.Stamp("inputs", None, None, manifest, ()).fits("inputs", at(0), manifest)
    cache.save_stamp(config, None)
    assert cache.load_stamp(config) is None


def test_a_corrupt_stamp_is_no_stamp(tmp_path: Path) -> None:
    config = settings(tmp_path)
    cache.save_stamp(config, cache.Stamp("inputs", None, None, (1, 2, 3), ()))
    assert config.cache_dir is not None
    path = config.cache_dir / cache.STAMP_FILE
    path.write_bytes(path.read_bytes()[:-3])
    assert cache.load_stamp(config) is None
    path.write_bytes(marshal.dumps(("sfb-feeds-stamp", 0, "inputs", None, None, (1, 2, 3), ())))
    assert cache.load_stamp(config) is None


def test_scanning_finds_what_the_loader_reads(tmp_path: Path) -> None:
    folder = tmp_path / "statements"
    for name in ("b.yaml", "a.yml", "2015/x.yaml", "2015/deep/y.yaml", "2014/z.yaml",
                 ".hidden.yaml", ".git/c.yaml", "notes.txt", "2015/.w.yaml.swp"):
        make_file(folder, name, "x") if "/" not in name else make_file(
            folder / name.rpartition("/")[0], name.rpartition("/")[2], "x")
    scanned = cache.scan_statement_files(folder, SUFFIXES)
    assert [path for path, *_ in scanned] == [str(p) for p in find_statement_files(folder)]
    st = (folder / "b.yaml").stat()
    assert (str(folder / "b.yaml"), st.st_size, st.st_mtime_ns, st.st_ino) in scanned


@pytest.mark.parametrize("helper", ["works", "fails"])
def test_a_large_scan_shares_the_work_with_a_forked_process_in_the_same_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper: str) -> None:
    folder = tmp_path / "statements"
    for year in range(2010, 2016):
        for number in range(4):
            make_file(folder / str(year), f"{number}.yaml", "x")
        make_file(folder / str(year) / "deeper", "z.yaml", "x")
    make_file(folder, "top.yaml", "x")
    expected = [str(p) for p in find_statement_files(folder)]
    serial = cache.scan_statement_files(folder, SUFFIXES)
    assert [path for path, *_ in serial] == expected
    forks: list[list[str]] = []
    start_helper = cache._scan_in_child

    def spy(directories: list[str], suffixes: tuple[str, ...], check: object = None) -> object:
        forks.append(directories)
        collect = start_helper(directories, suffixes, check)  # type: ignore[arg-type]
        assert collect is not None
        if helper == "fails":
            collect()  # reap the process, then report a failure
            return lambda: None
        return collect

    monkeypatch.setattr(cache, "FORK_SCAN_FILES", 4)
    monkeypatch.setattr(cache, "_scan_in_child", spy)
    assert cache.scan_statement_files(folder, SUFFIXES) == serial
    assert forks == [[str(folder / str(year)) for year in range(2013, 2016)]]
    # With a check of the outputs to run as well, the helper takes fewer folders and runs
    # it; its answer comes back (and the check is not run again here).
    forks.clear()
    pids: list[int] = []
    found, intact = cache.scan_and_check(folder, SUFFIXES, lambda: pids.append(os.getpid())
                                         or os.getpid() > 0)
    assert found == serial
    assert forks == [[str(folder / str(year)) for year in range(2014, 2016)]]
    assert intact() is True
    assert pids == [] if helper == "works" else pids == [os.getpid()]


def test_the_input_digest_refuses_files_modified_just_now(tmp_path: Path) -> None:
    config = settings(tmp_path)
    make_file(tmp_path / "statements", "old.yaml", "x")
    folder = tmp_path / "statements"
    assert cache.input_digest(config, cache.scan_statement_files(folder, SUFFIXES))
    make_file(tmp_path / "statements", "fresh.yaml", "x", age=0)
    assert cache.input_digest(config, cache.scan_statement_files(folder, SUFFIXES)) is None


def test_the_publication_window_runs_from_the_newest_to_the_next_scheduled() -> None:
    now = datetime(2015, 9, 10, tzinfo=UTC)
    statements = [statement(1, date=datetime(2015, 9, 4, tzinfo=UTC)),
                  statement(2, date=datetime(2015, 9, 8, tzinfo=UTC)),
                  statement(3, date=datetime(2015, 9, 20, tzinfo=UTC)),
                  dataclasses.replace(statement(4, date=datetime(2015, 9, 12, tzinfo=UTC)),
                                      draft=True)]
    assert cache.publication_window(statements, now) == (
        datetime(2015, 9, 8, tzinfo=UTC).timestamp(), datetime(2015, 9, 20, tzinfo=UTC).timestamp())
    assert cache.publication_window([], now) == (None, None)


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
    render_keys = cache.RenderKeys(site, planned, "base")
    return {item.path: render_keys.key(item) for item in planned}


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
    # A new English week: the English week pages (which may link neighbours) and lists.
    assert changed(before, keys(tmp_path, new_week)) == {"en/feed", "en/2015-W36",
                                                         "en/2015-W38", "en/2015-W39", "index"}


def test_the_code_fingerprint_names_the_rendering_libraries() -> None:
    versions = cache._distribution_versions()
    assert "feedgen-" in versions and "jinja2-" in versions
    assert cache.code_fingerprint() == cache.code_fingerprint()


def packed_site(tmp_path: Path, count: int = 48) -> tuple[Settings, list[Path]]:
    config = settings(tmp_path)
    return config, [make_file(tmp_path / "statements", f"{n}.yaml", f"n: {n}\n")
                    for n in range(count)]


def pack_and_remember(records: cache.RecordCache, paths: list[Path], *, keep: bool,
                      racy: Path | None = None
                      ) -> tuple[dict[str, FileResult], dict[int, list[bytes]]]:
    """What a build does with files parsed in workers (``keep=False``) or here, in two
    parts; returns the results and the bytes packed for each shard."""
    results = {str(path): result(statement(number)) for number, path in enumerate(paths)}
    encoded = [(path, records.encode(parsed)) for path, parsed in results.items()]
    blobs: dict[int, list[bytes]] = {}
    middle = len(encoded) // 2
    for part in (encoded[:middle], encoded[middle:]):
        packed, loose = records.pack([(p, e) for p, e in part if e is not None], keep=keep)
        assert all((entries is None) != keep for _, entries in packed.values())
        for shard, entries in packed.items():
            records.remember_packed(shard, entries)
            blobs.setdefault(shard, []).append(entries[0])
        for path, values in loose:
            records.remember_encoded(path, values)
            assert path == str(racy)
    return results, blobs


@pytest.mark.parametrize("keep", [False, True])
def test_entries_packed_in_a_worker_are_written_as_they_came(tmp_path: Path,
                                                              keep: bool) -> None:
    """A cold build's cache shards hold what the workers marshalled, byte for byte (not
    marshalled again here), and read back as the very results; a file modified just now
    travels apart and is not cached."""
    config, paths = packed_site(tmp_path)
    racy = make_file(tmp_path / "statements", "new.yaml", "n: new\n", age=0)
    records = cache.RecordCache.open(config)
    records.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    results, blobs = pack_and_remember(records, [*paths, racy], keep=keep, racy=racy)
    assert {str(p): records.lookup(p) for p in [*paths, racy]} == results
    written = dumps_during(records.save)
    assert written == 0  # every shard written from the workers' bytes
    assert config.cache_dir is not None
    folder = config.cache_dir / cache.RECORDS_DIR
    assert sorted(path.name for path in folder.iterdir()) == [
        f"{number:02d}.marshal" for number in sorted(blobs)]  # (no temporary file left)
    for number, packed in blobs.items():
        data = (folder / f"{number:02d}.marshal").read_bytes()
        assert data.startswith(b"".join(packed))
        assert set(marshal.loads(packed[0])) <= {
            str(p) for p in paths if cache.shard_of(str(p)) == number}
    again = cache.RecordCache.open(config)
    again.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    assert {str(p): again.lookup(p) for p in paths} == {
        k: v for k, v in results.items() if k != str(racy)}
    assert again.lookup(racy) is None


def dumps_during(action: object) -> int:
    """How many times ``action()`` marshalled a dict of cache entries itself."""
    calls = []
    original = cache.marshal.dumps

    def counting(value: object, *args: int) -> bytes:
        if isinstance(value, dict):
            calls.append(value)
        return original(value, *args)

    cache.marshal.dumps = counting  # type: ignore[assignment]
    try:
        action()  # type: ignore[operator]
    finally:
        cache.marshal.dumps = original  # type: ignore[assignment]
    return len(calls)


def test_a_shard_with_more_than_packed_entries_is_written_whole(tmp_path: Path) -> None:
    """Packed entries beside older ones, or some of them not met in this run (a file gone
    meanwhile): the shard is written from the entries, so nothing stale stays."""
    config, paths = packed_site(tmp_path)
    first = cache.RecordCache.open(config)
    first.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    for path in paths[:24]:
        first.lookup(path)
        first.store(path, result(statement(1)))
    first.save()
    records = cache.RecordCache.open(config)
    records.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    pack_and_remember(records, paths[24:], keep=False)
    for path in paths[:-1]:  # the last file is never looked up: it went away
        assert records.lookup(path) is not None
    assert dumps_during(records.save) > 0
    after = cache.RecordCache.open(config)
    assert set(after._entries) == {str(p) for p in paths[:-1]}


def test_a_torn_shard_file_is_ignored(tmp_path: Path) -> None:
    config, paths = packed_site(tmp_path, 8)
    records = cache.RecordCache.open(config)
    records.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    pack_and_remember(records, paths, keep=False)
    for path in paths:
        records.lookup(path)
    records.save()
    assert config.cache_dir is not None
    for shard in (config.cache_dir / cache.RECORDS_DIR).iterdir():
        data = shard.read_bytes()
        assert cache._unframed(data, records.header) is not None
        shard.write_bytes(data[:-3] if len(data) % 2 else data[:len(data) // 2])  # torn
    assert cache.RecordCache.open(config)._entries == {}


def test_temporary_files_of_killed_runs_are_swept(tmp_path: Path) -> None:
    config, paths = packed_site(tmp_path, 8)
    assert config.cache_dir is not None
    folder = config.cache_dir / cache.RECORDS_DIR
    folder.mkdir(parents=True)
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (folder / f".03.marshal.{dead}.tmp").write_bytes(b"half")
    (folder / f".04.marshal.{os.getppid()}.tmp").write_bytes(b"a live run's")
    records = cache.RecordCache.open(config)
    records.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    pack_and_remember(records, paths, keep=False)
    records.save()
    assert not (folder / f".03.marshal.{dead}.tmp").exists()
    assert (folder / f".04.marshal.{os.getppid()}.tmp").exists()


def test_packed_entries_not_held_here_are_read_back_when_their_shard_gets_more(
        tmp_path: Path) -> None:
    """Packed entries of a shard that held nothing go straight to its file and are not
    kept in memory; if that shard then gets an entry parsed here, they are read back from
    the file and written with it."""
    config, paths = packed_site(tmp_path, 40)
    records = cache.RecordCache.open(config)
    records.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    packed, extra = paths[:-1], paths[-1]
    pack_and_remember(records, packed, keep=False)
    assert records._entries == {}  # (all in the shards' files)
    for path in packed:
        assert records.lookup(path) is not None
    records.lookup(extra)
    records.store(extra, result(statement(99)))  # (its shard now holds more than packed)
    records.save()
    again = cache.RecordCache.open(config)
    assert set(again._entries) == {str(p) for p in paths}
    again.prime(cache.scan_statement_files(tmp_path / "statements", SUFFIXES))
    assert again.lookup(extra) == result(statement(99))
    assert again.lookup(packed[0]) == result(statement(0))
