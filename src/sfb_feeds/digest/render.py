"""The digests' prepared renderer: templates, inlined templates and languages, made once
(``digest.formats``); its methods render one output each from ``(site, target)`` and change
nothing: the same site and target always give the same bytes."""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2

from ..i18n import Language, site_locales
from ..model import Settings
from ..plan import Target
from ..site import Site
from ..template_errors import encoded, not_inlined, refuse_unwritable, site_templates
from ..weeks import Week
from .eml import ListHeads, render_eml
from .inline import Inliner, inline_document
from .templates import candidate_names, environment, gettext_callables, template_loader
from .view import DigestView, Page, archive_view, briefed, digest_view, stylesheet_fields

_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*|[ \t]{2,}")
# Gmail shows an HTML part of more than about 102 KB clipped: the rest, its footer and
# unsubscribe link among it, behind a "View entire message" link. A digest whose HTML
# would pass this many bytes (UTF-8, before transfer encoding; the margin is for a
# subscriber's own unsubscribe link and what list software may add) shows its newest
# statements whole and lists the rest by title (docs/digests.md, "Long weeks").
HTML_BUDGET = 90_000


def personal(url: str | None) -> bool:
    """Whether an unsubscribe link is made for each recipient by ``send``."""
    return url is not None and ("{address}" in url or "{token}" in url)


def _variables(view: Page, gettext: Mapping[str, Any]) -> dict[str, Any]:
    """A page's template variables: the fields of its ``view``, the gettext callables."""
    return {**{f.name: getattr(view, f.name) for f in fields(view)}, **gettext}


@dataclass(frozen=True, slots=True)
class _Html:
    """An HTML template: inlined once, or to be inlined by premailer after each render."""

    template: jinja2.Template
    inlined: bool
    origin: str | None = None  # the template's file (an inlined copy has none of its own)
    original: jinja2.Template | None = None  # what an inlined copy was made from
    folder: Path | None = None  # the site's templates

    def render(self, variables: Mapping[str, Any]) -> bytes:
        try:
            html = self.template.render(variables)
        except Exception:
            if self.original is not None:  # an inlined copy runs without files or lines:
                self.original.render(variables)  # fail again where the site's file says
            raise
        return encoded((html if self.inlined else self._inline(html)) + "\n",
                       self.folder, self.origin)

    def _inline(self, html: str) -> str:
        try:
            return inline_document(html)
        except Exception as exc:  # (premailer's parsers: a site's stylesheet)
            if self.folder is None:
                raise
            raise not_inlined(exc, self.folder, self.origin) from None


@dataclass(frozen=True, slots=True)
class _Prepared:
    """What rendering one language's digests reads."""

    language: Language
    gettext: Mapping[str, Any]
    subject: jinja2.Template
    text: jinja2.Template
    digest: _Html
    archive: _Html
    heads: ListHeads


