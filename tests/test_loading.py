"""What a valid record becomes: dates, paragraphs, ids, drafts, scheduled statements."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cli_run import run
from conftest import REPO, SiteMaker
from lxml import etree

from sfb_feeds.config import load_settings
from sfb_feeds.loader import load_statements
from sfb_feeds.site import make_site


def load(config: Path) -> tuple:  # type: ignore[type-arg]
    settings = load_settings(config)
    loaded = load_statements(settings, detect=lambda text: None)
    return settings, loaded


def test_bare_date_is_midnight_in_the_site_timezone(make_site: SiteMaker) -> None:
    _, loaded = load(make_site({"a.yaml": """\
        title: A
        date: 2015-07-04
        language: EN-gb
        excerpt: x
        """}))
    (statement,) = loaded.statements
    assert statement.date == datetime(2015, 7, 3, 23, 0, tzinfo=UTC)  # London is UTC+1 in July
    assert statement.date.utcoffset() == timedelta(hours=1)
    assert statement.updated == statement.date
    assert statement.language == "en-GB"


def test_date_time_with_offset_and_updated(make_site: SiteMaker) -> None:
    _, loaded = load(make_site({"a.yaml": """\
        title: A
        date: 2015-09-04T18:30:00+03:00
        updated: 2015-09-05T08:00:00Z
        language: tr
        excerpt: x
        """}))
    (statement,) = loaded.statements
    assert statement.date == datetime(2015, 9, 4, 18, 30, tzinfo=timezone(timedelta(hours=3)))
    assert statement.updated == datetime(2015, 9, 5, 8, 0, tzinfo=UTC)


def test_title_on_one_line(make_site: SiteMaker) -> None:
    _, loaded = load(make_site({"a.yaml": """\
        title: |
          A title written
          over two lines
        date: 2015-09-04
        language: en
        authors: ["  Revolutionary\\n Socialists "]
        excerpt: x
        """}))
    (statement,) = loaded.statements
    assert statement.title == "A title written over two lines"
    assert statement.authors == ("Revolutionary Socialists",)


def test_excerpt_paragraphs_and_cut_marker(make_site: SiteMaker) -> None:
    _, loaded = load(make_site({"a.yaml": """\
        title: A
        date: 2015-09-04
        language: en
        excerpt: |
          One line
          continues here.


          Second   paragraph …
        """}))
    (statement,) = loaded.statements
    assert statement.excerpt == ("One line continues here.", "Second paragraph …")
    assert statement.truncated is True


def test_list_file_and_default_ids(make_site: SiteMaker) -> None:
    _, loaded = load(make_site({"many.yml": """\
        - title: Wolność dla Mahienour!
          date: 2014-05-21
          language: pl
          excerpt: x
        - title: حرية
          date: 2014-05-21
          language: ar
          excerpt: x
        - title: With a link
          date: 2014-05-21
          language: en
          url: https://www.istendency.net/s/1
          excerpt: x
        """}))
    ids = [s.id for s in loaded.statements]
    assert ids[0] == "tag:www.istendency.net,2014-05-21:pl/wolnosc-dla-mahienour"
    assert ids[1].startswith("tag:www.istendency.net,2014-05-21:ar/s-")
    assert ids[2] == "https://www.istendency.net/s/1"
    assert [w.field for w in loaded.warnings] == ["id", "id"]
    assert ("changes if the title, date or language is edited or a url is added"
            in str(loaded.warnings[0]))
    assert [s.source.record for s in loaded.statements] == [1, 2, 3]
    assert [s.source.line for s in loaded.statements] == [1, 5, 9]


def test_drafts_and_scheduled_statements_are_not_published(make_site: SiteMaker) -> None:
    settings, loaded = load(make_site({
        "draft.yaml": "title: D\ndate: 2015-09-01\nlanguage: en\nexcerpt: x\ndraft: true\n",
        "future.yaml": "title: F\ndate: 2015-09-10T12:00:00+00:00\nlanguage: en\nexcerpt: x\n",
        "now.yaml": "title: N\ndate: 2015-09-02\nlanguage: en\nexcerpt: x\n",
    }))
    before = make_site_at(settings, loaded, datetime(2015, 9, 10, 11, 59, tzinfo=UTC))
    after = make_site_at(settings, loaded, datetime(2015, 9, 10, 12, 0, tzinfo=UTC))
    assert [s.title for s in before.statements] == ["N"]
    assert [s.title for s in after.statements] == ["F", "N"]


def make_site_at(settings, loaded, now):  # type: ignore[no-untyped-def]
    return make_site(settings, loaded.statements, now)


def test_fingerprint_changes_with_content(make_site: SiteMaker, tmp_path: Path) -> None:
    record = "title: {t}\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nid: urn:sfb:a\n"
    _, one = load(make_site({"a.yaml": record.format(t="A")}, folder="one"))
    _, same = load(make_site({"a.yaml": record.format(t="A")}, folder="two"))
    _, edited = load(make_site({"a.yaml": record.format(t="B")}, folder="three"))
    assert one.statements[0].fingerprint == same.statements[0].fingerprint
    assert one.statements[0].fingerprint != edited.statements[0].fingerprint


def test_sample_site_loads_with_one_translation_group() -> None:
    settings = load_settings(REPO / "sfb-feeds.yaml")
    loaded = load_statements(settings)
    assert loaded.warnings == ()
    site = make_site(settings, loaded.statements, datetime(2026, 1, 1, tzinfo=UTC))
    assert site.languages == ("da", "en", "pl", "tr")
    assert len(site.statements) == 6
    group = site.translations["ist-refugee-crisis-2015"]
    assert sorted(s.language for s in group) == ["da", "pl", "tr"]
    assert [s.date.date().isoformat() for s in site.statements] == [
        "2015-09-06", "2015-09-04", "2015-09-04", "2015-09-04", "2014-05-21", "2014-05-17"]


@pytest.mark.parametrize("name", ["a.yaml", "2015/a.yaml", "x/../a.yaml", "./a.yaml"])
def test_paths_are_shown_relative_to_the_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from sfb_feeds.errors import display_path

    monkeypatch.chdir(tmp_path)
    for path in (tmp_path / name, Path(f"{tmp_path}/{name}"), Path(name), tmp_path,
                 tmp_path.parent / "elsewhere" / name):
        expected = os.path.relpath(path)
        assert display_path(path) == (str(path) if expected.startswith("..") else expected)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 300_000])
def test_read_ahead_gives_the_whole_file(tmp_path: Path, size: int) -> None:
    from sfb_feeds.loader import read_ahead

    data = os.urandom(size)
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    assert list(read_ahead([str(path)])) == [(str(path), data)]


def test_read_ahead_reads_past_a_stale_size(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that grew after fstat is still read to its end."""
    from sfb_feeds import loader

    data = b"x" * 10_000
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    real_fstat = os.fstat

    class Small:
        def __init__(self, fd: int) -> None:
            self.st_size = 10
            self.st_mode = real_fstat(fd).st_mode

    monkeypatch.setattr(loader.os, "fstat", lambda fd: Small(fd) if fd > 2 else real_fstat(fd))
    assert list(loader.read_ahead([str(path)])) == [(str(path), data)]


