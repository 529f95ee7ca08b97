"""CSS inlining with premailer: once per template where that is exact, else per document.

An eligible template is *flattened* (rendered with its Jinja constructs swapped for inert
placeholders: a comment between tags, a word inside one; ``extends``, ``block``,
``include``, ``super()`` resolved; stylesheets rendered for real with the page values they
read), checked, inlined by premailer once, and its constructs put back. It is eligible when
what premailer writes on an element follows from the template's own markup: selectors of a
tag, classes or an id only, and no Jinja in ``class``/``style``/``id``, tag or attribute
names or ``<style>``. Any other is inlined per document. See docs/digests.md.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from importlib.metadata import version

import jinja2
import jinja2.meta
from lxml import etree

STYLESHEET_SUFFIX = ".css"
_CONSTRUCT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_RESOLVED = re.compile(r"\{%-?\s*(extends|block|endblock|include)\b|\{\{-?\s*super\(\)\s*-?\}\}$")
_DEPTH = {"block": 1, "endblock": -1}
_REFUSED = re.compile(r"\{%-?\s*raw\b|\bsafe\b")  # raw text; values that are markup
_MARK = "sfbjinja"
_TOKEN = re.compile(rf"<!--{_MARK}(\d+)-->|{_MARK}(\d+)x")
_COMMENT = re.compile(rf"<!--{_MARK}(\d+)-->")
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_TITLE = re.compile(r"<title\b.*?</title\s*>", re.S | re.I)
_FIXED_ATTRIBUTES = frozenset({"class", "style", "id"})
_SIMPLE_SELECTOR = re.compile(r"\*|[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]*(?:[.#]-?[A-Za-z_][\w-]*)+")


class Ineligible(Exception):
    """Inlining the template once would not give what premailer gives each document."""


def _parse(html: str) -> etree._ElementTree | None:
    """``html`` parsed as premailer parses it; None for a page of no element at all (a
    site's template may write nothing)."""
    root = etree.fromstring(html.strip(), etree.HTMLParser())
    return None if root is None else root.getroottree()


def _transformed(tree: etree._ElementTree) -> str:
    from premailer import Premailer  # ~0.1 s to import: only when inlining

    # cssutils (imported by premailer) logs to stderr: kept quiet while inlining.
    logger = logging.getLogger("CSSUTILS")  # the logger cssutils.log writes to
    saved, logger.disabled = logger.disabled, True
    try:
        # strip_important=False keeps the !important premailer adds to @media rules, which
        # they need to win over the inline styles on narrow screens.
        Premailer(allow_network=False, allow_loading_external_files=False,
                  strip_important=False, disable_leftover_css=False,
                  remove_classes=False, disable_validation=True).transform(tree.getroot())
    finally:
        logger.disabled = saved
    return str(etree.tostring(tree, method="html", encoding="unicode"))


def inline_document(html: str) -> str:
    """``html`` with its <style> rules inlined by premailer; @media rules stay in <style>."""
    tree = _parse(html)
    return html if tree is None else _transformed(tree)


class _ProtectingLoader(jinja2.BaseLoader):
    """``loader``'s templates with their constructs swapped for placeholders (see above)."""

    def __init__(self, loader: jinja2.BaseLoader) -> None:
        self.loader = loader
        self.constructs: list[str] = []
        self.stylesheets: dict[str, str] = {}

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.loader.get_source(environment, template)
        if template.endswith(STYLESHEET_SUFFIX):
            self.stylesheets[template] = source
            return source, filename, uptodate
        # (named apart from the template itself: a bytecode cache keys on the file name)
        return self._protected(source), f"{filename or template}#protected", uptodate

    def _protected(self, source: str) -> str:
        child = re.search(r"\{%-?\s*extends\b", source) is not None
        parts: list[str] = []
        literal = ""  # the text so far without constructs: are we inside a tag?
        depth = at = 0
        for match in _CONSTRUCT.finditer(source):
            text, between = match.group(), source[at:match.start()]
            parts.append(between)
            literal += between
            at = match.end()
            resolved = _RESOLVED.match(text)
            if text.startswith("{#") or resolved:
                depth += _DEPTH.get(resolved.group(1) or "", 0) if resolved else 0
                parts.append(text)
                continue
            inside_tag = literal.rfind("<") > literal.rfind(">")
            parts.append(self._placeholder(text, inside_tag, child and depth <= 0))
        parts.append(source[at:])
        return "".join(parts)

    def _placeholder(self, text: str, inside_tag: bool, outside_blocks: bool) -> str:
        """The placeholder of construct ``text``: a word inside a tag, else a comment."""
        if _REFUSED.search(text):
            raise Ineligible(f"{text!r} cannot be inlined once")
        if outside_blocks or text[2] == "-" or text[-3] == "-":
            raise Ineligible(f"{text!r}: outside a block, or trims white space")
        self.constructs.append(text)
        index = len(self.constructs) - 1
        return f"{_MARK}{index}x" if inside_tag else f"<!--{_MARK}{index}-->"


def _fixed_markup(tree: etree._ElementTree) -> bool:
    for element in tree.iter(etree.Element):  # (not comments: placeholders live there)
        if _MARK in element.tag or (element.tag in ("style", "script")
                                    and _MARK in (element.text or "")):
            return False
        if any(_MARK in name or (name in _FIXED_ATTRIBUTES and _MARK in value)
               for name, value in element.attrib.items()):
            return False
    return True


def _selectors(css: str) -> Iterator[str]:
    """The selectors of the style rules of ``css`` outside at-rules (``@media``...): the
    ones premailer inlines."""
    depth, prelude = 0, list[str]()
    for char in _CSS_COMMENT.sub(" ", css):
        if char == "{":
            if depth == 0 and not "".join(prelude).lstrip().startswith("@"):
                yield from (s.strip() for s in "".join(prelude).split(","))
            depth, prelude = depth + 1, []
        elif char == "}":
            depth, prelude = max(depth - 1, 0), []
        elif char == ";" and depth == 0:
            prelude = []  # @import ...; @charset ...;
        else:
            prelude.append(char)


def _simple_selectors(tree: etree._ElementTree) -> bool:
    css = "\n".join(style.text or "" for style in tree.iter("style"))
    return all(_SIMPLE_SELECTOR.fullmatch(selector) for selector in _selectors(css))


INELIGIBLE = ""  # inlining once would not give what premailer gives each document


def inline_once(flat: str, constructs: list[str]) -> str:
    """The flat document ``flat`` inlined by premailer, its constructs put back."""
    constructs = list(constructs)

    def kept(match: re.Match[str]) -> str:
        constructs.append(match.group())
        return f"{_MARK}{len(constructs) - 1}x"

    # Placeholders in <title> as words: lxml drops comments there. Character references
    # (&nbsp;) become placeholders too: they come back as written, not as lxml writes them.
    flat = _TITLE.sub(lambda m: _COMMENT.sub(rf"{_MARK}\1x", m.group()), flat)
    flat = _ENTITY.sub(kept, flat)
    tree = _parse(flat)
    if tree is None or not (_fixed_markup(tree) and _simple_selectors(tree)):
        return INELIGIBLE
    inlined = _transformed(tree)
    if len(_TOKEN.findall(inlined)) != len(_TOKEN.findall(flat)):
        return INELIGIBLE  # premailer rewrote a value Jinja fills in
    return _TOKEN.sub(lambda m: constructs[int(m.group(1) or m.group(2))], inlined)


def _store_key(flat: str, constructs: list[str]) -> str:
    """What an inlined template's text depends on: the flat document, the constructs its
    placeholders stand for, and the versions of premailer, cssutils and lxml."""
    used = [constructs[int(a or b)] for a, b in _TOKEN.findall(flat)]
    versions = [version(name) for name in ("premailer", "cssutils", "lxml")]
    text = "\0".join((flat, *used, *versions))
    # (surrogatepass: a site's stylesheet may write a lone surrogate, named when the page
    # is encoded)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class Inliner:
    """Templates of an Environment inlined once, kept per template file and the values its
    stylesheets read. ``store`` (hash of what one depends on -> its text) may be kept between
    runs, so a one-edit build neither imports nor runs premailer (~0.3 s of such a build)."""

    def __init__(self, env: jinja2.Environment, loader: jinja2.BaseLoader,
                 store: MutableMapping[str, str] | None = None) -> None:
        self.env = env
        self.store = store
        self._protecting = _ProtectingLoader(loader)
        self._flat = env.overlay(loader=self._protecting)
        self._inlined: dict[tuple[str, ...], jinja2.Template | None] = {}
        # Inlined texts load by name (``<hash>.html``: autoescaped as HTML), so that the
        # environment's bytecode cache, if any, keeps them compiled too.
        self._sources: dict[str, str] = {}
        self._compiler = env.overlay(loader=jinja2.FunctionLoader(self._sources.get))

    def _reads(self) -> tuple[str, ...]:
        names: set[str] = set()
        for source in self._protecting.stylesheets.values():
            names |= jinja2.meta.find_undeclared_variables(self.env.parse(source))
        return tuple(sorted(names))

    def inlined(self, name: str, page: Mapping[str, str]) -> jinja2.Template | None:
        """Template ``name`` inlined for a page with ``page``'s values (those a stylesheet
        may read: lang, dir, start, end); None: inline it per document."""
        try:
            flat = self._flat.get_template(name).render(page)
        except (Ineligible, jinja2.TemplateError):
            return None
        key = (name, *(f"{n}={page[n]}" for n in self._reads()))
        if key not in self._inlined:
            try:
                source = self._source(flat)
            except Exception:  # (a stylesheet premailer cannot read: named per document)
                source = INELIGIBLE
            self._inlined[key] = self._compiled_or_none(source) if source else None
        return self._inlined[key]

    def _compiled_or_none(self, source: str) -> jinja2.Template | None:
        """``source`` compiled; None if it does not compile: a site's template with a tag
        left open (``{{`` swallowing markup up to the next tag's end) flattens and inlines,
        yet is no template put back together. Loaded from its files, it is then named."""
        try:
            return self._compiled(source)
        except jinja2.TemplateSyntaxError:
            return None

    def _compiled(self, source: str) -> jinja2.Template:
        name = hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16
                               ).hexdigest() + ".html"
        self._sources[name] = source
        return self._compiler.get_template(name)

    def _source(self, flat: str) -> str:
        constructs = self._protecting.constructs
        if self.store is None:
            return inline_once(flat, constructs)
        key = _store_key(flat, constructs)
        if (found := self.store.get(key)) is None:
            found = self.store[key] = inline_once(flat, constructs)
        return found
