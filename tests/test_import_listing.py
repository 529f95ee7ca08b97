"""Reading listing text: statements, dates, titles, excerpts and what is skipped."""
# ruff: noqa: RUF001  (Greek, Turkish and typographic letters on purpose)

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sfb_feeds.importer import ListingEntry, parse_listing
from sfb_feeds.importer.text import parse_date_line
from sfb_feeds.importer.titles import byline, derive_title, read_title

FIXTURES = Path(__file__).parent / "fixtures" / "listings"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def parse(name: str) -> tuple[list[ListingEntry], list[str]]:
    parsed = parse_listing((FIXTURES / name).read_text(encoding="utf-8"), name)
    return list(parsed.entries), [str(w) for w in parsed.warnings]


@pytest.mark.parametrize(("text", "expected"), [
    ("Wednesday 21st May 2014", date(2014, 5, 21)),
    ("Saturday 22nd March 2014", date(2014, 3, 22)),
    ("Monday 3rd March 2014", date(2014, 3, 3)),
    ("Sunday 6th September 2015", date(2015, 9, 6)),
    ("Wednesday 21th May 2014", date(2014, 5, 21)),  # a wrong suffix is still a date
    ("  Friday   4th  September 2015 ", date(2015, 9, 4)),
    ("21 May 2014", date(2014, 5, 21)),
    ("Wed, 21st May, 2014", date(2014, 5, 21)),
    ("Wednesday, May 21st, 2014", date(2014, 5, 21)),
    ("Sunday 6th Sept 2015", date(2015, 9, 6)),
])
def test_date_lines(text: str, expected: date) -> None:
    parsed = parse_date_line(text)
    assert parsed is not None and parsed.day == expected


@pytest.mark.parametrize("text", [
    "Funday 21st May 2014",
    "Wednesday 21st Mayday 2014",
    "May the workers win in 2014",
    "21st May",
    "The strike began on Wednesday 21st May 2014.",
    "Full statement",
])
def test_not_date_lines(text: str) -> None:
    assert parse_date_line(text) is None


def test_impossible_date_is_a_date_line_without_a_day() -> None:
    parsed = parse_date_line("Monday 31st June 2014")
    assert parsed is not None and parsed.day is None


def test_basic_listing() -> None:
    entries, warnings = parse("basic.txt")
    assert [(e.title, e.day) for e in entries] == [
        ("Rail workers strike against privatisation (Socialist Workers Party)", date(2014, 3, 3)),
        ("Climate strike: the planet before profit (English, Catalan, Spanish)",
         date(2014, 3, 22)),
        ("No", date(2014, 4, 1)),
    ]
    rail, climate, no = entries
    # The byline becomes an author and leaves the excerpt; single line breaks join lines.
    assert rail.authors == ("Jane Example", "Socialist Workers Party")
    assert rail.paragraphs[0] == ("Thousands of rail workers stopped work this morning in "
                                  "protest at government plans to sell the remaining public "
                                  "lines to private operators.")
    assert rail.paragraphs[-1].endswith("the last ten years ...")
    assert len(rail.paragraphs) == 2
    assert climate.languages == ("en", "ca", "es")
    assert climate.paragraphs == (
        "School students and workers marched together through the city centre today. Their "
        "demands were simple:",
        "1. free and frequent public transport;",
        "2. no new coal or gas projects;",
        "3. a guaranteed job for every worker in a polluting industry.",
        "Friday 21st March 2014",  # a date inside an excerpt starts nothing
        "That was the date of the first school walkout, and the movement has grown every week "
        "since. Details of the next meetings are at",
        "www.example.org/climate",
        "The organisers say the next step is to win the unions to a day of action ...",
    )
    assert no.paragraphs[0] == "- the bosses say there is no money: they are wrong."
    assert warnings == [
        "basic.txt:52: 'Miners' families demand answers' has no \"Full statement\" line after "
        "it: the listing seems cut off here, so it is skipped (copy the whole statement in)",
    ]


