"""Email safety, judged by caniemail's data: every CSS property, value, at-rule, media
feature and selector, and every HTML element and attribute a digest uses, mapped to
caniemail's features; nothing a key client does not support ("n") unless the allow-list
below says why it is harmless.

The data (tests/data/caniemail/support.json) is a subset of caniemail, made by hand with
tests/data/caniemail/make_subset.py (CI cannot fetch); docs/digests.md, "Email-safe HTML",
says what it shows about our digests.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import cssutils
import html5lib
import pytest
from conftest import render_site
from lxml import etree
from test_digest_factory import refugee_statements, site, statement

from sfb_feeds import digest

DATA = json.loads((Path(__file__).parent / "data" / "caniemail" / "support.json")
                  .read_text(encoding="utf-8"))
FEATURES: dict[str, dict[str, Any]] = DATA["features"]
KEY_CLIENTS: list[str] = DATA["clients"]

# What we use although some key client does not support it ("n"), where (a pattern every
# use must match) and why that is harmless. Every other feature we use is supported ("y")
# or partly supported ("a") everywhere; docs/digests.md says what the "a" notes mean for us.
ALLOWED = {
    # The <style> element holds only the two @media rules below; every style the digest
    # needs is inline. Gmail's mobile webmail (and Gmail apps with non-Google accounts)
    # drop <style>, classes and grouped selectors: they show the light layout, 600px at most.
    "html-style": "<style>",
    "css-selector-class": "<style>",
    "css-selector-grouping": "<style>",
    # One rule narrows the paddings on screens under 620px; without it (Outlook for
    # Windows, Windows Mail, Thunderbird) the column still shrinks with the screen
    # (width:100%, max-width:600px), only with wider margins.
    "css-at-media": "<style>",
    # Dark mode where the client honours it; elsewhere the light palette, with 4.5:1
    # contrast, which clients that recolour on their own (Gmail, Outlook) keep readable.
    "css-at-media-prefers-color-scheme": "<style>",
    # A hint for clients that honour it (Apple Mail on macOS); the others ignore the <meta>.
    "html-meta-color-scheme": "<meta>",
    # The preheader (inbox preview text) is hidden four ways at once, each covering the
    # others' gaps: display:none (not Gmail's mobile webmail), max-height:0 and
    # overflow:hidden (not Outlook for Windows / Windows Mail), mso-hide:all (Outlook for
    # Windows), and 1px text in the background's colour.
    "css-display-none": "class=preheader",
    "css-max-height": "class=preheader",
    "css-overflow": "class=preheader",
    # Long words and URLs wrap in the cells that hold statements and links, and in the
    # masthead (a site title that is one long word, a domain name, on a phone). The three
    # properties say the same thing; each client that keeps one of them wraps, one that
    # keeps none (Outlook for Windows, Windows Mail) lays the text out as without them.
    "css-word-wrap": "class=(masthead|statement|archive-entry|footer)",
    "css-overflow-wrap": "class=(masthead|statement|archive-entry|footer)",
    "css-word-break": "class=(masthead|statement|archive-entry|footer)",
    # The column is a fixed-layout table, laid out from its width, so a long word or URL
    # wraps where only word-wrap is kept (Yahoo's webmail) instead of widening it. Outlook
    # for Mac makes every table fixed anyway; Outlook for Windows gets the [if mso] 600px
    # table and wraps nothing; Windows Mail lays the column out as without the property.
    "css-table-layout": "class=container style> table-layout: fixed$",
    # role="presentation" keeps screen readers from announcing layout tables; Windows Mail
    # drops it, and reads the tables as tables.
    "html-role": "<table ",
    # aria-label on "Full statement" links names the statement too ("Full statement: <title>")
    # for screen readers (WCAG 2.4.4); where a client drops it (Windows Mail, Yahoo,
    # Thunderbird) the link is named by its visible words, as without it.
    "html-aria-label": "<a class=more-link aria-label>",
    # <body>: Outlook for Mac and Yahoo's apps drop it (others turn it into a <div>), with
    # its bgcolor, lang and dir; that is why the tables repeat them.
    "html-body": "<body",
    # The HTML5 doctype: Outlook for Windows, Samsung Email, Thunderbird and Yahoo on
    # Android ignore it; the layout is tables, which need no standards mode.
    "html-doctype": "doctype",
    # <time datetime> around a statement's date: Outlook for Windows, Windows Mail and
    # Yahoo drop the tag (Yahoo strips it), the date's text stays.
    "html-semantics": "<time",
    # <bdi> around titles and authors: Gmail, Outlook and Yahoo drop the tag, the text
    # stays, and with it the FSI...PDI written inside each <bdi>, which isolate it there
    # (tests/test_harden_bidi.py).
    "html-bdi": "<bdi",
    # Feed autodiscovery (<link rel="alternate">) on the archive pages alone: web pages,
    # never mailed; a client that drops <link> loses nothing a reader sees.
    "html-link": r"^digests/[^/]+/index\.html: <link>$",
}

# CSS 2.1 properties caniemail has no feature for, which every client keeps.
PLAIN_CSS = {"color", "font-family", "font-style", "font-variant"}
# Properties of one client: mso-* is read by Outlook for Windows (Word) and ignored by
# every other client (mso-hide: all hides the preheader there).
VENDOR_PREFIXES = ("mso-",)
# HTML that caniemail has no feature for and that every client keeps.
PLAIN_ELEMENTS = {"html", "head", "title", "meta", "a", "br", "em", "i", "b", "u"}
PLAIN_ATTRIBUTES = {"class", "style", "id", "href", "hreflang", "name", "content", "charset",
                    "border", "bgcolor", "title", "alt", "rel", "type"}

SIDES = ("top", "right", "bottom", "left")
ALIASES = {
    **{f"padding-{side}": "css-padding" for side in SIDES},
    **{f"margin-{side}": "css-margin" for side in SIDES},
    **{f"border{side}{part}": "css-border" for side in ("", *(f"-{s}" for s in SIDES))
       for part in ("", "-width", "-style", "-color")},
    **dict.fromkeys(SIDES, "css-left-right-top-bottom"),
    **dict.fromkeys(("padding-inline-start", "padding-inline-end"),
                    "css-padding-inline-start-end"),
    **dict.fromkeys(("padding-block-start", "padding-block-end"),
                    "css-padding-block-start-end"),
    **dict.fromkeys(("padding-inline", "padding-block"), "css-padding-inline-block"),
    **dict.fromkeys(("margin-inline-start", "margin-inline-end"),
                    "css-margin-inline-start-end"),
    **dict.fromkeys(("margin-block-start", "margin-block-end"), "css-margin-block-start-end"),
    **dict.fromkeys(("margin-inline", "margin-block"), "css-margin-inline-block"),
    **dict.fromkeys(("row-gap", "column-gap"), "css-gap"),
    **dict.fromkeys(("grid-template-columns", "grid-template-rows", "grid-template-areas"),
                    "css-grid-template"),
}
DISPLAY_VALUES = {"none": "css-display-none", "flex": "css-display-flex",
                  "inline-flex": "css-display-flex", "grid": "css-display-grid",
                  "inline-grid": "css-display-grid"}
UNITS = {"px": "px", "%": "percent", "em": "em", "rem": "rem", "ex": "ex", "ch": "ch",
         "vh": "vh", "vw": "vw", "vmin": "vmin", "vmax": "vmax", "pt": "pt", "pc": "pc",
         "cm": "cm", "mm": "mm", "in": "in"}
UNIT = re.compile(r"(?<![\w#.-])-?(?:\d+\.?\d*|\.\d+)(px|%|em|rem|ex|ch|vh|vw|vmin|vmax|pt|pc"
                  r"|cm|mm|in)(?![\w-])", re.I)
FUNCTIONS = {"calc": "css-unit-calc", "min": "css-function-min", "max": "css-function-max",
             "clamp": "css-function-clamp", "var": "css-variables", "rgb": "css-rgb",
             "rgba": "css-rgba", "light-dark": "css-function-light-dark",
             "linear-gradient": "css-linear-gradient",
             "radial-gradient": "css-radial-gradient", "conic-gradient": "css-conic-gradient"}
KEYWORDS = {"initial": "css-unit-initial", "system-ui": "css-sytem-ui"}
MEDIA_FEATURES = {"width": "css-at-media", "height": "css-at-media",
                  "prefers-color-scheme": "css-at-media-prefers-color-scheme",
                  "prefers-reduced-motion": "css-at-media-prefers-reduced-motion",
                  "orientation": "css-at-media-orientation", "hover": "css-at-media-hover",
                  "resolution": "css-at-media-device-pixel-ratio",
                  "device-pixel-ratio": "css-at-media-device-pixel-ratio"}
AT_RULES = {cssutils.css.CSSImportRule.IMPORT_RULE: "css-at-import",
            cssutils.css.CSSFontFaceRule.FONT_FACE_RULE: "css-at-font-face",
            cssutils.css.CSSComment.COMMENT: "css-comments"}
ELEMENTS = {
    **dict.fromkeys(("table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption"),
                    "html-table"),
    **dict.fromkeys(("ul", "ol", "li", "dl", "dt", "dd"), "html-lists"),
    **{f"h{n}": "html-h1-h6" for n in range(1, 7)},
    **dict.fromkeys(("s", "strike"), "html-strike"),
    **dict.fromkeys(("article", "aside", "details", "figcaption", "figure", "footer",
                     "header", "main", "mark", "nav", "section", "summary", "time"),
                    "html-semantics"),
}
ATTRIBUTES = {"dir": "html-dir", "lang": "html-lang", "role": "html-role",
              "align": "html-align", "valign": "html-valign", "width": "html-width",
              "height": "html-height", "cellpadding": "html-cellpadding",
              "cellspacing": "html-cellspacing", "background": "html-background",
              "hidden": "html-hidden", "datetime": "html-semantics", "target": "html-target",
              "loading": "html-loading-attribute", "srcset": "html-srcset",
              "required": "html-required"}

# cssutils reads what @import names: here it reads nothing, an @import is only reported.
_CSS = cssutils.CSSParser(validate=False, fetcher=lambda url: (None, ""))
Usage = dict[str, set[str]]  # caniemail feature (or "unknown:...") -> where it is used


def _use(usage: Usage, feature: str, where: str) -> None:
    usage.setdefault(feature, set()).add(where)


# --- CSS ---------------------------------------------------------------------------------


def property_features(name: str) -> list[str]:
    name = name.lower()
    if name.startswith("--"):
        return ["css-variables"]
    if name in PLAIN_CSS or name.startswith(VENDOR_PREFIXES):
        return []
    feature = ALIASES.get(name, f"css-{name}")
    return [feature if feature in FEATURES else f"unknown:property {name}"]


def value_features(name: str, value: str, priority: str) -> Iterator[str]:
    if name.lower() == "display" and value.strip().lower() in DISPLAY_VALUES:
        yield DISPLAY_VALUES[value.strip().lower()]
    bare = re.sub(r"\"[^\"]*\"|'[^']*'", "", value).lower()  # font names are not units
    yield from (f"css-unit-{UNITS[unit]}" for unit in UNIT.findall(bare))
    for function in re.findall(r"([-a-z]+)\(", bare):
        yield FUNCTIONS.get(function, f"unknown:function {function}()")
    yield from (KEYWORDS[word] for word in re.findall(r"[-a-z]+", bare) if word in KEYWORDS)
    if priority:
        yield "css-important"


def declaration_features(style: Any) -> Iterator[tuple[str, str]]:
    """(feature, declaration) for every declaration of a cssutils style declaration."""
    for prop in style.getProperties(all=True):
        text = f"{prop.name}: {prop.value}" + (" !important" if prop.priority else "")
        for feature in [*property_features(prop.name),
                        *value_features(prop.name, prop.value, prop.priority)]:
            yield feature, text


def selector_features(selector: str) -> Iterator[str]:
    """caniemail's selector features for one selector (of a group)."""
    compounds = re.split(r"\s*[>+~]\s*|\s+", selector.strip())
    yield from (name for sign, name in (
        (">", "css-selector-child"), ("+", "css-selector-adjacent-sibling"),
        ("~", "css-selector-general-sibling"), ("[", "css-selector-attribute"),
        ("*", "css-selector-universal"), ("#", "css-selector-id"), (".", "css-selector-class"),
    ) if sign in selector)
    if len(compounds) > 1 and re.search(r"[^\s>+~]\s+[^\s>+~]", selector):
        yield "css-selector-descendant"
    for compound in compounds:
        if re.match(r"[a-z]", compound, re.I):
            yield "css-selector-type"
        if len(re.findall(r"[.#][-\w]+|\[[^\]]*\]|^[a-z*][-\w]*", compound, re.I)) > 1:
            yield "css-selector-chaining"
    for colons, pseudo in re.findall(r"(::?)([-a-z]+)", selector, re.I):
        kind = "element" if colons == "::" or pseudo in ("before", "after") else "class"
        feature = f"css-pseudo-{kind}-{pseudo.lower()}"
        yield feature if feature in FEATURES else f"unknown:selector {colons}{pseudo}"


