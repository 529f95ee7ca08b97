"""Weekly digests: which exist, what they show, in which language and direction, safely."""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import html5lib
import hypothesis
import jinja2
import jinja2.ext
import pytest
from conftest import SAME_IN_MANY_LANGUAGES, render_site
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from test_digest_factory import BASE, NOW, refugee_statements, settings, site, statement

from sfb_feeds import digest, i18n
from sfb_feeds.digest.command import digest_outputs, show_digest
from sfb_feeds.digest.templates import candidate_names, gettext_callables
from sfb_feeds.digest.text import Columns, display_width
from sfb_feeds.errors import UsageError
from sfb_feeds.site import Site, make_site
from sfb_feeds.template_errors import TemplateFailed

REPO = Path(__file__).resolve().parents[1]
LANGUAGES = ("en", "pl", "tr", "da", "es", "fr", "de", "ar", "el", "ko")
LONDON = ZoneInfo("Europe/London")


def outputs(s: Site) -> dict[str, bytes]:
    return {o.path: o.data for o in render_site(s, digest.formats(s.settings, s.languages))}


def parse(data: bytes) -> etree._Element:
    """Parse as a browser would (html5lib implements the HTML standard's parser)."""
    document = html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False)
    return document.getroot()


def text_of(element: etree._Element) -> str:
    """The text as shown: runs of ASCII white space (not thin spaces) read as one space,
    the (invisible) isolates around titles and names left out (tests/test_harden_bidi.py
    checks them)."""
    text = "".join(element.itertext()).replace("\u2068", "").replace("\u2069", "")
    return re.sub(r"[ \t\r\n\f]+", " ", text).strip()


def by_class(root: etree._Element, name: str) -> list[etree._Element]:
    return root.xpath(f"//*[contains(concat(' ', @class, ' '), ' {name} ')]")


# --- which digests exist -------------------------------------------------------------


def test_one_digest_per_language_and_week_with_statements() -> None:
    statements = [
        *refugee_statements(),  # 2015-W36: da, pl, tr, en
        statement("Old", day=date(2015, 8, 30)),  # a Sunday: 2015-W35
        statement("Edge", day=date(2021, 1, 3)),  # 2020-W53
        statement("Draft-free Polish", day=date(2014, 5, 17), lang="pl"),
    ]
    paths = set(outputs(site(statements, now=datetime(2021, 2, 1, tzinfo=UTC))))
    weeks = {("da", "2015-W36"), ("pl", "2015-W36"), ("tr", "2015-W36"), ("en", "2015-W36"),
             ("en", "2015-W35"), ("en", "2020-W53"), ("pl", "2014-W20")}
    expected = {f"digests/{lang}/{week}.{ext}" for lang, week in weeks
                for ext in ("html", "txt", "eml")}
    expected |= {f"digests/{lang}/index.html" for lang in ("da", "en", "pl", "tr")}
    assert paths == expected  # weeks in between have no digest


def test_a_digest_holds_its_week_in_the_site_timezone_newest_first() -> None:
    sunday_night = datetime(2015, 9, 6, 23, 30, tzinfo=LONDON)  # W36 in London, W37 in UTC+3
    statements = [
        statement("Monday", day=datetime(2015, 8, 31, 0, 5, tzinfo=LONDON)),
        statement("Sunday night", day=sunday_night),
        statement("Wednesday", day=date(2015, 9, 2)),
        statement("Next Monday", day=datetime(2015, 9, 7, 0, 5, tzinfo=LONDON)),
    ]
    london = outputs(site(statements))
    titles = [text_of(h) for h in parse(london["digests/en/2015-W36.html"]).iter("h2")]
    assert titles == ["Sunday night", "Wednesday", "Monday"]
    istanbul = outputs(site(statements, timezone="Europe/Istanbul"))
    titles = [text_of(h) for h in parse(istanbul["digests/en/2015-W37.html"]).iter("h2")]
    assert titles == ["Next Monday", "Sunday night"]


def test_week_starts_setting_regroups_the_digests() -> None:
    statements = [statement("Sunday", day=date(2015, 9, 6)),
                  statement("Saturday", day=date(2015, 9, 5))]
    monday = {p for p in outputs(site(statements)) if p.endswith(".txt")}
    sunday = {p for p in outputs(site(statements, week_starts="sunday")) if p.endswith(".txt")}
    assert monday == {"digests/en/2015-W36.txt"}
    assert sunday == {"digests/en/2015-W36.txt", "digests/en/2015-W37.txt"}