def test_odd_listing() -> None:
    entries, warnings = parse("odd.txt")
    assert [(e.title, e.day, e.line) for e in entries] == [
        (None, date(2014, 6, 5), 1),
        ("Teachers reject the new contract", date(2014, 6, 10), 7),
        ("Wrong weekday on the date line", date(2014, 6, 17), 24),
        ("Cleaners win their dispute", date(2014, 6, 18), 33),
        ("Nurses march on parliament", date(2014, 6, 19), 39),
    ]
    untitled, teachers, weekday, cleaners, nurses = entries
    assert untitled.paragraphs[0].startswith("Bus drivers in all of the city's depots")
    assert teachers.authors == ("Education Workers' Network",)
    assert teachers.url == "https://example.org/statements/teachers-reject-contract"
    assert weekday.url == "https://www.example.org/wrong-weekday"
    assert cleaners.paragraphs[-1].endswith("on the picket lines ...")
    assert len(cleaners.paragraphs) == 1
    assert nurses.url is None
    assert warnings == [
        "odd.txt:18: 'Monday 31st June 2014' is not a real date; statement skipped",
        "odd.txt:26: 'Friday 17th June 2014': 17 June 2014 was a Tuesday, not a Friday; "
        "using 2014-06-17 (check the date)",
        'odd.txt:39: no "Full statement" line before this title; taken as the start of a new '
        "statement",
        "odd.txt:47: text after the last statement ignored: 'Older statements'",
    ]


def test_translations_listing_parses_every_script() -> None:
    entries, warnings = parse("translations.txt")
    assert warnings == []
    assert [e.day for e in entries] == [date(2020, 3, 12)] * 5 + [date(2020, 3, 13)]
    assert entries[1].title == "Δήλωση για τις απεργίες στην υγεία"
    assert entries[2].paragraphs[0].startswith("1) Talas štrajkova")


def test_full_statement_without_blank_line_and_crlf() -> None:
    text = ("Title one\r\n\r\nTuesday 1st April 2014\r\n\r\nFirst line\r\nsecond line ...\r\n"
            "Full statement\r\nTitle two\r\n\r\nWednesday 2nd April 2014\r\n\r\nMore ...\r\n"
            "\u00a0\r\nFull statement")
    parsed = parse_listing(text, "x.txt")
    assert [(e.title, e.paragraphs) for e in parsed.entries] == [
        ("Title one", ("First line second line ...",)),
        ("Title two", ("More ...",)),
    ]
    assert parsed.warnings == ()


def test_wrapped_number_is_not_a_list_item() -> None:
    text = ("A title\n\nFriday 4th September 2015\n\nThe worst refugee crisis since the\n"
            "2. world war, they said ...\n\nFull statement\n")
    (entry,) = parse_listing(text, "x.txt").entries
    assert entry.paragraphs == ("The worst refugee crisis since the 2. world war, they said ...",)


def test_full_statement_before_any_statement() -> None:
    parsed = parse_listing("Full statement\n", "x.txt")
    assert parsed.entries == ()
    assert [str(w) for w in parsed.warnings] == [
        'x.txt:1: "Full statement" without a statement before it; ignored'
    ]


def test_statement_without_date_is_skipped() -> None:
    parsed = parse_listing("A title\n\nNo date here ...\n\nFull statement\n", "x.txt")
    assert parsed.entries == ()
    assert [str(w) for w in parsed.warnings] == [
        "x.txt:1: statement without a date line (like 'Wednesday 21st May 2014'); skipped"
    ]


def test_control_characters_are_dropped() -> None:
    text = ("Ti\x07tle\u200b\ufdd0\n\nTuesday 1st April 2014\n\n"
            "Text\x00 here\U0010fffe\u2028more ...\n\n"
            "Full statement")
    (entry,) = parse_listing(text, "x.txt").entries
    assert entry.title == "Title"
    assert entry.paragraphs == ("Text here more ...",)


