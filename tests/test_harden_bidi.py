"""One record's direction never leaks into the next; zero-width characters are dropped."""

from __future__ import annotations

import email
import email.policy
import io
import sys
import unicodedata
import xml.etree.ElementTree as ET
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import SiteMaker
from lxml import html

from sfb_feeds.bidi import LRM, directed_lines, paragraph_direction
from sfb_feeds.cli import main

MINIMAL = "site:\n  title: T\n  url: https://example.org/\n"
FSI, PDI = "\u2068", "\u2069"
# A line of an Arabic text part that starts with no right-to-left letter outside an
# isolate starts with an RLM, so that it reads right to left (test_digest.py).
RLM = "\u200f"
EVIL = "Evil \u202etitle"  # an override that is never closed
EVIL_AUTHOR = "Ann \u202eOdd"
CLOSED = f"{EVIL}\u202c"  # as the digests write it: the override closed (PDF)


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _records() -> dict[str, str | bytes]:
    first = (f'title: "{EVIL}"\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\nid: urn:sfb:a\n'
             f'authors: ["{EVIL_AUTHOR}", "Bob"]\n')
    second = "title: Next title\ndate: 2015-09-03\nlanguage: en\nexcerpt: y\nid: urn:sfb:b\n"
    return {"a.yaml": first, "b.yaml": second}


def _built(make_site: SiteMaker) -> Path:
    config = make_site(_records(), config=MINIMAL)
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    return config.parent / "feeds" / "digests" / "en"


def _isolated_texts(element: html.HtmlElement) -> list[str]:
    """The texts of the <bdi> elements, each also between FSI and PDI inside its tag (which
    Gmail, Outlook and Yahoo drop): those two characters taken off."""
    texts = [bdi.text_content() for bdi in element.iter("bdi")]
    assert all(text[:1] == FSI and text[-1:] == PDI for text in texts), texts
    return [text[1:-1] for text in texts]


def test_html_digest_isolates_titles_and_authors(make_site: SiteMaker) -> None:
    page = html.fromstring((_built(make_site) / "2015-W36.html").read_bytes())
    preheader = page.find_class("preheader")[0]
    assert _isolated_texts(preheader) == [CLOSED, "Next title"]
    headings = [_isolated_texts(h2) for h2 in page.iter("h2")]
    assert [CLOSED] in headings and ["Next title"] in headings
    assert any(EVIL_AUTHOR in text for text in _isolated_texts(page.body))


def test_archive_page_isolates_titles(make_site: SiteMaker) -> None:
    page = html.fromstring((_built(make_site) / "index.html").read_bytes())
    assert _isolated_texts(page.find_class("archive-titles")[0]) == [CLOSED, "Next title"]


def _text_lines(text: str) -> list[str]:
    return text.splitlines()


