"""Feed outputs: Atom, RSS 2.0, JSON Feed, RFC 5005 archives, OPML, the subscribe page.

Each row is one output format; ``{lang}`` is the canonical BCP 47 tag of a language with
published statements and ``{period}`` a calendar year (site timezone), or a half-year
(``2015-h1``) for a language that outgrows its feed within one year. The modules behind
the rows: ``atom``, ``rss``, ``jsonfeed``, ``archive``, ``opml``, ``index_page``; only
``feedgen_adapter`` imports feedgen. Every path and link comes from ``sfb_feeds.urls``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..model import Settings
from ..plan import OutputFormat, Scope, Target
from ..site import Site
from ..urls import ATOM, JSON_FEED, RSS
from ..urls import FEED_ARCHIVE_PATH as ARCHIVE_PATH
from .archive import plan_archives, render_archive
from .atom import plan_all_languages_feed, plan_subscription_feeds, render_atom_feed
from .index_page import IndexPage, plan_index
from .jsonfeed import render_json_feed
from .opml import render_opml
from .rss import render_rss_feed

if TYPE_CHECKING:
    from jinja2 import BytecodeCache  # (the type only: Jinja stays behind the renderers)

OPML_MEDIA_TYPE = "text/x-opml"
HTML_MEDIA_TYPE = "text/html"


def _plan_opml(site: Site) -> Iterator[Target]:
    """The OPML list shows the settings and the languages (part of every render key), no
    statement: an edit does not render it again."""
    yield Target(language=None, period=None, statements=())


def formats(settings: Settings, languages: Sequence[str],
            compiled: BytecodeCache | None = None) -> tuple[OutputFormat, ...]:
    """The feed output formats, as rows of the output table.

    The feed renderers are pure functions of ``(site, target)`` with nothing worth
    preparing ahead: feedgen is imported with this package, and each document is built
    from the site it is given (every per-render cache that was measured, such as one for
    canonical URIs, saved under 1% of a feed render and was dropped). Only the subscribe
    page, a Jinja page, is prepared for ``languages`` (``compiled``: Jinja's bytecode cache).
    """
    page = IndexPage(settings, languages, compiled)  # the subscribe page: a Jinja page
    return (
        OutputFormat(name="atom", media_type=ATOM.media_type, path=f"{{lang}}/{ATOM.file}",
                     scope=Scope.LANGUAGE, render=render_atom_feed,
                     targets=plan_subscription_feeds),
        OutputFormat(name="rss", media_type=RSS.media_type, path=f"{{lang}}/{RSS.file}",
                     scope=Scope.LANGUAGE, render=render_rss_feed,
                     targets=plan_subscription_feeds),
        OutputFormat(name="json-feed", media_type=JSON_FEED.media_type,
                     path=f"{{lang}}/{JSON_FEED.file}", scope=Scope.LANGUAGE,
                     render=render_json_feed, targets=plan_subscription_feeds),
        OutputFormat(name="atom-all", media_type=ATOM.media_type, path=ATOM.file,
                     scope=Scope.SITE, render=render_atom_feed,
                     targets=plan_all_languages_feed),
        OutputFormat(name="rss-all", media_type=RSS.media_type, path=RSS.file,
                     scope=Scope.SITE, render=render_rss_feed, targets=plan_all_languages_feed),
        OutputFormat(name="json-feed-all", media_type=JSON_FEED.media_type,
                     path=JSON_FEED.file, scope=Scope.SITE, render=render_json_feed,
                     targets=plan_all_languages_feed),
        OutputFormat(name="atom-archive", media_type=ATOM.media_type, path=ARCHIVE_PATH,
                     scope=Scope.LANGUAGE_YEAR, render=render_archive, version="3",
                     targets=plan_archives),
        OutputFormat(name="opml", media_type=OPML_MEDIA_TYPE, path="feeds.opml",
                     scope=Scope.SITE, render=render_opml, targets=_plan_opml),
        OutputFormat(name="subscribe-page", media_type=HTML_MEDIA_TYPE, path="index.html",
                     scope=Scope.SITE, render=page.render, targets=plan_index),
    )