class Digests:
    """The digests' templates and languages, prepared for ``languages`` (rendering another
    is a ValueError). ``store``: inlined templates kept between runs (``inline.Inliner``).
    ``inline_once`` False: every page is inlined by premailer after its render (the
    reference the inline-once path is tested against)."""

    def __init__(self, settings: Settings, languages: Sequence[str], *,
                 inline_once: bool = True, store: MutableMapping[str, str] | None = None,
                 compiled: jinja2.BytecodeCache | None = None) -> None:
        self.settings = settings
        loader = template_loader(settings.templates_dir)
        self.env = environment(loader, compiled=compiled)
        self._inliner = Inliner(self.env, loader, store) if inline_once else None
        with site_templates(settings.templates_dir):
            self.languages = MappingProxyType({lang: self._prepare(lang) for lang in languages})

    def _prepare(self, lang: str) -> _Prepared:
        language = Language(lang, site_locales(self.settings))
        page = stylesheet_fields(language)
        return _Prepared(
            language=language, gettext=gettext_callables(language.catalog),
            subject=self._template("subject.txt", lang),
            text=self._template("digest.txt", lang),
            digest=self._html("digest.html", lang, page),
            archive=self._html("archive.html", lang, page),
            heads=ListHeads.of(self.settings, lang))

    def _template(self, name: str, lang: str) -> jinja2.Template:
        return self.env.select_template(candidate_names(name, lang))

    def _html(self, name: str, lang: str, page: Mapping[str, str]) -> _Html:
        template = self._template(name, lang)
        inlined = self._inliner.inlined(template.name or name, page) if self._inliner else None
        return _Html(template if inlined is None else inlined, inlined is not None,
                     template.filename, None if inlined is None else template,
                     self.settings.templates_dir)

    def _text(self, prepared: _Prepared, variables: Mapping[str, Any]) -> bytes:
        return encoded(prepared.text.render(variables), self.settings.templates_dir,
                       prepared.text.filename, page=False)

    def _for(self, lang: str | None) -> _Prepared:
        if lang is None:
            raise ValueError("a digest belongs to a language")
        found = self.languages.get(lang)
        if found is None:  # preparing here would change this object while rendering
            raise ValueError(f"the digests were not prepared for {lang!r}")
        return found

    def _shown(self, prepared: _Prepared, view: DigestView
               ) -> tuple[DigestView, dict[str, Any], bytes]:
        """``view``, its template variables (the subject among them) and its HTML."""
        variables = _variables(view, prepared.gettext)
        # One line; other spaces (thin ones around the dash of a week in words) are kept.
        variables["subject"] = _LINE_BREAKS.sub(
            " ", prepared.subject.render(variables)).strip(" ")
        refuse_unwritable(variables["subject"], self.settings.templates_dir,
                          prepared.subject.filename)  # (in the page's <title>, and the feed's)
        return view, variables, prepared.digest.render(variables)

    def _fitted(self, prepared: _Prepared, site: Site, target: Target
                ) -> tuple[DigestView, dict[str, Any], bytes]:
        """The digest's view, variables and HTML (with the .eml's unsubscribe link), its
        statements brief past the most (newest first) whose HTML fits in HTML_BUDGET."""
        if not isinstance(target.period, Week):
            raise ValueError("a digest needs a week")
        whole = digest_view(site, prepared.language, target.period, target.statements)
        shown = self._shown(prepared, whole)
        if len(shown[2]) <= HTML_BUDGET:
            return shown
        # The size grows with each statement shown whole: the largest count that fits,
        # by bisection (about 7 renders for 80 statements; none fitting: all brief).
        low, high = 0, len(whole.statements) - 1
        while low < high:
            middle = (low + high + 1) // 2
            fits = len(self._shown(prepared, briefed(whole, middle))[2]) <= HTML_BUDGET
            low, high = (middle, high) if fits else (low, middle - 1)
        return self._shown(prepared, briefed(whole, low))

    def render(self, site: Site, target: Target) -> dict[str, bytes]:
        """A digest's ``.html`` (inlined), ``.txt`` and ``.eml``, from one rendering."""
        prepared = self._for(target.language)
        with site_templates(self.settings.templates_dir, prepared.digest.origin):
            view, variables, html = self._fitted(prepared, site, target)
            text = self._text(prepared, variables)
            eml = render_eml(site.settings, prepared.heads, view, variables["subject"],
                             text=text, html=html)
            if personal(view.unsubscribe_url):
                # The .eml keeps the link with {address}/{token} (``send`` signs it for each
                # recipient); the published page and text carry no link no one could use.
                variables["unsubscribe_url"] = None
                html = prepared.digest.render(variables)
                text = self._text(prepared, variables)
        return {".html": html, ".txt": text, ".eml": eml}

    def render_page(self, site: Site, target: Target) -> bytes:
        """A digest's published ``.html`` alone, as :meth:`render` gives it: the digest
        feed's entries (rendering whole digests for them, the ten digest feeds of 10,000
        statements took 0.23-0.30 s of CPU, now 0.16-0.21 s; docs/operations.md)."""
        prepared = self._for(target.language)
        with site_templates(self.settings.templates_dir, prepared.digest.origin):
            view, variables, html = self._fitted(prepared, site, target)
            if personal(view.unsubscribe_url):
                variables["unsubscribe_url"] = None
                html = prepared.digest.render(variables)
            return html

    def render_archive(self, site: Site, target: Target) -> bytes:
        """The archive page of the target's language: its digests, newest first."""
        prepared = self._for(target.language)
        variables = _variables(archive_view(site, prepared.language), prepared.gettext)
        with site_templates(self.settings.templates_dir, prepared.archive.origin):
            return prepared.archive.render(variables)

