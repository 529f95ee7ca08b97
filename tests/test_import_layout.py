"""The second listing layout: no "Full statement" lines, each excerpt ends with "..."."""

from __future__ import annotations

from datetime import date

import pytest

from sfb_feeds.importer import parse_listing

DESCRIPTION = (
    "The tendency is a network of revolutionary socialist groups in many countries, who "
    "learn from each other's struggles and back one another in practice."
)

COMPLETE = f"""{DESCRIPTION}

Dockers walk out over Sunday shifts

Monday 2nd June 2014

Dock workers at the container port stopped work at dawn after the operator announced
compulsory Sunday shifts without extra pay.

Their shop stewards say the walkout will last until the plan is withdrawn ...

Students occupy the library

Tuesday 3rd June 2014

Students have occupied the central library to protest against a rise in fees that would
double the cost of a degree …

Thursday 5th June 2014

Cleaners at three hospitals have won the right to sick pay after a month of protests at
the gates of every site ...

Egypt's prisoners must be freed

Saturday 7th June 2014

Thousands of political prisoners are held in Egypt's jails without trial, many of them
young activists arrested at demonstrations ...
"""


def parse(text: str) -> tuple[list[tuple[str | None, date, int]], list[str]]:
    parsed = parse_listing(text, "page.txt")
    entries = [(e.title, e.day, len(e.paragraphs)) for e in parsed.entries]
    return entries, [str(w) for w in parsed.warnings]


def test_complete_page_of_the_second_layout() -> None:
    entries, warnings = parse(COMPLETE)
    assert entries == [
        ("Dockers walk out over Sunday shifts", date(2014, 6, 2), 2),
        ("Students occupy the library", date(2014, 6, 3), 1),
        (None, date(2014, 6, 5), 1),  # untitled, straight after a statement
        ("Egypt's prisoners must be freed", date(2014, 6, 7), 1),
    ]
    assert warnings == []


def test_excerpts_keep_their_cut_and_join_lines() -> None:
    parsed = parse_listing(COMPLETE, "page.txt")
    first, second, *_ = parsed.entries
    assert first.paragraphs[0].startswith("Dock workers at the container port stopped work at "
                                          "dawn after")
    assert first.paragraphs[-1].endswith("until the plan is withdrawn ...")
    assert second.paragraphs[-1].endswith("the cost of a degree …")


def test_a_page_with_one_complete_statement_imports_it() -> None:
    text = (f"{DESCRIPTION}\n\nRenters strike in the capital\n\nFriday 6th June 2014\n\n"
            "Tenants of four housing blocks have stopped paying rent until repairs are made ...\n")
    assert parse(text) == ([("Renters strike in the capital", date(2014, 6, 6), 1)], [])


def test_description_before_an_untitled_first_statement_is_no_title() -> None:
    text = (f"{DESCRIPTION}\n\nFriday 6th June 2014\n\n"
            "Tenants of four housing blocks have stopped paying rent until repairs are made ...\n")
    assert parse(text) == ([(None, date(2014, 6, 6), 1)], [])


def test_a_page_without_description() -> None:
    text = ("Renters strike\n\nFriday 6th June 2014\n\nTenants stopped paying rent ...\n\n"
            "Saturday 7th June 2014\n\nA second, untitled statement follows here ...\n")
    assert parse(text) == ([("Renters strike", date(2014, 6, 6), 1),
                            (None, date(2014, 6, 7), 1)], [])


def test_a_byline_between_title_and_date() -> None:
    text = (f"{DESCRIPTION}\n\nFirst statement\n\nMonday 2nd June 2014\n\nIt ends here ...\n\n"
            "Second statement\n\nBy the Housing Action Group\n\nTuesday 3rd June 2014\n\n"
            "Tenants of four housing blocks have stopped paying rent ...\n")
    parsed = parse_listing(text, "page.txt")
    assert [(e.title, e.authors) for e in parsed.entries] == [
        ("First statement", ()), ("Second statement", ("Housing Action Group",))]
    assert parsed.warnings == ()