def test_same_input_gives_the_same_bytes() -> None:
    first = outputs(site(refugee_statements()))
    # A new Site (so nothing memoised), formats in reverse order.
    again = make_site(settings(), refugee_statements(), NOW)
    rows = tuple(reversed(digest.formats(again.settings, again.languages)))
    second = {o.path: o.data for o in render_site(again, rows)}
    assert first == second


# --- what a digest shows -------------------------------------------------------------------


def test_html_digest_shows_each_statement_with_its_links() -> None:
    result = outputs(site(refugee_statements()))
    root = parse(result["digests/pl/2015-W36.html"])
    assert (root.get("lang"), root.get("dir")) == ("pl", "ltr")
    assert text_of(root.find("head/title")) == (
        "Socialism From Below: stanowiska z tygodnia 31 sierpnia\u2009\u2013\u20096 września 2015")
    assert text_of(by_class(root, "week")[0]) == "31 sierpnia\u2009\u2013\u20096 września 2015"
    assert text_of(by_class(root, "site-title")[0]) == "Socialism From Below"
    assert text_of(by_class(root, "kicker")[0]) == "Przegląd tygodnia"
    [block] = by_class(root, "statement")
    title_link = block.find("h2/a")
    assert title_link.get("href") == f"{BASE}statements/refugees-pl"
    assert text_of(title_link) == "STANOWISKO W SPRAWIE KRYZYSU UCHODŹCÓW"
    assert [text_of(p) for p in by_class(block, "excerpt")] == [
        "First paragraph.", "Second paragraph..."]
    assert text_of(block.find(".//time")) == "4 września 2015"
    assert block.find(".//time").get("datetime") == "2015-09-04"
    [more] = by_class(block, "more-link")
    assert (text_of(more), more.get("href")) == (
        "Pełny tekst stanowiska", f"{BASE}statements/refugees-pl")
    [also] = by_class(block, "also")
    assert text_of(also) == "Inne wersje językowe: Dansk · Türkçe"
    links = [(a.get("href"), a.get("hreflang"), text_of(a)) for a in also.iter("a")]
    assert links == [(f"{BASE}statements/refugees-da", "da", "Dansk"),
                     (f"{BASE}statements/refugees-tr", "tr", "Türkçe")]


def test_a_second_statement_in_the_same_language_is_not_a_translation() -> None:
    """A translation key copied onto another English statement: neither digest entry says
    "Also in: English" of the other (the feeds do the same); the Polish one is still
    listed, in the HTML and the plain text."""
    result = outputs(site([
        statement("First", key="k", slug="first"), statement("Second", key="k", slug="second"),
        statement("Pierwszy", lang="pl", key="k", slug="pierwszy")]))
    root = parse(result["digests/en/2015-W36.html"])
    alsos = [text_of(also) for also in by_class(root, "also")]
    assert alsos == ["Also in: Polski", "Also in: Polski"]
    text = result["digests/en/2015-W36.txt"].decode()
    assert text.count("Also in:") == 2 and "  English" not in text


def test_authors_header_preheader_and_footer() -> None:
    result = outputs(site(refugee_statements()))
    root = parse(result["digests/en/2015-W36.html"])
    assert text_of(by_class(root, "meta")[0]) == (
        "6 September 2015 · by Revolutionary socialists of Turkey and Syria")
    assert text_of(by_class(root, "preheader")[0]) == (
        "1 statement: No to AKP-US intervention, victory to the Syrian revolution!")
    links = {text_of(a): a.get("href") for a in root.iter("a")}
    assert links["View in browser"] == f"{BASE}feeds/digests/en/2015-W36.html"
    assert links["Unsubscribe"] == f"{BASE}unsubscribe?list=en"
    assert links["Digest archive"] == f"{BASE}feeds/digests/en/index.html"
    assert links["Atom feed"] == f"{BASE}feeds/en/atom.xml"
    assert links["RSS feed"] == f"{BASE}feeds/en/rss.xml"
    assert links["JSON feed"] == f"{BASE}feeds/en/feed.json"
    assert not by_class(root, "also")  # no translations: no "Also in"


def test_a_statement_without_url_has_no_links() -> None:
    result = outputs(site([statement("Unlinked", url=None)]))
    [block] = by_class(parse(result["digests/en/2015-W36.html"]), "statement")
    assert list(block.iter("a")) == []
    assert "Full statement" not in result["digests/en/2015-W36.txt"].decode()


