"""`sfb-feeds build` as cron runs it: silent when nothing changed, only changed files written,
stale files removed, foreign files kept, caches safe to lose, one run at a time.

The output formats here are a small stand-in table (patched over the real one) so that
these tests see exactly which outputs were rendered and written.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfb_feeds import lock, pipeline
from sfb_feeds.cli import main
from sfb_feeds.environment import LOCK_WAIT_ENV
from sfb_feeds.errors import EXIT_BUSY, EXIT_INVALID
from sfb_feeds.plan import OutputFormat, Scope, Target, period_label
from sfb_feeds.site import Site

RENDERED: list[str] = []  # "format:language:period" of every render, in order

CONFIG = """\
site:
  title: Socialism From Below
  description: Statements of the International Socialist Tendency.
  url: https://www.istendency.net/
  timezone: UTC
"""
# The site section of the other incremental tests' configs (London: weeks and years
# fall in the site's timezone there).
LONDON_SITE = CONFIG.replace("timezone: UTC", "timezone: Europe/London")


def render_listing(site: Site, target: Target, name: str) -> bytes:
    period = period_label(target) or None
    RENDERED.append(f"{name}:{target.language}:{period}")
    lines = [f"{name} {target.language} {period}"]
    if target.language is None:
        lines.append("languages: " + ",".join(site.languages))
    for statement in target.statements:
        lines.append(f"{statement.date.date()} {statement.id} {statement.title}")
        lines.extend(statement.excerpt)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _format(name: str, path: str, scope: Scope) -> OutputFormat:
    return OutputFormat(name=name, media_type="text/plain", path=path, scope=scope,
                        render=lambda site, target: render_listing(site, target, name))


FORMATS = (
    _format("index", "index.txt", Scope.SITE),
    _format("list", "{lang}/list.txt", Scope.LANGUAGE),
    _format("year", "{lang}/{period}.txt", Scope.LANGUAGE_YEAR),
    _format("week", "{lang}/weeks/{period}.txt", Scope.LANGUAGE_WEEK),
)


def record(number: int, language: str, date: str, title: str = "", excerpt: str = "x") -> str:
    body = "\n".join(f"  {line}" for line in excerpt.splitlines())
    return (f"title: {title or f'Statement {number}'}\ndate: {date}\nlanguage: {language}\n"
            f"id: urn:sfb:{number}\nexcerpt: |\n{body}\n")


def age(folder: Path, seconds: int = 3600) -> None:
    """Date every file under ``folder`` back: files modified this very second are never
    trusted by the caches (a second edit in the same clock tick could go unseen)."""
    moment = time.time() - seconds
    for root, _, files in os.walk(folder):
        for name in files:
            os.utime(Path(root, name), (moment, moment))


def write_site(root: Path, records: dict[str, str]) -> Path:
    (root / "statements").mkdir(parents=True, exist_ok=True)
    for name, text in records.items():
        (root / "statements" / name).write_text(text, encoding="utf-8")
    (root / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    age(root)
    return root / "sfb-feeds.yaml"


def tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    found: dict[str, tuple[bytes, int]] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            found[path.relative_to(folder).as_posix()] = (path.read_bytes(),
                                                          path.stat().st_mtime_ns)
    return found


def visible(folder: Path) -> set[str]:
    return {p for p in tree(folder) if not p.rpartition("/")[2].startswith(".")}


def build_cleanly(root: Path, now: str) -> None:
    """Build the site at ``root`` (its ``sfb-feeds.yaml``) at ``now``: it must succeed,
    with nothing on standard error."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", "--config", str(root / "sfb-feeds.yaml"), "--now", now],
                out=out, err=err)
    assert (code, err.getvalue()) == (0, ""), out.getvalue()


def outputs(root: Path) -> dict[str, bytes]:
    """The bytes of each output under ``root/feeds`` (not the lock, not the manifest)."""
    return {path: data for path, (data, _) in tree(root / "feeds").items()
            if not path.rpartition("/")[2].startswith(".")}