FINGERPRINTED = ("title: Stop the war\ndate: 2015-09-04\nlanguage: en\nexcerpt: Text.\n"
                 "url: https://example.org/s\n")
FINGERPRINT_OF = """
import sys
from zoneinfo import ZoneInfo
from sfb_feeds.validate import RecordContext, validate_record
from sfb_feeds.yamlio import compose
node = compose(sys.stdin.read())
context = RecordContext(path="x.yaml", record=1, tz=ZoneInfo("UTC"), domain="example.org")
print(validate_record(node, context)
      .statements[0].fingerprint)
"""


def test_a_fingerprint_depends_on_the_values_alone() -> None:
    """A statement's fingerprint (what its render keys are made of) is the same for equal
    values, whether or not one object holds two of them (the id taken from the url is the
    url's own string; marshal's later versions mark objects referred to more than once),
    and in a fresh interpreter; it changes when a value does."""
    import subprocess
    import sys

    def fingerprint(text: str) -> str:
        return subprocess.run([sys.executable, "-c", FINGERPRINT_OF], input=text,
                              capture_output=True, text=True, check=True).stdout.strip()

    shared = fingerprint(FINGERPRINTED)  # its id is its url's string
    assert fingerprint(FINGERPRINTED + "id: https://example.org/s\n") == shared
    assert fingerprint(FINGERPRINTED.replace("Text.", "Text!")) != shared
    assert len({fingerprint(FINGERPRINTED) for _ in range(2)} | {shared}) == 1


