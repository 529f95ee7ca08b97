"""The Jinja2 side of the digests: the Environment, template choice, gettext callables.

Templates come from the site's ``<templates>/email/``, then the shipped ones, most specific
name first (docs/digests.md). One Environment serves every language: a language's gettext
callables are passed with each render."""

from __future__ import annotations

import gettext
import re
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

from ..bidi import PDI, balance_lines, directed_lines, isolated, isolated_in
from ..language import canonical_tag
from ..template_files import SiteTemplateLoader
from .text import Columns

PACKAGE = "sfb_feeds.templates"
FOLDER = "email"


def template_loader(templates_dir: Path | None) -> jinja2.BaseLoader:
    """The site's ``<templates>/email/`` (if any) over the shipped templates."""
    shipped = jinja2.PackageLoader(PACKAGE, FOLDER, encoding="utf-8")
    if templates_dir is None:
        return shipped
    site = SiteTemplateLoader(templates_dir / FOLDER)  # (a FIFO: refused, not waited for)
    return jinja2.ChoiceLoader([site, shipped])


def environment(loader: jinja2.BaseLoader, *,
                compiled: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """An Environment with the digests' settings over ``loader``: autoescaping for ``.html``
    templates and templates made from strings. ``compiled``: where compiled templates are
    kept between builds (Jinja's bytecode cache), if the build keeps them."""
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False,
                                            default_for_string=True),
        undefined=jinja2.StrictUndefined,
        extensions=[jinja2.ext.i18n],
        keep_trailing_newline=True,
        trim_blocks=True,  # a block tag takes its line with it
        lstrip_blocks=True,
        auto_reload=False,  # a build reads each template once
        bytecode_cache=compiled,
    )
    # {% trans %} blocks compile to newstyle calls, as the callables below expect.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    columns = Columns()
    env.filters.update(wrap=columns.wrap, underline=columns.underline, isolate=isolate, bdi=bdi,
                       bdi_names=bdi_names, balance_lines=balance_lines,
                       directed_lines=directed_lines, isolate_in=isolated_in)
    return env


def isolate(text: str) -> str:
    """Each line of ``text`` between FSI and PDI (plain text), its own bidi controls balanced:
    its direction, or an override or isolate it leaves open, cannot leak into what follows
    on the line."""
    return "\n".join(isolated(line) if line else line for line in text.split("\n"))


def bdi(text: str) -> Markup:
    """``text`` escaped, in ``<bdi>`` (HTML) and, inside it, between FSI and PDI: isolated
    from the text around it also where the tag is dropped (Gmail, Outlook, Yahoo)."""
    return Markup("<bdi>{}</bdi>").format(isolate(text))


# LRI, RLI, FSI (each closed by a PDI) and PDI: only these are visited (a loop over every
# character, and Markup.format, took ~0.25 s of a cold 10,000 build's CPU)
_ISOLATE_MARKS = re.compile("[\u2066-\u2069]")


def bdi_names(text: str) -> Markup:
    """``text`` escaped, each isolate at its top level (FSI name PDI, as ``authors`` holds
    each name) also in ``<bdi>``, for clients that keep the tag and drop the characters."""
    pieces: list[str] = []
    depth = start = 0
    for mark in _ISOLATE_MARKS.finditer(text):
        at = mark.start()
        if mark.group() != PDI:
            if depth == 0:
                pieces.append(escape(text[start:at]))
                start = at
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                pieces.append(f"<bdi>{escape(text[start:at + 1])}</bdi>")
                start = at + 1
    pieces.append(escape(text[start:]))
    return Markup("".join(pieces))


def candidate_names(name: str, lang: str) -> tuple[str, ...]:
    """Template names to try for ``lang``, most specific first: ``digest.pl.html``..."""
    stem, dot, ext = name.rpartition(".")
    parts = tag.split("-") if (tag := canonical_tag(lang)) else []
    specific = tuple(f"{stem}.{'-'.join(parts[:n])}{dot}{ext}" for n in range(len(parts), 0, -1))
    return (*specific, name)


def gettext_callables(catalog: gettext.NullTranslations) -> dict[str, Any]:
    """``_``, ``gettext`` and ``ngettext`` of ``catalog`` as render variables, in the
    newstyle form: the result is Markup when the template autoescapes (so ``.format()``
    escapes what it inserts), and keyword arguments are %-formatted in."""

    def marked(context: EvalContext, text: str) -> str:
        return Markup(text) if context.autoescape else text

    @jinja2.pass_eval_context
    def translate(context: EvalContext, message: str, **variables: Any) -> str:
        text = marked(context, catalog.gettext(message))
        return text % variables if variables else text

    @jinja2.pass_eval_context
    def ngettext(context: EvalContext, singular: str, plural: str, num: int,
                 **variables: Any) -> str:
        text = marked(context, catalog.ngettext(singular, plural, num))
        return text % {"num": num, **variables}

    return {"_": translate, "gettext": translate, "ngettext": ngettext}