def build(config: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", "--config", str(config), "--now", "2016-01-01", *extra],
                out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def stand_in_formats(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pipeline, "all_formats", lambda *_, **__: FORMATS)
    monkeypatch.setenv(LOCK_WAIT_ENV, "0.2")
    RENDERED.clear()
    yield


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site", {
        "en-1.yaml": record(1, "en", "2015-09-04"),
        "en-2.yaml": record(2, "en", "2014-05-17"),
        "pl-3.yaml": record(3, "pl", "2015-09-04"),
        "da-4.yaml": record(4, "da", "2015-09-05"),
    })


def test_first_build_reports_then_an_unchanged_build_is_silent(site: Path) -> None:
    code, out, err = build(site)
    assert (code, err) == (0, "")
    assert out == "12 written, 0 unchanged, 0 removed\n"
    before = tree(site.parent / "feeds")
    RENDERED.clear()
    assert build(site) == (0, "", "")  # cron mails nothing
    assert tree(site.parent / "feeds") == before  # same bytes, same modification times
    assert RENDERED == []


def test_a_cache_folder_that_cannot_be_written_costs_only_time(site: Path) -> None:
    """A file where the cache folder should be: every build succeeds, quietly, with the
    same outputs as with a cache (it escaped as an internal error, exit 70)."""
    with_cache = site.parent.parent / "with-cache"
    shutil.copytree(site.parent, with_cache)
    assert build(with_cache / "sfb-feeds.yaml")[0] == 0
    (site.parent / ".sfb-cache").write_text("not a folder\n", encoding="utf-8")
    assert build(site) == (0, "12 written, 0 unchanged, 0 removed\n", "")
    assert build(site) == (0, "", "")
    assert outputs(site.parent) == outputs(with_cache)


def test_verbose_explains_a_build_that_had_nothing_to_do(site: Path) -> None:
    build(site)
    code, out, err = build(site, "--verbose")
    assert (code, out) == (0, "")
    assert "nothing changed since the last build (4 statement files, 12 outputs checked)" in err
    assert "0 written, 12 unchanged, 0 removed" in err


def test_one_edited_record_rewrites_only_what_shows_it(site: Path) -> None:
    build(site)
    before = tree(site.parent / "feeds")
    path = site.parent / "statements" / "en-2.yaml"
    path.write_text(record(2, "en", "2014-05-17", title="Statement 2, corrected"))
    age(path, 1800)
    RENDERED.clear()
    code, out, err = build(site, "--verbose")
    assert (code, out) == (0, "4 written, 8 unchanged, 0 removed\n")
    assert "4 statements, 1 file parsed, 3 from the cache" in err
    assert sorted(RENDERED) == ["index:None:None", "list:en:None", "week:en:2014-W20",
                                "year:en:2014"]
    after = tree(site.parent / "feeds")
    changed = {p for p in after if after[p] != before.get(p)}
    assert changed == {"index.txt", "en/list.txt", "en/2014.txt", "en/weeks/2014-W20.txt",
                       ".sfb-feeds-manifest.json"}
    assert b"Statement 2, corrected" in after["en/2014.txt"][0]


def test_a_withdrawn_language_disappears_and_foreign_files_stay(site: Path) -> None:
    build(site)
    feeds = site.parent / "feeds"
    (feeds / "robots.txt").write_text("mine")
    (feeds / "da" / "extra.html").write_text("also mine")
    (site.parent / "statements" / "da-4.yaml").unlink()
    code, out, _ = build(site)
    assert (code, out) == (0, "1 written, 8 unchanged, 3 removed\n")  # index lists languages
    assert visible(feeds) == {"index.txt", "robots.txt", "en/list.txt", "en/2015.txt",
                              "en/2014.txt", "en/weeks/2015-W36.txt", "en/weeks/2014-W20.txt",
                              "pl/list.txt", "pl/2015.txt", "pl/weeks/2015-W36.txt",
                              "da/extra.html"}
    assert (feeds / "robots.txt").read_text() == "mine"


