"""Which imported statements are translations of one another (conservatively).

A listing never says so outright; it shows it. Two statements are taken as translations
when they carry the same date, are in different languages, and at least two of these hold:

- both excerpts are numbered from 1 ("1." or "1)"), as the IST's longer statements are;
- both excerpts have the same number of paragraphs (at least two);
- they share at least two numbers other than the statement's year (figures and years
  survive translation: "13,9" and "13.9" are the same number), covering two thirds of the
  numbers of the statement with fewer.

Translations found pairwise are grouped; a group with two statements in the same language
is ambiguous and gets no key. Anything less certain is left without `translation_key`,
which an editor can add by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations

_NUMBERED = re.compile(r"^\(?1[.)]\s")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_MIN_SHARED = 2


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the heuristic needs to know about one statement to be imported."""

    day: date
    language: str | None
    paragraphs: tuple[str, ...]
    stem: str  # the record's file stem ("2015-09-04-stanowisko-..."), used for the key


def translation_keys(candidates: Sequence[Candidate]) -> dict[int, str]:
    """Index of each candidate that belongs to a group of translations -> the group's key.

    The key is the file stem of the group's first statement in listing order, so importing
    the same listings again gives the same keys.
    """
    parent = list(range(len(candidates)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for first, second in combinations(range(len(candidates)), 2):
        if are_translations(candidates[first], candidates[second]):
            low, high = sorted((root(first), root(second)))
            parent[high] = low
    groups: dict[int, list[int]] = {}
    for index in range(len(candidates)):
        groups.setdefault(root(index), []).append(index)
    keys: dict[int, str] = {}
    for head, members in groups.items():
        languages = [candidates[m].language for m in members]
        if len(members) > 1 and len(set(languages)) == len(languages):
            keys.update((member, candidates[head].stem) for member in members)
    return keys


def are_translations(first: Candidate, second: Candidate) -> bool:
    if first.day != second.day or first.language is None or second.language is None:
        return False
    if first.language == second.language:
        return False
    signals = (
        _numbered(first) and _numbered(second),
        len(first.paragraphs) == len(second.paragraphs) >= 2,
        _share_numbers(first, second),
    )
    return sum(signals) >= 2


def _numbered(candidate: Candidate) -> bool:
    return bool(candidate.paragraphs) and bool(_NUMBERED.match(candidate.paragraphs[0]))


def _numbers(candidate: Candidate) -> set[str]:
    year = str(candidate.day.year)
    found = {n.replace(",", ".") for text in candidate.paragraphs for n in _NUMBER.findall(text)}
    # One-digit numbers (list markers, "2. verdenskrig") and the year itself say little.
    return {n for n in found if len(n) > 1 and n != year}


def _share_numbers(first: Candidate, second: Candidate) -> bool:
    mine, theirs = _numbers(first), _numbers(second)
    shared = len(mine & theirs)
    smaller = min(len(mine), len(theirs))
    return shared >= _MIN_SHARED and shared * 3 >= smaller * 2
