"""Bidirectional text controls (Unicode UAX #9) in titles and names shown inside an
isolate: the digests' ``<bdi>`` and FSI...PDI, the subscribe page's ``<bdi>``."""

from __future__ import annotations

import re
import unicodedata

PDF, PDI = "\u202c", "\u2069"  # POP DIRECTIONAL FORMATTING, POP DIRECTIONAL ISOLATE
FSI = "\u2068"  # FIRST STRONG ISOLATE
# What each embedding, override (LRE RLE LRO RLO) and isolate (LRI RLI FSI) needs to close.
_CLOSERS = (dict.fromkeys("\u202a\u202b\u202d\u202e", PDF)
            | dict.fromkeys("\u2066\u2067\u2068", PDI))
_BIDI = frozenset([*_CLOSERS, PDF, PDI])


def balance_bidi(text: str) -> str:
    """``text`` with its bidi embeddings, overrides and isolates nested well (as HTML asks of
    text in an element): a PDF or PDI that closes nothing is dropped (UAX #9 ignores it, X6a
    and X7), a PDI closes with a PDF each embedding opened inside its isolate, and what
    stays open is closed at the end, innermost first. Between FSI and PDI, the PDI then
    closes that FSI, and nothing in ``text`` can leave its isolate."""
    if _BIDI.isdisjoint(text):
        return text
    return _balanced(text)[0]


def isolated(text: str) -> str:
    """``text`` between FSI and PDI, its own controls balanced (:func:`balance_bidi`): it
    takes its direction from its first strong character, and nothing in it leaks out."""
    return f"{FSI}{balance_bidi(text)}{PDI}"


# The strong types (UAX #9) of letters written against each direction.
_AGAINST = {"ltr": frozenset(("R", "AL")), "rtl": frozenset(("L",))}


def isolated_in(text: str, direction: str) -> str:
    """``text`` isolated (:func:`isolated`) where it could reorder the ``direction`` text
    around it: when it holds a letter of the other direction or a bidi control; else as it
    is. At the start of a line whose direction is its first strong letter's (UAX #9, P2 and
    P3, which skip isolates), a bare right-to-left name turned an English line right to
    left; a text entirely in ``direction`` needs nothing and is left without the marks."""
    against = _AGAINST[direction]
    if _BIDI.isdisjoint(text) and not any(
            unicodedata.bidirectional(char) in against for char in text):
        return text
    return isolated(text)


def _balanced(text: str) -> tuple[str, str]:
    """``balance_bidi(text)``, and the embeddings, overrides and isolates it had to close at
    the end (their openers, outermost first)."""
    kept: list[str] = []
    due: list[str] = []  # closers of what is open, innermost last
    opened: list[str] = []  # and its openers
    for char in text:
        if closer := _CLOSERS.get(char):
            due.append(closer)
            opened.append(char)
        elif char == PDI and PDI in due:
            while (closer := due.pop()) != PDI:
                kept.append(closer)
            del opened[len(due):]
        elif char == PDF and due[-1:] == [PDF]:
            due.pop()
            opened.pop()
        elif char in (PDF, PDI):
            continue
        kept.append(char)
    return "".join(kept + due[::-1]), "".join(opened)


def balance_lines(text: str) -> str:
    """``text`` balanced line by line: what is open at the end of a line (an isolate that a
    fold cut in two) is closed there and opened again at the start of the next. (A line of
    plain text is a paragraph of its own, which ends whatever is open in it.)"""
    if _BIDI.isdisjoint(text):
        return text
    lines, carried = [], ""
    for line in text.split("\n"):
        balanced, carried = _balanced(carried + line)
        lines.append(balanced)
    return "\n".join(lines)


LRM, RLM = "\u200e", "\u200f"  # LEFT-TO-RIGHT MARK, RIGHT-TO-LEFT MARK
_ISOLATE_KINDS = frozenset(("LRI", "RLI", "FSI"))
_STRONG = {"L": "ltr", "R": "rtl", "AL": "rtl"}
# (an empty line, the signature's "-- ", a bare link)
_LEFT_ALONE = re.compile(r"|-- |[A-Za-z][A-Za-z0-9+.-]*:\S+")
_LINK_AT_END = re.compile(r"(?:^|\s)[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# Neutral characters a link ends in, which programs that find links keep in the link (not
# "." "," ")" "!" "?": after a link in a sentence, those end the sentence, on its left),
# and "}": a list-level unsubscribe link's {token}, which a subscriber's copy fills in with
# a token that may end in "-" or "_".
_LINK_ENDS = frozenset("/=-_#~&+%}")
# Blocks holding every character of bidi class R or AL (checked against unicodedata over
# all code points, tests/test_harden_bidi.py), and the RLM: text without any reads left
# to right.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\u200f\ufb1d-\ufdff\ufe70-\ufefe"
                            "\U00010800-\U00010fff\U0001e800-\U0001efff]")


def paragraph_direction(line: str) -> str | None:
    """The direction a line of plain text takes as a paragraph of its own (UAX #9, P2
    and P3): that of its first strong character outside isolates; None without one."""
    depth = 0
    for char in line:
        kind = unicodedata.bidirectional(char)
        if kind in _ISOLATE_KINDS:
            depth += 1
        elif kind == "PDI":
            depth = max(depth - 1, 0)
        elif depth == 0 and kind in _STRONG:
            return _STRONG[kind]
    return None


def directed_lines(text: str, direction: str) -> str:
    """Plain ``text`` whose every line (each a paragraph of its own) takes ``direction``
    (``ltr``/``rtl``): a line that would take the other, or in right-to-left text none
    (a line of an isolated title, an underline), starts with an LRM or RLM. A line
    that is empty, the signature's ``-- `` or a bare link is left as it is.

    In right-to-left text, a line ending in a link whose last character is neutral and
    part of the link (``https://example.org/s/``, ``...?page=``) also ends with a space and
    an LRM: without them that character took the paragraph's direction and showed at the
    far end of the line, ``/https://example.org/s``. The space keeps the mark out of the
    link for programs that find links in text."""
    if direction == "ltr" and _RIGHT_TO_LEFT.search(text) is None:
        return text  # (no line can read right to left: ~0.2 s of a cold 10,000 build)
    return "\n".join(_directed(line, direction) for line in text.split("\n"))


def _directed(line: str, direction: str) -> str:
    if _LEFT_ALONE.fullmatch(line):
        return line
    if (paragraph_direction(line) or "ltr") != direction:
        line = (RLM if direction == "rtl" else LRM) + line
    if direction == "rtl" and line[-1] in _LINK_ENDS and _LINK_AT_END.search(line):
        line += " " + LRM
    return line