def test_markup_in_statements_shows_as_text() -> None:
    title = '<script>alert("x")</script> Bread & <b>roses</b>'
    paragraph = '<img src=x onerror="alert(1)"> {{ 7*7 }} &amp; </p><p>'
    result = outputs(site([statement(title, excerpt=(paragraph,), authors=("<i>A</i>",),
                                     url='https://example.org/?a=1&b="2"')]))
    data = result["digests/en/2015-W36.html"]
    root = parse(data)
    body = root.find("body")
    assert [el.tag for el in body.iter("script", "img", "b", "i")] == []
    assert text_of(by_class(root, "title")[0]) == " ".join(title.split())
    assert text_of(by_class(root, "excerpt")[0]) == " ".join(paragraph.split())
    assert text_of(by_class(root, "meta")[0]).endswith("by <i>A</i>")
    # (the link as the feeds give it: RFC 3986 normal form, its quotes escaped)
    assert by_class(root, "title-link")[0].get("href") == "https://example.org/?a=1&b=%222%22"
    assert text_of(root.find("head/title")).startswith("Socialism From Below")
    text = result["digests/en/2015-W36.txt"].decode()
    assert title in text and "{{ 7*7 }} &amp; </p><p>" in text  # plain text: as written


def test_right_to_left_digest() -> None:
    statements = [
        statement("بيان حول أزمة اللاجئين", lang="ar", key="k", slug="refugees-ar"),
        statement("Statement on the refugee crisis", key="k", slug="refugees-en"),
    ]
    result = outputs(site(statements))
    root = parse(result["digests/ar/2015-W36.html"])
    assert (root.get("lang"), root.get("dir")) == ("ar", "rtl")
    # Gmail drops <html> attributes: the layout tables carry the direction too.
    assert {t.get("dir") for t in root.iter("table") if t.get("dir")} == {"rtl"}
    [block] = by_class(root, "statement")
    assert block.get("align") == "right" and "text-align:right" in block.get("style")
    topbar = by_class(root, "topbar")[0]
    assert topbar.get("align") == "left"  # the "view in browser" link sits at the end
    [link] = by_class(root, "also-link")
    assert (link.get("lang"), link.get("dir"), text_of(link)) == ("en", "ltr", "English")
    english = parse(result["digests/en/2015-W36.html"])
    [back] = by_class(english, "also-link")
    assert (back.get("lang"), back.get("dir"), text_of(back)) == ("ar", "rtl", "العربية")
    assert by_class(english, "statement")[0].get("align") == "left"


def test_no_rule_but_media_is_left_in_style() -> None:
    cssutils = pytest.importorskip("cssutils")
    result = outputs(site([*refugee_statements(),
                           statement("عربي", lang="ar", day=date(2015, 9, 3))]))
    for path, data in result.items():
        if not path.endswith(".html"):
            continue
        styles = list(parse(data).iter("style"))
        assert len(styles) == 1, path
        sheet = cssutils.parseString(styles[0].text, validate=False)
        kinds = {rule.type for rule in sheet if rule.type != rule.COMMENT}
        assert kinds == {sheet.cssRules[0].MEDIA_RULE}, path


def test_the_column_is_a_fixed_layout_table() -> None:
    """The 600px column (.container) is laid out from its own width (table-layout: fixed),
    so a long unbroken word or URL wraps in a client that keeps only word-wrap (Yahoo's
    webmail: no word-break, no overflow-wrap) instead of widening the column; inlined,
    since clients that drop <style> keep style attributes (test_browser.py shows it)."""
    cssutils = pytest.importorskip("cssutils")
    s = site([*refugee_statements(), statement("عربي", lang="ar", day=date(2015, 9, 3))])
    pages = {path: data for path, data in outputs(s).items() if path.endswith(".html")}
    for path, data in pages.items():
        [column] = by_class(parse(data), "container")
        assert column.tag == "table", path
        style = cssutils.parseStyle(column.get("style"), validate=False)
        assert style.getPropertyValue("table-layout") == "fixed", path
        assert style.getPropertyValue("width") == "100%", path
    assert {path.rsplit("/", 1)[1] for path in pages} == {"2015-W36.html", "index.html"}