def media_features(media: str) -> Iterator[str]:
    yield "css-at-media"
    for feature in re.findall(r"\(\s*([-a-z]+)\s*[:)]", media.lower()):
        base = re.sub(r"^(?:-webkit-)?(?:min-|max-)?", "", feature)
        yield MEDIA_FEATURES.get(base, f"unknown:media feature {feature}")


def stylesheet_usage(css: str, where: str, usage: Usage) -> None:
    """Every feature of a <style> block: at-rules, media features, selectors, declarations."""
    rules: list[tuple[Any, str]] = [(rule, "") for rule in _CSS.parseString(css).cssRules]
    while rules:
        rule, media = rules.pop(0)
        if rule.type == rule.MEDIA_RULE:
            for feature in media_features(rule.media.mediaText):
                _use(usage, feature, f"{where}: @media {rule.media.mediaText}")
            rules += [(inner, f"@media {rule.media.mediaText} ") for inner in rule.cssRules]
        elif rule.type == rule.STYLE_RULE:
            selectors = [s.selectorText for s in rule.selectorList]
            found = [f for s in selectors for f in selector_features(s)]
            found += ["css-selector-grouping"] * (len(selectors) > 1)
            for feature in found:
                _use(usage, feature, f"{where}: {media}{rule.selectorText}")
            for feature, text in declaration_features(rule.style):
                _use(usage, feature, f"{where}: {media}{rule.selectorText} {{ {text} }}")
        else:
            _use(usage, AT_RULES.get(rule.type, f"unknown:rule {rule.cssText[:30]}"), where)


