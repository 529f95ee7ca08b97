"""The Jinja2 side of the digests: one Environment per templates folder, chosen templates.

Templates are looked up in the site's ``<templates>/email/`` folder first, then in the
ones shipped with sfb-feeds (``templates/email/`` in the repository, the package
``sfb_feeds.templates`` once installed). For each kind of template the most specific name
wins: ``digest.pt-BR.html``, then ``digest.pt.html``, then ``digest.html``.

Labels go through gettext with Jinja's i18n extension in its "newstyle" form
(``{{ _("Full statement") }}``, ``{{ _("by {authors}").format(authors=...) }}``). The
translations are handed to each render rather than installed on the Environment, so one
Environment serves every language.
"""

from __future__ import annotations

import gettext
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from types import BuiltinMethodType, MethodType
from typing import Any, Self

import jinja2
import jinja2.ext
from jinja2.loaders import split_template_path
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

from ..i18n import translations
from ..language import canonical_tag

PACKAGE = "sfb_feeds.templates"
FOLDER = "email"
TEXT_WIDTH = 72


class _ResourceLoader(jinja2.BaseLoader):
    """Templates shipped inside the package (a folder, or a zip), read with importlib."""

    def __init__(self, root: Traversable) -> None:
        self.root = root

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        path = self.root.joinpath(*split_template_path(template))
        if not path.is_file():
            raise jinja2.TemplateNotFound(template)
        return path.read_text(encoding="utf-8"), None, lambda: True


def _loader(templates_dir: Path | None) -> jinja2.BaseLoader:
    shipped = _ResourceLoader(files(PACKAGE) / FOLDER)
    if templates_dir is None:
        return shipped
    site = jinja2.FileSystemLoader(templates_dir / FOLDER, encoding="utf-8")
    return jinja2.ChoiceLoader([site, shipped])


def _bytecode_cache(cache_dir: Path | None) -> jinja2.BytecodeCache | None:
    """Compiled templates kept under ``<cache>/jinja`` (Jinja checks each against its
    template's source), so a run that renders one digest does not compile them all."""
    if cache_dir is None:
        return None
    folder = cache_dir / JINJA_CACHE
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # no cache is slower, never wrong
    return jinja2.FileSystemBytecodeCache(str(folder))


JINJA_CACHE = "jinja"


@lru_cache(maxsize=16)
def environment(templates_dir: Path | None, cache_dir: Path | None = None
                ) -> jinja2.Environment:
    """The one Environment for a templates folder (None: only the shipped templates)."""
    env = jinja2.Environment(
        bytecode_cache=_bytecode_cache(cache_dir),
        loader=_loader(templates_dir),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        extensions=[jinja2.ext.i18n],
        keep_trailing_newline=True,
        trim_blocks=True,  # a block tag takes its line with it
        lstrip_blocks=True,
        auto_reload=False,  # a build reads each template once
    )
    env.context_class = _Context
    # {% trans %} blocks compile to newstyle calls, as the gettext functions below expect.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.filters["wrap"] = wrap
    env.filters["underline"] = underline
    return env


def candidate_names(name: str, lang: str) -> tuple[str, ...]:
    """Template names to try for ``lang``, most specific first: ``digest.pl.html``..."""
    stem, dot, ext = name.rpartition(".")
    tag = canonical_tag(lang) or ""
    parts = tag.split("-") if tag else []
    specific = tuple(f"{stem}.{'-'.join(parts[:n])}{dot}{ext}" for n in range(len(parts), 0, -1))
    return (*specific, name)


@lru_cache(maxsize=1024)
def template(templates_dir: Path | None, name: str, lang: str,
             cache_dir: Path | None = None) -> jinja2.Template:
    """The template of kind ``name`` (``digest.html``...) for ``lang``; chosen once."""
    env = environment(templates_dir, cache_dir)
    return env.select_template(candidate_names(name, lang))


class Label(Markup):
    """A translated label in an autoescaping template. Its ``.format()`` is Markup's (what
    it inserts is escaped) without ``string.Formatter``'s long way round for the plain
    ``{name}`` fields and text values labels have (a tenth of a digest's rendering)."""

    __slots__ = ()

    def format(self, *args: Any, **kwargs: Any) -> Self:
        if args or not _plain_fields(str(self)) or not all(
                isinstance(value, str) or type(value) is int for value in kwargs.values()):
            return super().format(*args, **kwargs)
        return type(self)(str.format(self, **{name: escape(value)
                                              for name, value in kwargs.items()}))


@lru_cache(maxsize=1024)
def _plain_fields(text: str) -> bool:
    """Whether every replacement field of ``text`` is a bare ``{name}``."""
    try:
        return all(name is None or (name.isidentifier() and not spec and conversion is None)
                   for _, name, spec, conversion in string.Formatter().parse(text))
    except ValueError:
        return False


MOST_LABELS = 512


class Gettext:
    """``_`` / ``gettext`` of one catalog in a template, as the i18n extension's newstyle
    function: the result is Markup (a Label) when the template autoescapes (so
    ``.format()`` escapes what it inserts), and keyword arguments are %-formatted in."""

    __slots__ = ("catalog", "labels")

    def __init__(self, catalog: gettext.NullTranslations) -> None:
        self.catalog = catalog
        self.labels: dict[str, Label] = {}

    def translate(self, autoescape: bool, message: str, **variables: Any) -> str:
        if autoescape:
            text: str | None = self.labels.get(message)
            if text is None:
                text = Label(self.catalog.gettext(message))
                if len(self.labels) < MOST_LABELS:  # (a template's own messages, not data)
                    self.labels[message] = text
        else:
            text = self.catalog.gettext(message)
        return text % variables if variables else text

    @jinja2.pass_eval_context
    def __call__(self, context: EvalContext, message: str, **variables: Any) -> str:
        return self.translate(context.autoescape, message, **variables)