def _template_messages() -> set[str]:
    """Every label the shipped templates pass to gettext."""
    found: set[str] = set()
    for path in (REPO / "templates" / "email").iterdir():
        if path.suffix in (".html", ".txt"):
            with path.open("rb") as source:
                for _, _, message, _ in jinja2.ext.babel_extract(source, ("_",), [], {}):
                    found.add(message)
    return found


def _fixed_parts(label: str) -> list[str]:
    """The words of a label around its {placeholders}."""
    return [part.strip(" :") for part in re.split(r"\{\w+\}", label) if part.strip(" :")]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_is_localised(lang: str) -> None:
    # V, older than T and too long for one email, is listed by title, after a note.
    statements = [statement("T", lang=lang, key="k", authors=("A", "B")),
                  statement("U", lang="en" if lang != "en" else "pl", key="k"),
                  statement("V", lang=lang, day=date(2015, 9, 1), excerpt=("x " * 60_000,))]
    result = outputs(site(statements))
    shown = " ".join((text_of(parse(result[f"digests/{lang}/2015-W36.html"])),
                      result[f"digests/{lang}/2015-W36.txt"].decode(),
                      text_of(parse(result[f"digests/{lang}/index.html"]))))
    shown = re.sub(r"[ \t\r\n]+", " ", shown)
    catalog = i18n.translations(lang)
    messages = _template_messages()
    assert {"Full statement", "Also in", "Unsubscribe", "View in browser"} <= messages
    for msgid in messages:
        translated = catalog.gettext(msgid)
        for part in _fixed_parts(translated):
            assert part in shown, (msgid, part)
        if lang == "en":
            continue
        if msgid not in SAME_IN_MANY_LANGUAGES:
            assert translated != msgid, f"{msgid!r} is not translated into {lang}"
        for english in _fixed_parts(msgid):
            if len(english) > 3 and english not in translated:
                assert english not in shown, (msgid, english)
    assert i18n.Language(lang).format_date(date(2015, 9, 4)) in shown
    assert i18n.Language(lang).format_week(date(2015, 8, 31), date(2015, 9, 6)) in shown
    assert i18n.Language(lang).plural_label("{count} statement", "{count} statements", 2) in shown


def test_labels_per_language_example() -> None:
    result = outputs(site([statement("Título", lang="es")]))
    root = parse(result["digests/es/2015-W36.html"])
    full_statement = i18n.translations("es").gettext("Full statement")
    assert text_of(by_class(root, "more-link")[0]) == full_statement != "Full statement"


@pytest.mark.parametrize("lang", ["zh-TW", "zh-HK", "zh-Hant"])
def test_traditional_chinese_digests_get_traditional_labels(lang: str) -> None:
    """Before, no catalog served Traditional Chinese: these digests said "Full statement"."""
    result = outputs(site([statement("聲明", lang=lang)]))
    root = parse(result[f"digests/{lang}/2015-W36.html"])
    assert text_of(by_class(root, "more-link")[0]) == "聲明全文"
    message = email.message_from_bytes(result[f"digests/{lang}/2015-W36.eml"],
                                       policy=email.policy.default)
    assert str(message["Subject"]).endswith("日的聲明")
    assert "聲明全文：" in result[f"digests/{lang}/2015-W36.txt"].decode()  # noqa: RUF001


# --- templates -----------------------------------------------------------------------------


def test_template_names_most_specific_first() -> None:
    assert candidate_names("digest.html", "pt-br") == (
        "digest.pt-BR.html", "digest.pt.html", "digest.html")
    assert candidate_names("digest.txt", "pl") == ("digest.pl.txt", "digest.txt")


def test_site_templates_override_per_language(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "digest.pl.html").write_text(
        '{% extends "base.html" %}{% block content %}<tr><td class="statement">'
        "{% for s in statements %}<p class=\"excerpt\">PL {{ s.title }}</p>{% endfor %}"
        "</td></tr>{% endblock %}", encoding="utf-8")
    (folder / "digest.txt").write_text("Site text: {{ count_label }}\n", encoding="utf-8")
    s = site(refugee_statements(), templates_dir=tmp_path / "templates")
    result = outputs(s)
    polish = parse(result["digests/pl/2015-W36.html"])
    assert [text_of(p) for p in by_class(polish, "excerpt")] == [
        "PL STANOWISKO W SPRAWIE KRYZYSU UCHODŹCÓW"]
    assert by_class(polish, "excerpt")[0].get("style")  # still inlined
    english = parse(result["digests/en/2015-W36.html"])
    assert len(by_class(english, "more-link")) == 1  # the shipped digest.html
    assert result["digests/en/2015-W36.txt"] == b"Site text: 1 statement\n"