def test_text_parts_isolate_titles_and_authors(make_site: SiteMaker) -> None:
    folder = _built(make_site)
    message = email.message_from_bytes((folder / "2015-W36.eml").read_bytes(),
                                       policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    for text in (part.get_content(), (folder / "2015-W36.txt").read_text("utf-8")):
        lines = _text_lines(text)
        assert f"{FSI}{CLOSED}{PDI}" in lines and f"{FSI}Next title{PDI}" in lines
        # each name isolated on its own, its override closed inside its isolate
        assert any(f"{FSI}{EVIL_AUTHOR}\u202c{PDI} and {FSI}Bob{PDI}" in line for line in lines)
        for line in lines:  # every override opened in a line is closed in it
            assert line.count("\u202e") <= line.count("\u202c")


def test_zero_width_characters_are_dropped_from_titles_with_a_warning(
        make_site: SiteMaker) -> None:
    record = ("title: \"Zero\\u200bwidth\\u2060 \\ufeffjoin\\u200der\"\ndate: 2015-09-04\n"
              "language: fa\nexcerpt: x\nid: urn:sfb:z\n")
    config = make_site({"a.yaml": record}, config=MINIMAL)
    code, _, err = run(["check", "--config", str(config)])
    assert code == 0
    assert "warning: site/statements/a.yaml:1: record 1: title: holds zero-width characters " \
           "(U+200B, U+2060, U+FEFF); dropped them" in err
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    atom = ET.parse(config.parent / "feeds" / "fa" / "atom.xml").getroot()
    ns = "{http://www.w3.org/2005/Atom}"
    assert atom.findtext(f"{ns}entry/{ns}title") == "Zerowidth join\u200der"


def test_a_title_of_only_invisible_characters_is_refused(make_site: SiteMaker) -> None:
    record = "title: \"\\u200b\\u2060\"\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
    config = make_site({"a.yaml": record}, config=MINIMAL)
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert "record 1: title: holds only invisible characters" in err


_OPENERS = {"\u202a": "\u202c", "\u202b": "\u202c", "\u202d": "\u202c", "\u202e": "\u202c",
            "\u2066": PDI, "\u2067": PDI, FSI: PDI}


def _outer_isolate_end(line: str) -> int:
    """The index of the PDI that closes the FSI at the start of ``line``, if its bidi controls
    nest well (each PDF closes the embedding or override opened last, each PDI the isolate
    opened last, nothing left open); -1 otherwise."""
    due: list[str] = []
    for index, char in enumerate(line):
        if char in _OPENERS:
            due.append(_OPENERS[char])
        elif char in ("\u202c", PDI):
            if not due or due.pop() != char:
                return -1
            if not due:
                return index if index == len(line) - 1 else -1
    return -1


def test_a_title_cannot_break_out_of_its_isolate(make_site: SiteMaker) -> None:
    """A title's own open isolate (or stray PDI) would pair with the PDI meant to close the
    FSI around it: the text part closes what the title leaves open, drops what closes
    nothing, and the FSI's PDI ends the line."""
    titles = {"a.yaml": "\\u202Eevil\\u202C x \\u200B y \\u2066z",
              "b.yaml": "\\u202Bstray\\u2069 pop\\u202C\\u202C \\u2067open \\u202Dinner"}
    records = {name: f'title: "{title}"\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n'
                     f"id: urn:sfb:{name}\n" for name, title in titles.items()}
    config = make_site(records, config=MINIMAL)
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    folder = config.parent / "feeds" / "digests" / "en"
    message = email.message_from_bytes((folder / "2015-W36.eml").read_bytes(),
                                       policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    expected = [f"{FSI}\u202eevil\u202c x y \u2066z{PDI}{PDI}",
                f"{FSI}\u202bstray pop\u202c \u2067open \u202dinner\u202c{PDI}{PDI}"]
    for text in (part.get_content(), (folder / "2015-W36.txt").read_text("utf-8")):
        lines = _text_lines(text)
        assert [line for line in lines if "evil" in line or "stray" in line] == expected
        for line in lines:
            if line.startswith(FSI):
                assert _outer_isolate_end(line) == len(line) - 1, line


def test_a_title_cannot_break_out_of_its_bdi(make_site: SiteMaker) -> None:
    """CSS (Writing Modes 3, "CSS-Unicode Bidi Control Translation") orders a <bdi> as
    FSI ... PDI around its text, the text's own controls honoured: an isolate a title leaves
    open would take the <bdi>'s PDI. Titles and names come balanced, in the HTML part and
    the archive page, one author's override closed before the next name."""
    records = {"a.yaml": 'title: "evil \\u2066z"\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n'
                         'id: urn:sfb:a\nauthors: ["Ann \\u202eOdd", "Bob"]\n'}
    config = make_site(records, config=MINIMAL)
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    folder = config.parent / "feeds" / "digests" / "en"
    for name in ("2015-W36.html", "index.html"):
        texts = _isolated_texts(html.fromstring((folder / name).read_bytes()).body)
        assert f"evil \u2066z{PDI}" in texts
        for text in texts:
            assert _outer_isolate_end(f"{FSI}{text}{PDI}") == len(text) + 1, text
    texts = _isolated_texts(html.fromstring((folder / "2015-W36.html").read_bytes()).body)
    assert "Ann \u202eOdd\u202c" in texts and "Bob" in texts  # one <bdi> a name
    # The subscribe page (a web page, not mailed) lists the newest titles in <bdi> alone.
    page = html.fromstring((folder.parent.parent / "index.html").read_bytes())
    assert [bdi.text_content() for bdi in page.iter("bdi")] == [f"evil \u2066z{PDI}"]


def test_the_site_title_is_isolated_in_right_to_left_pages(make_site: SiteMaker) -> None:
    # In an Arabic page, "Socialism From Below (IST)" left bare showed its closing
    # parenthesis at the left end of the heading, "(Socialism From Below (IST".
    title = "Socialism From Below (IST)"
    config = make_site({"a.yaml": "title: بيان\ndate: 2015-09-04\nlanguage: ar\nexcerpt: نص\n"
                                  "id: urn:sfb:a\n"},
                       config=f"site:\n  title: {title}\n  url: https://example.org/\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    folder = config.parent / "feeds" / "digests" / "ar"
    page = html.fromstring((folder / "2015-W36.html").read_bytes())
    assert page.get("dir") == "rtl"
    assert _isolated_texts(page.find_class("site-title")[0]) == [title]
    assert _isolated_texts(page.find_class("footer-text")[0]) == [title]
    archive = html.fromstring((folder / "index.html").read_bytes())
    assert _isolated_texts(archive.find_class("site-title")[0]) == [title]


def _text_parts(folder: Path, week: str) -> list[str]:
    """The plain-text digest of ``week`` in ``folder``: its .txt and its .eml's text part."""
    message = email.message_from_bytes((folder / f"{week}.eml").read_bytes(),
                                       policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert part is not None
    return [part.get_content(), (folder / f"{week}.txt").read_text("utf-8")]


@pytest.mark.parametrize(("title", "footer"), [
    ("Socialism From Below (IST)",
     ["تصلك هذه الرسالة لأن عنوان بريدك مسجَّل في القائمة البريدية لموقع",
      f"{RLM}{FSI}Socialism From Below (IST){PDI}."]),
    # Folded inside the title: each line's part of it isolated on its own (a line of plain
    # text is a paragraph of its own, where an isolate left open would end anyway).
    ("International Socialist Tendency: the site of Socialism From Below (IST)",
     ["تصلك هذه الرسالة لأن عنوان بريدك مسجَّل في القائمة البريدية لموقع",
      f"{RLM}{FSI}International Socialist Tendency: the site of Socialism From Below{PDI}",
      f"{RLM}{FSI}(IST){PDI}."]),
])
def test_the_site_title_is_isolated_in_right_to_left_text_parts(
        make_site: SiteMaker, title: str, footer: list[str]) -> None:
    # In an Arabic text part, "Socialism From Below (IST)" left bare showed as
    # "(Socialism From Below (IST" in the footer's sentence. English text parts keep it bare.
    config = make_site({"a.yaml": "title: بيان\ndate: 2015-09-04\nlanguage: ar\nexcerpt: نص\n"
                                  "id: urn:sfb:a\n",
                        "b.yaml": "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: Text.\n"
                                  "id: urn:sfb:b\n"},
                       config=f"site:\n  title: '{title}'\n  url: https://example.org/\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    digests = config.parent / "feeds" / "digests"
    for text in _text_parts(digests / "ar", "2015-W36"):
        lines = text.splitlines()
        assert lines[0] == f"{RLM}{FSI}{title}{PDI}"
        signature = lines.index("-- ")
        assert lines[signature + 1:signature + 1 + len(footer)] == footer
    for text in _text_parts(digests / "en", "2015-W36"):
        lines = text.splitlines()
        assert lines[0] == title
        assert title in " ".join(lines[lines.index("-- ") + 1:])
        assert FSI not in text.replace(f"{FSI}A{PDI}", "")


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("title", "\\u202e", "U+202E"),
    ("title", "\\u00ad", "U+00AD"),
    ("title", "\\u202e \\u00ad\\u2066", "U+00AD, U+202E, U+2066"),
    ("excerpt", "\\u200b", "U+200B"),
    ("excerpt", "\\ufeff\\n\\n\\u202e", "U+202E, U+FEFF"),
])
def test_text_that_shows_nothing_is_refused(make_site: SiteMaker, field: str, value: str,
                                            shown: str) -> None:
    """Only spaces and format characters (Unicode category Cf: zero-width spaces, the BOM,
    bidi controls, soft hyphens...) show nothing: a title or excerpt of them is refused,
    naming the file, line, record and field, and nothing is written."""
    values = {"title": "T", "excerpt": "x", field: value}
    record = (f'date: 2015-09-04\nlanguage: en\nid: urn:sfb:a\ntitle: "{values["title"]}"\n'
              f'excerpt: "{values["excerpt"]}"\n')
    config = make_site({"a.yaml": record}, config=MINIMAL)
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    line, what = (4, "a title") if field == "title" else (5, "an excerpt")
    assert (code, err) == (1, f"error: site/statements/a.yaml:{line}: record 1: {field}: holds "
                              f"only invisible characters ({shown}); give it {what}\n")
    assert not (config.parent / "feeds").exists()


def test_a_paragraph_that_shows_nothing_is_left_out(make_site: SiteMaker) -> None:
    record = ('title: T\ndate: 2015-09-04\nlanguage: en\nid: urn:sfb:a\n'
              'excerpt: "One\\n\\n\\u200b\\u00ad\\n\\nTwo"\n')
    config = make_site({"a.yaml": record}, config=MINIMAL)
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[:3:2] == (0, "")
    atom = ET.parse(config.parent / "feeds" / "en" / "atom.xml").getroot()
    ns = "{http://www.w3.org/2005/Atom}"
    content = atom.findtext(f"{ns}entry/{ns}content") or atom.findtext(f"{ns}entry/{ns}summary")
    assert content is not None and "\u200b" not in content and "\u00ad" not in content
    assert "One" in content and "Two" in content


ARABIC_SITE = "الاشتراكية من تحت"


def _subjects(make_site: SiteMaker, title: str) -> dict[str, str]:
    """The Subject of the week's Arabic and English digests of a site titled ``title``."""
    config = make_site({"a.yaml": "title: بيان\ndate: 2015-09-04\nlanguage: ar\nexcerpt: نص\n"
                                  "id: urn:sfb:a\n",
                        "b.yaml": "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: Text.\n"
                                  "id: urn:sfb:b\n"},
                       config=f"site:\n  title: '{title}'\n  url: https://example.org/\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    digests = config.parent / "feeds" / "digests"
    return {lang: str(email.message_from_bytes(
                (digests / lang / "2015-W36.eml").read_bytes(), policy=email.policy.default
            )["Subject"]) for lang in ("ar", "en")}


@pytest.mark.parametrize(("title", "isolated_in"), [
    (ARABIC_SITE, {"en"}),
    ("Socialism From Below (IST)", {"ar"}),
    ("IST — الاشتراكية", {"ar", "en"}),  # both scripts: against each digest's direction
    ("Evil \u202etitle", {"ar", "en"}),  # an override: closed inside the isolate
    ("Socialism From Below", {"ar"}),
])
def test_the_site_title_is_isolated_in_a_subject_written_the_other_way(
        make_site: SiteMaker, title: str, isolated_in: set[str]) -> None:
    """A subject shown in the direction of its first strong letter (UAX #9, P2 and P3,
    which skip isolates: Android's text views, a plain-text rendering) read right to left
    in an English digest of a site with an Arabic title, '... statements of :الاشتراكية',
    and left to right in an Arabic digest of 'Socialism From Below (IST)'. The site title
    is isolated when it holds a letter against the digest's direction (or a bidi
    control), so the digest's own words set the subject's direction; a title all in the
    digest's direction is left as it was."""
    subjects = _subjects(make_site, title)
    balanced = title + "\u202c" if "\u202e" in title else title
    for lang, subject in subjects.items():
        site = f"{FSI}{balanced}{PDI}" if lang in isolated_in else title
        assert subject.startswith(f"{site}: "), (lang, subject)
        assert paragraph_direction(subject) == ("rtl" if lang == "ar" else "ltr"), lang


def test_every_right_to_left_letter_turns_a_line_in_a_left_to_right_text() -> None:
    """A line that starts with any character of bidi class R or AL, anywhere in Unicode,
    starts with an LRM in a left-to-right plain-text digest (the text is scanned line by
    line only when it may hold one: the check must know them all)."""
    letters = [chr(code) for code in range(sys.maxunicode + 1)
               if unicodedata.bidirectional(chr(code)) in ("R", "AL")]
    assert len(letters) > 2000
    for letter in letters:
        assert directed_lines(f"Weekly digest\n{letter} 12", "ltr") == \
            f"Weekly digest\n{LRM}{letter} 12", hex(ord(letter))


def test_feeds_close_what_a_title_or_author_leaves_open(make_site: SiteMaker) -> None:
    """A feed reader shows an entry's title and author inline, beside its own words (a
    date, 'by'): an override left open would reorder those too. Every feed format writes
    them with what they open closed at their end, as the digests and pages already did."""
    import json

    import feedparser

    feeds = _built(make_site).parent.parent
    for name in ("en/atom.xml", "en/rss.xml", "atom.xml"):
        parsed = feedparser.parse((feeds / name).read_bytes())
        entry = next(e for e in parsed.entries if e.title.startswith("Evil"))
        assert entry.title == CLOSED, name
        names = [author.get("name", "") for author in entry.get("authors", [])]
        assert f"{EVIL_AUTHOR}\u202c" in names, (name, names)
    item = next(i for i in json.loads((feeds / "en" / "feed.json").read_bytes())["items"]
                if i["title"].startswith("Evil"))
    assert item["title"] == CLOSED
    assert [a["name"] for a in item["authors"]] == [f"{EVIL_AUTHOR}\u202c", "Bob"]
