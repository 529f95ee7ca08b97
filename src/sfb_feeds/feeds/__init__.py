"""Feed outputs: Atom, RSS 2.0, JSON Feed, RFC 5005 archives, OPML, the subscribe page.

``{lang}`` is the canonical BCP 47 tag of a language with published statements,
``{period}`` an archive's year, half-year (``2015-h1``) or month (site timezone). Only
``feedgen_adapter`` imports feedgen; every path and link comes from ``sfb_feeds.urls``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..model import Settings
from ..plan import OutputFormat, Scope, Target
from ..site import Site
from ..urls import ATOM, FEED_ARCHIVE_PATH, JSON_FEED, RSS
from .archive import plan_archives, render_archive
from .atom import (
    plan_all_languages_feed,
    plan_subscription_feeds,
    render_atom_feed,
    render_rss_feed,
)
from .document import HTML
from .index_page import IndexPage, plan_index
from .jsonfeed import render_json_feed
from .opml import render_opml

if TYPE_CHECKING:
    from jinja2 import BytecodeCache  # (the type only: Jinja stays behind the renderers)

def _plan_opml(site: Site) -> Iterator[Target]:
    """The OPML list shows the settings and the languages (part of every render key), no
    statement: an edit does not render it again."""
    yield Target(language=None, period=None, statements=())


def formats(settings: Settings, languages: Sequence[str],
            compiled: BytecodeCache | None = None) -> tuple[OutputFormat, ...]:
    """The feed rows. Only the subscribe page (Jinja) is prepared for ``languages``
    (``compiled``: Jinja's bytecode cache); each feed is built from the site it is given:
    every per-render cache measured (one for canonical URIs, say) saved under 1% of a feed
    render and was dropped."""
    page = IndexPage(settings, languages, compiled)
    subscriptions = tuple(
        OutputFormat(name=name + suffix, media_type=kind.media_type, path=folder + kind.file,
                     scope=scope, render=render, targets=targets)
        for suffix, folder, scope, targets in (
            ("", "{lang}/", Scope.LANGUAGE, plan_subscription_feeds),
            ("-all", "", Scope.SITE, plan_all_languages_feed))
        for name, kind, render in (("atom", ATOM, render_atom_feed), ("rss", RSS, render_rss_feed),
                                   ("json-feed", JSON_FEED, render_json_feed)))
    return (
        *subscriptions,
        OutputFormat(name="atom-archive", media_type=ATOM.media_type, path=FEED_ARCHIVE_PATH,
                     scope=Scope.LANGUAGE_YEAR, render=render_archive, version="3",
                     targets=plan_archives),
        OutputFormat(name="opml", media_type="text/x-opml", path="feeds.opml",
                     scope=Scope.SITE, render=render_opml, targets=_plan_opml),
        OutputFormat(name="subscribe-page", media_type=HTML, path="index.html",
                     scope=Scope.SITE, render=page.render, targets=plan_index),
    )