def test_templates_are_strict_about_undefined_variables(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "subject.txt").write_text("{{ no_such_thing }}", encoding="utf-8")
    with pytest.raises(TemplateFailed, match=r"subject\.txt:1: the site's template failed: "
                       "UndefinedError: 'no_such_thing' is undefined"):
        outputs(site(refugee_statements(), templates_dir=tmp_path / "templates"))


# --- the plain text ----------------------------------------------------------------------------


SIG_SPACE = " "


def test_plain_text_is_written_for_reading() -> None:
    long = ("Socialists in Turkey and Syria oppose the Turkish government's entry into the "
            "US-led bombing campaign, which came as part of a bargain over the Incirlik base.")
    statements = [
        statement("No to AKP-US intervention!", day=date(2015, 9, 6), excerpt=(long, "Two."),
                  authors=("DSIP", "RS"), key="k", slug="akp"),
        statement("Interwencji nie!", lang="pl", key="k", slug="akp-pl"),
        statement("Second", day=date(2015, 9, 1), slug="second", url=None),
    ]
    text = outputs(site(statements))["digests/en/2015-W36.txt"].decode()
    # "-- " (with its space) starts a signature: mail readers can fold or grey it.
    assert text == f"""\
Socialism From Below
Weekly digest: 31 August\u2009\u2013\u20096 September 2015
2 statements

View in browser: {BASE}feeds/digests/en/2015-W36.html


\u2068No to AKP-US intervention!\u2069
==========================
6 September 2015 · by \u2068DSIP\u2069 and \u2068RS\u2069

Socialists in Turkey and Syria oppose the Turkish government's entry
into the US-led bombing campaign, which came as part of a bargain over
the Incirlik base.

Two.

Full statement: {BASE}statements/akp
Also in:
  Polski: {BASE}statements/akp-pl


\u2068Second\u2069
======
1 September 2015

First paragraph.

Second paragraph...



--{SIG_SPACE}
You are receiving this because you subscribed to the Socialism From
Below mailing list.
Unsubscribe: {BASE}unsubscribe?list=en
Digest archive: {BASE}feeds/digests/en/index.html
Atom feed: {BASE}feeds/en/atom.xml
RSS feed: {BASE}feeds/en/rss.xml
JSON feed: {BASE}feeds/en/feed.json
"""


def test_plain_text_underlines_wide_characters_by_their_width() -> None:
    text = outputs(site([statement("주간 성명", lang="ko")]))["digests/ko/2015-W36.txt"].decode()
    lines = text.splitlines()
    index = lines.index("\u2068주간 성명\u2069")  # (isolated: FSI ... PDI)
    assert lines[index + 1] == "=" * 9 == "=" * display_width("주간 성명")


def paragraph_direction(line: str) -> str:
    """A line's direction as a paragraph of plain text (UAX #9, P2 and P3): that of its
    first strong character outside isolates, left to right when there is none."""
    depth = 0
    for char in line:
        kind = unicodedata.bidirectional(char)
        if kind in ("LRI", "RLI", "FSI"):
            depth += 1
        elif kind == "PDI":
            depth = max(depth - 1, 0)
        elif depth == 0 and kind in ("L", "R", "AL"):
            return "ltr" if kind == "L" else "rtl"
    return "ltr"


@pytest.mark.parametrize(("lang", "other"), [("en", "ar"), ("pl", "he"), ("ar", "en")])
def test_plain_text_lines_read_in_the_digests_direction(lang: str, other: str) -> None:
    """Each line of plain text is a paragraph, its direction that of its first strong
    character: every line of a left-to-right digest reads left to right, and every line
    of a right-to-left one right to left but a bare link's. Before, a translation named in
    a right-to-left language made its line right to left in an English digest
    ('https://.../s0 :العربية', the indent on the right), and in an Arabic digest an
    English name, an isolated title and its underline made theirs left to right."""
    name = "عنوان" if lang == "ar" else "Title"
    text = outputs(site([statement(name, lang=lang, key="k"),
                         statement("Other", lang=other, key="k")]))[
        f"digests/{lang}/2015-W36.txt"].decode()
    lines = [line for line in text.splitlines()
             if line and not re.fullmatch(r"\S+://\S+|-- ", line)]
    expected = "rtl" if lang == "ar" else "ltr"
    assert [line for line in lines if paragraph_direction(line) != expected] == []


