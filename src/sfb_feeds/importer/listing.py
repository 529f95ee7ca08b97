"""Read a listing page's text into statements: title, date, excerpt paragraphs.

Only a "Full statement" line ends a statement; pages without one end a statement with an
excerpt ending in "...". The grammar and both layouts: docs/import.md ("What the parser
understands").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from ..errors import Problem
from ..weeks import WEEKDAYS
from .text import (
    DateLine,
    Line,
    bare_url,
    block_text,
    clean_text,
    ends_with_cut,
    is_find_out_more,
    more_link,
    paragraphs,
    parse_date_line,
    quoted,
    split_blocks,
)
from .titles import byline, read_title

Block = list[Line]
_DATE_SEARCH_BLOCKS = 4  # title, byline, date: a date further in belongs to an excerpt
_TITLE_MAX_LINES = 2
_TITLE_MAX_WORDS = 12  # a longer first paragraph ending in "." is a page's description
_NAVIGATION_WORDS = 4
_NOTHING_FOUND = ("no statements found (a statement is a title, a date line such as "
                  "'Wednesday 21st May 2014' and an excerpt); nothing imported from it")


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingEntry:
    """One statement as the listing shows it (title None when the listing has none)."""

    source: str
    line: int  # the title's line, or the date line's when there is no title
    title: str | None
    day: date
    paragraphs: tuple[str, ...]
    authors: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # languages the title names: "(English, Catalan)"
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedListing:
    entries: tuple[ListingEntry, ...]
    warnings: tuple[Problem, ...]


def parse_listing(text: str, source: str) -> ParsedListing:
    """Every complete statement of one listing, in order, with warnings for what was skipped
    (``source`` is the listing's path as the user should see it)."""
    parsed = _Parser(source).run(split_blocks(clean_text(text)))
    if parsed.entries or parsed.warnings:
        return parsed
    return ParsedListing((), (Problem(source, _NOTHING_FOUND),))  # (empty, or a header alone)


class _Statements:
    """One statement's blocks as a ListingEntry, with warnings for what is wrong or left
    out; the entries and warnings of the page so far."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.entries: list[ListingEntry] = []
        self.warnings: list[Problem] = []
        self.first = True

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(Problem(self.source, message, line))

    def attach_url(self, url: str) -> None:
        self.entries[-1] = replace(self.entries[-1], url=url)

    def add(self, segment: list[Block]) -> None:
        found = _find_date(segment)
        if found is None:
            self.warn(segment[0][0].number, "statement without a date line (like "
                      "'Wednesday 21st May 2014'); skipped")
            return
        index, position, parsed = found
        date_block = segment[index]  # (the blocks cut from it may be empty: both sides skip those)
        date_line = date_block[position].number
        day = self.check_date(parsed, date_line)
        title_block, authors = self.title_of([*segment[:index], date_block[:position]])
        self.first = False
        texts = paragraphs([date_block[position + 1:], *segment[index + 1:]])
        if len(texts) > 1 and (name := byline(texts[0])):  # the excerpt opens with a byline
            authors, texts = (*authors, name), texts[1:]
        line = title_block[0].number if title_block else date_line
        if day is None:
            return
        if not texts:
            self.warn(line, "statement without an excerpt; skipped")
            return
        title = block_text(title_block) if title_block else None
        named, languages = read_title(title or "")
        self.entries.append(ListingEntry(
            source=self.source, line=line, title=title, day=day,
            paragraphs=tuple(texts), authors=tuple(dict.fromkeys(authors + named)),
            languages=languages,
        ))

    def check_date(self, parsed: DateLine, line: int) -> date | None:
        if parsed.day is None:
            self.warn(line, f"{quoted(parsed.text)} is not a real date; statement skipped")
            return None
        actual = parsed.day.weekday()
        if parsed.weekday is not None and parsed.weekday != actual:
            self.warn(line, f"{quoted(parsed.text)}: {parsed.day:%d %B %Y} was a "
                      f"{WEEKDAYS[actual].capitalize()}, not a "
                      f"{WEEKDAYS[parsed.weekday].capitalize()}; "
                      f"using {parsed.day.isoformat()} (check the date)")
        return parsed.day

    def title_of(self, before: list[Block]) -> tuple[Block, tuple[str, ...]]:
        """The title block (empty when the statement has none) and a byline's author."""
        blocks = [block for block in before if block]
        authors = _pop_byline(blocks)
        if blocks and bare_url(blocks[-1]):
            blocks.pop()  # a stray address is no title
        title = blocks.pop() if blocks else []
        if blocks and self.first:  # text between the header and a title
            self.warn(blocks[0][0].number, "text before the first statement ignored (a header "
                      "should end with 'Find out more')")
        elif blocks:  # text between the previous statement and a title
            text = quoted(block_text(blocks[0])[:60])
            self.warn(blocks[0][0].number, f"unexpected text before a title ignored: {text}")
        return title, authors


class _Parser(_Statements):
    """The page's two layouts: where one statement ends and the next begins."""

    def run(self, blocks: list[Block]) -> ParsedListing:
        if not any(more_link(block) for block in blocks):
            return self.run_without_markers(_without_description(_without_header(blocks)))
        segment: list[Block] = []
        link_allowed = False  # a bare address right after "Full statement" is its link
        for block in _without_header(blocks):
            if more := more_link(block):
                link_allowed = self.close(segment, more["url"], block[0].number)
                segment = []
                continue
            if link_allowed and (url := bare_url(block)):  # (the segment is still empty)
                self.attach_url(url)
            else:
                segment.append(block)
            link_allowed = False
        self.leftover(segment)
        return ParsedListing(tuple(self.entries), tuple(self.warnings))

    def close(self, segment: list[Block], link: str | None, more_line: int) -> bool:
        """Statements of a segment ended by "Full statement"; True when one was added."""
        if not segment:
            self.warn(more_line, '"Full statement" without a statement before it; ignored')
            return False
        count = len(self.entries)
        for part in self.split_lost_markers(segment):
            self.add(part)
        if link and len(self.entries) > count:
            self.attach_url(link)
        return len(self.entries) > count

    def leftover(self, segment: list[Block]) -> None:
        if not segment:
            return
        parts = self.split_lost_markers(segment)
        for part in parts[:-1]:
            self.add(part)
        last = parts[-1]
        found = _find_date(last)
        if found is None:
            text = block_text(last[0])[:60]
            self.warn(last[0][0].number, f"text after the last statement ignored: {quoted(text)}")
            return
        self.cut_off(last, found[0] > 0, 'has no "Full statement" line after it')

    def cut_off(self, part: list[Block], titled: bool, what: str) -> None:
        """The page ends inside ``part``'s statement, which ``what``: skipped, with a warning."""
        name = quoted(block_text(part[0])) if titled else "a statement"
        self.warn(part[0][0].number, f"{name} {what}: the listing seems cut off here, so it is "
                  "skipped (copy the whole statement in)")

    def run_without_markers(self, blocks: list[Block]) -> ParsedListing:
        """The second layout: no "Full statement" lines; an excerpt ends with its "..."."""
        parts = _split_at_cuts(blocks)
        for part in parts[:-1]:
            self.add(part)
        if parts:
            self.last_without_marker(parts[-1])
        return ParsedListing(tuple(self.entries), tuple(self.warnings))

    def last_without_marker(self, part: list[Block]) -> None:
        """The page's last statement: complete when its excerpt ends with "..."."""
        found = _find_date(part)
        if found is None:
            self.leftover(part)
            return
        cut = max((i for i in range(found[0], len(part)) if ends_with_cut(part[i])), default=-1)
        trailer = part[cut + 1:]
        if cut >= 0 and len(trailer) == 1 and _is_navigation(trailer[0]):
            self.add(part[:cut + 1])
            self.leftover(trailer)
        elif trailer or cut < 0:
            self.cut_off(part, found[0] > 0, 'has an excerpt that does not end with "..."')
        else:
            self.add(part)

    def split_lost_markers(self, segment: list[Block]) -> list[list[Block]]:
        """Split where a "Full statement" line was evidently lost."""
        parts: list[list[Block]] = []
        start = 0
        found = _find_date(segment)
        first_excerpt = found[0] + 1 if found else len(segment)
        for index in range(max(first_excerpt, 1), len(segment) - 1):
            if _lost_marker_at(segment, index):
                self.warn(segment[index][0].number, 'no "Full statement" line before this '
                          "title; taken as the start of a new statement")
                parts.append(segment[start:index])
                start = index
        parts.append(segment[start:])
        return parts


def _pop_byline(blocks: list[Block]) -> tuple[str, ...]:
    """Take a byline ("By Someone") off the end of the blocks before a date: its author."""
    if blocks and len(blocks[-1]) >= 2 and byline(blocks[-1][-1].text):
        blocks[-1:] = [blocks[-1][:-1], blocks[-1][-1:]]  # "Title\nBy Someone"
    if len(blocks) >= 2 and len(blocks[-1]) == 1 and (name := byline(blocks[-1][0].text)):
        blocks.pop()
        return (name,)
    return ()


def _without_header(blocks: list[Block]) -> list[Block]:
    """Drop the site header: everything up to "Find out more", if no date line comes first."""
    for index, block in enumerate(blocks):
        if any(parse_date_line(line.text) for line in block):
            return blocks
        if is_find_out_more(block):
            return blocks[index + 1:]
    return blocks


def _without_description(blocks: list[Block]) -> list[Block]:
    """Drop the description that heads a page of the second layout: a first paragraph before
    the first date line, with a title between them or too long for a title and a sentence."""
    found = _find_date(blocks)
    if found is None or found[0] == 0 or found[1] != 0:
        return blocks
    title_at = found[0] - 1
    if title_at >= 1 and _is_byline_block(blocks[title_at]):
        title_at -= 1  # "Title" / "By Someone" / date
    text = block_text(blocks[0])
    if title_at >= 1 or (len(text.split()) > _TITLE_MAX_WORDS and text.endswith(".")):
        return blocks[1:]
    return blocks


def _is_byline_block(block: Block) -> bool:
    return len(block) == 1 and bool(byline(block[0].text))


def _split_at_cuts(blocks: list[Block]) -> list[list[Block]]:
    """A page without "Full statement" lines split where a statement, its date line seen,
    ends with "..." and a title or a date line follows."""
    parts: list[list[Block]] = [[]]
    for index, block in enumerate(blocks):
        current = parts[-1]
        if current and ends_with_cut(current[-1]) and _find_date(current) is not None \
                and _starts_statement(blocks, index):
            parts.append([])
        parts[-1].append(block)
    return [part for part in parts if part]


def _starts_statement(blocks: list[Block], index: int) -> bool:
    """True when blocks[index] opens a statement: a date line, or a title before one."""
    block = blocks[index]
    if any(parse_date_line(line.text) for line in block[:_TITLE_MAX_LINES + 1]):
        return True
    if len(block) > _TITLE_MAX_LINES or ends_with_cut(block):
        return False
    following = blocks[index + 1:index + 3]
    if following and _is_byline_block(following[0]):
        following = following[1:]  # "Title" / "By Someone" / date
    return bool(following) and parse_date_line(following[0][0].text) is not None


def _is_navigation(block: Block) -> bool:
    # a short line after the last statement, such as "Older statements"
    return len(block) == 1 and len(block[0].text.split()) <= _NAVIGATION_WORDS


def _find_date(segment: list[Block]) -> tuple[int, int, DateLine] | None:
    """(block, line, parsed) of the statement's date line among the first few blocks."""
    for index, block in enumerate(segment[:_DATE_SEARCH_BLOCKS]):
        for position, line in enumerate(block):
            if (parsed := parse_date_line(line.text)) is not None:
                return index, position, parsed
    return None


def _lost_marker_at(segment: list[Block], index: int) -> bool:
    """True when segment[index] is a title that follows a finished excerpt, then a date."""
    title, following = segment[index], segment[index + 1]
    return (
        ends_with_cut(segment[index - 1])
        and len(title) <= _TITLE_MAX_LINES
        and not ends_with_cut(title)
        and not any(parse_date_line(line.text) for line in title)
        and parse_date_line(following[0].text) is not None
    )
