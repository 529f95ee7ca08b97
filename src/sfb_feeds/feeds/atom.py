"""Atom 1.0 subscription feeds: one per language and one for all languages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ..plan import Target
from ..site import Site
from ..urls import ATOM
from .archive import history_links, is_complete
from .document import current_feed
from .feedgen_adapter import render_atom


def plan_subscription_feeds(site: Site) -> Iterator[Target]:
    """Each language's subscription feed as what it shows: its newest ``feeds.entries``
    statements and, as context, whether it holds them all and its newest archive."""
    entries = site.settings.feeds.entries
    for language in site.languages:
        complete, links = history_links(site, language)
        yield Target(language=language, period=None,
                     statements=site.by_language[language][:entries],
                     context=(("complete", str(complete)),
                              ("prev-archive", links[0].href if links else "")))


def plan_all_languages_feed(site: Site) -> Iterator[Target]:
    """The all-languages feed: the site's newest statements, and whether that is all."""
    yield Target(language=None, period=None,
                 statements=site.statements[:site.settings.feeds.entries],
                 context=(("complete", str(is_complete(site, site.statements))),))


def render_atom_feed(site: Site, target: Target) -> bytes:
    """``{lang}/atom.xml`` (or ``atom.xml`` for all languages).

    RFC 5005: a feed that holds every statement of its language (or of the site) is marked
    complete; a language's feed that does not links its newest archive with
    ``prev-archive``, from where a client can walk back through every statement.
    """
    feed = current_feed(site, target.language, target.statements, ATOM)
    if target.language is None:
        return render_atom(replace(feed, complete=is_complete(site, site.statements)))
    complete, links = history_links(site, target.language)
    return render_atom(replace(feed, complete=complete, links=(*feed.links, *links)))
