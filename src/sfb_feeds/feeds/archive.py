"""RFC 5005 archived feeds: ``{lang}/archive/{period}.xml`` for languages that outgrow their feed.

How the archives and the subscription feed share the statements of a language, so that a
client walking the links sees each statement exactly once:

* the subscription feed ``{lang}/atom.xml`` holds the newest ``feeds.entries``;
* a language whose statements all fit in it has no archives: its feed is marked
  ``fh:complete`` (RFC 5005 section 2), which says there is nothing more to fetch;
* otherwise the statements that are *not* in the subscription feed are archived, one
  document per calendar year (site timezone) that has such statements; no archive is
  written without entries;
* ``{lang}/atom.xml`` links the newest archive with ``prev-archive``; each archive links
  the one before with ``prev-archive``, the one after with ``next-archive`` (the newest:
  the subscription feed, which follows it) and the subscription feed with ``current``,
  and is marked ``fh:archive``. So even a lone archive links a neighbour, as the W3C
  validator asks (ArchiveIncomplete).

When the archived statements all fall in one year they are archived by half-year
(``2015-h1``, ``2015-h2``), and when they fall in one half-year, by month (``2015-03``);
statements of one month make one archive, named by its year. (That split was made to
avoid lone archives before the newest linked the subscription feed; it stays so that
published archive URLs do not move.)

Years that are complete and older than everything in the subscription feed never change
again. The newest archives gain entries as new statements push older ones out of the
subscription feed; clients should revalidate them (ETag / Last-Modified) rather than
assume an archive seen once is final.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from ..model import Statement
from ..plan import Target
from ..site import Site
from ..urls import ATOM, archive_path, feed_path, public_url
from .document import Feed, Link, base_feed, feed_title
from .feedgen_adapter import render_atom

# A period: its label (the file name) and where it starts, newest first.
Period = tuple[str, datetime]
_HALF_TITLES = {"h1": "1\u20136", "h2": "7\u201312"}  # months, en dash


def _year(moment: datetime) -> Period:
    start = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return f"{start.year:04d}", start


def _half_year(moment: datetime) -> Period:
    label, start = _year(moment)
    return (f"{label}-h2", start.replace(month=7)) if moment.month > 6 else (f"{label}-h1", start)


def _month(moment: datetime) -> Period:
    label, start = _year(moment)
    return f"{label}-{moment.month:02d}", start.replace(month=moment.month)


# Coarsest first: the first that gives two archives or more is used.
_UNITS: tuple[Callable[[datetime], Period], ...] = (_year, _half_year, _month)


def _newest_first_key(statement: Statement) -> float:
    return -statement.date.timestamp()


def _first_older_than(statements: Sequence[Statement], moment: datetime) -> int:
    """Index of the first statement dated before ``moment`` (newest-first list)."""
    return bisect_right(statements, -moment.timestamp(), key=_newest_first_key)


def is_complete(site: Site, statements: Sequence[Statement]) -> bool:
    """Whether a subscription feed holds every one of ``statements`` (RFC 5005 complete)."""
    return len(statements) <= site.settings.feeds.entries


def _periods(site: Site, statements: Sequence[Statement],
             unit: Callable[[datetime], Period]) -> list[Period]:
    """The periods with statements, newest first (a binary search per period)."""
    tz = site.settings.site.tz
    periods: list[Period] = []
    index = 0
    while index < len(statements):
        label, start = unit(statements[index].date.astimezone(tz))
        periods.append((label, start))
        index = _first_older_than(statements, start)
    return periods


def _archived(site: Site, language: str) -> tuple[Statement, ...]:
    """The statements of ``language`` that are not in its subscription feed."""
    return site.by_language[language][site.settings.feeds.entries:]


def archive_periods(site: Site, language: str) -> list[Period]:
    """The archive documents of ``language``, newest first; none when its feed is complete."""
    archived = _archived(site, language)
    for unit in _UNITS:
        periods = _periods(site, archived, unit)
        if len(periods) != 1:
            return periods
    return _periods(site, archived, _year)  # a lone archive: named by its year


def plan_archives(site: Site) -> Iterator[Target]:
    """One target per archive document: its language, its period and what it holds."""
    for language in site.languages:
        archived = _archived(site, language)
        periods = archive_periods(site, language)
        start = 0
        for position, (label, begins) in enumerate(periods):
            end = _first_older_than(archived, begins)
            newer = periods[position - 1][0] if position else ""
            older = periods[position + 1][0] if position + 1 < len(periods) else ""
            yield Target(language=language, period=label, statements=archived[start:end],
                         context=(("newer", newer), ("older", older)))
            start = end


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
    """The language feed's title and the period: a year, a half-year's months, a month."""
    year, _, part = period.partition("-")
    shown = f"{year} ({_HALF_TITLES[part]})" if part in _HALF_TITLES else period
    return f"{feed_title(site, language)} — {shown}"


def archive_feed(site: Site, target: Target) -> Feed:
    """The archive document of one language and period, as data."""
    language, period = target.language, target.period
    if language is None or period is None:
        raise ValueError("an archive needs a language and a period")
    feed = base_feed(site, ATOM, language, target.statements, archive_path(language, period))
    current = public_url(site.settings, feed_path(ATOM, language))
    links = [Link(current, "current", ATOM.media_type, language, feed_title(site, language))]
    for name, rel in (("older", "prev-archive"), ("newer", "next-archive")):
        if target.value(name):
            links.append(_archive_link(site, language, target.value(name), rel))
    if not target.value("newer"):  # the newest archive: the subscription feed comes next
        links.append(Link(current, "next-archive", ATOM.media_type))
    return replace(feed, title=_title(site, language, period), links=tuple(links),
                   archive=True)


def render_archive(site: Site, target: Target) -> bytes:
    """``{lang}/archive/{period}.xml``."""
    return render_atom(archive_feed(site, target))
