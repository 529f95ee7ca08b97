"""A week too long for one email: its HTML stays under Gmail's clipping size, every
statement linked; the newest statements whole, the rest by title (docs/digests.md)."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import html5lib
import pytest
from conftest import render_site
from lxml import etree
from test_digest_factory import site, statement
from test_digest_inline import assert_same_documents, pages

from sfb_feeds import i18n
from sfb_feeds.model import Statement

GMAIL_CLIPS_PAST = 102_000  # bytes of HTML (Gmail's "[Message clipped]")
NOTE = "To keep this email short, the statements below are listed by title only."
MONDAY = datetime(2015, 8, 31, 8, 0, tzinfo=ZoneInfo("Europe/London"))
PARAGRAPHS = {
    "en": ("Workers across the sector walked out again this week, as the government "
           "threatened new limits on the right to strike and to organise. " * 4,
           "We stand with them, and call on every union to join the action. " * 3 + "..."),
    "ar": ("أضرب العمال في القطاع مرة أخرى هذا الأسبوع، بينما هددت الحكومة بقيود جديدة على "
           "حق الإضراب والتنظيم. " * 4,
           "نقف معهم وندعو كل النقابات إلى الانضمام إلى التحرك. " * 3 + "..."),
}


def week_of(count: int, lang: str) -> list[Statement]:
    """``count`` statements in ``lang`` spread over 2015-W36, each with its own link."""
    return [statement(f"{'Statement' if lang == 'en' else 'بيان'} {number}", lang=lang,
                      day=MONDAY + timedelta(minutes=97 * number),
                      excerpt=PARAGRAPHS[lang], authors=("International Socialist Tendency",),
                      slug=f"week-{lang}-{number}")
            for number in range(count)]


def parse(data: bytes) -> etree._Element:
    document = html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False)
    return document.getroot()


def by_class(root: etree._Element, name: str) -> list[etree._Element]:
    return root.xpath(f"//*[contains(concat(' ', @class, ' '), ' {name} ')]")


def html_part(eml: bytes) -> bytes:
    message = email.message_from_bytes(eml, policy=email.policy.default)
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content()).encode("utf-8")


def digest(statements: list[Statement], lang: str) -> dict[str, bytes]:
    built = {o.path: o.data for o in render_site(site(statements))}
    return {ext: built[f"digests/{lang}/2015-W36.{ext}"] for ext in ("html", "txt", "eml")}


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_week_of_eighty_statements_stays_under_gmails_clipping_size(lang: str) -> None:
    """80 statements (about 2.9 KB of HTML each, English or Arabic) made a 237 KB HTML
    part: Gmail showed the first third and hid the rest, footer and unsubscribe link
    with it. Now the newest statements are shown whole and the rest by title, linked and
    dated, after a note saying so; the text part keeps every statement whole."""
    statements = week_of(80, lang)
    parts = digest(statements, lang)
    html = html_part(parts["eml"])
    assert len(html) < GMAIL_CLIPS_PAST
    root = parse(html)
    links = [a.get("href") for a in root.iter("a")]
    newest_first = [s.url for s in sorted(statements, key=lambda s: s.date, reverse=True)]
    assert set(newest_first) <= set(links)  # every statement still linked
    whole = [a.get("href") for a in by_class(root, "more-link")]
    assert 10 < len(whole) < 80 and whole == newest_first[:len(whole)]
    listed = [a.get("href") for a in by_class(root, "also-link")]
    assert listed == newest_first[len(whole):]
    note = i18n.translations(lang).gettext(NOTE)
    assert [p.text for p in by_class(root, "meta") if p.text == note] == [note]
    assert (lang == "en") == (note == NOTE)
    footer = " ".join(by_class(root, "footer")[0].itertext())
    assert i18n.translations(lang).gettext("Unsubscribe") in footer
    text = " ".join(parts["txt"].decode().replace("\u200f", "").split())  # unfolded
    assert text.count(" ".join(PARAGRAPHS[lang][0].split())) == 80
    assert parse(parts["html"]).xpath("//a/@href") == root.xpath("//a/@href")


def test_a_statement_too_long_for_one_email_is_listed_by_title() -> None:
    huge = statement("A very long statement", excerpt=("Long. " * 30_000,), slug="huge")
    other = statement("A short one", day=MONDAY, excerpt=("Short.",), slug="short")
    html = html_part(digest([huge, other], "en")["eml"])
    assert len(html) < GMAIL_CLIPS_PAST
    root = parse(html)
    assert [a.get("href") for a in by_class(root, "also-link")] == [huge.url, other.url]
    assert by_class(root, "more-link") == []


def test_a_usual_week_is_shown_whole() -> None:
    statements = week_of(20, "en")
    root = parse(html_part(digest(statements, "en")["eml"]))
    assert len(by_class(root, "more-link")) == 20
    assert by_class(root, "also-link") == []
    assert NOTE not in " ".join(root.itertext())


def test_a_long_week_inlined_once_matches_premailer_per_document() -> None:
    long_week = site(week_of(80, "ar") + week_of(60, "en"))
    assert_same_documents(pages(long_week, inline_once=True),
                          pages(long_week, inline_once=False))