# --- HTML --------------------------------------------------------------------------------


def element_features(element: Any) -> Iterator[str]:
    tag = element.tag.lower()
    if tag == "meta" and element.get("name") in ("color-scheme", "supported-color-schemes"):
        yield "html-meta-color-scheme"
    if tag in ("input", "button"):
        yield f"html-{tag}-{(element.get('type') or 'submit').lower()}"
    elif tag == "a" and (element.get("href") or "").startswith(("mailto:", "#")):
        yield "html-mailto-links" if element.get("href").startswith("mailto:") \
            else "html-anchor-links"
    elif tag not in PLAIN_ELEMENTS:
        feature = ELEMENTS.get(tag, f"html-{tag}")
        yield feature if feature in FEATURES else f"unknown:element <{tag}>"


def attribute_features(name: str) -> str | None:
    name = name.lower()
    if name.startswith("aria-"):
        feature = f"html-{name}"
        return feature if feature in FEATURES else f"unknown:attribute {name}"
    if name in PLAIN_ATTRIBUTES:
        return None
    return ATTRIBUTES.get(name, f"unknown:attribute {name}")


def html_usage(data: bytes, where: str) -> Usage:
    """Every caniemail feature one HTML document uses, parsed as a browser would (UTF-8, as
    the message's Content-Type says)."""
    document = html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False,
                              transport_encoding="utf-8")
    usage: Usage = {}
    if document.docinfo.doctype:
        _use(usage, "html-doctype", f"{where}: doctype")
    for element in document.getroot().iter():
        if element.tag is etree.Comment:
            _use(usage, "html-comments", f"{where}: <!--{element.text[:40]}-->")
        elif isinstance(element.tag, str):
            element_usage(element, where, usage)
    return usage


