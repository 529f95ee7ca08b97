"""The small pieces of listing text: clean lines, blocks, date lines, markers, paragraphs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from ..fields import NONCHARACTERS
from ..validate import INVISIBLE
from ..weeks import WEEKDAYS

# Characters a statement record cannot carry (the validator refuses them) or that only
# get in the way: C0/C1 controls except tab and newline, zero-width spaces and the other
# invisible characters the validator drops from titles (validate.INVISIBLE, BOM included:
# import drops at least what check drops), and Unicode's noncharacters (check refuses them).
_DROP = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff{NONCHARACTERS}{INVISIBLE}]")
# Unicode line and paragraph separators would end a YAML block scalar's line.
_LINE_BREAKS = re.compile("\r\n|[\r\x85\u2028\u2029]")

_ARROWS = r"[:>\u00bb\u203a\u2192\u2026.]*"  # "Full statement »", "Read more..."
_MORE = re.compile(r"(?i)^(?:full statement|read (?:the )?full statement|read more)\s*"
                   + _ARROWS + r"\s*(?P<url>https?://\S+)?$")
_FIND_OUT_MORE = re.compile(r"^find out more\s*" + _ARROWS + "$", re.IGNORECASE)
_BARE_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_CUT = ("...", "…")

# A list item starts with a number, a letter or a bullet: "1.", "(2)", "3)", "a)", "-", "•".
_ITEM = re.compile(r"^(?:\(?\d{1,3}[.)]|\(?[A-Za-z]\)|[-\u2013\u2022*\u00b7])\s+\S")

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DAY_FIRST = re.compile(
    r"(?i)^(?:(?P<weekday>[a-z]+)\.?,?\s+)?(?:the\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?"
    r"(?:\s+of)?\s+(?P<month>[a-z]+)\.?,?\s+(?P<year>\d{4})$")
_MONTH_FIRST = re.compile(
    r"(?i)^(?:(?P<weekday>[a-z]+)\.?,?\s+)?(?P<month>[a-z]+)\.?\s+(?P<day>\d{1,2})"
    r"(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})$")


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of a listing: its 1-based number and text (right-stripped)."""

    number: int
    text: str


@dataclass(frozen=True, slots=True)
class DateLine:
    """A line such as "Wednesday 21st May 2014". ``day`` is None for an impossible date."""

    day: date | None
    weekday: int | None  # 0 = Monday, as written on the line (None when not written)
    text: str


def clean_text(raw: str) -> str:
    """NFC text with one kind of line break and nothing a record cannot carry."""
    text = _LINE_BREAKS.sub("\n", raw)
    return unicodedata.normalize("NFC", _DROP.sub("", text))


def split_blocks(text: str) -> list[list[Line]]:
    """Runs of non-blank lines; a whitespace-only line counts as blank.

    "Full statement" and "Find out more" lines always stand alone, so a marker written
    without a blank line before (or after) it still ends its paragraph.
    """
    blocks: list[list[Line]] = [[]]
    for number, raw in enumerate(text.split("\n"), start=1):
        line = Line(number, raw.rstrip())
        if not line.text.strip():
            blocks.append([])
        elif _MORE.match(line.text.strip()) or _FIND_OUT_MORE.match(line.text.strip()):
            blocks += [[line], []]
        else:
            blocks[-1].append(line)
    return [block for block in blocks if block]


def more_link(block: list[Line]) -> re.Match[str] | None:
    """``block`` as a "Full statement" line (group "url": the address written on it, if any)."""
    return _MORE.match(block[0].text.strip()) if len(block) == 1 else None


def is_find_out_more(block: list[Line]) -> bool:
    return len(block) == 1 and bool(_FIND_OUT_MORE.match(block[0].text.strip()))


def bare_url(block: list[Line]) -> str | None:
    """The address when ``block`` is a single web address and nothing else."""
    url = block[0].text.strip()
    if len(block) != 1 or not _BARE_URL.match(url):
        return None
    return url if "://" in url else f"https://{url}"


def ends_with_cut(block: list[Line]) -> bool:
    return block[-1].text.rstrip().endswith(_CUT)


def parse_date_line(text: str) -> DateLine | None:
    """A listing's date line, or None when ``text`` is not one.

    Accepts "Wednesday 21st May 2014", "21 May 2014", "Wed, May 21st, 2014" and the like;
    the ordinal suffix may be any of st/nd/rd/th (the site is not always right about them).
    """
    stripped = " ".join(text.split())  # (str.split() splits where \s matches)
    match = _DAY_FIRST.match(stripped) or _MONTH_FIRST.match(stripped)
    if match is None:
        return None
    month = _name_index(match.group("month"), _MONTHS)
    weekday_text = match.group("weekday")
    weekday = _name_index(weekday_text, WEEKDAYS) if weekday_text else None
    if month is None or (weekday_text and weekday is None):
        return None
    try:
        day: date | None = date(int(match.group("year")), month + 1, int(match.group("day")))
    except ValueError:
        day = None
    return DateLine(day, weekday, stripped)


def _name_index(word: str, names: tuple[str, ...]) -> int | None:
    """Index of a full or abbreviated name ("Sept", "Wed"); None when it is no such name."""
    word = word.lower()  # (every name has three letters or more)
    return next((index for index, name in enumerate(names)
                 if len(word) >= 3 and name.startswith(word)), None)


def paragraphs(blocks: list[list[Line]]) -> list[str]:
    """Excerpt paragraphs: a single line break joins lines; a list item starts a paragraph."""
    result: list[str] = []
    for block in blocks:
        current = [line.text for line in block[:1]]
        for previous, line in pairwise(block):
            if _starts_item(line, previous):
                result.append(join_words(current))
                current = []
            current.append(line.text)
        result.append(join_words(current))
    return [p for p in result if p]


def _starts_item(line: Line, previous: Line) -> bool:
    # "2. verdenskrig" wrapped onto a new line is no list item: an item must be indented,
    # or follow a line that ended a sentence or introduced the list.
    if not _ITEM.match(line.text.strip()):
        return False
    return line.text[:1].isspace() or previous.text.rstrip().endswith((":", ";", ".", "!", "?"))


def quoted(text: str) -> str:
    """``text`` in single quotes for a message, exactly as written (``repr`` would turn
    ``Egypt's`` into ``"Egypt's"`` or escape it)."""
    return f"'{text}'"


def join_words(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def block_text(block: list[Line]) -> str:
    return join_words([line.text for line in block])
