"""Calendar edges seen in what the commands write and accept: a digest's Date header in a
zone that then kept local mean time (an offset with seconds), and the weeks at the edges of
the years records may hold, which ``build`` writes and ``digest``/``send --week`` name."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_run import run
from conftest import SiteMaker

LISTS = "digests:\n  from: T <d@example.org>\n  lists:\n    en: l@example.org\n"


def config_for(timezone: str, week_starts: str = "monday") -> str:
    return (f"site:\n  title: T\n  url: https://example.org/\n  timezone: {timezone}\n"
            f"{LISTS}  week_starts: {week_starts}\n")


def record(date: str) -> str:
    return f"title: A\ndate: '{date}'\nlanguage: en\nexcerpt: x\nid: urn:sfb:a\n"


def digest_weeks(config: Path) -> list[str]:
    return sorted(path.stem for path in (config.parent / "feeds" / "digests" / "en").glob("*.eml"))


@pytest.mark.parametrize(("timezone", "end"), [
    # Paris kept its local mean time, +00:09:21, until 1891; New York, -04:56:02, until 1883.
    ("Europe/Paris", datetime(1871, 3, 19, 23, 50, 39, tzinfo=UTC)),
    ("America/New_York", datetime(1871, 3, 20, 4, 56, 2, tzinfo=UTC)),
])
def test_the_date_header_of_a_week_kept_in_local_mean_time_is_a_valid_rfc_5322_date(
        make_site: SiteMaker, timezone: str, end: datetime) -> None:
    """RFC 5322 writes a zone as ±HHMM: an offset with seconds (``+000921``) is no date a
    mail reader can read (Python's parser took Paris's for +09:21, nine hours off, and
    gave up on New York's). The week's end is then written in UTC, the same moment."""
    config = make_site({"a.yaml": record("1871-03-18")}, config=config_for(timezone))
    code, _, err = run(["build", "--config", str(config), "--now", "2015-01-01"])
    assert (code, err) == (0, "")
    eml = config.parent / "feeds" / "digests" / "en" / "1871-W11.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Date"].datetime == end
    assert message["Date"].datetime.utcoffset() == end.utcoffset()


def test_a_date_header_keeps_a_whole_minute_offset(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": record("2015-04-25")}, config=config_for("Asia/Kathmandu"))
    code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, err) == (0, "")
    eml = config.parent / "feeds" / "digests" / "en" / "2015-W17.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert str(message["Date"]) == "Mon, 27 Apr 2015 00:00:00 +0545"


@pytest.mark.parametrize(("timezone", "week_starts", "date", "week"), [
    # 0002-01-01 is a Tuesday: a week from Thursday holds it with four days of the year 1.
    ("UTC", "thursday", "0002-01-01", "0001-W52"),
    # Written with an offset, a moment of 0002 may fall on a day of 0001 in the site's zone.
    ("Etc/GMT+12", "monday", "0002-01-01T00:00:00+14:00", "0001-W52"),
])
@pytest.mark.parametrize("command", ["digest", "send"])
def test_a_week_that_build_writes_at_the_first_year_can_be_named(
        make_site: SiteMaker, timezone: str, week_starts: str, date: str, week: str,
        command: str) -> None:
    """``build`` writes the digest of every week with statements; ``digest --week`` and
    ``send --week`` must take its label, not call it outside the years digests cover."""
    config = make_site({"a.yaml": record(date)}, config=config_for(timezone, week_starts))
    code, _, err = run(["build", "--config", str(config), "--now", "0002-02-01"])
    assert (code, err) == (0, "")
    assert digest_weeks(config) == [week]
    options = ["--part", "paths"] if command == "digest" else ["--dry-run"]
    code, out, err = run([command, "--config", str(config), "--week", week,
                          "--now", "0002-02-01", *options])
    assert (code, err) == (0, "")
    assert f"digests/en/{week}.eml" in out


@pytest.mark.parametrize(("timezone", "date", "week", "header"), [
    # Tehran's clocks went from 00:00 to 01:00 on Sunday 22 March 2015; Beirut's on Sunday
    # 29 March 2015: no clock showed midnight, so the week ends at 01:00, the new offset.
    ("Asia/Tehran", "2015-03-18", "2015-W12", "Sun, 22 Mar 2015 01:00:00 +0430"),
    ("Asia/Beirut", "2015-03-25", "2015-W13", "Sun, 29 Mar 2015 01:00:00 +0300"),
    # Havana's clocks went from 01:00 back to 00:00 on Sunday 1 November 2015: the week
    # ends at the first midnight, still at the summer offset.
    ("America/Havana", "2015-10-28", "2015-W44", "Sun, 01 Nov 2015 00:00:00 -0400"),
])
def test_a_week_ending_where_midnight_never_struck_is_dated_as_the_clocks_read(
        make_site: SiteMaker, timezone: str, date: str, week: str, header: str) -> None:
    """The Date header is the week's end in the site's timezone: a time its clocks showed,
    with the offset then in force (RFC 5322 3.3), not a midnight that was skipped written
    with the offset before the change (``00:00:00 +0330``, which Tehran never read)."""
    config = make_site({"a.yaml": record(date)}, config=config_for(timezone, "sunday"))
    code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, err) == (0, "")
    eml = config.parent / "feeds" / "digests" / "en" / f"{week}.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert str(message["Date"]) == header


def published_ids(config: Path) -> list[str]:
    """The ids of the entries the whole site's Atom feed publishes."""
    from xml.etree import ElementTree

    atom = "{http://www.w3.org/2005/Atom}"
    tree = ElementTree.parse(config.parent / "feeds" / "atom.xml")
    return sorted(entry.findtext(f"{atom}id") or "" for entry in tree.iter(f"{atom}entry"))


@pytest.mark.parametrize(("now", "published"), [
    # London's clocks skipped 01:00-02:00 on 27 March 2016: a local 01:30 is read with the
    # offset before the jump, 01:30 GMT (read as 01:30 BST, it would be 00:30 UTC and
    # publish the first statement alone).
    ("2016-03-27T01:30", ["0020", "0040", "0120"]),
    # They showed 01:00-02:00 twice on 30 October 2016: a local 01:30 is the first, 01:30
    # BST, 00:30 UTC (the second, GMT, would publish three).
    ("2016-10-30T01:30", ["0020"]),
])
def test_now_at_a_local_time_skipped_or_shown_twice(make_site: SiteMaker, now: str,
                                                    published: list[str]) -> None:
    day = now[:10]  # statements at 00:20, 00:40, 01:20 and 01:40 UTC that day
    files = {f"{n}.yaml": (f"title: At {n}\ndate: '{day}T{n[:2]}:{n[2:]}:00Z'\n"
                           f"language: en\nexcerpt: x\nid: urn:sfb:{n}\n")
             for n in ("0020", "0040", "0120", "0140")}
    config = make_site(files, config=config_for("Europe/London"))
    assert run(["build", "--quiet", "--config", str(config), "--now", now])[0] == 0
    assert published_ids(config) == [f"urn:sfb:{n}" for n in published]