def element_usage(element: Any, where: str, usage: Usage) -> None:
    """The features of one element, its attributes, its inline style and (for <style>) its
    stylesheet, each recorded with the tag and class where it is used."""
    tag = f"<{element.tag}" + (f" class={element.get('class')}" * ("class" in element.attrib))
    for feature in element_features(element):
        _use(usage, feature, f"{where}: {tag}>")
    for name in element.attrib:
        if (feature := attribute_features(name)) is not None:
            _use(usage, feature, f"{where}: {tag} {name}>")
    if element.get("style"):
        for feature, text in declaration_features(_CSS.parseStyle(element.get("style"))):
            _use(usage, feature, f"{where}: {tag} style> {text}")
    if element.tag == "style":
        stylesheet_usage(element.text or "", f"{where}: <style>", usage)


def unsupported(usage: Usage, allowed: Mapping[str, str] | None = None) -> list[str]:
    """One line for each feature used that a key client does not support (or that caniemail
    does not know), unless ``allowed`` (feature: pattern) allows it where it is used."""
    problems = []
    for feature, used in sorted(usage.items()):
        if feature.startswith("unknown:"):
            problems.append(f"{feature} (no caniemail feature), e.g. {min(used)}")
            continue
        pattern = (allowed or {}).get(feature)
        places = [p for p in used if pattern is None or not re.search(pattern, p)]
        support = FEATURES[feature]["support"]
        missing = [c for c in KEY_CLIENTS if support.get(c, "u").split()[0] == "n"]
        if missing and places:
            problems.append(f"{feature}: not supported in {', '.join(missing)}, "
                            f"e.g. {min(places)}")
    return problems


