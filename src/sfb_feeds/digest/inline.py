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

Given a cache folder, what was learnt for a stylesheet is kept there (one JSON file per
stylesheet, named by a hash of the stylesheet and of the premailer, cssutils and sfb-feeds
versions), so a later build that meets only known shapes never runs - nor imports -
premailer. The files are safe to delete; an unreadable one is ignored and rewritten.
"""

from __future__ import annotations

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


def _needs_of(css_texts: tuple[str, ...]) -> _Needs:
    values: set[str] = set()
    presence: set[str] = set()
    positions = exact = False
    for css in css_texts:
        for selector in _inlined_selectors(css):
            for name, operator in _ATTRIBUTE.findall(selector):
                (values if operator else presence).add(name.lower())
            positions = positions or ":" in selector
            exact = exact or any(c in _BRACKETS.sub("", selector) for c in "+~")
    values -= set(_ALWAYS_SEEN)
    return _Needs(tuple(sorted(values)), tuple(sorted(presence - values - set(_ALWAYS_SEEN))),
                  positions, exact)


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

    Returns the serialised document (with its doctype). Equivalent to premailer's
    ``transform`` on ``html`` apart from whitespace between tags. With ``cache_dir``, what
    is learnt about the document's stylesheet is read from and kept in that folder.
    """
    tree = _parse(html)
    key = _stylesheet(tree)
    inliner = _inliners.get(key)
    if inliner is None:
        inliner = _load(key, cache_dir)
        if inliner is None:
            needs = _needs_of(tuple(text for text, _ in key))
            inliner = _Inliner(needs, exact=needs.exact)
        _inliners[key] = inliner
    calls = inliner.premailer_calls
    if not inliner.exact and any(k not in _style_results for k in key):
        _learn(html, inliner)
    if inliner.exact or not _replay(html, tree, inliner):
        inliner.premailer_calls += 1
        result = _serialise(_run_premailer(_parse(html)))
    else:
        result = _serialise(tree)
    if inliner.premailer_calls != calls:  # learnt something: keep it for later builds
        _save(key, inliner, cache_dir)
    return result


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


# --- what was learnt, kept in the cache folder ----------------------------------------------

_FORMAT = 1  # bump when the shape keys or the file layout change
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
        "needs": [needs.values, needs.presence, needs.positions, needs.exact],
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
        values, presence, positions, exact = data["needs"]
        inliner = _Inliner(
            _Needs(_tupled(values), _tupled(presence), bool(positions), bool(exact)),
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
    return inliner