CJK_LINK = "https://www.example.org/ja/statements/2015/09/一覧"
CJK_PARAGRAPH = ("日本語の本文です。" * 12
                 + f"詳細は {CJK_LINK} を参照。「戦争法案」の廃案を求める声明を発表した。" * 3)


def _lines_from(lines: list[str], first: str) -> list[str]:
    """The lines from the one starting with ``first`` to the next empty line."""
    start = next(index for index, line in enumerate(lines) if line.startswith(first))
    return lines[start:lines.index("", start)]


@pytest.mark.parametrize("lang", ["ja", "zh"])
def test_plain_text_folds_chinese_and_japanese_between_characters(lang: str) -> None:
    """Chinese and Japanese put no spaces between words: a paragraph or title is folded
    between two characters (never before a closing mark such as 。 or 」, never after an
    opening one such as 「), and a link is never cut. Before, the paragraph was one line of
    over 500 columns and the title one of 96."""
    title = "中国工人支持罢工反对镇压" * 4
    text = outputs(site([statement(title, lang=lang, excerpt=(CJK_PARAGRAPH,))]))[
        f"digests/{lang}/2015-W36.txt"].decode()
    paragraph = _lines_from(text.splitlines(), "日本語")
    headed = _lines_from(text.splitlines(), "\u2068中国")
    rule = next(index for index, line in enumerate(headed) if set(line) == {"="})
    title_lines, underline = headed[:rule], headed[rule]
    assert len(paragraph) > 1 and len(title_lines) > 1
    assert all(display_width(line) <= 72 for line in [*paragraph, *title_lines])
    assert len(underline) == max(map(display_width, title_lines)) <= 72
    assert "".join(line.strip("\u2068\u2069") for line in title_lines) == title
    assert "".join(paragraph).replace(" ", "") == CJK_PARAGRAPH.replace(" ", "")
    assert not any(line.startswith(("。", "」", "、")) or line.endswith("「")
                   for line in paragraph)
    assert sum(line.split(" ").count(CJK_LINK) for line in paragraph) == 3


@pytest.mark.parametrize(("text", "width"), [
    ("", 0), ("plain ASCII, with tabs\tand all", 30), ("주간 성명", 9),
    ("Cafe\u0301 au lait", 12),  # a combining accent takes no column
    ("zero\u200bwidth\u200d joiners", 17), ("全角\uff01 and \uff46\uff55\uff4c\uff4c", 19),
    ("  two  spaces  ", 15), ("عربي مع نص", 10),
])
def test_display_width_counts_columns(text: str, width: int) -> None:
    assert display_width(text) == width
    assert Columns().underline(text) == "=" * width  # measured word by word


# --- the archive -----------------------------------------------------------------------------


def test_archive_lists_the_digests_newest_first() -> None:
    statements = [*refugee_statements(), statement("Old", day=date(2015, 8, 30)),
                  statement("Older", day=date(2014, 5, 17))]
    root = parse(outputs(site(statements))["digests/en/index.html"])
    assert (root.get("lang"), root.get("dir")) == ("en", "ltr")
    links = [(a.get("href"), text_of(a)) for a in by_class(root, "archive-link")]
    assert links == [
        ("2015-W36.html", "31 August\u2009\u2013\u20096 September 2015"),
        ("2015-W35.html", "24\u201330 August 2015"),
        ("2014-W20.html", "12\u201318 May 2014"),
    ]
    assert text_of(by_class(root, "archive-titles")[1]) == "1 statement: Old"


# --- the digest command --------------------------------------------------------------------------


def test_show_digest_defaults_to_the_last_complete_week() -> None:
    statements = [*refugee_statements(), statement("This week", day=date(2015, 9, 8))]
    s = site(statements, now=datetime(2015, 9, 9, tzinfo=UTC))
    paths = [o.path for o in show_digest(s)]
    assert paths == [f"digests/{lang}/2015-W36.{ext}" for lang in ("da", "en", "pl", "tr")
                     for ext in ("html", "txt", "eml")]
    week = show_digest(s, "2015-w37", "EN", "text")
    assert [o.path for o in week] == ["digests/en/2015-W37.txt"]
    assert week[0].data == outputs(s)["digests/en/2015-W37.txt"]
    assert show_digest(s, "2015-W30") == []  # no statements: no digest
    via_settings = digest_outputs(settings(), statements, datetime(2015, 9, 9, tzinfo=UTC),
                                  week="2015-W36", lang="pl", part="eml")
    assert [o.path for o in via_settings] == ["digests/pl/2015-W36.eml"]


