"""Atom 1.0 and RSS 2.0 subscription feeds: one per language and one for all languages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..plan import Target
from ..site import Site
from ..urls import ATOM, RSS
from .archive import archive_link, feed_history
from .document import current_feed
from .feedgen_adapter import render_atom, render_rss


def plan_subscription_feeds(site: Site) -> Iterator[Target]:
    """Each language's subscription feed as what it shows: its newest ``feeds.entries``
    statements, whether it holds them all, and its newest archive."""
    entries = site.settings.feeds.entries
    for language in site.languages:
        yield Target(language=language, period=None,
                     statements=site.by_language[language][:entries],
                     history=feed_history(site, language))


def plan_all_languages_feed(site: Site) -> Iterator[Target]:
    """The all-languages feed: the site's newest statements, and whether that is all."""
    yield Target(language=None, period=None,
                 statements=site.statements[:site.settings.feeds.entries],
                 history=feed_history(site, None))


def render_atom_feed(site: Site, target: Target) -> bytes:
    """``{lang}/atom.xml`` (or ``atom.xml`` for all languages).

    RFC 5005: a feed that holds every statement of its language (or of the site) is marked
    complete; a language's feed that does not links its newest archive with
    ``prev-archive``, from where a client can walk back through every statement.
    """
    feed = current_feed(site, target.language, target.statements, ATOM)
    history = target.history or feed_history(site, target.language)
    links = () if target.language is None or history.older is None else (
        archive_link(site, target.language, history.older, "prev-archive"),)
    return render_atom(replace(feed, complete=history.complete, links=(*feed.links, *links)))


def render_rss_feed(site: Site, target: Target) -> bytes:
    """``{lang}/rss.xml`` (or ``rss.xml`` for all languages; RSS Advisory Board profile)."""
    return render_rss(current_feed(site, target.language, target.statements, RSS))
