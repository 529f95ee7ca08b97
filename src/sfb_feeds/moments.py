"""When feeds say a statement was published and modified: the moments every format writes,
and the order every output lists statements in (:func:`site.make_site`)."""

from __future__ import annotations

from datetime import UTC, datetime, time
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
