"""``index.html``: the subscribe page, one section per language in its own name (its feeds,
digest archive and newest titles), with ``<link rel="alternate">`` for every feed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .. import urls
from ..bidi import balance_bidi
from ..i18n import Language, site_locales
from ..model import Settings, Statement
from ..plan import Target
from ..site import Site, feed_title
from ..template_errors import encoded, site_templates
from ..template_files import SiteTemplateLoader
from .document import ALL_LANGUAGES, display_title

NEWEST = 5  # statement titles shown per language
TEMPLATE = "index.html"
PAGES_FOLDER = "pages"  # in the site's templates folder: its own index.html
_LABELS = {urls.ATOM: "Atom feed", urls.RSS: "RSS feed", urls.JSON_FEED: "JSON feed",
           urls.DIGEST_FEED: "Weekly digest"}


@dataclass(frozen=True, slots=True)
class FeedLink:
    label: str
    href: str
    media_type: str
    title: str
    hreflang: str | None


@dataclass(frozen=True, slots=True)
class Headline:
    title: str
    url: str | None
    iso_date: str
    date_text: str


@dataclass(frozen=True, slots=True)
class Section:
    language: str
    name: str
    direction: str
    feeds: tuple[FeedLink, ...]
    digest_label: str
    digest_url: str
    newest: tuple[Headline, ...]


def environment(templates_dir: Path | None = None,
                compiled: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """The page's Jinja environment (autoescaping, strict); a site's own
    ``<templates>/pages/index.html`` wins over the shipped one. ``compiled``: where
    compiled templates are kept between builds, if the build keeps them."""
    shipped = jinja2.FileSystemLoader(Path(__file__).with_name("templates"), encoding="utf-8")
    loader: jinja2.BaseLoader = shipped
    if templates_dir is not None:
        own = SiteTemplateLoader(templates_dir / PAGES_FOLDER)  # (a FIFO: refused, not waited for)
        loader = jinja2.ChoiceLoader([own, shipped])
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              bytecode_cache=compiled)


def plan_index(site: Site) -> Iterator[Target]:
    """The page's one target: the statements it shows (each language's newest), so that
    editing an older statement does not render it again."""
    yield Target(language=None, period=None, statements=tuple(
        statement for language in site.languages
        for statement in site.by_language[language][:NEWEST]))


class IndexPage:
    """The subscribe page's template and languages, prepared once for ``languages``."""

    def __init__(self, settings: Settings, languages: Sequence[str],
                 compiled: jinja2.BytecodeCache | None = None) -> None:
        self._folder = settings.templates_dir
        with site_templates(self._folder):
            self.template = environment(self._folder, compiled).get_template(TEMPLATE)
        self._locales = site_locales(settings)
        # Prepared only for the languages rendered (English, for the combined feeds'
        # labels, is made when the page is rendered on a site without it): ~12 ms less of
        # a one-edit build that does not render the page (Babel loading English's data).
        self.languages = {lang: Language(lang, self._locales) for lang in languages}

    def _language(self, lang: str) -> Language:
        return self.languages.get(lang) or Language(lang, self._locales)

    def _feed_link(self, site: Site, kind: urls.FeedKind, language: str | None) -> FeedLink:
        words = self._language(language or "en")
        # Format names (Atom, RSS, JSON Feed) are the same in every language; words are not.
        what = words.label(kind.label) if kind is urls.DIGEST_FEED else kind.label
        name = display_title(site, language, words.label(ALL_LANGUAGES))
        return FeedLink(
            label=words.label(_LABELS[kind]),
            href=urls.public_url(site.settings, urls.feed_path(kind, language)),
            media_type=kind.media_type, hreflang=language, title=f"{name} ({what})")

    def _headline(self, site: Site, statement: Statement) -> Headline:
        day = statement.date.astimezone(site.settings.site.tz)
        url = urls.canonical_uri(statement.url) if statement.url else None
        return Headline(balance_bidi(statement.title), url, day.date().isoformat(),
                        self._language(statement.language).format_date(day))

    def _section(self, site: Site, lang: str) -> Section:
        language = self._language(lang)
        return Section(
            language=lang, name=site.language_name(lang), direction=language.direction,
            feeds=tuple(self._feed_link(site, kind, lang)
                        for kind in (*urls.KINDS, urls.DIGEST_FEED)),
            digest_label=language.label("Digest archive"),
            digest_url=urls.digest_archive_url(site.settings, lang),
            newest=tuple(self._headline(site, s) for s in site.by_language[lang][:NEWEST]))

    def render(self, site: Site, target: Target) -> bytes:
        """``index.html`` (valid HTML5, laid out for phones as well as desktops)."""
        all_feeds = tuple(self._feed_link(site, kind, None) for kind in urls.KINDS)
        sections = tuple(self._section(site, language) for language in site.languages)
        with site_templates(self._folder):
            page = self.template.render(
                title=site.settings.site.title, heading=feed_title(site, None),
                description=site.settings.site.description,
                site_url=urls.site_url(site.settings), all_feeds=all_feeds, sections=sections,
                discovery=all_feeds + tuple(feed for s in sections for feed in s.feeds))
        return encoded(page, self._folder, self.template.filename)

