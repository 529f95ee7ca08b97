"""`sfb-feeds import` never writes a record that `sfb-feeds check` would refuse: a bad
--base-url is a usage error, and a statement whose record check refuses is skipped."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sfb_feeds.cli import main

CONFIG = """\
site:
  title: Socialism From Below
  url: https://www.istendency.net/
statements: statements
"""

GOOD = """\
Dockers walk out over Sunday shifts

Monday 2nd June 2014

Dock workers at the container port stopped work at dawn after the operator announced
compulsory Sunday shifts without extra pay ...

Full statement
"""
GOOD_FILE = "2014-06-02-dockers-walk-out-over-sunday-shifts.yaml"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def statement(title: str, date_line: str, excerpt: str) -> str:
    return f"{title}\n\n{date_line}\n\n{excerpt}\n\nFull statement\n\n"


def import_then_check(listing: str) -> tuple[int, str, str]:
    """Import ``listing`` (as listing.txt) into statements/, check that `check` accepts
    what was written, and give the import's exit code, output and warnings."""
    Path("sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    Path("listing.txt").write_text(listing, encoding="utf-8")
    result = run_cli("import", "listing.txt", "--out", "statements",
                     "--base-url", "https://www.istendency.net/")
    code, out, err = run_cli("check", "--config", "sfb-feeds.yaml")
    assert (code, err) == (0, ""), err
    assert out.startswith("1 statement OK")
    return result


@pytest.mark.parametrize(("date_line", "year"), [
    ("Friday 31st December 9999", "9999-12-31"),
    ("Monday 1st January 0001", "0001-01-01"),
])
def test_a_date_outside_the_years_feeds_cover_is_skipped(date_line: str, year: str) -> None:
    listing = statement("Far away", date_line, "Nobody will read this statement in time ...")
    code, out, err = import_then_check(listing + GOOD)
    assert code == 0
    assert err == (f"warning: listing.txt:1: 'Far away' cannot be imported: date: {year} is "
                   "outside the years 0002 to 9998 that feeds and digests cover; statement "
                   "skipped\n")
    assert out == ("1 record written, 0 already present (left unchanged), 0 to review\n"
                   f"  wrote statements/{GOOD_FILE}\n")
    assert sorted(p.name for p in Path("statements").iterdir()) == [GOOD_FILE]


def test_an_excerpt_over_the_size_limit_is_skipped() -> None:
    words = " ".join(["solidarity"] * 100_000) + " ..."
    listing = statement("A very long statement", "Monday 2nd June 2014", words)
    assert len(words.encode()) > 1024 * 1024
    code, out, err = import_then_check(listing + GOOD)
    assert code == 0
    assert err == ("warning: listing.txt:1: 'A very long statement' cannot be imported: "
                   "excerpt: is longer than 1048576 bytes (limits.excerpt_bytes); shorten it "
                   "(a feed carries an excerpt, not the whole text); statement skipped\n")
    assert sorted(p.name for p in Path("statements").iterdir()) == [GOOD_FILE]
    assert out.startswith("1 record written, ")


NOT_URL = "is not an absolute http(s) address with a host and no spaces"
QUERY = "has a query or a fragment ('?' or '#'), so every id and url would point at one page; " \
        "leave it out"


@pytest.mark.parametrize(("base", "shown", "why"), [
    ("https://ex.org/a b", "https://ex.org/a b", NOT_URL),
    (" https://ex.org/", " https://ex.org/", NOT_URL),
    ("https://ex.org/\tsub", "https://ex.org/\\x09sub", NOT_URL),
    ("https://:443/", "https://:443/", NOT_URL),
    ("http://[::1", "http://[::1", NOT_URL),
    ("https://[::1/sub", "https://[::1/sub", NOT_URL),
    ("https://ex.org/sub/?x=1#frag", "https://ex.org/sub/?x=1#frag", QUERY),
    ("https://ex.org/sub/?", "https://ex.org/sub/?", QUERY),
    ("https://ex.org#top", "https://ex.org#top", QUERY),
])
def test_a_bad_base_url_is_a_usage_error_and_writes_nothing(base: str, shown: str,
                                                             why: str) -> None:
    Path("listing.txt").write_text(GOOD, encoding="utf-8")
    code, out, err = run_cli("import", "listing.txt", "--out", "statements", "--base-url", base)
    assert (code, out) == (2, "")
    assert err == (f"error: base URL '{shown}' {why} (e.g. --base-url "
                   "https://www.istendency.net)\n(see: sfb-feeds import --help)\n")
    assert not Path("statements").exists()


def test_a_site_url_with_a_query_is_no_base_url() -> None:
    """Without --base-url, ids are made under site.url: the same rules apply to it (the
    config sets feeds_url, which a site.url with a query needs)."""
    config = CONFIG.replace(".net/\n", ".net/?lang=en\n  feeds_url: https://www.istendency.net/f/\n")
    Path("sfb-feeds.yaml").write_text(config, encoding="utf-8")
    Path("listing.txt").write_text(GOOD, encoding="utf-8")
    code, out, err = run_cli("import", "listing.txt", "--config", "sfb-feeds.yaml")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: base URL 'https://www.istendency.net/?lang=en' {QUERY}")
    assert not Path("statements").exists()


@pytest.mark.parametrize("base", ["https://ex.org/sub/", "http://EX.org:8080/sub",
                                  "https://ex.org"])
def test_a_good_base_url_gives_ids_under_it(base: str) -> None:
    Path("sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    Path("listing.txt").write_text(GOOD, encoding="utf-8")
    code, _, err = run_cli("import", "listing.txt", "--out", "statements", "--base-url", base)
    assert (code, err) == (0, "")
    text = (Path("statements") / GOOD_FILE).read_text(encoding="utf-8")
    stem = GOOD_FILE.removesuffix(".yaml")
    assert f"\nid: {base.rstrip('/')}/statements/{stem}\n" in text
    code, out, err = run_cli("check", "--config", "sfb-feeds.yaml")
    assert (code, err) == (0, "")
    assert out.startswith("1 statement OK")


@pytest.mark.parametrize(("limits", "reason"), [
    ("file_bytes: 4096", "the record would be larger than 4096 bytes (limits.file_bytes)"),
    ("excerpt_bytes: 1000", "excerpt: is longer than 1000 bytes (limits.excerpt_bytes); shorten "
     "it (a feed carries an excerpt, not the whole text)"),
])
def test_the_configs_limits_apply_when_it_is_read(limits: str, reason: str) -> None:
    """Without --out or --base-url the import reads the config: its limits are check's."""
    Path("sfb-feeds.yaml").write_text(f"{CONFIG}limits:\n  {limits}\n", encoding="utf-8")
    title = " ".join(["Solidarity"] * 400)
    listing = statement(title, "Monday 2nd June 2014", " ".join(["Dock workers"] * 100) + " ...")
    Path("listing.txt").write_text(listing + GOOD, encoding="utf-8")
    code, out, err = run_cli("import", "listing.txt", "--config", "sfb-feeds.yaml")
    assert (code, out.splitlines()[0]) == (0, "1 record written, 0 already present (left "
                                              "unchanged), 0 to review")
    assert err == (f"warning: listing.txt:1: '{title}' cannot be imported: {reason}; statement "
                   "skipped\n")
    assert sorted(p.name for p in Path("statements").iterdir()) == [GOOD_FILE]
    assert run_cli("check", "--config", "sfb-feeds.yaml")[::2] == (0, "")


@pytest.mark.parametrize("invisible", ["\u2061", "\u2062", "\u2063", "\u2064", "\u180e"])
def test_a_title_is_written_as_check_reads_it(invisible: str) -> None:
    """Invisible characters check drops from a title (with a warning) are dropped on import."""
    listing = GOOD.replace("Sunday shifts", f"Sunday{invisible} shifts")
    import_then_check(listing)  # (check: no warning)
    text = (Path("statements") / GOOD_FILE).read_text(encoding="utf-8")
    assert "\ntitle: Dockers walk out over Sunday shifts\n" in text
