"""Which imported statements are translations of one another, conservatively: same date,
different languages, and two of three signs agree (docs/import.md, "Translations")."""

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
    """Index of each candidate that belongs to a group of translations -> the group's key:
    the file stem of its first statement in listing order (the same on every import).
    A group with two statements in one language is ambiguous and gets no key."""
    groups = [[index] for index in range(len(candidates))]  # each candidate's group, in order
    for first, second in combinations(range(len(candidates)), 2):
        if are_translations(candidates[first], candidates[second]):
            merged = sorted({*groups[first], *groups[second]})
            for member in merged:
                groups[member] = merged
    keys: dict[int, str] = {}
    for members in groups:  # (a group once per member, with the same keys each time)
        if len(members) > 1 and len({candidates[m].language for m in members}) == len(members):
            keys.update((member, candidates[members[0]].stem) for member in members)
    return keys


def are_translations(first: Candidate, second: Candidate) -> bool:
    if first.day != second.day or None in (first.language, second.language) \
            or first.language == second.language:
        return False
    signals = (
        all(_NUMBERED.match(c.paragraphs[0]) for c in (first, second)),
        len(first.paragraphs) == len(second.paragraphs) >= 2,
        _share_numbers(first, second),
    )
    return sum(signals) >= 2


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
