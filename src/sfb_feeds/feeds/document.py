"""A feed document described as plain data, built from the site; shared by every format.

Atom, RSS and JSON Feed renderers all start from :class:`Feed` and :class:`Entry`, so ids,
titles, dates, links and order are decided once, here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from ..language import native_name
from ..model import Statement
from ..site import Site
from ..urls import (
    FeedKind,
    canonical_uri,
    entry_id,
    feed_path,
    public_url,
    site_url,
)

HTML = "text/html"
# Readers choose an entry's one link among its alternate links: most take the first,
# newsboat and feedparser (NewsBlur, rss2email, Planet...) the last. The statement's own
# page is therefore its only ``alternate`` link; translations are ``related`` links. The
# same holds for a feed's own link (newsboat shows its last alternate as the website): the
# site's page is its only alternate, the feed in other languages is ``related``.
TRANSLATION_REL = "related"
HUB_REL = "hub"  # WebSub: the hub that pushes this feed's updates to subscribers

# What an empty feed (a site with nothing published yet) says it was updated: a fixed,
# plausible instant, because the build time must never appear in the output.
EMPTY_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)
_MIDNIGHT = time()




@dataclass(frozen=True, slots=True)
class Link:
    href: str
    rel: str = "alternate"
    type: str | None = None
    hreflang: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One statement as every format shows it.

    ``updated`` is the value written to ``atom:updated`` (see :func:`distinct_updated`);
    ``modified`` is the record's own ``updated`` time.
    """

    id: str
    title: str
    url: str | None
    language: str
    published: datetime
    updated: datetime
    modified: datetime
    paragraphs: tuple[str, ...]
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    translations: tuple[Link, ...]
    content_html: str | None = None  # whole content (HTML), sent instead of the summary

    @property
    def permalink(self) -> bool:
        """True when the id is the statement's web address (RSS ``isPermaLink``)."""
        return self.url is not None and self.id == self.url

    @property
    def summary_html(self) -> str:
        return paragraphs_html(self.paragraphs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feed:
    """One feed document: metadata, extra links and entries (newest first)."""

    id: str
    title: str
    subtitle: str
    language: str | None
    self_url: str
    site_url: str
    author: str
    updated: datetime
    links: tuple[Link, ...]
    entries: tuple[Entry, ...]
    archive: bool = False  # RFC 5005 archive document (fh:archive)
    complete: bool = False  # RFC 5005 complete feed (fh:complete): it holds every entry


def paragraphs_html(paragraphs: Sequence[str]) -> str:
    """The paragraphs as HTML ``<p>`` elements, text escaped once."""
    return "".join(f"<p>{escape(text, quote=False)}</p>" for text in paragraphs)


def feed_moment(moment: datetime) -> datetime:
    """``moment`` as a feed publishes it, with an offset RFC 3339 and the RSS profile accept.

    A record dated without a time (``2015-09-06``) is published at 12:00 that day in
    ``site.timezone``: midnight would show as the day before to every reader west of the
    site, noon shows the same date from UTC-11 to UTC+12. The loader gives such a date as
    that day's midnight in the site's zone (a ``ZoneInfo``), while a time written in a
    record always carries its own fixed UTC offset, so the two cannot be confused.
    Offsets that are not whole half hours (+05:45, or a historical local mean time such
    as -00:01:15) cannot be written in either format without a warning; those moments
    are given in UTC instead.
    """
    if isinstance(moment.tzinfo, ZoneInfo) and moment.time() == _MIDNIGHT:
        moment = moment.replace(hour=12)
    offset = moment.utcoffset()
    if offset is None or offset.total_seconds() % 1800:
        return moment.astimezone(UTC)
    return moment


def distinct_updated(statement: Statement) -> datetime:
    """The statement's ``updated`` time, plus a stable sub-second offset taken from its id.

    Records often carry only a day, so translations published together share the same
    noon; the W3C validator warns when two entries have the same ``atom:updated``
    (DuplicateUpdated). A fraction of a second derived from the id keeps every entry's
    time distinct, stable from build to build, and invisible in readers, which show
    minutes at most. Times already written with fractions are kept as they are.
    """
    moment = feed_moment(statement.updated)
    if moment.microsecond:
        return moment
    digest = hashlib.blake2b(statement.id.encode("utf-8"), digest_size=8).digest()
    return moment + timedelta(microseconds=1 + int.from_bytes(digest, "big") % 999_999)


def feed_title(site: Site, language: str | None) -> str:
    """"Socialism From Below — Polski", or the bare site title for all languages."""
    title = site.settings.site.title
    return f"{title} — {native_name(language)}" if language else title


def display_title(site: Site, language: str | None) -> str:
    """A feed's name in lists (OPML, the subscribe page): names "all languages" too."""
    return feed_title(site, language) if language else f"{feed_title(site, None)} — all languages"


def translation_links(site: Site, statement: Statement) -> tuple[Link, ...]:
    """One ``related`` link per other language with a published translation that has a
    web address, titled with the language's name in that language ("Polski").

    The statement's own language and any repeated language are skipped. A statement
    without a ``url`` of its own gets none: a translation would be its only link, and
    readers that take an entry's first link whatever its relation would open that
    language instead of the entry's.
    """
    if statement.url is None:
        return ()
    seen = {statement.language}
    links: list[Link] = []
    for other in site.translations_of(statement):
        if other.url is None or other.language in seen:
            continue
        seen.add(other.language)
        links.append(Link(canonical_uri(other.url), TRANSLATION_REL, HTML,
                          other.language, native_name(other.language)))
    return tuple(links)


def make_entry(site: Site, statement: Statement) -> Entry:
    settings = site.settings
    return Entry(
        id=entry_id(statement.id, statement.date, settings),
        title=statement.title,
        url=canonical_uri(statement.url) if statement.url else None,
        language=statement.language,
        published=feed_moment(statement.date),
        updated=distinct_updated(statement),
        modified=feed_moment(statement.updated),
        paragraphs=statement.excerpt,
        authors=statement.authors,
        tags=statement.tags,
        translations=translation_links(site, statement),
    )


def newest_updated(entries: Sequence[Entry]) -> datetime:
    """The latest ``updated`` of ``entries`` (a fixed instant when there are none)."""
    return max((entry.updated for entry in entries), default=EMPTY_UPDATED)


def language_feeds(site: Site, kind: FeedKind, language: str | None) -> tuple[Link, ...]:
    """``related`` links to the same format's feed in every other language."""
    return tuple(
        Link(public_url(site.settings, feed_path(kind, other)), TRANSLATION_REL,
             kind.media_type, other, feed_title(site, other))
        for other in site.languages
        if other != language
    )


def base_feed(site: Site, kind: FeedKind, language: str | None,
              statements: Sequence[Statement], path: str) -> Feed:
    """Metadata and entries shared by every feed document; links are added by the caller."""
    settings = site.settings
    entries = tuple(make_entry(site, statement) for statement in statements)
    self_url = public_url(settings, path)
    return Feed(
        id=self_url,
        title=feed_title(site, language),
        subtitle=settings.site.description,
        language=language,
        self_url=self_url,
        site_url=site_url(settings),
        author=settings.site.author,
        updated=newest_updated(entries),
        links=(),
        entries=entries,
    )


def current_feed(site: Site, language: str | None, statements: Sequence[Statement],
                 kind: FeedKind) -> Feed:
    """The subscription document of a language (None: all languages) in one format.

    It holds the newest ``feeds.entries`` of ``statements``, links the WebSub hub when
    ``feeds.websub_hub`` is set (archives, which nobody subscribes to, do not), and the
    same format's feed in every other language.
    """
    newest = statements[: site.settings.feeds.entries]
    feed = base_feed(site, kind, language, newest, feed_path(kind, language))
    hub = site.settings.feeds.websub_hub
    hubs = (Link(hub, HUB_REL),) if hub else ()
    return replace(feed, links=(*hubs, *language_feeds(site, kind, language)))