@pytest.mark.parametrize(
    ("week", "lang", "part", "message"),
    [
        ("36", None, None, "--week: '36' is not an ISO week (use YYYY-Www, e.g. 2015-W36)"),
        ("2015-W54", None, None, "--week: '2015-W54': 2015 has no week 54"),
        # (other digits would make a label that no digest file has)
        ("\u0662\u0660\u0661\u0665-W36", None, None,
         "--week: '\u0662\u0660\u0661\u0665-W36' is not an ISO week (use YYYY-Www, e.g. 2015-W36)"),
        (None, "xx-!", None, "--lang: 'xx-!' is not a language tag (e.g. pl, pt-BR)"),
        (None, "fr", None, "--lang: no published statements in 'fr' (languages: da, en, pl, tr)"),
        (None, None, "pdf", "--part: 'pdf' is not one of html, text, eml"),
    ],
)
def test_show_digest_errors(week: str | None, lang: str | None, part: str | None,
                            message: str) -> None:
    with pytest.raises(UsageError) as caught:
        show_digest(site(refugee_statements()), week, lang, part)
    assert str(caught.value) == message


# --- email safety ----------------------------------------------------------------------------

# What email clients keep (CSS, HTML) is checked against caniemail's data in
# tests/test_digest_caniemail.py.


def _luminance(colour: str) -> float:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _inline(element: etree._Element, prop: str) -> str | None:
    while element is not None:
        found = re.search(rf"(?:^|;)\s*{prop}\s*:\s*(#[0-9a-fA-F]{{3,6}})", element.get("style")
                          or "")
        if found:
            return found[1]
        element = element.getparent()
    return None


def test_text_colours_contrast_with_their_background() -> None:
    """WCAG AA (4.5:1) for every piece of text, light colours as inlined (the dark ones are
    checked in the browser test, where the media query applies)."""
    root = parse(outputs(site(refugee_statements()))["digests/pl/2015-W36.html"])
    checked = 0
    for element in root.find("body").iter():
        if not isinstance(element.tag, str) or not (element.text or "").strip():
            continue
        if any("preheader" in (e.get("class") or "") for e in (element,
                                                               *element.iterancestors())):
            continue  # hidden on purpose
        colour, background = _inline(element, "color"), _inline(element, "background-color")
        assert colour and background, etree.tostring(element)
        assert _contrast(colour, background) >= 4.5, (element.get("class"), colour, background)
        checked += 1
    assert checked > 10


# --- the text filters ------------------------------------------------------------------------


@pytest.mark.parametrize("width", [10, 24, 72])
def test_wrap_folds_like_textwrap_without_breaking_words(width: int) -> None:
    import random
    import textwrap

    chooser = random.Random(width)
    words = ["a", "bb", "workers", "solidarity,", "https://example.org/" + "x" * 80, "the"]
    for _ in range(300):
        text = " ".join(chooser.choice(words) for _ in range(chooser.randint(0, 40)))
        expected = textwrap.wrap(text, width=width, break_long_words=False,
                                 break_on_hyphens=False)
        assert Columns().wrap(text, width) == "\n".join(expected)


def _wrap_word_by_word(text: str, width: int, indent: str = "") -> str:
    """The plain greedy fold, a word at a time, measuring every word (the reference)."""
    lines: list[str] = []
    line: list[str] = []
    used = len(indent)
    for word in re.split(r"[ \t\n\r\f\v]+", text.strip(" \t\n\r\f\v")):
        size = display_width(word)
        if line and used + 1 + size > width:
            lines.append(indent + " ".join(line))
            line, used = [], len(indent)
        used += size + (1 if line else 0)
        line.append(word)
    if line and line != [""]:
        lines.append(indent + " ".join(line))
    return "\n".join(lines)