# --- the digests -------------------------------------------------------------------------


def emailed_html() -> dict[str, bytes]:
    """Every HTML page a digest build writes (digests, archive pages) and the HTML part of
    every .eml, read with the email package."""
    statements = [*refugee_statements(), statement("عربي", lang="ar", day=date(2015, 9, 3))]
    s = site(statements)
    pages = {}
    for output in render_site(s, digest.formats(s.settings, s.languages)):
        if output.path.endswith(".html"):
            pages[output.path] = output.data
        elif output.path.endswith(".eml"):
            message = email.message_from_bytes(output.data, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            part = message.get_body(("html",))
            assert part is not None, output.path
            pages[output.path + " (text/html)"] = part.get_content().encode("utf-8")
    return pages


@pytest.fixture(scope="module")
def usage_by_page() -> dict[str, Usage]:
    return {path: html_usage(data, path) for path, data in emailed_html().items()}


def test_every_emailed_page_is_checked(usage_by_page: dict[str, Usage]) -> None:
    kinds = {re.sub(r"\d{4}-W\d\d", "WEEK", path.split("/", 2)[2]) for path in usage_by_page}
    assert kinds == {"WEEK.html", "WEEK.eml (text/html)", "index.html"}
    for path, usage in usage_by_page.items():
        assert {"html-style", "css-padding", "css-at-media", "html-dir"} <= set(usage), path


def test_digests_use_only_what_key_email_clients_support(
        usage_by_page: dict[str, Usage]) -> None:
    for path, usage in usage_by_page.items():
        assert not [f for f in usage if re.search(r"<(script|link|iframe|object)", f)], path
        assert unsupported(usage, ALLOWED) == [], path


def test_each_allowed_feature_is_used_and_unsupported_somewhere(
        usage_by_page: dict[str, Usage]) -> None:
    used = {feature for usage in usage_by_page.values() for feature in usage}
    for feature in ALLOWED:
        assert feature in used, f"{feature} is no longer used: drop it from ALLOWED"
        assert unsupported({feature: {"x"}}), f"{feature} is supported now: drop it"


@pytest.mark.parametrize(("style", "problem"), [
    ("display: flex", "css-display-flex: not supported in "),
    ("position: absolute; top: 0", "css-left-right-top-bottom: not supported in "),
    ("position: absolute", "css-position: not supported in "),
    ("width: calc(100% - 8px)", "css-unit-calc: not supported in "),
    ("--accent: red", "css-variables: not supported in "),
    ("zoom: 2", "unknown:property zoom (no caniemail feature)"),
])
def test_the_check_reports_what_clients_drop(style: str, problem: str) -> None:
    page = f'<!DOCTYPE html><p style="{style}">x</p>'.encode()
    assert any(line.startswith(problem) for line in unsupported(html_usage(page, "t"))), style


def test_the_check_reads_style_blocks_and_media_features() -> None:
    page = (b"<style>@import url(x.css); @media (orientation: landscape) { "
            b"td > p:hover { color: red } }</style><table><tr><td><p>x</p></td></tr></table>")
    usage = html_usage(page, "t")
    assert {"css-at-media-orientation", "css-selector-child", "css-pseudo-class-hover",
            "css-selector-type", "css-at-import", "html-table", "html-p"} <= set(usage)


def test_the_data_is_the_caniemail_subset_with_its_licence() -> None:
    assert DATA["source"] == "https://github.com/hteumeuleu/caniemail"
    assert re.fullmatch(r"[0-9a-f]{40}", DATA["commit"]) and DATA["commit_date"]
    assert DATA["licence"] == "MIT" and "Rémi Parmentier" in DATA["licence_text"]
    tables = [*ALIASES.values(), *DISPLAY_VALUES.values(), *FUNCTIONS.values(),
              *KEYWORDS.values(), *MEDIA_FEATURES.values(), *AT_RULES.values(),
              *ELEMENTS.values(), *ATTRIBUTES.values(), *ALLOWED,
              *(f"css-unit-{unit}" for unit in UNITS.values())]
    assert sorted(set(tables) - set(FEATURES)) == []
    assert {"gmail.desktop-webmail", "outlook.windows", "apple-mail.ios"} <= set(KEY_CLIENTS)
