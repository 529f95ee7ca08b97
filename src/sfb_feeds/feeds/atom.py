"""Atom 1.0 subscription feeds: one per language and one for all languages."""

from __future__ import annotations

from dataclasses import replace

from ..plan import Target
from ..site import Site
from .archive import newest_archive_link
from .document import ATOM, current_feed
from .feedgen_adapter import render_atom


def render_atom_feed(site: Site, target: Target) -> bytes:
    """``{lang}/atom.xml`` (or ``atom.xml`` for all languages).

    A language's feed links its newest yearly archive with ``prev-archive`` (RFC 5005),
    from where a client can walk back through every statement of that language.
    """
    feed = current_feed(site, target.language, target.statements, ATOM)
    if target.language is not None and target.statements:
        feed = replace(feed, links=(*feed.links, newest_archive_link(site, target.language)))
    return render_atom(feed)
