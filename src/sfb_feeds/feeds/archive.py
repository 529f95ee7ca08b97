"""RFC 5005 archived feeds: ``{lang}/archive/{year}.xml`` for languages that outgrow their feed.

How the archives and the subscription feed share the statements of a language, so that a
client walking the links sees each statement exactly once:

* the subscription feed ``{lang}/atom.xml`` holds the newest ``feeds.entries``;
* a language whose statements all fit in it has no archives: its feed is marked
  ``fh:complete`` (RFC 5005 section 2), which says there is nothing more to fetch;
* otherwise there is one archive per year with statements in that language, holding that
  year's statements that are *not* in the subscription feed (years entirely inside it
  have an archive with no entries);
* ``{lang}/atom.xml`` links the newest archive with ``prev-archive``; each archive links
  the one before with ``prev-archive``, the one after with ``next-archive`` and the
  subscription feed with ``current``, and is marked ``fh:archive``.

A lone archive would have neither ``prev-archive`` nor ``next-archive``, which RFC 5005
allows but the W3C validator reports ("ArchiveIncomplete"), so a language that outgrows its
feed within a single year is archived by half-year instead: ``{year}-h1`` (January to June)
and ``{year}-h2`` (July to December), both written even when one half has no entries.

Years that are complete and older than everything in the subscription feed never change
again. The newest archives gain entries as new statements push older ones out of the
subscription feed; clients should revalidate them (ETag / Last-Modified) rather than
assume an archive seen once is final.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from ..model import Statement
from ..plan import Target
from ..site import Site
from ..urls import ATOM, archive_path, feed_path, public_url
from .document import Feed, Link, base_feed, distinct_updated, feed_title, newest_updated
from .feedgen_adapter import render_atom

# A period: its label (the file name) and where it starts, newest first.
Period = tuple[str, datetime]
_HALF_TITLES = {"h1": "1\u20136", "h2": "7\u201312"}  # months, en dash


def _newest_first_key(statement: Statement) -> float:
    return -statement.date.timestamp()


def _first_older_than(statements: Sequence[Statement], moment: datetime) -> int:
    """Index of the first statement dated before ``moment`` (newest-first list)."""
    return bisect_right(statements, -moment.timestamp(), key=_newest_first_key)


def is_complete(site: Site, statements: Sequence[Statement]) -> bool:
    """Whether a subscription feed holds every one of ``statements`` (RFC 5005 complete)."""
    return len(statements) <= site.settings.feeds.entries


def _years(site: Site, statements: Sequence[Statement]) -> list[Period]:
    """The years with statements, newest first (a binary search per year)."""
    tz = site.settings.site.tz
    periods: list[Period] = []
    index = 0
    while index < len(statements):
        start = datetime(statements[index].date.astimezone(tz).year, 1, 1, tzinfo=tz)
        periods.append((f"{start.year:04d}", start))
        index = _first_older_than(statements, start)
    return periods


def archive_periods(site: Site, language: str) -> list[Period]:
    """The archive documents of ``language``, newest first; none when its feed is complete."""
    statements = site.by_language[language]
    if is_complete(site, statements):
        return []
    years = _years(site, statements)
    if len(years) > 1:
        return years
    label, start = years[0]
    return [(f"{label}-h2", start.replace(month=7)), (f"{label}-h1", start)]


def _fallback_updated(period: Sequence[Statement], statements: Sequence[Statement],
                      index: int) -> datetime:
    """What an archive with no entries says it was updated: its period's newest statement
    (all in the subscription feed), else the language's newest statement before it."""
    if period:
        return newest_updated((), period)
    return distinct_updated(statements[min(index, len(statements) - 1)])


def _language_targets(site: Site, language: str) -> Iterator[Target]:
    statements = site.by_language[language]
    periods = archive_periods(site, language)
    entries = site.settings.feeds.entries
    start = 0
    for position, (label, begins) in enumerate(periods):
        end = _first_older_than(statements, begins)
        archived = statements[max(start, entries):end]
        context = [("newer", periods[position - 1][0] if position else ""),
                   ("older", periods[position + 1][0] if position + 1 < len(periods) else "")]
        if not archived:
            updated = _fallback_updated(statements[start:end], statements, start)
            context.append(("updated", updated.isoformat()))
        yield Target(language=language, period=label, statements=archived,
                     context=tuple(context))
        start = end


def plan_archives(site: Site) -> Iterator[Target]:
    """One target per archive document: its language, its period and what it holds."""
    for language in site.languages:
        yield from _language_targets(site, language)


def _archive_link(site: Site, language: str, period: str, rel: str) -> Link:
    return Link(public_url(site.settings, archive_path(language, period)), rel,
                ATOM.media_type)


def history_links(site: Site, language: str) -> tuple[bool, tuple[Link, ...]]:
    """For a language's subscription feed: whether it is complete, else its link to the
    newest archive (``prev-archive``)."""
    periods = archive_periods(site, language)
    if not periods:
        return True, ()
    return False, (_archive_link(site, language, periods[0][0], "prev-archive"),)


def _title(site: Site, language: str, period: str) -> str:
    year, _, half = period.partition("-")
    shown = f"{year} ({_HALF_TITLES[half]})" if half else year
    return f"{feed_title(site, language)} — {shown}"


def archive_feed(site: Site, target: Target) -> Feed:
    """The archive document of one language and period, as data."""
    language, period = target.language, target.period
    if language is None or period is None:
        raise ValueError("an archive needs a language and a period")
    feed = base_feed(site, ATOM, language, target.statements, archive_path(language, period))
    links = [Link(public_url(site.settings, feed_path(ATOM, language)), "current",
                  ATOM.media_type, language, feed_title(site, language))]
    for name, rel in (("older", "prev-archive"), ("newer", "next-archive")):
        if target.value(name):
            links.append(_archive_link(site, language, target.value(name), rel))
    updated = feed.updated if feed.entries else datetime.fromisoformat(target.value("updated"))
    return replace(feed, title=_title(site, language, period), updated=updated,
                   links=tuple(links), archive=True)


def render_archive(site: Site, target: Target) -> bytes:
    """``{lang}/archive/{period}.xml``."""
    return render_atom(archive_feed(site, target))
