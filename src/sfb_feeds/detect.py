"""Offline, deterministic language detection for excerpts (the only module that uses lingua).

Why lingua's low-accuracy mode, paragraph votes and the Serbian/Croatian/Bosnian rules:
docs/import.md ("Language detection").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from .language import canonical_tag

# The languages of the IST's sections and their neighbours. A closed set keeps lingua fast
# and stops look-alikes from far away (Tagalog, Latin...) winning on short texts.
_CANDIDATES = (
    Language.ARABIC, Language.BOKMAL, Language.BOSNIAN, Language.BULGARIAN, Language.CATALAN,
    Language.CHINESE, Language.CROATIAN, Language.CZECH, Language.DANISH, Language.DUTCH,
    Language.ENGLISH, Language.FINNISH, Language.FRENCH, Language.GERMAN, Language.GREEK,
    Language.HEBREW, Language.HUNGARIAN, Language.IRISH, Language.ITALIAN, Language.JAPANESE,
    Language.KOREAN, Language.MACEDONIAN, Language.NYNORSK, Language.PERSIAN, Language.POLISH,
    Language.PORTUGUESE, Language.ROMANIAN, Language.RUSSIAN, Language.SERBIAN,
    Language.SLOVAK, Language.SLOVENE, Language.SPANISH, Language.SWEDISH, Language.TURKISH,
    Language.UKRAINIAN,
)
_BCS = frozenset({Language.BOSNIAN, Language.CROATIAN, Language.SERBIAN})
_BCS_VOTE = "bcs"  # one vote for the whole cluster; resolved once all paragraphs are in

_WEB = re.compile(r"\b(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

MIN_LETTERS = 12  # below this nothing is said about a text
_CHUNK_LETTERS = 20  # paragraphs shorter than this (numbers, bylines) do not vote
_LONG_TEXT = 120  # lingua's own threshold for "long enough for trigrams alone"
_MIN_CONFIDENCE_LONG = 0.5
_MIN_CONFIDENCE_SHORT = 0.9


@cache
def _detector() -> LanguageDetector:
    # Built once, on first use: importing this module costs nothing.
    return LanguageDetectorBuilder.from_languages(*_CANDIDATES).with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """The language of ``text`` as a canonical BCP 47 tag (``pl``, ``sr-Latn``), or None when
    unsure: too few letters, no language with a majority of the letters, low confidence."""
    cleaned = _WEB.sub(" ", text)
    chunks = [c for c in _PARAGRAPH_BREAK.split(cleaned) if _letters(c) >= _CHUNK_LETTERS] or (
        [cleaned] if _letters(cleaned) >= MIN_LETTERS else [])
    votes: Counter[str] = Counter()
    for chunk in chunks:
        if (vote := _classify(chunk)) is not None:
            votes[vote] += _letters(chunk)
    if not votes:
        return None
    (winner, weight), = votes.most_common(1)
    if weight * 2 <= _letters("".join(chunks)):
        return None
    return _resolve_bcs(chunks) if winner == _BCS_VOTE else winner


def _letters(text: str) -> int:
    return len(_LETTER.findall(text))


def _classify(chunk: str) -> str | None:
    """One paragraph's vote: a tag, the BCS cluster, or None when lingua is unsure."""
    confidence: defaultdict[str, float] = defaultdict(float)
    for value in _detector().compute_language_confidence_values(chunk):
        confidence[_BCS_VOTE if value.language in _BCS else _tag(value.language)] += value.value
    if not confidence:
        return None
    best, score = max(confidence.items(), key=lambda item: item[1])
    needed = _MIN_CONFIDENCE_LONG if len(chunk.strip()) >= _LONG_TEXT else _MIN_CONFIDENCE_SHORT
    return best if score >= needed else None


def _tag(language: Language) -> str:
    code = language.iso_code_639_1.name.lower()
    return canonical_tag(code) or code


