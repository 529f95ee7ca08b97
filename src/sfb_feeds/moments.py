"""When feeds say a statement was published and modified: the moments every format writes,
and the order every output lists statements in (:func:`site.make_site`)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from .model import Statement


def feed_moment(moment: datetime) -> datetime:
    """``moment`` as a feed publishes it: a date without a time at noon, an offset that is
    not a whole half hour in UTC (docs/feeds.md). Only a date-only record's moment has a
    ``ZoneInfo`` (the site's); a written time carries a fixed offset."""
    if isinstance(moment.tzinfo, ZoneInfo) and moment.time() == time():
        moment = moment.replace(hour=12)
    offset = moment.utcoffset()
    if offset is None or offset.total_seconds() % 1800:
        return moment.astimezone(UTC)
    return moment


def published_moment(statement: Statement) -> datetime:
    """When feeds say the statement was published: its ``date`` as :func:`feed_moment`
    gives it, or its ``updated`` if that is earlier (an edit on the morning of a day whose
    noon stands for it: never modified before published)."""
    return min(feed_moment(statement.date), feed_moment(statement.updated))


def published_timestamp(statement: Statement) -> float:
    """:func:`published_moment` in POSIX seconds, the key outputs are sorted by. Cached by
    the two moments (statements share days; converting every date in its zone cost a
    build of 10,000 statements ~35 ms, a cached one ~9 ms)."""
    date, updated = statement.date, statement.updated
    return _published_at(date, date.tzinfo, date.fold, updated, updated.tzinfo, updated.fold)


@functools.lru_cache(maxsize=65536)
def _published_at(date: datetime, date_zone: tzinfo | None, date_fold: int,
                  updated: datetime, updated_zone: tzinfo | None, updated_fold: int) -> float:
    """The zones and folds are part of the key: moments of one instant compare equal
    whatever their zone, and moments of one zone whatever their fold."""
    return min(feed_moment(date), feed_moment(updated)).timestamp()
