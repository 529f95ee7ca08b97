"""RSS 2.0 subscription feeds (RSS Advisory Board profile): per language and for all."""

from __future__ import annotations

from ..plan import Target
from ..site import Site
from ..urls import RSS
from .document import current_feed
from .feedgen_adapter import render_rss


def render_rss_feed(site: Site, target: Target) -> bytes:
    """``{lang}/rss.xml`` (or ``rss.xml`` for all languages)."""
    return render_rss(current_feed(site, target.language, target.statements, RSS))