class _Context(jinja2.runtime.Context):
    """The render context, calling translations and methods with no Jinja decorator
    (``str.format``, ``Markup.format``) directly: Jinja's general ``call`` looks for
    context-taking arguments on every call, a sixth of a digest's rendering."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        kind = type(__obj)
        direct = kind is Gettext or kind is BuiltinMethodType or (  # (no Jinja decorator
            kind is MethodType and not hasattr(__obj.__func__, "jinja_pass_arg"))  # on these)
        if not direct:
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_loop_vars", None)
        kwargs.pop("_block_vars", None)
        if kind is Gettext:
            return __obj.translate(__self.eval_ctx.autoescape, *args, **kwargs)
        return __obj(*args, **kwargs)


@lru_cache(maxsize=256)
def gettext_functions(lang: str) -> Mapping[str, Any]:
    """``_``, ``gettext`` and ``ngettext`` for ``lang``, as render variables (see Gettext)."""
    catalog = translations(lang)

    @jinja2.pass_eval_context
    def ngettext(
        context: EvalContext, singular: str, plural: str, num: int, **variables: Any
    ) -> str:
        text = catalog.ngettext(singular, plural, num)
        if context.autoescape:
            text = Markup(text)
        variables.setdefault("num", num)
        return text % variables

    translate = Gettext(catalog)
    return {"_": translate, "gettext": translate, "ngettext": ngettext}


# --- filters for the plain-text digest ------------------------------------------------------


_SPACES = re.compile(r"[ \t\n\r\f\v]+")  # ASCII only: no-break and thin spaces hold


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "") -> str:
    """``text`` folded at spaces into lines at most ``width`` columns wide.

    Greedy, like ``textwrap``, but words are never broken (a URL longer than a line gets a
    line of its own), only ASCII white space separates words, and wide (CJK) characters
    count as two columns.
    """
    spaced = _one_spaced(text)
    if spaced.isascii() or _all_narrow(spaced):
        return _wrap_narrow(spaced, width - len(indent), indent)
    lines: list[str] = []
    line: list[str] = []
    used = len(indent)
    for word in spaced.split(" "):
        size = _word_width(word)
        if line and used + 1 + size > width:
            lines.append(indent + " ".join(line))
            line, used = [], len(indent)
        used += size + (1 if line else 0)
        line.append(word)
    if line and line != [""]:
        lines.append(indent + " ".join(line))
    return "\n".join(lines)


def _wrap_narrow(text: str, room: int, indent: str) -> str:
    """:func:`wrap` of words joined by single spaces, each character one column wide:
    line by line (the last space that fits) instead of word by word."""
    lines: list[str] = []
    start, end = 0, len(text)
    while end - start > room:
        cut = text.rfind(" ", start, start + room + 1)
        if cut <= start:  # the first word alone is too long: it gets a line of its own
            cut = text.find(" ", start + 1)
            if cut < 0:
                break
        lines.append(indent + text[start:cut])
        start = cut + 1
    if start < end:
        lines.append(indent + text[start:])
    return "\n".join(lines)


_ASCII_SPACE = " \t\n\r\f\v"


def _one_spaced(text: str) -> str:
    """``text`` without ASCII white space at either end, and one space between words."""
    text = text.strip(_ASCII_SPACE)
    if "  " in text or any(char in text for char in _ASCII_SPACE[1:]):
        return _SPACES.sub(" ", text)
    return text


# A search for a character outside the one-column ranges known so far (ASCII, and each
# 256-character block of Unicode met so far) is much quicker than measuring characters.
_blocks: set[int] = set()
_narrow_ranges: list[tuple[int, int]] = [(0, 0x7F)]
_other = re.compile(r"[^\x00-\x7f]")


def _all_narrow(text: str) -> bool:
    """Whether every character of ``text`` takes exactly one column (see display_width)."""
    while (found := _other.search(text)) is not None:
        block = ord(found.group()) >> 8
        if block in _blocks:
            return False  # in a block already measured: not one column wide
        _add_block(block)
    return True


def _add_block(block: int) -> None:
    global _other
    _blocks.add(block)
    for point in range(block << 8, (block + 1) << 8):
        if display_width(chr(point)) != 1:
            continue
        first, last = _narrow_ranges[-1]
        if point == last + 1:
            _narrow_ranges[-1] = (first, point)
        else:
            _narrow_ranges.append((point, point))
    _narrow_ranges.sort()
    ranges = "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in _narrow_ranges)
    _other = re.compile(f"[^{ranges}]")


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: wide (CJK) characters take two."""
    if text.isascii():  # every ASCII character takes one column
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


@lru_cache(maxsize=65536)  # words recur: most of a text's words are a few hundred words
def _word_width(word: str) -> int:
    return display_width(word)


def underline(text: str, char: str = "=") -> str:
    """A line of ``char`` as wide as the longest line of ``text``."""
    return char * max((_line_width(line) for line in text.splitlines()), default=0)


def _line_width(line: str) -> int:
    # Word by word, as each character counts on its own: most words were measured before.
    words = line.split(" ")
    return sum(_word_width(word) for word in words) + len(words) - 1
