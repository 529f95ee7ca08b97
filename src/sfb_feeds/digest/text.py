"""Filters for the plain-text digest: folding lines by display width, underlining."""

from __future__ import annotations

import re
import unicodedata

TEXT_WIDTH = 72
_ASCII_SPACE = " \t\n\r\f\v"  # ASCII only: no-break and thin spaces hold
_SPACES = re.compile(f"[{_ASCII_SPACE}]+")


def display_width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font: wide (CJK) characters take two,
    combining marks and format characters none."""
    if text.isascii():  # every ASCII character takes one column
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


class Columns:
    """:func:`display_width` of words, each measured once (words recur: measuring every
    character took half of a plain-text digest's rendering in languages beyond ASCII).
    Kept by a prepared renderer, whose filters are its ``wrap`` and ``underline``."""

    MOST = 200_000  # words kept

    def __init__(self) -> None:
        self._widths: dict[str, int] = {}
        self._narrow = "".join(map(chr, range(128)))  # characters known to take one column
        self._other = re.compile(f"[^{re.escape(self._narrow)}]")
        self._wider: set[str] = set()  # characters known to take two columns or none

    def _all_narrow(self, text: str) -> bool:
        """Whether every character of ``text`` takes one column (then lines are cut at the
        last space that fits, without measuring words: four times quicker). A regular
        expression finds the characters not yet known to be narrow (at 100,000 statements,
        checking the paragraphs' characters one by one in Python took a quarter of the
        plain-text digests' rendering); each is measured once, and the expression made
        again at most once a call (once a character: 40 ms for a new alphabet)."""
        found = self._other.search(text)
        if found is None:
            return True
        if found.group() in self._wider:  # (CJK text: its first character, most often)
            return False
        new = set(self._other.findall(text))
        narrow = "".join(char for char in new if display_width(char) == 1)
        self._wider.update(new.difference(narrow))
        if narrow:
            self._narrow += narrow
            self._other = re.compile(f"[^{re.escape(self._narrow)}]")
        return len(narrow) == len(new)

    def width(self, word: str) -> int:
        found = self._widths.get(word)
        if found is None:
            found = display_width(word)
            if len(self._widths) < self.MOST:
                self._widths[word] = found
        return found

    def wrap(self, text: str, width: int = TEXT_WIDTH, indent: str = "") -> str:
        """``text`` folded at spaces into lines at most ``width`` columns wide.

        Greedy, like ``textwrap``, but words are never broken (a URL longer than a line gets a
        line of its own), only ASCII white space separates words, and wide (CJK) characters
        count as two columns. Chinese and Japanese, written without spaces, are also folded
        between two characters (see :func:`_line_units`).
        """
        spaced = _one_spaced(text)
        if spaced.isascii() or self._all_narrow(spaced):
            return _wrap_narrow(spaced, width - len(indent), indent)
        lines: list[str] = []
        line = ""
        used = len(indent)
        for word in spaced.split(" "):
            for index, unit in enumerate(_line_units(word)):
                size = self.width(unit)
                gap = 1 if index == 0 and line else 0  # (between words, not inside one)
                if line and used + gap + size > width:
                    lines.append(indent + line)
                    line, used, gap = "", len(indent), 0
                used += gap + size
                line += " " * gap + unit
        if line:
            lines.append(indent + line)
        return "\n".join(lines)

    def underline(self, text: str, char: str = "=") -> str:
        """A line of ``char`` as wide as the longest line of ``text``, measured word by word
        (the words were measured when wrapped)."""
        lines = (line.split(" ") for line in text.splitlines())
        return char * max((sum(map(self.width, words)) + len(words) - 1 for words in lines),
                          default=0)


# Han, kana, CJK punctuation and fullwidth forms: a line may break before or after one
# (UAX #14's ideographic classes). Not Hangul: Korean puts spaces between words.
_IDEOGRAPHIC = re.compile("[\u2e80-\u2fff\u3000-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
                          "\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff]")
# Kinsoku: marks that never start a line (closing, small kana, prolonged sound)...
# (RUF001: these are the fullwidth and CJK marks themselves, not look-alikes by mistake)
_NO_START = frozenset("、。，．・：；？！‼⁇⁈⁉ー）〕］｝〉》」』】〙〗〟’”｠»ゝゞヽヾ々〻"  # noqa: RUF001
                      "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ゛゜"
                      "‐゠–〜～)]},.:;!?%°′″℃")  # noqa: RUF001
_NO_END = frozenset("（〔［｛〈《「『【〘〖〝‘“｟«([{")  # noqa: RUF001 (...and never end one)
_LINK = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*|mailto:\S*")


def _line_units(word: str) -> list[str]:
    """``word`` cut where a line may break inside it: before or after an ideograph, kana or
    CJK mark, but not before a closing mark or a combining one, not after an opening mark,
    and never inside a link (which runs to the word's end)."""
    if _IDEOGRAPHIC.search(word) is None:
        return [word]
    link = _LINK.search(word)
    end = link.start() + 1 if link else len(word)
    units, start = [], 0
    for at in range(1, end):
        before, after = word[at - 1], word[at]
        if ((_IDEOGRAPHIC.match(before) or _IDEOGRAPHIC.match(after))
                and before not in _NO_END and after not in _NO_START
                and display_width(after) > 0):
            units.append(word[start:at])
            start = at
    return [*units, word[start:]]


def _wrap_narrow(text: str, room: int, indent: str) -> str:
    """:meth:`Columns.wrap` of narrow words joined by single spaces: line by line (the last
    space that fits) instead of word by word."""
    lines: list[str] = []
    start, end = 0, len(text)
    while end - start > room:
        cut = text.rfind(" ", start, start + room + 1)
        if cut <= start:  # the first word alone is too long: it gets a line of its own
            cut = text.find(" ", start + 1)
            if cut < 0:
                break
        lines.append(indent + text[start:cut])
        start = cut + 1
    if start < end:
        lines.append(indent + text[start:])
    return "\n".join(lines)


def _one_spaced(text: str) -> str:
    """``text`` without ASCII white space at either end, and one space between words."""
    text = text.strip(_ASCII_SPACE)
    # (most text is one-spaced already: 1 µs a paragraph this way, 11 µs through the regex)
    if "  " in text or any(char in text for char in _ASCII_SPACE[1:]):
        return _SPACES.sub(" ", text)
    return text

