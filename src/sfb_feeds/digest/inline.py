"""CSS inlining with premailer, paid once per element shape instead of once per digest.

premailer costs 15-30 ms a document, mostly in cssutils and in running every selector over
the tree. What it writes on an element depends only on the stylesheet and on what its
selectors can see of that element: the tag, id, class and attributes of the element and of
its ancestors, the element's own ``style`` (merged) and the attributes premailer rewrites
(``align``, ``valign``, ``bgcolor``, ``width``, ``height``), plus - only when the stylesheet
uses ``:first-child``/``:last-child`` or attribute selectors - its position among its siblings
and the attributes those selectors name. Text never matters.

So each element gets a *shape* (those facts, chained through its ancestors). The first time
a shape is seen, premailer runs on the whole document and what it changed on each element
is recorded for that element's shape; from then on documents whose shapes are all known are
inlined by replaying the recorded changes, with no premailer call at all. In a digest build
that means a few premailer calls per template and language, whatever the number of digests.
The result is the same as calling premailer on each document (a test compares them element
by element), and it does not depend on what was inlined before.

Stylesheets using sibling combinators (``+``, ``~``), whose effect this shape does not
capture, are inlined by calling premailer on every document: slow, but never wrong.

Most email stylesheets (the shipped one included) style elements by class alone. For such
a *context-free* stylesheet an element's changes follow from its own start tag, so once
every start tag of a document is known the document is not parsed at all: its start tags
and <style> are rewritten in the text, which is four to five times quicker than parsing,
replaying and serialising (see "the fast path" below). The result parses to the same tree.

Given a cache folder, what was learnt for a stylesheet is kept there (one JSON file per
stylesheet, named by a hash of the stylesheet and of the premailer, cssutils and sfb-feeds
versions), so a later build that meets only known shapes never runs - nor imports -
premailer. The files are safe to delete; an unreadable one is ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from .. import __version__

if TYPE_CHECKING:
    from premailer import Premailer

_log = logging.getLogger(__name__)

# What premailer may rewrite on an element besides ``style`` (premailer's
# _style_to_basic_html_attributes and align_floating_images).
_REWRITTEN = ("style", "align", "valign", "bgcolor", "width", "height")
_ALWAYS_SEEN = ("id", "class", *_REWRITTEN)
# premailer inlines a selector with a colon only when the colon starts one of these.
_FILTERS = (":first-child", ":last-child", ":nth-child")
# An attribute selector: its name, and whether it tests the value or only presence.
_ATTRIBUTE = re.compile(r"\[\s*([^\s~|^$*=\]]+)\s*([~|^$*]?=)?")
_BRACKETS = re.compile(r"\[[^\]]*\]|\"[^\"]*\"|'[^']*'")
_MARK = "data-sfb-inline-index"

Attributes = tuple[tuple[str, str], ...]


def _premailer_class() -> type[Premailer]:
    # Imported when first needed: premailer and cssutils take ~0.1 s to import, and a build
    # whose shapes are all in the cache never calls them.
    found: type[Premailer] | None = globals().get("Premailer")
    if found is None:
        from premailer import Premailer as imported

        found = globals()["Premailer"] = imported
    return found


def prepare_inliner(cache_dir: Path | None) -> None:
    """Import premailer now if the first documents will need it: when ``cache_dir`` holds
    nothing learnt yet (a first build), they will."""
    if cache_dir is None or not any((cache_dir / "inliner").glob("*.json")):
        _premailer_class()


def __getattr__(name: str) -> Any:
    if name == "Premailer":  # inline.Premailer, as before premailer was imported lazily
        return _premailer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _premailer() -> Premailer:
    # strip_important=False keeps the !important premailer adds to @media rules, which
    # they need to win over the inline styles on narrow screens.
    return _premailer_class()(
        allow_network=False, allow_loading_external_files=False, strip_important=False,
        cache_css_parsing=True, disable_leftover_css=False, remove_classes=False,
    )


@contextmanager
def _cssutils_captured() -> Iterator[None]:
    """Route cssutils' log lines (it writes to stderr) to our debug log while inside."""
    # Imported first: its import adds a stderr handler to the logger, which inside the
    # block would print beside ours (a helper process that learns a shape, with the rest
    # already learnt, imports premailer there: found as warnings in a cron build's output).
    import cssutils  # noqa: F401

    logger = logging.getLogger("CSSUTILS")  # the logger cssutils.log writes to
    saved = (logger.handlers[:], logger.propagate, logger.level)
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger.handlers[:] = [_Keep()]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
        for record in records:
            _log.debug("cssutils: %s", record.getMessage())


