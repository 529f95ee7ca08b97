"""Time through the command line: the run's clock (``--now``), weeks, time zones and
scheduled statements, checked in what the commands print and write."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker

NEW_YORK = "site:\n  title: T\n  url: https://example.org/\n  timezone: America/New_York\n"
ATOM = "{http://www.w3.org/2005/Atom}"


def record(title: str, date: str) -> str:
    return (f"- {{title: {title}, date: '{date}', language: en, excerpt: x, "
            f"id: 'urn:sfb:{title}'}}\n")


def titles(config: Path) -> list[str]:
    feed = ET.parse(config.parent / "feeds" / "en" / "atom.xml").getroot()
    return [entry.findtext(f"{ATOM}title") or "" for entry in feed.iter(f"{ATOM}entry")]


def test_now_without_an_offset_is_a_time_in_the_site_timezone(make_site: SiteMaker) -> None:
    """A date (or a date-time) typed without an offset is read as records' dates are: in
    ``site.timezone``, not in UTC (New York's Monday started 4 hours after UTC's)."""
    config = make_site({"a.yaml": record("Sunday", "2015-09-13") + record("Monday", "2015-09-14")},
                       config=NEW_YORK)
    code, out, err = run(["check", "--config", str(config), "--now", "2015-09-14"])
    assert (code, err) == (0, "")
    assert "2 statements OK in 1 language (0 scheduled, 0 drafts)" in out
    code, out, err = run(["digest", "--config", str(config), "--now", "2015-09-14",
                          "--part", "paths"])
    assert (code, out, err) == (0, "digests/en/2015-W37.html\ndigests/en/2015-W37.txt\n"
                                   "digests/en/2015-W37.eml\n", "")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-14T00:00"])
    assert (code, err) == (0, "")
    assert titles(config) == ["Monday", "Sunday"]
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-13T23:59:59"])
    assert (code, err) == (0, "")
    assert titles(config) == ["Sunday"]


@pytest.mark.parametrize("now", ["2015-09-14t04:00z", "2015-09-14 04:00:00z",
                                 "2015-09-14t00:00-04:00"])
def test_now_takes_the_lowercase_t_and_z_records_take(make_site: SiteMaker, now: str) -> None:
    config = make_site({"a.yaml": record("Monday", "2015-09-14")}, config=NEW_YORK)
    code, out, err = run(["check", "--config", str(config), "--now", now])
    assert (code, err) == (0, "")
    assert "1 statement OK in 1 language (0 scheduled, 0 drafts)" in out


def test_an_edit_on_the_morning_of_a_dated_day_is_not_before_its_publication(
        make_site: SiteMaker) -> None:
    """A date without a time is published at noon in feeds; an ``updated`` earlier that
    day (allowed: not before the day's start) must not make an entry modified before it
    was published: it is published then."""
    import calendar
    import json

    import feedparser

    config = make_site({"a.yaml": "title: A\ndate: 2015-09-06\nlanguage: en\nexcerpt: x\n"
                                  "id: urn:sfb:a\nupdated: 2015-09-06T08:00:00+01:00\n"})
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    feeds = config.parent / "feeds" / "en"
    item = json.loads((feeds / "feed.json").read_text(encoding="utf-8"))["items"][0]
    assert (item["date_published"], item["date_modified"]) == (
        "2015-09-06T08:00:00+01:00", "2015-09-06T08:00:00+01:00")
    for name in ("atom.xml", "rss.xml"):
        entry = feedparser.parse((feeds / name).read_bytes()).entries[0]
        assert calendar.timegm(entry.published_parsed) == 1441522800  # 07:00 UTC
        if "updated_parsed" in entry:
            assert calendar.timegm(entry.updated_parsed) == 1441522800


@pytest.mark.parametrize(("date", "written"), [("0002-01-01", "Tue, 01 Jan 0002 12:00:00 +0000"),
                                               ("0999-06-01", "Sat, 01 Jun 0999 12:00:00 +0000")])
def test_rss_dates_before_the_year_1000_have_four_digit_years(make_site: SiteMaker, date: str,
                                                              written: str) -> None:
    """RFC 822/5322 dates have a 4-digit year: "2" would be read as 2002, "999" as 2899."""
    config = make_site({"a.yaml": record("Old", date)},
                       config="site:\n  title: T\n  url: https://example.org/\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    channel = ET.parse(config.parent / "feeds" / "en" / "rss.xml").getroot().find("channel")
    assert channel is not None
    assert channel.findtext("lastBuildDate") == written
    assert channel.findtext("item/pubDate") == written


@pytest.mark.parametrize("zone", ["Europe", "America", "Etc"])
def test_a_folder_of_the_timezone_database_is_not_a_timezone(make_site: SiteMaker,
                                                             zone: str) -> None:
    config = make_site({"a.yaml": record("A", "2015-09-06")},
                       config=NEW_YORK.replace("America/New_York", zone))
    for command in ("check", "build"):
        code, out, err = run([command, "--config", str(config)])
        assert (code, out) == (1, "")
        assert err == (f"error: site/sfb-feeds.yaml:4: site.timezone: '{zone}' is not an IANA "
                       "timezone (e.g. UTC, Europe/London)\n")
    assert not (config.parent / "feeds").exists()


@pytest.mark.parametrize("date", ["2015-09-06T23:30:00+01:00:00.5", "2015-09-06T23:30:00+05:45:30"])
def test_a_utc_offset_with_seconds_is_refused(make_site: SiteMaker, date: str) -> None:
    """RFC 3339 offsets are ±HH:MM (README); Python reads seconds and fractions too, which
    the record cache kept as whole seconds (+01:00:00.5 became +01:00, half a second off)."""
    config = make_site({"a.yaml": record("A", date)})
    code, out, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, out) == (1, "")
    assert err == (f"error: site/statements/a.yaml:1: record 1: date: {date}: its UTC offset "
                   "has seconds; write it as ±HH:MM (e.g. +01:00)\n")
    assert not (config.parent / "feeds").exists()


def test_a_date_in_a_zone_whose_offset_then_had_seconds_builds(make_site: SiteMaker) -> None:
    """London's offset in the year 2 (local mean time) is -00:01:15: a date there is fine,
    and feeds write the moment in UTC."""
    config = make_site({"a.yaml": record("Old", "0002-01-01")})
    code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, err) == (0, "")
    feed = ET.parse(config.parent / "feeds" / "en" / "atom.xml").getroot()
    assert feed.findtext(f"{ATOM}entry/{ATOM}published") == "0002-01-01T12:01:15+00:00"
NOW_FORMS = ("use YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or ±HH:MM "
             "(without one: a time in site.timezone)")


@pytest.mark.parametrize("now", ["2026-W01", "2015-W37-1", "20150914", "20150914T0400Z",
                                 "2015-09-14T04", "2015-09-14T04:00+0100",
                                 "2015-09-14T04:00+01:00:30", "2015-09-14T04:00:00,5Z",
                                 "2015-09-14T04:00 Europe/London", "now+1", "2015-09-14T"])
def test_now_refuses_the_forms_it_does_not_document(
        make_site: SiteMaker, capsys: pytest.CaptureFixture[str], now: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    code, out, _ = run(["check", "--config", str(config), "--now", now])
    assert (code, out) == (2, "")  # argparse's message, on the real standard error
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"sfb-feeds check: error: argument --now: {now!r} is not a date or date-time; "
        f"{NOW_FORMS}")


@pytest.mark.parametrize("now", ["2015-09-14", "2015-09-14T04:00", "2015-09-14 04:00:00",
                                 "2015-09-14T04:00:00.123456", "2015-09-14t04:00z",
                                 "2015-09-14T05:00+01:00", "2015-09-13T23:00-05:00"])
def test_now_takes_the_forms_it_documents(make_site: SiteMaker, now: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    code, out, err = run(["check", "--config", str(config), "--now", now])
    assert (code, err) == (0, "")
    assert out.startswith("1 statement OK")


@pytest.mark.parametrize("command", ["check", "build", "digest", "send"])
def test_now_help_lists_the_forms_it_takes(capsys: pytest.CaptureFixture[str],
                                           command: str) -> None:
    assert run([command, "--help"])[0] == 0
    out = capsys.readouterr().out
    # (argparse wraps lines at spaces and hyphens)
    assert "YYYY-MM-DDorYYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM](withoutanoffset:atime" \
           "insite.timezone" in "".join(out.split())


