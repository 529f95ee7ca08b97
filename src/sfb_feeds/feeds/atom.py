"""Atom 1.0 subscription feeds: one per language and one for all languages."""

from __future__ import annotations

from dataclasses import replace

from ..plan import Target
from ..site import Site
from .archive import history_links, is_complete
from .document import ATOM, current_feed
from .feedgen_adapter import render_atom


def render_atom_feed(site: Site, target: Target) -> bytes:
    """``{lang}/atom.xml`` (or ``atom.xml`` for all languages).

    RFC 5005: a feed that holds every statement of its language (or of the site) is marked
    complete; a language's feed that does not links its newest archive with
    ``prev-archive``, from where a client can walk back through every statement.
    """
    feed = current_feed(site, target.language, target.statements, ATOM)
    if target.language is None:
        return render_atom(replace(feed, complete=is_complete(site, target.statements)))
    complete, links = history_links(site, target.language)
    return render_atom(replace(feed, complete=complete, links=(*feed.links, *links)))