@pytest.mark.skipif(not hasattr(os, "posix_fadvise") or not Path("/proc/self/fd").is_dir(),
                    reason="needs posix_fadvise and /proc (Linux)")
def test_files_read_ahead_come_back_whole_in_order_with_their_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``read_ahead`` gives what reading each file gives, in order, an error in place of a
    file that cannot be read, and asks the kernel to fetch the next files meanwhile."""
    from sfb_feeds import loader

    paths = []
    for number in range(50):
        path = tmp_path / f"{number:02d}.yaml"
        path.write_bytes(f"title: {number}\n".encode() * (number * 40 + 1))
        paths.append(str(path))
    paths[7] = str(tmp_path / "missing.yaml")
    paths[9] = str(tmp_path)  # a folder: opens, but cannot be read
    advised: list[int] = []
    advise = os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_WILLNEED
        advised.append(fd)
        advise(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", spy)
    got = []
    for path, data in loader.read_ahead(paths, window=8):
        got.append((path, data))
        if len(got) == 1:
            assert len(advised) == 7  # the first 8 opened (one missing), all advised
    assert [path for path, _ in got] == paths
    for path, data in got:
        if path.endswith("missing.yaml"):
            assert isinstance(data, FileNotFoundError)
        elif path == str(tmp_path):  # refused as a folder (only regular files are read)
            assert isinstance(data, OSError) and "is a folder" in str(data.strerror)
        else:
            assert data == Path(path).read_bytes()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_files_read_ahead_are_closed_when_reading_stops_half_way(tmp_path: Path) -> None:
    from sfb_feeds import loader

    paths = []
    for number in range(40):
        (tmp_path / f"{number}.yaml").write_text("title: x\n")
        paths.append(str(tmp_path / f"{number}.yaml"))
    before = len(os.listdir("/proc/self/fd"))
    reads = loader.read_ahead(paths, window=16)
    next(reads)
    assert len(os.listdir("/proc/self/fd")) >= before + 15  # opened ahead
    reads.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_bare_date_is_published_from_the_day_s_start_at_noon(make_site: SiteMaker) -> None:
    """README: a bare date is published from that day's start in site.timezone, and feeds
    give it the time 12:00 that day (docs/feeds.md)."""
    from cli_run import run

    config = make_site({"a.yaml": "id: urn:sfb:a\ntitle: A\ndate: 2015-07-04\nlanguage: en\n"
                                  "excerpt: x\n"})  # London: UTC+1 in July
    build = ["build", "--config", str(config), "--now"]
    assert run([*build, "2015-07-03T22:59:00+00:00"])[0] == 0
    assert not (config.parent / "feeds" / "en").exists()
    assert run([*build, "2015-07-03T23:00:00+00:00"])[0] == 0
    feed = json.loads((config.parent / "feeds" / "en" / "feed.json").read_text())
    assert feed["items"][0]["date_published"] == "2015-07-04T12:00:00+01:00"


def test_statement_files_with_an_upper_case_suffix_are_read(make_site: SiteMaker) -> None:
    """``x.YAML`` and ``x.Yml`` (as some editors and systems write them) are statement files
    too: skipping them left a statement unpublished without a word."""
    files = {f"{name}.{suffix}": f"title: {name}\ndate: 2015-09-04\nlanguage: en\n"
                                 f"excerpt: x\nid: urn:sfb:{name}\n"
             for name, suffix in (("lower", "yaml"), ("upper", "YAML"), ("mixed", "Yml"))}
    config = make_site(files)
    code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, err) == (0, "")
    feed = etree.parse(str(config.parent / "feeds" / "en" / "atom.xml"))
    titles = feed.xpath("//a:entry/a:title/text()", namespaces={"a": "http://www.w3.org/2005/Atom"})
    assert sorted(titles) == ["lower", "mixed", "upper"]
    broken = make_site({"a.YAML": "title: A\ndate: someday\nlanguage: en\nexcerpt: x\n"},
                       folder="broken")
    code, _, err = run(["check", "--config", str(broken)])
    assert code == 1
    assert "a.YAML:2: record 1: date: someday is not a date" in err
