"""What a title line (or a byline) says besides the title: authors and languages."""

from __future__ import annotations

import re
from functools import cache

from ..language import canonical_tag, english_name, native_name

# The languages a title may name "(English, Catalan, Spanish)", in English or in themselves.
_NAMED_LANGUAGES = ("ar", "ca", "cs", "da", "de", "el", "en", "es", "eu", "fa", "fi", "fr",
                    "ga", "he", "hr", "hu", "it", "ja", "ko", "nb", "nl", "no", "pl", "pt",
                    "ro", "ru", "sk", "sl", "sq", "sr", "sv", "tr", "uk", "zh")
_TRAILING_PARENS = re.compile(r"^(?P<title>.*\S)\s*\((?P<inner>[^()]+)\)$")
_LIST_SEPARATORS = re.compile(r"\s*(?:,|/|&|\+|\band\b|\bi\b|\by\b|\bet\b|\bund\b)\s*",
                              re.IGNORECASE)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,7}\b")
_ORGANISATION = re.compile(
    r"(?i)\b(?:socialists?|workers?|party|tendency|organi[sz]ation|group|union|committee"
    r"|collective|network|movement|league|solidarity|federation|alliance|left)\b")
_BYLINE = re.compile(r"^(?:statement by|written by|posted by|by)\s+(?:the\s+)?(?P<name>\S.{0,79})$",
                     re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[^\s\d])[.!?](?=\s|$)")
_NUMBERING = re.compile(r"^\(?\d{1,3}[.)]\s+")
_TITLE_WORDS = 12


def read_title(title: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(authors, languages): what a trailing "( ... )" of the title adds, a list of languages
    or an author (anything else there is part of the title; the title stays as written)."""
    inner = match.group("inner").strip() if (match := _TRAILING_PARENS.match(title)) else ""
    if languages := language_list(inner):
        return (), languages
    return ((inner,) if _looks_like_organisation(inner) else ()), ()


def language_list(text: str) -> tuple[str, ...]:
    """("en", "ca", "es") for "English, Catalan, Spanish"; () unless every item is a language."""
    names = _language_names()
    items = [item.lower() for item in _LIST_SEPARATORS.split(text.strip()) if item]
    if not items or any(item not in names for item in items):
        return ()
    return tuple(dict.fromkeys(names[item] for item in items))


@cache
def _language_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for code in _NAMED_LANGUAGES:
        tag = canonical_tag(code) or code
        for name in (english_name(code), native_name(code)):
            if name:
                names[name.lower()] = tag
    names["norwegian"] = "nb"
    return names


def _looks_like_organisation(text: str) -> bool:
    # Conservative: a short name with an acronym (DSIP, SWP) or an organisation word;
    # "(and their families)" or "(updated)" stay part of the title and add no author.
    if len(text) > 80 or len(text.split()) > 8 or text.endswith((".", "!", "?")):
        return False
    return bool(_ACRONYM.search(text) or _ORGANISATION.search(text))


def byline(text: str) -> str | None:
    """The name in a byline paragraph ("By Socialist Worker"), else None."""
    match = _BYLINE.match(text.strip())
    if match is None:
        return None
    name = match.group("name").strip().rstrip(".")
    words = name.split()
    # A name, not a sentence: "By any means necessary" is no byline.
    if len(words) > 10 or _SENTENCE_END.search(name) or not name[:1].isupper():
        return None
    return name if sum(word[:1].isupper() for word in words) * 2 >= len(words) else None


def derive_title(paragraph: str) -> str:
    """A title from the first sentence of ``paragraph``, at most a dozen words."""
    text = _NUMBERING.sub("", paragraph.strip())
    for cut in ("...", "…"):
        text = text.removesuffix(cut).rstrip()
    end = _SENTENCE_END.search(text)
    sentence = text[: end.start()] if end else text
    words = sentence.split()
    if len(words) > _TITLE_WORDS:
        return " ".join(words[:_TITLE_WORDS]).rstrip(",;:") + "…"
    return " ".join(words)
