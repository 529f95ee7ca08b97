"""What the digest templates see: plain, localised values (dates, the week in words, names
of languages, lists of authors) built from the site and a target; templates only place them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from .. import i18n
from ..bidi import balance_bidi, isolated
from ..model import Statement
from ..site import Site, feed_title
from ..urls import (
    DIGEST_FEED,
    KINDS,
    canonical_uri,
    digest_archive_url,
    digest_url,
    feed_path,
    list_unsubscribe_url,
    public_url,
    site_url,
)
from ..weeks import Week, week_of_day


@dataclass(frozen=True, slots=True)
class Translation:
    """A link to another language's version of a statement, named in that language."""

    lang: str
    name: str
    dir: str
    url: str | None


@dataclass(frozen=True, slots=True)
class StatementView:
    title: str
    url: str | None
    date: str  # the long date in the digest's language
    iso_date: str  # YYYY-MM-DD, for <time datetime>
    authors: str  # "" when there are none; joined the language's way, each name isolated
    paragraphs: tuple[str, ...]
    translations: tuple[Translation, ...]
    brief: bool = False  # listed by title, link and date only (a long week: see briefed)


@dataclass(frozen=True, slots=True)
class Feeds:
    atom: str
    rss: str
    json: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """What every digest page has: language, direction, site, footer links."""

    lang: str
    dir: str  # "ltr" or "rtl"
    start: str  # "left" in a left-to-right language, else "right"
    end: str
    site_title: str
    site_url: str
    archive_url: str
    unsubscribe_url: str | None
    feeds: Feeds


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestView(Page):
    week: Week
    week_words: str  # "31 August - 6 September 2015", with the language's dash
    count: int
    count_label: str  # "4 statements"
    statements: tuple[StatementView, ...]
    browser_url: str


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    week: Week
    week_words: str
    count_label: str
    url: str  # relative to the archive page
    titles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FeedLink:
    """A feed as a page's <head> names it for autodiscovery."""

    title: str
    url: str
    media_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveView(Page):
    entries: tuple[ArchiveEntry, ...]
    digest_feed: FeedLink  # the language's digests.xml


def digest_feed_title(site: Site, language: i18n.Language) -> str:
    """The title of ``<lang>/digests.xml``: "Socialism From Below — Polski — Weekly digest"
    (the label from ``language``'s catalogs: give it the site's, as the digests have)."""
    return f"{feed_title(site, language.lang)} — {language.label('Weekly digest')}"


def stylesheet_fields(language: i18n.Language) -> dict[str, str]:
    """The fields of :class:`Page` that a stylesheet may read: ``lang``, ``dir``, and the
    ``start`` and ``end`` of a line ("left", "right"; swapped for rtl)."""
    start, end = ("right", "left") if language.direction == "rtl" else ("left", "right")
    return {"lang": language.lang, "dir": language.direction, "start": start, "end": end}


def _page(site: Site, language: i18n.Language) -> dict[str, Any]:
    """The fields of :class:`Page`, for a digest or archive view of ``language``."""
    settings, lang = site.settings, language.lang
    unsubscribe = settings.digests.unsubscribe
    feeds = (public_url(settings, feed_path(kind, lang)) for kind in KINDS)  # atom, rss, json
    return {
        **stylesheet_fields(language),
        "site_title": settings.site.title, "site_url": site_url(settings),  # as the feeds
        "archive_url": digest_archive_url(settings, lang),
        "unsubscribe_url": list_unsubscribe_url(unsubscribe, lang) if unsubscribe else None,
        "feeds": Feeds(*feeds),
    }


def _link(url: str | None) -> str | None:
    return canonical_uri(url) if url else None


def statement_view(site: Site, statement: Statement, language: i18n.Language) -> StatementView:
    local = statement.date.astimezone(site.settings.site.tz)
    return StatementView(
        # Bidi controls balanced: what a title or a name leaves open cannot take the PDI
        # that closes its <bdi> or FSI (docs/operations.md), nor run over the next name.
        # Each name is isolated on its own, not the list: the list's words ("and", ", ")
        # are the digest's language, so it reads in the digest's direction whatever
        # script its first name is in.
        # Links as the feeds give them: RFC 3986 normal form (the same page, one spelling).
        title=balance_bidi(statement.title), url=_link(statement.url),
        date=language.format_date(local.date()), iso_date=local.date().isoformat(),
        authors=language.format_names([isolated(name) for name in statement.authors]),
        paragraphs=statement.excerpt,
        translations=tuple(Translation(t.language, site.language_name(t.language),
                                       site.direction(t.language), _link(t.url))
                           for t in site.translations_of(statement)),
    )


def _count_label(language: i18n.Language, count: int) -> str:
    return language.plural_label("{count} statement", "{count} statements", count)


def digest_view(
    site: Site, language: i18n.Language, week: Week, statements: tuple[Statement, ...]
) -> DigestView:
    """The view of one digest: ``statements`` (newest first) of ``language`` in ``week``."""
    return DigestView(
        **_page(site, language),
        week=week, week_words=language.format_week(week.first, week.last),
        count=len(statements), count_label=_count_label(language, len(statements)),
        statements=tuple(statement_view(site, s, language) for s in statements),
        browser_url=digest_url(site.settings, language.lang, week.label),
    )


def briefed(view: DigestView, full: int) -> DigestView:
    """``view`` with its first ``full`` statements (the newest) shown whole and the rest
    ``brief``: what a digest too long for one email shows (digest/render.py)."""
    return replace(view, statements=tuple(replace(statement, brief=index >= full)
                                          for index, statement in enumerate(view.statements)))


def digest_weeks(site: Site, statements: Iterable[Statement]
                 ) -> list[tuple[Week, tuple[Statement, ...]]]:
    """``statements`` (newest first) grouped by digest week, newest week first."""
    groups: dict[Week, list[Statement]] = {}
    week: Week | None = None
    for statement in statements:
        day = statement.date.astimezone(site.settings.site.tz).date()  # as week_of does
        # newest first, so often the same week: 0.04 µs to test, 2.4 µs to find again
        if week is None or not week.first <= day <= week.last:
            week = week_of_day(day, site.settings)
        groups.setdefault(week, []).append(statement)
    return sorted(((w, tuple(ss)) for w, ss in groups.items()), key=lambda g: g[0].first,
                  reverse=True)


def archive_view(site: Site, language: i18n.Language) -> ArchiveView:
    """The archive page of ``language``: every digest, newest first."""
    entries = tuple(
        ArchiveEntry(
            week=week, week_words=language.format_week(week.first, week.last),
            count_label=_count_label(language, len(statements)), url=f"{week.label}.html",
            titles=tuple(balance_bidi(s.title) for s in statements),
        )
        for week, statements in digest_weeks(site, site.by_language.get(language.lang, ()))
    )
    feed = FeedLink(digest_feed_title(site, language),
                    public_url(site.settings, feed_path(DIGEST_FEED, language.lang)),
                    DIGEST_FEED.media_type)
    return ArchiveView(**_page(site, language), entries=entries, digest_feed=feed)