@pytest.mark.parametrize(("title", "authors", "languages"), [
    ("Stop the war (SWP Britain)", ("SWP Britain",), ()),
    ("Stop the war (Socialist Workers Party)", ("Socialist Workers Party",), ()),
    ("Catalonia (English, Catalan, Spanish)", (), ("en", "ca", "es")),
    ("Refugees welcome (Polski / Türkçe / Dansk)", (), ("pl", "tr", "da")),
    ("Save the miners (and their families)", (), ()),
    ("Germany: walkout (marx21)", (), ()),
    ("No parentheses at all", (), ()),
])
def test_title_parentheses(title: str, authors: tuple[str, ...],
                           languages: tuple[str, ...]) -> None:
    assert read_title(title) == (authors, languages)


@pytest.mark.parametrize(("text", "name"), [
    ("By Jane Example", "Jane Example"),
    ("By the Revolutionary Socialists", "Revolutionary Socialists"),
    ("Statement by DSIP", "DSIP"),
    ("By Mahienour el-Massry", "Mahienour el-Massry"),
    ("By any means necessary", None),
    ("By then the strike had spread. Everyone knew it.", None),
])
def test_bylines(text: str, name: str | None) -> None:
    assert byline(text) == name


@pytest.mark.parametrize(("paragraph", "title"), [
    ("Bus drivers have voted to strike. The vote was clear.", "Bus drivers have voted to strike"),
    ("1. Europe faces a crisis. It is deep.", "Europe faces a crisis"),
    ("One two three four five six seven eight nine ten eleven twelve thirteen fourteen.",
     "One two three four five six seven eight nine ten eleven twelve…"),
    ("A short cut ...", "A short cut"),
])
def test_derived_titles(paragraph: str, title: str) -> None:
    assert derive_title(paragraph) == title


SEED_FILES = {
    "000_a29fb0dd65264991.txt": [
        ("No to AKP-US intervention, victory to the Syrian revolution!", date(2015, 9, 6), 4),
        ("STANOWISKO NURTU MIĘDZYNARODOWEGO SOCJALIZMU W SPRAWIE EUROPEJSKIEGO KRYZYSU "
         "DOTYCZĄCEGO UCHODŹCÓW", date(2015, 9, 4), 3),
        ("Enternasyonal sosyalistlerden mülteci krizi üzerine açıklama", date(2015, 9, 4), 3),
        ("Udtalelse fra IS-tendensen om den europæiske flygtningekrise", date(2015, 9, 4), 3),
    ],
    "002_70706690ccb3e20c.txt": [
        ("Anger after Egyptian court jails leading Revolutionary Socialist Mahienour el-Massry",
         date(2014, 5, 21), 7),
        ("DSIP: The Prime Minister and ministers must go!", date(2014, 5, 17), 4),
    ],
}


@pytest.mark.parametrize("name", sorted(SEED_FILES))
def test_seed_listings(name: str) -> None:
    path = SEEDS / name
    if not path.is_file():
        pytest.skip(f"seed listing {path} is not present")
    parsed = parse_listing(path.read_text(encoding="utf-8"), name)
    assert parsed.warnings == ()
    assert [(e.title, e.day, len(e.paragraphs)) for e in parsed.entries] == SEED_FILES[name]
    for entry in parsed.entries:
        assert entry.paragraphs[-1].endswith("...")


def test_every_seed_statement_found() -> None:
    # Whatever seeds are present: one statement per "Full statement", no warnings.
    paths = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    if not paths:
        pytest.skip(f"no seed listings in {SEEDS}")
    for path in paths:
        text = path.read_text(encoding="utf-8")
        parsed = parse_listing(text, path.name)
        markers = sum(1 for line in text.splitlines() if line.strip() == "Full statement")
        assert len(parsed.entries) == markers, path.name
        assert parsed.warnings == (), path.name


@pytest.mark.parametrize("text", [
    "",
    "\n \n\t\n",
    "\ufeff",
    "Socialism From Below\n\nA network of socialist groups.\n\nFind out more\n",
])
def test_a_listing_without_any_statement_is_warned_about(text: str) -> None:
    """An empty file, or the header alone (a page copied wrongly), is no silent success."""
    parsed = parse_listing(text, "empty.txt")
    assert parsed.entries == ()
    assert [str(w) for w in parsed.warnings] == [
        "empty.txt: no statements found (a statement is a title, a date line such as "
        "'Wednesday 21st May 2014' and an excerpt); nothing imported from it"]