@hypothesis.settings(max_examples=400, deadline=None)
@given(
    words=st.lists(st.sampled_from([
        "a", "bb", "workers", "\u03b5\u03c1\u03b3\u03ac\u03c4\u03b5\u03c2",
        "\u0627\u0644\u0639\u0645\u0627\u0644", "\ub178\ub3d9\uc790", "e\u0301t\u00e9", "x" * 30,
        "Below\u00a0:", "https://example.org/" + "y" * 70,
    ]), max_size=40),
    gaps=st.lists(st.sampled_from([" ", "  ", "\n", " \t "]), min_size=41, max_size=41),
    width=st.integers(min_value=1, max_value=80),
    indent=st.sampled_from(["", "  "]),
)
def test_wrap_line_by_line_equals_word_by_word(
    words: list[str], gaps: list[str], width: int, indent: str
) -> None:
    text = gaps[0] + "".join(word + gap for word, gap in zip(words, gaps[1:], strict=False))
    assert Columns().wrap(text, width, indent) == _wrap_word_by_word(text, width, indent)


def test_wrap_keeps_no_break_spaces_and_counts_wide_characters() -> None:
    wrap = Columns().wrap
    assert wrap("Socialism From Below\u00a0: la liste", 21) == (
        "Socialism From\nBelow\u00a0: la liste")
    assert wrap("노동자 파업 전쟁 연대", 13) == "노동자 파업\n전쟁 연대"  # 11 and 9 columns
    assert display_width("노동자") == 6 and display_width("e\u0301") == 1


def test_a_language_without_catalog_gets_english_labels_and_its_own_dates() -> None:
    result = outputs(site([statement("Taarifa", lang="sw")]))
    root = parse(result["digests/sw/2015-W36.html"])
    assert text_of(by_class(root, "more-link")[0]) == "Full statement"
    assert text_of(root.find(".//time")) == i18n.Language("sw").format_date(date(2015, 9, 4))
    assert text_of(root.find(".//time")) != "4 September 2015"


def test_trans_blocks_work_in_site_templates(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "subject.pl.txt").write_text(
        "{% trans %}Weekly digest{% endtrans %} · {% trans n=count %}{{ n }} statement"
        "{% pluralize %}{{ n }} statements{% endtrans %}", encoding="utf-8")
    s = site(refugee_statements(), templates_dir=tmp_path / "templates")
    root = parse(outputs(s)["digests/pl/2015-W36.html"])
    assert text_of(root.find("head/title")) == "Przegląd tygodnia · 1 statement"




def test_french_labels_take_a_no_break_space_before_the_colon() -> None:
    statements = [statement("Déclaration", lang="fr", key="k", slug="fr"),
                  statement("Statement", lang="en", key="k", slug="en")]
    result = outputs(site(statements))
    html = parse(result["digests/fr/2015-W36.html"])
    also = by_class(html, "also")
    assert also and text_of(also[0]).startswith("Également en\u00a0: ")
    text = result["digests/fr/2015-W36.txt"].decode()
    assert "\nDéclaration complète\u00a0: https://" in text
    assert "\nÉgalement en\u00a0:\n" in text
    english = result["digests/en/2015-W36.txt"].decode()
    assert "\nFull statement: https://" in english and "\nAlso in:\n" in english


@pytest.mark.parametrize("source", [
    "{{ ngettext('%(num)d statement', '%(num)d statements', n) }}",
    "{{ ngettext('%(num)d by %(who)s', '%(num)d by %(who)s', n, who=who) }}",
    "{{ _('Full statement') }} {{ _('by %(who)s', who=who) }}",
    "{{ _('<em>%(who)s</em>', who=who) }} {{ _('<em>{x}</em>').format(x=who) }}",
    "{% trans count=n %}{{ count }} statement{% pluralize %}{{ count }} statements{% endtrans %}",
])
@pytest.mark.parametrize("autoescape", [True, False])
def test_render_gettext_callables_match_jinjas_own(source: str, autoescape: bool) -> None:
    # The callables passed with each render must behave as Jinja's newstyle ones: %(num)
    # filled in, keyword values escaped when the template autoescapes.
    catalog = i18n.translations("pl")
    ours = jinja2.Environment(autoescape=autoescape, extensions=[jinja2.ext.i18n])
    ours.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    jinjas = jinja2.Environment(autoescape=autoescape, extensions=[jinja2.ext.i18n])
    jinjas.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    for n in (1, 3):
        values = {"n": n, "who": "<b>A & B</b>"}
        expected = jinjas.from_string(source).render(values)
        assert ours.from_string(source).render(values, **gettext_callables(catalog)) == expected
