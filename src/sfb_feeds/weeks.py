"""Digest weeks: seven days in the site's timezone from ``digests.week_starts``, named after
the ISO week of their fourth day (as ISO assigns weeks to years), so each label names
exactly one week whatever the start (docs/digests.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from .model import Settings

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_LABEL = re.compile(r"([0-9]{4})-W([0-9]{2})")  # ASCII digits, the whole label
_MIDDLE = 3  # days from a week's first day to the day that names it, and from it to the last
# Dates, --now and --week must lie in these years: a week, its bounds in any timezone and
# the week before it then stay inside what Python's dates can hold (years 1 to 9999).
FIRST_YEAR, LAST_YEAR = 2, 9998
YEARS = f"{FIRST_YEAR:04d} to {LAST_YEAR:04d}"
# The days a statement of those years can fall on in the site's timezone: a moment written
# with an offset (less than a day) seen from a zone (less than a day away the other way)
# lands at most two days outside them, so a week of the year 1 or 9999 may have a digest.
_REACH = timedelta(days=2)
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1) - _REACH, date(LAST_YEAR, 12, 31) + _REACH


@dataclass(frozen=True, slots=True)
class Week:
    """One digest week: its label and its first and last day (inclusive, site timezone)."""

    label: str
    first: date
    last: date


def _start_weekday(settings: Settings) -> int:
    return WEEKDAYS.index(settings.digests.week_starts)  # (config gives a known name, lowercase)


def week_of_day(day: date, settings: Settings) -> Week:
    first = day - timedelta(days=(day.weekday() - _start_weekday(settings)) % 7)
    year, number, _ = (first + timedelta(days=_MIDDLE)).isocalendar()
    return Week(f"{year:04d}-W{number:02d}", first, first + timedelta(days=6))


def week_of(moment: datetime, settings: Settings) -> Week:
    """The digest week that holds ``moment`` (an aware datetime), in the site timezone."""
    return week_of_day(moment.astimezone(settings.site.tz).date(), settings)


def parse_week(label: str, settings: Settings) -> Week:
    """The digest week named ``label`` (``2015-W36``); ValueError says what is wrong."""
    match = _LABEL.fullmatch(label)
    if match is None:
        raise ValueError(f"{label!r} is not an ISO week (use YYYY-Www, e.g. 2015-W36)")
    year, number = int(match[1]), int(match[2])
    outside = ValueError(f"{label!r} is outside the years {YEARS} that digests cover")
    if not FIRST_YEAR - 1 <= year <= LAST_YEAR + 1:
        raise outside
    try:
        middle = date.fromisocalendar(year, number, (_start_weekday(settings) + _MIDDLE) % 7 + 1)
    except ValueError:
        raise ValueError(f"{label!r}: {year} has no week {number}") from None
    # (A week that holds no day a statement can fall on: one ending before FIRST_DAY or
    # starting after LAST_DAY; checked on its middle, as its first or last day may be no date.)
    if not FIRST_DAY - timedelta(days=_MIDDLE) <= middle <= LAST_DAY + timedelta(days=_MIDDLE):
        raise outside
    return Week(label, middle - timedelta(days=_MIDDLE), middle + timedelta(days=_MIDDLE))


def _day_start(day: date, tz: tzinfo) -> datetime:
    """The first moment of ``day`` as the clocks of ``tz`` read it: midnight, or where they
    skipped it, the time they jumped to (a skipped midnight has the offset before the jump;
    the round trip through UTC gives the same moment with the offset then in force). A
    midnight read twice is the first."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC).astimezone(tz)


def week_bounds(week: Week, settings: Settings) -> tuple[datetime, datetime]:
    """The week as aware datetimes: its first moment and the first moment after it, in the
    site's timezone as its clocks read them."""
    tz = settings.site.tz
    return _day_start(week.first, tz), _day_start(week.last + timedelta(days=1), tz)


def last_complete_week(now: datetime, settings: Settings) -> Week:
    """The newest week that has entirely passed at ``now`` (the week before ``now``'s)."""
    return week_of_day(week_of(now, settings).first - timedelta(days=1), settings)
