"""A feed document as plain data, built from the site: Atom, RSS and JSON Feed all start
from :class:`Feed` and :class:`Entry`, so ids, titles, dates, links and order are decided once."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html import escape

from ..bidi import balance_bidi
from ..model import Settings, Statement
from ..moments import feed_moment, published_moment
from ..site import Site, feed_title
from ..urls import FeedKind, canonical_uri, entry_id, feed_path, public_url, site_url

HTML = "text/html"
# Readers take the first alternate link (most) or the last (newsboat, feedparser): an
# entry's (a feed's) own page is its only alternate; other languages are ``related``.
TRANSLATION_REL = "related"
HUB_REL = "hub"  # WebSub: the hub that pushes this feed's updates to subscribers

# An empty feed's ``updated``: a fixed instant, as the build time must never be output.
EMPTY_UPDATED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Link:
    href: str
    rel: str = "alternate"
    type: str | None = None
    hreflang: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One statement as every format shows it: ``updated`` is what ``atom:updated`` says
    (:func:`distinct_updated`), ``modified`` the record's own ``updated``."""

    id: str
    title: str
    url: str | None
    language: str
    published: datetime
    updated: datetime
    modified: datetime
    paragraphs: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    translations: tuple[Link, ...] = ()
    content_html: str | None = None  # whole content (HTML), sent instead of the summary

    @property
    def permalink(self) -> bool:
        """True when the id is the statement's web address (RSS ``isPermaLink``)."""
        return self.id == self.url

    @property
    def summary_html(self) -> str:
        """The paragraphs as HTML ``<p>`` elements, text escaped once."""
        return "".join(f"<p>{escape(text, quote=False)}</p>" for text in self.paragraphs)


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


def distinct_updated(statement: Statement, settings: Settings) -> datetime:
    """The statement's ``updated`` time plus a stable fraction of a second from its id as
    published, so translations sharing a noon do not trip the validator's DuplicateUpdated
    (docs/feeds.md); times written with fractions are kept. The published id, not the id as
    written: an id rewritten in another spelling of its normal form (``HTTPS://Host:443/a``)
    is the same entry, and its ``updated`` must not move."""
    moment = feed_moment(statement.updated)
    if moment.microsecond:
        return moment
    published = entry_id(statement.id, statement.date, settings)
    digest = hashlib.blake2b(published.encode("utf-8"), digest_size=8).digest()
    return moment + timedelta(microseconds=1 + int.from_bytes(digest, "big") % 999_999)


ALL_LANGUAGES = "all languages"  # a label of i18n.MESSAGES


def display_title(site: Site, language: str | None, everything: str = ALL_LANGUAGES) -> str:
    """A feed's name in lists (OPML, the subscribe page): names "all languages" too
    (``everything``: those words, as the list's language writes them)."""
    return feed_title(site, language) if language else f"{feed_title(site, None)} — {everything}"


def translation_links(site: Site, statement: Statement) -> tuple[Link, ...]:
    """One ``related`` link per other language with a published translation that has a
    web address, titled in that language ("Polski"). None for a statement without a ``url``:
    readers taking an entry's first link would open the translation instead."""
    if statement.url is None:
        return ()
    return tuple(Link(canonical_uri(other.url), TRANSLATION_REL, HTML, other.language,
                      site.language_name(other.language))
                 for other in site.translations_of(statement)  # (one a language)
                 if other.url is not None)


def make_entry(site: Site, statement: Statement) -> Entry:
    """A statement's entry; one without authors names the site's author (``site.author``)
    itself: Atom and JSON Feed let an entry inherit the feed's, but feedparser, newsboat
    and sfeed show such an Atom entry with no author at all."""
    return Entry(
        id=entry_id(statement.id, statement.date, site.settings),
        title=balance_bidi(statement.title),  # (an override left open would reach the
        # reader's own words beside it: closed at its end, as in the digests and pages)
        url=canonical_uri(statement.url) if statement.url else None,
        language=statement.language, published=published_moment(statement),
        updated=distinct_updated(statement, site.settings), modified=feed_moment(statement.updated),
        paragraphs=statement.excerpt, tags=statement.tags,
        authors=tuple(map(balance_bidi, statement.authors)) or (site.settings.site.author,),
        translations=translation_links(site, statement),
    )


def base_feed(site: Site, language: str | None, path: str, entries: tuple[Entry, ...]) -> Feed:
    """Metadata shared by every feed document, with the WebSub hub link if one is set
    (archives, which nobody subscribes to, replace the links)."""
    settings = site.settings
    self_url = public_url(settings, path)
    hub = settings.feeds.websub_hub
    return Feed(
        id=self_url, title=feed_title(site, language), subtitle=settings.site.description,
        language=language, self_url=self_url, site_url=site_url(settings),
        author=settings.site.author, links=(Link(hub, HUB_REL),) if hub else (),
        entries=entries, updated=max((e.updated for e in entries), default=EMPTY_UPDATED),
    )


def current_feed(site: Site, language: str | None, statements: Sequence[Statement],
                 kind: FeedKind) -> Feed:
    """The subscription document of a language (None: all languages) in one format: its
    ``statements`` (planned: the newest ``feeds.entries``), the hub, and the same format's
    feed in every other language."""
    entries = tuple(make_entry(site, statement) for statement in statements)
    feed = base_feed(site, language, feed_path(kind, language), entries)
    others = (Link(public_url(site.settings, feed_path(kind, other)), TRANSLATION_REL,
                   kind.media_type, other, feed_title(site, other))
              for other in site.languages if other != language)
    return replace(feed, links=(*feed.links, *others))