@dataclass(frozen=True, slots=True)
class _Needs:
    """What of an element the stylesheet's inlined selectors can see beyond the basics."""

    values: tuple[str, ...]  # attributes whose values selectors test
    presence: tuple[str, ...]  # attributes selectors test only the presence of
    positions: bool
    exact: bool  # the shape cannot capture it: run premailer on every document
    # Every inlined selector is a class or id, maybe with a tag (``.title``, ``td.cell``):
    # what premailer does to an element depends on that element's own start tag alone.
    context_free: bool = False
    seen: frozenset[str] = frozenset()  # attributes whose values are part of a shape

    def __post_init__(self) -> None:
        object.__setattr__(self, "seen", frozenset(_ALWAYS_SEEN + self.values))


def _inlined_selectors(css: str) -> Iterator[str]:
    """The selectors premailer turns into inline styles (not @media, not pseudo-classes)."""
    import cssutils  # lazily, as premailer

    with _cssutils_captured():
        sheet = cssutils.parseString(css, validate=False)
    for rule in sheet:
        if rule.type != rule.STYLE_RULE:
            continue
        for raw in rule.selectorText.split(","):
            selector = raw.strip()
            if not selector or selector.startswith((":", "@")) or "*" in selector:
                continue
            if ":" in selector and ":" + selector.split(":", 1)[1] not in _FILTERS:
                continue  # left in <style> by premailer, never inlined
            yield selector


