"""Render a digest once (HTML inlined, plain text, subject) and serve it to its three outputs."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from ..i18n import prepare_language
from ..model import Settings
from ..plan import Target
from ..site import Site
from . import templates
from .inline import inline_css, prepare_inliner
from .view import ArchiveView, DigestView, archive_view, digest_view

_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*|[ \t]{2,}")


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """One digest in every form its outputs need."""

    view: DigestView
    subject: str
    html: bytes  # inlined, UTF-8; the very bytes of the .html output
    text: bytes  # UTF-8; the very bytes of the .txt output


def _variables(view: object, lang: str, **more: Any) -> dict[str, Any]:
    values = {f.name: getattr(view, f.name) for f in fields(view)}  # type: ignore[arg-type]
    return {**values, **templates.gettext_functions(lang), **more}


def _render(site: Site, name: str, lang: str, variables: dict[str, Any]) -> str:
    settings = site.settings
    return templates.template(settings.templates_dir, name, lang,
                              settings.cache_dir).render(variables)


def prepare(settings: Settings, names: tuple[str, ...], *, languages: bool = False) -> None:
    """Compile the shipped (or the site's) templates ``names``, as the first render would
    (see ``OutputFormat.prepare``); with ``languages``, also ready the CSS inliner and the
    data of the languages the site expects digests in."""
    env = templates.environment(settings.templates_dir, settings.cache_dir)
    for name in names:
        env.get_template(name)  # kept in the environment: every language's lookup finds it
    if languages:
        prepare_inliner(settings.cache_dir)
        for lang in settings.digests.lists:
            prepare_language(lang)


def render_view(site: Site, view: DigestView) -> RenderedDigest:
    """Render the subject, the plain text and the inlined HTML of one digest."""
    lang = view.lang
    # One line; other spaces (thin ones around the dash of a week in words) are kept.
    subject = _LINE_BREAKS.sub(" ", _render(site, "subject.txt", lang, _variables(view, lang)))
    subject = subject.strip(" ")
    variables = _variables(view, lang, subject=subject)
    html = inline_css(_render(site, "digest.html", lang, variables),
                      site.settings.cache_dir) + "\n"
    text = _render(site, "digest.txt", lang, variables)
    return RenderedDigest(view, subject, html.encode("utf-8"), text.encode("utf-8"))


PARTS = frozenset({"html", "text", "eml"})


class _Memo:
    """The digests rendered for the site being built, so .html, .txt and .eml share one.

    Keyed by the Site object itself (frozen, and with slots, so no weak references): a
    new Site starts a new memo, and the one before is let go. A digest is dropped once
    each of its three outputs has fetched it, so a build holds only the digests whose
    outputs are still to come, not every digest of the site.
    """

    def __init__(self) -> None:
        self.site: Site | None = None
        self.digests: dict[tuple[str, str], tuple[RenderedDigest, set[str]]] = {}

    def get(self, site: Site, target: Target, part: str) -> RenderedDigest:
        if self.site is not site:
            self.site, self.digests = site, {}
        if target.language is None or target.period is None:
            raise ValueError("a digest needs a language and a week")
        key = (target.language, target.period)
        found = self.digests.get(key)
        if found is None or part in found[1]:  # a part asked twice: render afresh
            view = digest_view(site, target.language, target.period, target.statements)
            found = self.digests[key] = (render_view(site, view), set())
        found[1].add(part)
        if found[1] >= PARTS:
            del self.digests[key]
        return found[0]


_memo = _Memo()


def rendered_digest(site: Site, target: Target, part: str) -> RenderedDigest:
    """The digest of ``target`` (a language and a week) for its output ``part``.

    ``part`` is "html", "text" or "eml": the three outputs of a digest share one
    rendering.
    """
    return _memo.get(site, target, part)


def render_archive(site: Site, lang: str) -> bytes:
    """The archive page of ``lang``: its digests, newest first."""
    view: ArchiveView = archive_view(site, lang)
    html = inline_css(_render(site, "archive.html", lang, _variables(view, lang)),
                      site.settings.cache_dir) + "\n"
    return html.encode("utf-8")