# Spelling and vocabulary that tell the three apart in Latin script, chiefly the reflex of
# the old vowel jat: Serbian ekavian (vreme, doneti), Croatian and Bosnian ijekavian (vrijeme).
_SERBIAN = re.compile(
    r"^(?:dve|dvema|cel[aeiou]|celog|celoj|celom|celim|ceo|vreme|vremen\w*|reč|reči|rečima"
    r"|mest[aou]?|mestima|deca|dece|deci|decom|svet|sveta|svetu|svetom|svetsk\w*|posle|pre"
    r"|gde|ovde|onde|uvek|zahtev\w*|primer\w*|nedelj\w*|mesec\w*|hteo|hteli|htela|videti"
    r"|videli|verovat\w*|veru\w*|vera|vere|veri|verom|uveren\w*|proveri\w*|proveru|provera"
    r"|vest|vesti|lepo|lepa|lep|lepog|beli|bela|belo|deo|delov\w*|delu|delom|dela|delo"
    r"|deli|delili|delila|delio|deliti|delimo|delimičn\w*|delatn\w*|poslednj\w*|sledeć\w*"
    r"|mer[aeu]|merama|merom|dete|deteta|detetu|lek|rešen\w*|rešit\w*|rešav\w*|primen\w*"
    r"|promen\w*|izmen\w*|zamen\w*|ocen\w*|vek|veka|vekov\w*|cena|cene|ceni|cenu|cenom"
    r"|cenama|pesm\w*|mlek\w*|sneg\w*|hleb\w*|seća\w*|sever\w*|svedo\w*|svest|svesti"
    r"|svesn\w*|savet\w*|smer\w*|nemač\w*|nemci|nemaca|telo|tela|telu|telom|uspe\w*"
    r"|posete|poseta|poseti|pretnj\w*|vredn\w*|predsed\w*|sednic\w*|posledic\w*|obavešt\w*"
    r"|istorij\w*|opštin\w*|saopšten\w*|takođe|bezbednost\w*)$"
)
# Ekavian verb forms: infinitive, and the past forms -eo/-ela/-eli/-elo (doneti, doneo,
# donela; želeti, želeo). Stems ending in č, z or p (počeo, uzeti, napeti) have no jat.
_EKAVIAN_VERB = re.compile(r"^\w+[dlvmnrt](?:eti|eo|el[aioe])$")
_IJEKAVIAN = re.compile(
    r"^(?:dvije|cijel\w*|vrijeme|riječ\w*|mjest\w*|djec\w*|svijet\w*|svjet\w*|poslije"
    r"|prije|gdje|uvijek|zahtije\w*|zahtjev\w*|primjer\w*|nedjelj\w*|bijel\w*|vijest\w*"
    r"|mjesec\w*|htio|htjeli|vidjeti|vidjeli|vjerovat\w*|lijep\w*|dio|dijel\w*|posljednj\w*"
    r"|sljedeć\w*|mjer\w*|ovdje|dijete|lijek\w*|riješ\w*|rješ\w*|primjen\w*|promjen\w*"
    r"|vijek\w*|stoljeć\w*|posljedic\w*)$"
)
# "ije" before another letter, or one of v m p b d t s c before "je", inside a word.
_IJEKAVIAN_LETTERS = re.compile(r"\wije[^\W\d_]|[vmpbdtsc]je")
_IJE_IN_EVERY_VARIETY = re.compile(
    r"^(?:nij\w*|pije\w*|prijem\w*|prijat\w*|higijen\w*"
    r"|\w*(?:ijent|ijer|objek|subjek|projek|odjek|jedin|odjedn|podjedn)\w*)$"
)
_MODEL = re.compile(r"^(?:model|hotel|kartel|paralel|anđel)\w*$")  # -el- without jat
_CROATIAN = re.compile(
    r"^(?:tko|tisuć\w*|tvrtk\w*|tvornic\w*|povijes\w*|vlak|vlaka|vlakom|priopćen\w*|točk\w*"
    r"|sveučilišt\w*|prosvjed\w*|neovisn\w*|gospodarst\w*|tijekom|unatoč|usprkos|obitelj\w*"
    r"|glazb\w*|znanost\w*|mirovin\w*|sudjel\w*|izvješ\w*|kruh\w*|zrakoplov\w*"
    r"|kolodvor\w*|tjed(?:an|na|nu|ni|nom|nima)|suradn\w*|siječ(?:anj|nja|nju)"
    r"|veljač[aeiu]|ožuj(?:ak|ka|ku)|trav(?:anj|nja|nju)|svib(?:anj|nja|nju)|lip(?:anj|nja|nju)"
    r"|srp(?:anj|nja|nju)|kolovoz[au]?|ruj(?:an|na|nu)|listopad[au]?|prosin(?:ac|ca|cu))$"
)
_BOSNIAN = re.compile(r"^(?:historij\w*|sedmic\w*|hljeb\w*|lahko|mehk\w*|kahv\w*)$")
# Words Serbian and Bosnian share against Croatian: with ijekavian spelling, they point to
# Bosnian (or ijekavian Serbian, which is written as Bosnian is).
_NOT_CROATIAN = re.compile(
    r"^(?:hiljad\w*|tokom|uprkos|uslov\w*|saradn\w*|porodic\w*|penzij\w*|univerzitet\w*"
    r"|učestv\w*|fudbal\w*|pozorišt\w*)$"
)


def _is_ekavian(word: str) -> bool:
    return bool(_SERBIAN.match(word)) or (
        bool(_EKAVIAN_VERB.match(word)) and not _MODEL.match(word)
        and not _is_ijekavian(word))


def _is_ijekavian(word: str) -> bool:
    return bool(_IJEKAVIAN.match(word)) or (
        bool(_IJEKAVIAN_LETTERS.search(word)) and not _IJE_IN_EVERY_VARIETY.match(word))


def _resolve_bcs(chunks: list[str]) -> str:
    """Serbian (``sr-Cyrl``/``sr-Latn``), Croatian (``hr``) or Bosnian (``bs``); the rules
    are in docs/import.md."""
    text = " ".join(chunks)
    if len(_CYRILLIC.findall(text)) * 2 > _letters(text):
        return "sr-Cyrl"
    signs = Counter(sign for word in map(str.lower, _WORD.findall(text))
                    for sign, test in _SIGNS.items() if test(word))
    if signs["ekavian"] > signs["ijekavian"] + signs["croatian"] + signs["bosnian"]:
        return "sr-Latn"
    croatian, bosnian = signs["croatian"], signs["bosnian"] + signs["not croatian"]
    if croatian or bosnian:
        return "hr" if croatian > bosnian else "bs"
    return _lingua_bcs(text)


# Each sign ``_resolve_bcs`` weighs, and the test a lower-cased word passes to count for it.
_SIGNS: dict[str, Callable[[str], object]] = {
    "ekavian": _is_ekavian,
    "ijekavian": _is_ijekavian,
    "croatian": _CROATIAN.match,
    "bosnian": _BOSNIAN.match,
    "not croatian": _NOT_CROATIAN.match,
}


def _lingua_bcs(text: str) -> str:
    """lingua's pick among Serbian (as ``sr-Latn``), Croatian and Bosnian."""
    best = next((value.language for value in _detector().compute_language_confidence_values(text)
                 if value.language in _BCS), Language.CROATIAN)  # lingua ranks every candidate
    return "sr-Latn" if best is Language.SERBIAN else _tag(best)