# A compound selector of classes and ids, maybe after a tag name: no combinator, no
# attribute, no pseudo-class. It cannot match an element the parser adds (those have
# neither class nor id), nor depend on anything but the element's own attributes.
_OWN_SELECTOR = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9]*)?(?:[.#][-_a-zA-Z0-9]+)+")


def _needs_of(css_texts: tuple[str, ...]) -> _Needs:
    values: set[str] = set()
    presence: set[str] = set()
    positions = exact = False
    context_free = True
    for css in css_texts:
        for selector in _inlined_selectors(css):
            for name, operator in _ATTRIBUTE.findall(selector):
                (values if operator else presence).add(name.lower())
            positions = positions or ":" in selector
            exact = exact or any(c in _BRACKETS.sub("", selector) for c in "+~")
            context_free = context_free and _OWN_SELECTOR.fullmatch(selector) is not None
    values -= set(_ALWAYS_SEEN)
    return _Needs(tuple(sorted(values)), tuple(sorted(presence - values - set(_ALWAYS_SEEN))),
                  positions, exact, context_free)


@dataclass(frozen=True, slots=True)
class _StyleResult:
    """What premailer did to one <style> element: removed it, or its new text and attributes."""

    removed: bool
    text: str | None = None
    attributes: Attributes = ()


@dataclass(slots=True)
class _Inliner:
    """The recorded premailer results for every document sharing one stylesheet."""

    needs: _Needs
    exact: bool = False
    shapes: dict[tuple[object, ...], int] = field(default_factory=dict)
    changes: dict[int, Attributes] = field(default_factory=dict)
    premailer_calls: int = 0
    # For a context-free stylesheet: the changes for each own key (tag and seen attributes),
    # and start tags already rewritten (the text of the tag -> its new text).
    own: dict[tuple[object, ...], Attributes] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # What follows the address in a link's rewritten tag, by the link's shape (its text
    # without the address): see _rewritten_link.
    link_tails: dict[str, str] = field(default_factory=dict)

    def index_own_keys(self) -> None:
        """Fill ``own`` from what was learnt; a stylesheet turns out not to be context-free
        if one own key ever got two different changes (then ``exact`` takes over)."""
        if not self.needs.context_free or self.exact:
            return
        for shape_key, shape in self.shapes.items():
            own_key = shape_key[1]  # (parent shape, own key): positions are never context-free
            changed = self.changes.get(shape)
            if changed is None or not isinstance(own_key, tuple):
                continue
            if self.own.setdefault(own_key, changed) != changed:
                _log.warning("premailer styled two <%s> with the same attributes differently; "
                             "inlining this stylesheet document by document", own_key[0])
                self.exact = True
                return


_inliners: dict[tuple[tuple[str, Attributes], ...], _Inliner] = {}
_style_results: dict[tuple[str, Attributes], _StyleResult] = {}


def _parse(html: str) -> etree._ElementTree:
    # The same parser premailer uses, so both see the same tree.
    return etree.fromstring(html.strip(), etree.HTMLParser()).getroottree()


def _elements(tree: etree._ElementTree) -> list[etree._Element]:
    return [el for el in tree.iter() if isinstance(el.tag, str)]


def _attributes(element: etree._Element) -> Attributes:
    return tuple((str(k), str(v)) for k, v in element.attrib.items() if k != _MARK)


def _style_key(element: etree._Element) -> tuple[str, Attributes]:
    return element.text or "", _attributes(element)


def _stylesheet(tree: etree._ElementTree) -> tuple[tuple[str, Attributes], ...]:
    return tuple(_style_key(el) for el in tree.iter("style"))


def inline_css(html: str, cache_dir: Path | None = None) -> str:
    """``html`` with its <style> rules inlined as premailer does; @media rules stay in <style>.

    Returns the document (with its doctype): for a context-free stylesheet whose every
    start tag is known, ``html`` itself with its start tags and <style> rewritten (see
    :func:`_rewrite_tags`); otherwise the tree serialised by lxml. Either way it parses to
    what premailer's ``transform`` gives. With ``cache_dir``, what is learnt about the
    document's stylesheet is read from and kept in that folder.
    """
    stripped = html.strip()
    with contextlib.suppress(_UnknownTag):  # the tree path learns it
        fast = _inline_by_tags(stripped, cache_dir)
        if fast is not None:
            return fast
    tree = _parse(html)
    key = _stylesheet(tree)
    inliner = _inliner_for(key, cache_dir)
    calls = inliner.premailer_calls
    if not inliner.exact and any(k not in _style_results for k in key):
        _learn(html, inliner)
    fast = _rewrite_learning(html, stripped, inliner)
    if fast is not None:
        if inliner.premailer_calls != calls:
            _save(key, inliner, cache_dir)
        return fast
    if inliner.exact or not _replay(html, tree, inliner):
        inliner.premailer_calls += 1
        result = _serialise(_run_premailer(_parse(html)))
    else:
        result = _serialise(tree)
    if inliner.premailer_calls != calls:  # learnt something: keep it for later builds
        _save(key, inliner, cache_dir)
    return result


def _rewrite_learning(html: str, stripped: str, inliner: _Inliner) -> str | None:
    """The fast path's result for a document it can take, learning its new start tags
    first; None if it cannot (then the tree path gives the result)."""
    if not inliner.needs.context_free or inliner.exact:
        return None
    try:
        return _rewrite_tags(stripped, inliner)
    except _UnknownTag:
        _learn(html, inliner)
    if inliner.exact:
        return None
    with contextlib.suppress(_UnknownTag):  # premailer styled it, but not as learnt
        return _rewrite_tags(stripped, inliner)
    return None


def _known_inliner(key: Stylesheet, cache_dir: Path | None) -> _Inliner | None:
    """What this process, or the cache folder, knows of the stylesheet ``key``."""
    inliner = _inliners.get(key)
    if inliner is None:
        inliner = _load(key, cache_dir)
        if inliner is not None:
            _inliners[key] = inliner
    return inliner


def _inliner_for(key: Stylesheet, cache_dir: Path | None) -> _Inliner:
    inliner = _known_inliner(key, cache_dir)
    if inliner is None:
        needs = _needs_of(tuple(text for text, _ in key))
        inliner = _inliners[key] = _Inliner(needs, exact=needs.exact)
    return inliner


# --- the fast path: start tags rewritten in the text, no tree at all ------------------------
#
# When every inlined selector is a class or an id (maybe with a tag name), premailer's
# changes to an element follow from the element's own start tag: its tag name and the
# attributes a shape sees. Then the document need not be parsed: each start tag is looked
# up (by its very text, or by those attributes) among the changes premailer was seen to
# make, and rewritten in place; text, comments and end tags stay byte for byte. Anything
# the scanner below cannot be sure the HTML parser reads the same way - an entity in an
# attribute it needs, a repeated attribute, markup inside <title>, a raw-text element
# other than <style> and <title>, a start tag never seen before - sends the document down
# the tree path instead, which learns what was new.

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_START_TAG = re.compile(
    r"<!--.*?-->|<([a-zA-Z][^\s/>]*)((?:[^>\"']+|\"[^\"]*\"|'[^']*')*)>", re.S)
# Elements whose content is not markup (or is, depending on the parser).
_RAW_START = re.compile(
    r"<(style|script|title|textarea|xmp|plaintext|noscript|iframe|noembed|noframes)\b"
    r"((?:[^>\"']+|\"[^\"]*\"|'[^']*')*)>", re.I)
_ATTRIBUTES = re.compile(
    r"""\s*([^\s"'>/=]+)(?:\s*(=)\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_NAME = re.compile(r"[a-zA-Z_:][-a-zA-Z0-9_:.]*")
_DOCUMENT_TAGS = re.compile(r"<(html|head|body)\b", re.I)
_MOST_TAGS = 4096


class _NotPlain(Exception):
    """Markup the fast path leaves to the tree path."""


class _UnknownTag(Exception):
    """A start tag whose changes premailer has not been seen to make yet."""


@dataclass(frozen=True, slots=True)
class _Raw:
    """A <style> or <title> element of the document's text."""

    name: str
    start: int  # where its start tag begins
    content: int  # where its content begins
    close: int  # where its end tag begins
    end: int  # where its tail ends (the next tag)
    attributes: Attributes

    def text(self, html: str) -> str:
        return html[self.content:self.close]


def _raw_elements(html: str) -> list[_Raw]:
    """The raw-text elements of ``html``, in order; _NotPlain for any but a plain <style>
    or <title>."""
    comments = [m.span() for m in _COMMENT.finditer(html)]
    found: list[_Raw] = []
    for match in _RAW_START.finditer(html):
        start = match.start()
        if any(first <= start < last for first, last in comments) or \
                (found and start < found[-1].end):
            continue  # a comment's text, or inside the previous element's content
        name = match.group(1)
        if name not in ("style", "title"):
            raise _NotPlain  # other raw elements, and upper case, go down the tree path
        close = html.find(f"</{name}", match.end())
        closed = html.find(">", close)
        if close < 0 or closed < 0 or html[close + 2 + len(name):closed].strip():
            raise _NotPlain
        end = html.find("<", closed + 1)
        found.append(_Raw(name, start, match.end(), close, len(html) if end < 0 else end,
                          _attributes_of(match.group(2))))
    return found


def _inline_by_tags(html: str, cache_dir: Path | None) -> str | None:
    try:
        raws = _raw_elements(html)
    except _NotPlain:
        return None
    key = tuple((raw.text(html), raw.attributes) for raw in raws if raw.name == "style")
    if not key:
        return None  # nothing to inline from: the tree path says what premailer does
    inliner = _known_inliner(key, cache_dir)
    if inliner is None:
        return None  # a stylesheet met for the first time: the tree path learns it
    if not inliner.needs.context_free or inliner.exact \
            or any(k not in _style_results for k in key):
        return None
    return _rewrite_tags(html, inliner, raws)


def _rewrite_tags(html: str, inliner: _Inliner, raws: list[_Raw] | None = None
                  ) -> str | None:
    """``html`` with every start tag and <style> rewritten as premailer would change the
    element; None if any part of it is not plain enough to be sure of (see above)."""
    found = [m.group(1).lower() for m in _DOCUMENT_TAGS.finditer(html)]
    if sorted(found) != ["body", "head", "html"]:
        return None  # the parser would add or merge elements premailer sees
    try:
        raws = _raw_elements(html) if raws is None else raws
        pieces: list[str] = []
        done = 0
        for raw in raws:
            pieces.append(_rewrite_segment(html[done:raw.start], inliner))
            pieces.append(_rewritten_raw(html, raw, inliner))
            done = raw.end
        pieces.append(_rewrite_segment(html[done:], inliner))
    except _NotPlain:
        return None
    return "".join(pieces)


def _rewrite_segment(text: str, inliner: _Inliner) -> str:
    return _START_TAG.sub(lambda match: _rewritten(match, inliner), text)


def _rewritten(match: re.Match[str], inliner: _Inliner) -> str:
    text = match.group(0)
    done = inliner.tags.get(text)
    if done is None:
        tag = match.group(1)
        if tag is None:  # a comment
            if text.startswith(("<!-->", "<!--->")):
                raise _NotPlain  # parsers disagree on where such a comment ends
            return text
        link = _link_shape(text, inliner)
        if link is not None:
            return _rewritten_link(tag.lower(), match.group(2), text, link, inliner)
        done = _rewritten_tag(tag.lower(), match.group(2), text, inliner)
        if len(inliner.tags) >= _MOST_TAGS:
            # Full of tags met once: start again, or the template's own tags met after it
            # filled would never be kept.
            inliner.tags.clear()
        inliner.tags[text] = done
    return done


# A link's address in double quotes, holding nothing a parser reads as an entity and
# nothing lxml would escape (so a rewritten tag shows it as written).
_HREF = re.compile(r'\shref="([^"&<>]*)"')


def _link_shape(text: str, inliner: _Inliner) -> str | None:
    """A start tag's text without its link address, when the address cannot change what
    premailer does to it (no selector tests ``href``) nor how the tag is read; else None.

    Links differ from document to document, so their tags are remembered by this shape.
    """
    if "href" in inliner.needs.seen or "'" in text or not text.endswith('">'):
        return None
    found = _HREF.search(text)
    if found is None or text.count('"', 0, found.start()) % 2:
        return None  # no plain address, or the match lies inside another value
    return text[:found.start(1)] + text[found.end(1):]


def _rewritten_link(tag: str, attributes: str, text: str, shape: str,
                    inliner: _Inliner) -> str:
    """``text`` rewritten as another start tag of the same ``shape`` was: what premailer
    adds to a tag ending in a quoted value comes after that value, whatever the address."""
    added = inliner.link_tails.get(shape)
    if added is not None:
        return text[:-1] + added
    done = _rewritten_tag(tag, attributes, text, inliner)
    if done.startswith(text[:-1]) and len(inliner.link_tails) < _MOST_TAGS:
        inliner.link_tails[shape] = done[len(text) - 1:]
    return done


def _rewritten_raw(html: str, raw: _Raw, inliner: _Inliner) -> str:
    content, tail = raw.text(html), html[html.index(">", raw.close) + 1:raw.end]
    if raw.name == "title":
        if "<" in content or "&" in content:
            raise _NotPlain  # markup or entities the parser may read differently
        opening = html[raw.start:raw.content]
        start = _rewritten_tag("title", opening[len("<title"):-1], opening, inliner)
        return f"{start}{html[raw.content:raw.end]}"
    result = _style_results.get((content, raw.attributes))
    if result is None:
        raise _NotPlain
    if result.removed:
        return ""  # with its tail, as premailer removes it
    start = "<style" + "".join(_attribute_text(n, v) for n, v in result.attributes) + ">"
    return f"{start}{result.text or ''}</style>{tail}"


def _attributes_of(text: str) -> Attributes:
    """The attributes of a start tag's text, as lxml's HTML parser reads them."""
    found = _ATTRIBUTES.findall(text)
    if _ATTRIBUTES.sub("", text).strip() not in ("", "/"):
        raise _NotPlain  # something between the attributes that is not one
    attributes: list[tuple[str, str]] = []
    for name, equals, double, single, bare in found:
        if not equals or "&" in double + single + bare or _NAME.fullmatch(name) is None:
            raise _NotPlain  # no value, an entity, an odd name: left to the parser
        attributes.append((name.lower(), double or single or bare))
    if len({name for name, _ in attributes}) != len(attributes):
        raise _NotPlain  # a repeated name
    return tuple(attributes)


def _rewritten_tag(tag: str, text: str, whole: str, inliner: _Inliner) -> str:
    """The start tag ``whole`` (tag name ``tag``, attributes ``text``) as premailer leaves
    the element: its attributes changed in place, new ones after them."""
    attributes = _attributes_of(text)
    seen = inliner.needs.seen
    changes = inliner.own.get((tag, tuple([a for a in attributes if a[0] in seen])))
    if changes is None:
        raise _UnknownTag
    if not changes:
        return whole
    slash = " /" if text.rstrip().endswith("/") else ""
    if not any(name == changed for name, _ in attributes for changed, _ in changes):
        # Only new attributes: after the others, as lxml adds them.
        body = whole[:-1].rstrip()
        if slash:
            body = body[:-1].rstrip()
        return f"{body}{_added(changes)}{slash}>"
    merged = dict(attributes)
    merged.update(changes)
    return f"<{tag}" + "".join(_attribute_text(n, v) for n, v in merged.items()) + f"{slash}>"


@lru_cache(maxsize=1024)
def _added(changes: Attributes) -> str:
    return "".join(_attribute_text(name, value) for name, value in changes)


def _attribute_text(name: str, value: str) -> str:
    """`` name="value"`` as lxml writes it: in single quotes when the value holds double
    quotes and no single ones (font names in styles), escaped otherwise."""
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if '"' in value and "'" not in value:
        return f" {name}='{value}'"
    return f' {name}="{value.replace(chr(34), "&quot;")}"'


def _replay(html: str, tree: etree._ElementTree, inliner: _Inliner) -> bool:
    """Do to ``tree`` what premailer would; False if premailer must run on it after all."""
    _apply_style_results(tree)
    ids = _shape_ids(tree, inliner, add=False)
    if ids is None:
        _learn(html, inliner)
        if inliner.exact:
            return False
        ids = _shape_ids(tree, inliner, add=False)
        assert ids is not None  # just learnt from this very document
    for element, shape in ids:
        for name, value in inliner.changes[shape]:
            element.set(name, value)
    return True


def premailer_calls() -> int:
    """How many times premailer has run in this process (to check the fast path is taken)."""
    return sum(inliner.premailer_calls for inliner in _inliners.values())


def _run_premailer(tree: etree._ElementTree) -> etree._ElementTree:
    with _cssutils_captured():
        _premailer().transform(tree.getroot())
    return tree


def _serialise(tree: etree._ElementTree) -> str:
    return str(etree.tostring(tree, method="html", encoding="unicode"))


def _apply_style_results(tree: etree._ElementTree) -> None:
    """Do to each <style> what premailer did to one with the same text and attributes."""
    for element in list(tree.iter("style")):
        result = _style_results[_style_key(element)]
        if result.removed:
            parent = element.getparent()
            assert parent is not None
            parent.remove(element)  # with its tail, as premailer does
            continue
        element.text = result.text
        element.attrib.clear()
        element.attrib.update(dict(result.attributes))
    _ensure_head(tree)


def _ensure_head(tree: etree._ElementTree) -> None:
    """premailer adds an empty <head> before <body> when a document has none."""
    root = tree.getroot()
    if root.find("head") is None and root.find("body") is not None:
        root.insert(0, etree.Element("head"))


def _own_key(element: etree._Element, needs: _Needs) -> tuple[object, ...]:
    items = element.items()
    kept = tuple([item for item in items if item[0] in needs.seen])
    if not needs.presence:
        return (element.tag, kept)
    names = {name for name, _ in items}
    return (element.tag, kept, tuple(name in names for name in needs.presence))


def _shape_ids(
    tree: etree._ElementTree, inliner: _Inliner, *, add: bool
) -> list[tuple[etree._Element, int]] | None:
    """Each element with its shape id; None if a shape is new and ``add`` is false."""
    if inliner.needs.positions:
        return _positional_shape_ids(tree, inliner, add=add)
    result: list[tuple[etree._Element, int]] = []
    shapes, needs = inliner.shapes, inliner.needs
    parents = [-1]  # the shape ids of the open elements
    for event, element in etree.iterwalk(tree.getroot(), events=("start", "end"),
                                         tag=etree.Element):
        if event == "end":
            parents.pop()
            continue
        key = (parents[-1], _own_key(element, needs))
        shape = shapes.get(key)
        if shape is None:
            if not add:
                return None
            shape = shapes[key] = len(shapes)
        result.append((element, shape))
        parents.append(shape)
    return result


def _positional_shape_ids(
    tree: etree._ElementTree, inliner: _Inliner, *, add: bool
) -> list[tuple[etree._Element, int]] | None:
    """As _shape_ids, with each element's first-child and last-child flags in its shape."""
    result: list[tuple[etree._Element, int]] = []
    stack: list[tuple[etree._Element, int, bool, bool]] = [(tree.getroot(), -1, True, True)]
    while stack:
        element, parent_id, first, last = stack.pop()
        key = (parent_id, _own_key(element, inliner.needs), first, last)
        shape = inliner.shapes.get(key)
        if shape is None:
            if not add:
                return None
            shape = inliner.shapes[key] = len(inliner.shapes)
        result.append((element, shape))
        children = list(element.iterchildren(etree.Element))
        for index in range(len(children) - 1, -1, -1):
            stack.append((children[index], shape, index == 0, index == len(children) - 1))
    return result


def _learn(html: str, inliner: _Inliner) -> None:
    """Run premailer once on ``html`` and record what it did, per <style> and per shape."""
    reference = _parse(html)
    ours = _parse(html)
    for index, (theirs, mine) in enumerate(
        zip(_elements(reference), _elements(ours), strict=True)
    ):
        theirs.set(_MARK, str(index))
        mine.set(_MARK, str(index))
    styles = {el.get(_MARK): _style_key(el) for el in ours.iter("style")}
    if inliner.needs.context_free and not inliner.exact:
        _prune_repeats(ours, reference, inliner.needs)
    inliner.premailer_calls += 1
    _run_premailer(reference)
    after = {el.get(_MARK): el for el in _elements(reference) if el.get(_MARK) is not None}
    for mark, key in styles.items():
        kept = after.get(mark)
        _style_results[key] = (
            _StyleResult(removed=True) if kept is None
            else _StyleResult(False, kept.text, _attributes(kept))
        )
    _apply_style_results(ours)
    ids = _shape_ids(ours, inliner, add=True)
    assert ids is not None
    for element, shape in ids:
        counterpart = after.get(element.get(_MARK))
        before = dict(_attributes(element))
        changed = () if counterpart is None else tuple(
            (name, value) for name, value in _attributes(counterpart) if before.get(name) != value
        )
        if inliner.changes.setdefault(shape, changed) != changed:
            # Something the shape does not capture mattered: be exact from now on.
            _log.warning("premailer styled two <%s> of one shape differently; inlining "
                         "this stylesheet document by document", element.tag)
            inliner.exact = True
            return
    inliner.index_own_keys()


def _prune_repeats(ours: etree._ElementTree, reference: etree._ElementTree,
                   needs: _Needs) -> None:
    """Drop from both trees each element whose whole subtree shows only shapes met earlier
    in the document (a digest archive lists hundreds of alike weeks): for a context-free
    stylesheet premailer styles every element of a shape alike, so one of each is enough
    to learn from, and premailer's time grows with the size of the document."""
    shape_of: dict[etree._Element, int] = {}
    below: dict[etree._Element, frozenset[int]] = {}
    local: dict[tuple[object, ...], int] = {}

    def measure(element: etree._Element, parent: int) -> frozenset[int]:
        shape = local.setdefault((parent, _own_key(element, needs)), len(local))
        shapes = {shape}
        for child in element.iterchildren(etree.Element):
            shapes |= measure(child, shape)
        shape_of[element], below[element] = shape, frozenset(shapes)
        return below[element]

    kept: set[int] = set()
    doomed: list[etree._Element] = []

    def prune(element: etree._Element) -> None:
        if below[element] <= kept and element.tag != "style":
            doomed.append(element)
            return
        kept.add(shape_of[element])
        for child in element.iterchildren(etree.Element):
            prune(child)

    root = ours.getroot()
    measure(root, -1)
    prune(root)
    marks = {element.get(_MARK) for element in doomed}
    for element in doomed + [e for e in _elements(reference) if e.get(_MARK) in marks]:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)


# --- what was learnt, kept in the cache folder ----------------------------------------------

_FORMAT = 2  # bump when the shape keys or the file layout change
Stylesheet = tuple[tuple[str, Attributes], ...]


@lru_cache(maxsize=1)
def _versions() -> str:
    return f"{_FORMAT} {version('premailer')} {version('cssutils')} {__version__}"


def _cache_file(key: Stylesheet, cache_dir: Path) -> Path:
    digest = hashlib.sha256(json.dumps([_versions(), key]).encode("utf-8")).hexdigest()
    return cache_dir / "inliner" / f"{digest[:32]}.json"


def _tupled(value: Any) -> Any:
    """JSON's lists back into the tuples the shape keys are made of."""
    return tuple(_tupled(item) for item in value) if isinstance(value, list) else value


def _save(key: Stylesheet, inliner: _Inliner, cache_dir: Path | None) -> None:
    if cache_dir is None:
        return
    needs = inliner.needs
    data = {
        "versions": _versions(), "stylesheet": key,
        "needs": [needs.values, needs.presence, needs.positions, needs.exact,
                  needs.context_free],
        "exact": inliner.exact,
        "shapes": list(inliner.shapes.items()), "changes": list(inliner.changes.items()),
        "styles": [[k, [r.removed, r.text, r.attributes]] for k in key
                   if (r := _style_results.get(k)) is not None],
    }
    path = _cache_file(key, cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temp, path)  # whole or not at all, whoever else writes it
    except OSError as error:  # a cache that cannot be written only costs time
        _log.debug("inliner cache not written: %s", error)


def _load(key: Stylesheet, cache_dir: Path | None) -> _Inliner | None:
    """What an earlier build learnt about the stylesheet ``key``; None if nothing usable."""
    if cache_dir is None:
        return None
    try:
        data = json.loads(_cache_file(key, cache_dir).read_bytes())
        if data["versions"] != _versions() or _tupled(data["stylesheet"]) != key:
            return None
        values, presence, positions, exact, context_free = data["needs"]
        inliner = _Inliner(
            _Needs(_tupled(values), _tupled(presence), bool(positions), bool(exact),
                   bool(context_free)),
            exact=bool(data["exact"]),
            shapes={_tupled(shape): int(index) for shape, index in data["shapes"]},
            changes={int(index): _tupled(attrs) for index, attrs in data["changes"]},
        )
        styles = {_tupled(k): _StyleResult(bool(removed), text, _tupled(attrs))
                  for k, (removed, text, attrs) in data["styles"]}
        if not inliner.exact and set(inliner.shapes.values()) - set(inliner.changes):
            raise ValueError("a shape without its changes")
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        _log.debug("inliner cache not used: %s", error)
        return None
    for style, result in styles.items():
        _style_results.setdefault(style, result)
    inliner.index_own_keys()
    return inliner
