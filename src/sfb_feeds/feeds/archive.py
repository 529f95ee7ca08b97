"""RFC 5005 archived feeds: ``{lang}/archive/{period}.xml`` for languages that outgrow their feed.

Which statements each archive holds, its periods (year, half-year, month) and its links:
docs/feeds.md, "Archives (RFC 5005) and how they share statements with the feed".
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

from ..model import Statement
from ..plan import History, Months, Target
from ..site import Site, feed_title
from ..urls import ATOM, archive_path, feed_path, public_url
from .document import Link, base_feed, make_entry
from .feedgen_adapter import render_atom

# Year, half-year, month: the first that gives two archives or more is used.
_UNITS: tuple[Callable[[datetime], Months], ...] = (
    lambda moment: Months(moment.year),
    lambda moment: Months(moment.year, 7, 12) if moment.month > 6 else Months(moment.year, 1, 6),
    lambda moment: Months(moment.year, moment.month, moment.month))


def _periods(site: Site, statements: tuple[Statement, ...],
             unit: Callable[[datetime], Months]) -> list[tuple[Months, tuple[Statement, ...]]]:
    """The periods with statements and their statements, newest first (a binary search
    per period for the first statement older than it)."""
    tz = site.settings.site.tz
    periods: list[tuple[Months, tuple[Statement, ...]]] = []
    start = 0
    while start < len(statements):
        months = unit(statements[start].date.astimezone(tz))
        first = datetime(months.year, months.first, 1, tzinfo=tz)
        end = bisect_right(statements, -first.timestamp(), key=lambda s: -s.date.timestamp())
        periods.append((months, statements[start:end]))
        start = end
    return periods


def archives(site: Site, language: str) -> list[tuple[Months, tuple[Statement, ...]]]:
    """The archive documents of ``language`` and what each holds, newest first: the
    statements not in its subscription feed; none when its feed is complete."""
    archived = site.by_language[language][site.settings.feeds.entries:]
    for unit in _UNITS:
        periods = _periods(site, archived, unit)
        if len(periods) != 1:
            return periods
    return _periods(site, archived, _UNITS[0])  # a lone archive: named by its year


def plan_archives(site: Site) -> Iterator[Target]:
    """One target per archive document: its language, its period and what it holds."""
    for language in site.languages:
        periods = archives(site, language)
        neighbours = [None, *(months for months, _ in periods), None]
        for position, (months, statements) in enumerate(periods):
            yield Target(language=language, period=months, statements=statements,
                         history=History(newer=neighbours[position],
                                         older=neighbours[position + 2]))


def archive_link(site: Site, language: str, months: Months, rel: str) -> Link:
    """A link of relation ``rel`` to ``language``'s archive of ``months``."""
    return Link(public_url(site.settings, archive_path(language, months.label)), rel,
                ATOM.media_type)


def feed_history(site: Site, language: str | None) -> History:
    """For a subscription feed (``language`` None: all languages): whether it is complete
    (it holds every statement), else its newest archive (its ``prev-archive``)."""
    if language is None:
        return History(complete=len(site.statements) <= site.settings.feeds.entries)
    periods = archives(site, language)
    return History(complete=not periods, older=periods[0][0] if periods else None)


def _title(site: Site, language: str, months: Months) -> str:
    """The language feed's title and the period: "2015", "2015 (1-6)" (en dash) or "2015-03"."""
    half = months.last - months.first == 5
    shown = f"{months.year:04d} ({months.first}\u2013{months.last})" if half else months.label
    return f"{feed_title(site, language)} — {shown}"


def render_archive(site: Site, target: Target) -> bytes:
    """``{lang}/archive/{period}.xml``: the archive document of one language and period."""
    language, months, history = target.language, target.period, target.history
    if language is None or not isinstance(months, Months) or history is None:
        raise ValueError("an archive needs a language, its months and its neighbours")
    feed = base_feed(site, language, archive_path(language, months.label),
                     tuple(make_entry(site, statement) for statement in target.statements))
    current = public_url(site.settings, feed_path(ATOM, language))
    links = [Link(current, "current", ATOM.media_type, language, feed_title(site, language))]
    for neighbour, rel in ((history.older, "prev-archive"), (history.newer, "next-archive")):
        if neighbour is not None:
            links.append(archive_link(site, language, neighbour, rel))
    if history.newer is None:  # the newest archive: the subscription feed comes next
        links.append(Link(current, "next-archive", ATOM.media_type))
    return render_atom(replace(feed, title=_title(site, language, months), links=tuple(links),
                               archive=True))
