"""Digest weeks: site timezone, ISO 8601 year edges, configurable first day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_digest_factory import settings

from sfb_feeds.weeks import (
    WEEKDAYS,
    last_complete_week,
    parse_week,
    week_bounds,
    week_of,
    week_of_day,
)

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2015, 8, 31), "2015-W36"),  # Monday
        (date(2015, 9, 6), "2015-W36"),  # Sunday
        (date(2015, 9, 7), "2015-W37"),
        (date(2020, 12, 31), "2020-W53"),  # ISO year edges
        (date(2021, 1, 3), "2020-W53"),
        (date(2021, 1, 4), "2021-W01"),
        (date(2019, 12, 30), "2020-W01"),  # a December day in next year's week 1
        (date(2016, 1, 1), "2015-W53"),
        (date(2027, 1, 1), "2026-W53"),
    ],
)
def test_monday_weeks_are_the_iso_weeks(day: date, label: str) -> None:
    week = week_of_day(day, settings())
    assert week.label == label
    assert week.first.weekday() == 0 and week.last - week.first == timedelta(days=6)
    assert week.first <= day <= week.last


def test_a_moment_belongs_to_its_week_in_the_site_timezone() -> None:
    # Sunday 23:30 in London is already Monday in UTC+2 and still Sunday in London.
    moment = datetime(2015, 9, 6, 22, 30, tzinfo=UTC)  # 23:30 BST
    assert week_of(moment, settings(timezone="Europe/London")).label == "2015-W36"
    assert week_of(moment, settings(timezone="Europe/Istanbul")).label == "2015-W37"
    # Monday 00:30 in Auckland is still Sunday in UTC.
    early = datetime(2015, 9, 7, 0, 30, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert week_of(early, settings(timezone="Pacific/Auckland")).label == "2015-W37"
    assert week_of(early, settings(timezone="UTC")).label == "2015-W36"


def test_year_edge_in_the_site_timezone() -> None:
    # 2021-01-03 23:30 in London is 2021-01-04 in Tokyo: weeks 53 and 1.
    moment = datetime(2021, 1, 3, 23, 30, tzinfo=LONDON)
    assert week_of(moment, settings(timezone="Europe/London")).label == "2020-W53"
    assert week_of(moment, settings(timezone="Asia/Tokyo")).label == "2021-W01"


@pytest.mark.parametrize("start", WEEKDAYS)
def test_every_week_start_gives_seven_day_weeks_with_unique_labels(start: str) -> None:
    config = settings(week_starts=start)
    day = date(2019, 12, 1)
    labels: dict[str, date] = {}
    while day < date(2022, 2, 1):
        week = week_of_day(day, config)
        assert WEEKDAYS[week.first.weekday()] == start
        assert week.first <= day <= week.last == week.first + timedelta(days=6)
        assert labels.setdefault(week.label, week.first) == week.first  # one week per label
        assert parse_week(week.label, config) == week  # and back
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "day", "label", "first"),
    [
        # A Sunday-start week is named after the ISO week holding six of its days.
        ("sunday", date(2015, 8, 30), "2015-W36", date(2015, 8, 30)),
        ("sunday", date(2015, 9, 5), "2015-W36", date(2015, 8, 30)),
        ("sunday", date(2015, 9, 6), "2015-W37", date(2015, 9, 6)),
        ("saturday", date(2021, 1, 1), "2020-W53", date(2020, 12, 26)),
        ("saturday", date(2021, 1, 2), "2021-W01", date(2021, 1, 2)),
        ("thursday", date(2020, 12, 31), "2020-W53", date(2020, 12, 31)),  # 4 days in W53
        ("thursday", date(2021, 1, 7), "2021-W01", date(2021, 1, 7)),
    ],
)
def test_other_week_starts(start: str, day: date, label: str, first: date) -> None:
    week = week_of_day(day, settings(week_starts=start))
    assert (week.label, week.first) == (label, first)


def test_bounds_are_local_midnights_across_a_clock_change() -> None:
    config = settings(timezone="Europe/London")
    start, end = week_bounds(parse_week("2015-W44", config), config)  # BST ends 25 October
    assert start == datetime(2015, 10, 26, tzinfo=LONDON)
    assert end == datetime(2015, 11, 2, tzinfo=LONDON)
    start, end = week_bounds(parse_week("2015-W43", config), config)
    assert (start.isoformat(), end.isoformat()) == (
        "2015-10-19T00:00:00+01:00", "2015-10-26T00:00:00+00:00")
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=7, hours=1)


def test_last_complete_week() -> None:
    config = settings()
    assert last_complete_week(datetime(2015, 9, 9, 12, tzinfo=UTC), config).label == "2015-W36"
    # At the very first moment of a week, the week before has just completed.
    monday = datetime(2015, 9, 7, tzinfo=LONDON)
    assert last_complete_week(monday, config).label == "2015-W36"
    assert last_complete_week(monday - timedelta(seconds=1), config).label == "2015-W35"
    assert last_complete_week(datetime(2021, 1, 6, tzinfo=UTC), config).label == "2020-W53"
    assert week_of(monday, config).label == "2015-W37"


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2015-36", "'2015-36' is not an ISO week (use YYYY-Www, e.g. 2015-W36)"),
        ("2015-W6", "'2015-W6' is not an ISO week (use YYYY-Www, e.g. 2015-W36)"),
        ("2019-W53", "'2019-W53': 2019 has no week 53"),
        ("2015-W00", "'2015-W00': 2015 has no week 0"),
    ],
)
def test_bad_week_labels(label: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_week(label, settings())
    assert str(caught.value) == message