def test_a_scheduled_statement_appears_on_the_first_run_after_its_time(tmp_path: Path) -> None:
    config = write_site(tmp_path / "site", {
        "a.yaml": record(1, "en", "2015-09-04"),
        "b.yaml": record(2, "en", "2015-09-10T12:00:00+00:00", title="Scheduled"),
    })
    feeds = tmp_path / "site" / "feeds"

    def run(now: str) -> str:
        code, _, err = build(config, "--now", now)
        assert (code, err) == (0, "")
        return (feeds / "en" / "list.txt").read_text()

    assert "Scheduled" not in run("2015-09-10T11:59:00+00:00")
    assert "Scheduled" not in run("2015-09-10T11:59:59+00:00")  # the quick way, same result
    assert "Scheduled" in run("2015-09-10T12:00:00+00:00")
    assert "Scheduled" not in run("2015-09-09T00:00:00+00:00")  # a replay of the past


def test_invalid_input_leaves_the_output_folder_untouched(site: Path) -> None:
    build(site)
    feeds = site.parent / "feeds"
    before = tree(feeds)
    (site.parent / "statements" / "bad.yaml").write_text("title: Bad\ndate: 2015-02-30\n")
    code, out, err = build(site)
    assert (code, out) == (EXIT_INVALID, "")
    assert "bad.yaml:2: record 1: date:" in err
    assert tree(feeds) == before


def test_invalid_input_on_a_first_build_creates_nothing(tmp_path: Path) -> None:
    config = write_site(tmp_path / "site", {"bad.yaml": "title: Bad\n"})
    assert build(config)[0] == EXIT_INVALID
    assert not (tmp_path / "site" / "feeds").exists()


def test_deleting_or_breaking_the_cache_is_safe(site: Path) -> None:
    build(site)
    feeds = site.parent / "feeds"
    before = tree(feeds)
    cache = site.parent / ".sfb-cache"
    for path in tree(cache):
        (cache / path).write_bytes(b"\x00garbage")
    assert build(site) == (0, "", "")
    assert tree(feeds) == before
    shutil.rmtree(cache)
    assert build(site) == (0, "", "")
    assert tree(feeds) == before


def test_an_output_deleted_by_hand_comes_back_though_no_input_changed(site: Path) -> None:
    build(site)
    (site.parent / "feeds" / "pl" / "list.txt").unlink()
    code, out, _ = build(site)
    assert (code, out) == (0, "1 written, 11 unchanged, 0 removed\n")
    assert (site.parent / "feeds" / "pl" / "list.txt").exists()


def test_a_touched_but_unchanged_file_rewrites_nothing(site: Path) -> None:
    build(site)
    before = tree(site.parent / "feeds")
    age(site.parent / "statements" / "pl-3.yaml", 60)  # new mtime, same bytes
    RENDERED.clear()
    assert build(site) == (0, "", "")
    assert tree(site.parent / "feeds") == before
    assert RENDERED == []  # same fingerprints: same render keys


def test_a_changed_setting_rerenders_but_rewrites_only_what_differs(site: Path) -> None:
    build(site)
    site.write_text(CONFIG.replace("timezone: UTC", "timezone: Europe/London"))
    age(site, 60)
    RENDERED.clear()
    code, _, _ = build(site)
    assert code == 0
    assert len(RENDERED) == 12  # settings are part of every render key


def test_a_second_run_waits_then_fails_while_the_folder_is_locked(site: Path) -> None:
    build(site)
    (site.parent / "statements" / "pl-3.yaml").write_text(record(3, "pl", "2015-09-06"))
    age(site.parent / "statements")
    before = tree(site.parent / "feeds")
    with lock.hold(site.parent / "feeds"):
        code, out, err = build(site)
    assert (code, out) == (EXIT_BUSY, "")
    assert "another sfb-feeds run" in err
    assert "gave up after waiting 0.2 s" in err
    assert tree(site.parent / "feeds") == before
    assert build(site)[0] == 0  # and the next run does the work


