"""RFC 5005 archived feeds: ``{lang}/archive/{year}.xml``, one per year with statements.

How the archives and the subscription feed share the statements of a language, so that a
client walking the links sees each statement exactly once:

* the subscription feed ``{lang}/atom.xml`` holds the newest ``feeds.entries``;
* the archive of a year holds that year's statements that are *not* in the subscription
  feed (years entirely inside it have an archive with no entries);
* ``{lang}/atom.xml`` links the newest year's archive with ``prev-archive``; each archive
  links the year before with ``prev-archive``, the year after with ``next-archive`` and
  the subscription feed with ``current``, and is marked ``fh:archive``.

Years that are complete and older than everything in the subscription feed never change
again. The newest archives gain entries as new statements push older ones out of the
subscription feed; clients should revalidate them (ETag / Last-Modified) rather than
assume an archive seen once is final.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from ..model import Statement
from ..plan import Target
from ..site import Site
from .document import (
    ATOM,
    Feed,
    Link,
    archive_path,
    base_feed,
    feed_path,
    feed_title,
    newest_updated,
)
from .feedgen_adapter import render_atom
from .urls import public_url


def _newest_first_key(statement: Statement) -> float:
    return -statement.date.timestamp()


def _year_start(site: Site, year: int) -> float:
    return datetime(year, 1, 1, tzinfo=site.settings.site.tz).timestamp()


def _year_of(site: Site, statement: Statement) -> int:
    return statement.date.astimezone(site.settings.site.tz).year


def _first_older_than(site: Site, statements: Sequence[Statement], year: int) -> int:
    """Index of the first statement dated before 1 January of ``year`` (newest-first list)."""
    return bisect_right(statements, -_year_start(site, year), key=_newest_first_key)


def archive_years(site: Site, language: str) -> list[int]:
    """The years with statements in ``language``, newest first (a binary search per year)."""
    statements = site.by_language[language]
    years: list[int] = []
    index = 0
    while index < len(statements):
        year = _year_of(site, statements[index])
        years.append(year)
        index = _first_older_than(site, statements, year)
    return years


def _language_year(target: Target) -> tuple[str, int]:
    if target.language is None or target.period is None:
        raise ValueError("an archive needs a language and a year")
    return target.language, int(target.period)


def archived_statements(site: Site, target: Target) -> tuple[Statement, ...]:
    """The statements of ``target``'s year that are not in the language's subscription feed."""
    language, year = _language_year(target)
    language_statements = site.by_language[language]
    # The year's statements are a contiguous run of the language's newest-first list.
    start = _first_older_than(site, language_statements, year + 1)
    if target.statements and (start >= len(language_statements)
                               or language_statements[start] is not target.statements[0]):
        raise RuntimeError(f"archive {year} of {language}: statements out of order")
    in_current = max(0, site.settings.feeds.entries - start)
    return target.statements[in_current:]


def _archive_link(site: Site, language: str, year: int, rel: str) -> Link:
    return Link(public_url(site.settings, archive_path(language, str(year))), rel,
                ATOM.media_type)


def newest_archive_link(site: Site, language: str) -> Link:
    """The ``prev-archive`` link of a language's subscription feed."""
    newest_year = _year_of(site, site.by_language[language][0])
    return _archive_link(site, language, newest_year, "prev-archive")


def archive_feed(site: Site, target: Target) -> Feed:
    """The archive document of one language and year, as data."""
    language, year = _language_year(target)
    feed = base_feed(site, ATOM, language, archived_statements(site, target),
                     archive_path(language, str(year)))
    years = archive_years(site, language)
    position = years.index(year)
    links = [Link(public_url(site.settings, feed_path(ATOM, language)), "current",
                  ATOM.media_type, language, feed_title(site, language))]
    if position + 1 < len(years):
        links.append(_archive_link(site, language, years[position + 1], "prev-archive"))
    if position > 0:
        links.append(_archive_link(site, language, years[position - 1], "next-archive"))
    return replace(
        feed,
        title=f"{feed.title} — {year}",
        updated=newest_updated(feed.entries, target.statements),
        links=tuple(links),
        archive=True,
    )


def render_archive(site: Site, target: Target) -> bytes:
    """``{lang}/archive/{year}.xml``."""
    return render_atom(archive_feed(site, target))
