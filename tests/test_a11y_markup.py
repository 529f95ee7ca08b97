"""Accessibility of the markup people read: the digest, the subscribe page and the
unsubscribe page, checked on their parsed trees (language and direction of the page and of
its parts, link names). Found by running axe-core and a screen reader's view over built
sites; the checks here need no browser."""

from __future__ import annotations

import re
from datetime import date

import html5lib
import pytest
from conftest import render_site
from lxml import etree
from test_digest_factory import site, statement

XHTML = "{http://www.w3.org/1999/xhtml}"
WEEK = "digests/{lang}/2015-W36.html"


def _tree(data: bytes) -> etree._Element:
    return html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=True)


def _outputs(*statements: object) -> dict[str, bytes]:
    return {out.path: out.data for out in render_site(site(list(statements)))}


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("arz", "بيان عن أزمة اللاجئين"),  # Egyptian Arabic: CLDR has no locale, only its script
        ("glk", "بيان پناهندگان"),  # Gilaki, written in the Arabic script
        ("jrb", "בייאן"),  # Judeo-Arabic, written in the Hebrew script
    ],
)
def test_a_language_written_right_to_left_without_a_locale_gets_dir_rtl(
    lang: str, title: str,
) -> None:
    # Seen probing the pages' direction over language tags: an Egyptian Arabic digest was
    # laid out left to right (<html dir="ltr">), aligned and punctuated backwards.
    outputs = _outputs(statement(title, lang=lang, excerpt=(title + ".",)))
    digest = _tree(outputs[WEEK.format(lang=lang)]).getroot()
    assert (digest.get("lang"), digest.get("dir")) == (lang, "rtl")
    index = _tree(outputs["index.html"])
    section = index.find(f".//{XHTML}section[@id='lang-{lang}']")
    assert section is not None
    assert section.get("dir") == "rtl"


def _text(element: etree._Element) -> str:
    """The element's words, without the isolates (FSI... PDI) around titles."""
    return re.sub("[\u2066-\u2069]", "", "".join(element.itertext())).strip()


def test_each_full_statement_link_names_its_statement() -> None:
    # WCAG 2.2 2.4.4 (link purpose in context): every statement ends with a link whose text
    # is only "Full statement", alone in its paragraph (the table cell around it is layout,
    # role="presentation", so no context for a screen reader): a list of the page's links
    # read "Full statement" once per statement, with nothing to tell them apart.
    outputs = _outputs(statement("Stop the war", day=date(2015, 9, 3)),
                       statement("Solidarity with the refugees", day=date(2015, 9, 4)))
    root = _tree(outputs[WEEK.format(lang="en")])
    cells = [cell for cell in root.iter(f"{XHTML}td") if cell.get("class") == "statement"]
    assert len(cells) == 2
    for cell in cells:
        title = _text(cell.find(f".//{XHTML}h2"))
        link = next(a for a in cell.iter(f"{XHTML}a") if a.get("class") == "more-link")
        name = re.sub("[\u2066-\u2069]", "", link.get("aria-label") or _text(link))
        assert name.startswith(_text(link)), "the visible words begin the name (WCAG 2.5.3)"
        assert title in name