def test_an_ellipsis_inside_an_excerpt_does_not_split_it() -> None:
    text = (f"{DESCRIPTION}\n\nA long statement\n\nMonday 2nd June 2014\n\n"
            "They said they would wait ...\n\nand then they waited no longer. The strike "
            "began on the Monday ...\n")
    assert parse(text) == ([("A long statement", date(2014, 6, 2), 2)], [])


CUT_OFF = [
    pytest.param(
        "Pensioners march\n\nMonday 9th June 2014\n\nPensioners from every town marched",
        "page.txt:31: 'Pensioners march' has an excerpt that does not end with \"...\": the "
        "listing seems cut off here, so it is skipped (copy the whole statement in)",
        id="titled"),
    pytest.param(
        "Monday 9th June 2014\n\nPensioners from every town marched on the",
        "page.txt:31: a statement has an excerpt that does not end with \"...\": the listing "
        "seems cut off here, so it is skipped (copy the whole statement in)",
        id="untitled"),
    pytest.param(
        "Pensioners march\n\nMonday 9th June 2014\n\nThey came from every town ...\n\n"
        "and they will come again next week if nothing changes",
        "page.txt:31: 'Pensioners march' has an excerpt that does not end with \"...\": the "
        "listing seems cut off here, so it is skipped (copy the whole statement in)",
        id="a paragraph after an ellipsis"),
]


@pytest.mark.parametrize(("tail", "warning"), CUT_OFF)
def test_cut_off_last_statement_is_skipped(tail: str, warning: str) -> None:
    entries, warnings = parse(COMPLETE + "\n" + tail + "\n")
    assert [title for title, _, _ in entries] == [
        "Dockers walk out over Sunday shifts", "Students occupy the library", None,
        "Egypt's prisoners must be freed"]
    assert warnings == [warning]


def test_navigation_after_the_last_statement_is_ignored() -> None:
    entries, warnings = parse(COMPLETE + "\nOlder statements\n")
    assert len(entries) == 4
    assert warnings == ["page.txt:31: text after the last statement ignored: "
                        "'Older statements'"]


def test_the_first_layout_still_needs_its_full_statement_lines() -> None:
    # One "Full statement" anywhere makes the page the first layout: the last statement,
    # with no such line after it, is cut off even though its excerpt ends with "...".
    text = ("Dockers walk out\n\nMonday 2nd June 2014\n\nThey stopped work ...\n\n"
            "Full statement\n\nStudents occupy the library\n\nTuesday 3rd June 2014\n\n"
            "Students have occupied the library ...\n")
    entries, warnings = parse(text)
    assert entries == [("Dockers walk out", date(2014, 6, 2), 1)]
    assert warnings == ["page.txt:9: 'Students occupy the library' has no \"Full statement\" "
                        "line after it: the listing seems cut off here, so it is skipped (copy "
                        "the whole statement in)"]


MESSAGES = [
    pytest.param(
        "Egypt's prisoners\n\nMonday 2nd June 2014\n\nThey are held without trial",
        "page.txt:1: 'Egypt's prisoners' has an excerpt that does not end with \"...\": the "
        "listing seems cut off here, so it is skipped (copy the whole statement in)",
        id="second layout, cut off"),
    pytest.param(
        "Workers' rights\n\nMonday 2nd June 2014\n\nA statement ...\n\nFull statement\n\n"
        "Egypt's \"prisoners\"\n\nTuesday 3rd June 2014\n\nThey are held without trial ...",
        "page.txt:9: 'Egypt's \"prisoners\"' has no \"Full statement\" line after it: the "
        "listing seems cut off here, so it is skipped (copy the whole statement in)",
        id="first layout, cut off"),
    pytest.param(
        "Workers' rights\n\nMonday 2nd June 2014\n\nA statement ...\n\nFull statement\n\n"
        "Older 'statements'",
        "page.txt:9: text after the last statement ignored: 'Older 'statements''",
        id="trailing text"),
]


@pytest.mark.parametrize(("text", "warning"), MESSAGES)
def test_messages_quote_titles_as_written(text: str, warning: str) -> None:
    assert parse(text)[1] == [warning]