def test_files_written_by_a_build_are_world_readable(site: Path) -> None:
    old = os.umask(0o022)
    try:
        build(site)
    finally:
        os.umask(old)
    modes = {os.stat(site.parent / "feeds" / p).st_mode & 0o777 for p in visible(
        site.parent / "feeds")}
    assert modes == {0o644}


def test_parsing_and_rendering_in_workers_give_the_same_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfb_feeds import incremental
    from sfb_feeds.incremental import schedule

    records = {f"s{i}.yaml": record(i, ("en", "pl", "tr")[i % 3], f"2015-{1 + i % 12:02d}-04")
               for i in range(60)}
    records["bad.yaml"] = "title: Bad\n"  # its problem is reported from a worker's parse
    serial = write_site(tmp_path / "serial", records)
    forked = write_site(tmp_path / "forked", records)
    monkeypatch.setenv("SFB_FEEDS_WORKERS", "1")
    assert build(serial)[0] == EXIT_INVALID
    (serial.parent / "statements" / "bad.yaml").unlink()
    assert build(serial)[0] == 0
    monkeypatch.setenv("SFB_FEEDS_WORKERS", "2")
    monkeypatch.setattr(incremental, "PARSE_PARALLEL_MIN", 1)
    monkeypatch.setattr(incremental, "RENDER_PARALLEL_MIN", 1)
    monkeypatch.setattr(schedule, "ROUND_WEIGHT", 25)  # several pools, one after another
    code, _, err = build(forked)
    assert code == EXIT_INVALID
    assert "bad.yaml:1: record 1: date: is missing" in err
    (forked.parent / "statements" / "bad.yaml").unlink()
    assert build(forked)[0] == 0
    assert {p: d for p, (d, _) in tree(tmp_path / "serial" / "feeds").items() if
            "manifest" not in p} == \
        {p: d for p, (d, _) in tree(tmp_path / "forked" / "feeds").items() if "manifest" not in p}
    code, _, err = build(forked, "--verbose")
    assert "nothing changed" in err


def test_a_run_that_finished_meanwhile_is_not_overwritten(site: Path) -> None:
    from datetime import UTC, datetime

    from sfb_feeds.build import build as build_folder
    from sfb_feeds.config import load_settings

    notes: list[str] = []
    calls: list[int] = []

    def meanwhile(_: object) -> None:
        if calls:
            return
        calls.append(1)  # while this run read, another one read newer input and wrote
        path = site.parent / "statements" / "pl-3.yaml"
        path.write_text(record(3, "pl", "2015-09-04", title="Newer"))
        age(path, 600)
        assert build(site)[0] == 0

    build_folder(load_settings(site), datetime(2016, 1, 1, tzinfo=UTC), on_loaded=meanwhile,
                 detail=notes.append)
    assert "another run wrote the folder meanwhile; starting over" in notes
    assert "Newer" in (site.parent / "feeds" / "pl" / "list.txt").read_text()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    records = {f"s{i}.yaml": record(i, ("en", "pl", "tr")[i % 3],
                                    f"{2010 + i // 52}-{1 + (i % 52) // 5:02d}-{1 + i % 5 * 5:02d}")
               for i in range(240)}
    config = write_site(tmp_path / "site", records)
    terminal = _Terminal()
    assert main(["build", "--config", str(config), "--now", "2016-01-01"], out=io.StringIO(),
                err=terminal) == 0
    shown = terminal.getvalue()
    assert shown.startswith("\r[") and "outputs" in shown
    assert shown.endswith("\r" + " " * 60 + "\r")  # the bar is wiped when done
    (config.parent / "feeds" / "index.txt").unlink()
    for quiet in ([], ["--quiet"]):
        log = io.StringIO()
        assert main(["build", *quiet, "--config", str(config), "--now", "2016-01-01"],
                    out=io.StringIO(), err=log) == 0
        assert log.getvalue() == ""  # not a terminal: no bar in cron's mail or a log
