"""Language tags: validation, canonical case, display names (CLDR via Babel)."""

from __future__ import annotations

import contextlib
import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

# langcodes (~30 ms to import) and Babel are imported where they are needed: a build with
# nothing to do only checks the config's language tags, which are nearly always these.
# Tags langcodes leaves exactly as written (tests/test_language.py checks each of them).
CANONICAL_AS_WRITTEN = frozenset({
    "ar", "bg", "bs", "ca", "cs", "cy", "da", "de", "el", "en", "en-GB", "en-US", "es",
    "et", "eu", "fa", "fi", "fr", "ga", "gl", "he", "hi", "hr", "hu", "id", "is", "it",
    "ja", "ko", "ku", "lt", "lv", "mk", "ms", "mt", "nb", "nl", "nn", "pl", "pt", "pt-BR",
    "pt-PT", "ro", "ru", "sk", "sl", "sq", "sr", "sr-Latn", "sv", "sw", "th", "tr", "uk",
    "ur", "vi", "zh", "zh-Hans", "zh-Hant",
})

# After canonicalisation a tag must also be safe as a folder name.
_SAFE_TAG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
# What is given to langcodes: also the grandfathered ``i-`` tags (RFC 5646 2.2.8: ``i-klingon``,
# taken as its preferred value ``tlh``); what comes back must still be a _SAFE_TAG.
_GIVEN_TAG = re.compile(r"^([A-Za-z]{2,8}|[iI])(-[A-Za-z0-9]{1,8})*$")

RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "sd", "ug", "dv", "ckb"})
# Script subtags (ISO 15924) written right to left, for tags CLDR has no locale for
# (``ku-Arab``); a script subtag decides the direction over the language's usual one.
RTL_SCRIPTS = frozenset({"arab", "hebr", "thaa", "syrc", "nkoo", "adlm", "rohg", "mand",
                         "samr", "yezi"})


def canonical_tag(value: str) -> str | None:
    """The canonical BCP 47 form of ``value`` (``pt-br`` -> ``pt-BR``), or None if invalid."""
    if value in CANONICAL_AS_WRITTEN:
        return value
    import langcodes

    if not _GIVEN_TAG.match(value) or not langcodes.tag_is_valid(value):
        return None
    tag = str(langcodes.standardize_tag(value))
    return tag if _SAFE_TAG.match(tag) else None


def babel_locale(tag: str) -> Locale | None:
    """The closest CLDR locale for ``tag`` (``pt-BR`` -> pt_BR, ``sr-Latn`` -> sr_Latn)."""
    from babel import Locale, UnknownLocaleError

    for name in (tag, tag.split("-")[0]):
        with contextlib.suppress(UnknownLocaleError, ValueError):
            return Locale.parse(name, sep="-")
    return None


def native_name(tag: str) -> str:
    """The language's name in itself, capitalised: ``pl`` -> ``Polski``; the tag itself
    where CLDR has no name (``rom``, ``qaa``). Not langcodes: its names need the
    ``language_data`` package, not a dependency. (~3 µs once Babel holds the CLDR data.)"""
    locale = babel_locale(tag)
    name = locale.get_display_name(locale) if locale is not None else None
    return name[:1].upper() + name[1:] if name else tag


def english_name(tag: str) -> str | None:
    """The language's English name in CLDR (``pl`` -> ``Polish``), or None."""
    from babel import Locale

    return Locale("en").languages.get(tag)


def text_direction(lang: str) -> str:
    """``"rtl"`` for languages written right to left (Arabic, Hebrew, Persian, Urdu...),
    else ``"ltr"``."""
    tag = canonical_tag(lang.replace("_", "-"))
    if tag is None:
        return "ltr"
    subtags = tag.lower().split("-")
    if scripts := [s for s in subtags[1:] if len(s) == 4 and s.isalpha()]:
        return "rtl" if scripts[0] in RTL_SCRIPTS else "ltr"
    locale = babel_locale(tag)
    rtl = locale is not None and locale.character_order == "right-to-left"
    return "rtl" if rtl or _likely_script_rtl(tag) else "ltr"


def _likely_script_rtl(tag: str) -> bool:
    """Whether the language of ``tag`` is usually written right to left: one of
    ``RTL_LANGUAGES``, or CLDR's likely script for it is (a language CLDR has no locale for:
    ``arz`` -> Arab, ``jrb`` -> Hebr)."""
    from babel.core import get_global

    if tag.split("-")[0].lower() in RTL_LANGUAGES:
        return True
    likely = get_global("likely_subtags")
    for name in (tag.replace("-", "_"), tag.split("-")[0]):
        if (full := likely.get(name)) is not None:
            return any(part.lower() in RTL_SCRIPTS for part in full.split("_")[1:2])
    return False


# Feed language tags (docs/feeds.md, "Languages"). Macrolanguages every member of which has
# an extended language subtag in the IANA registry (RFC 5646 section 2.2.2): ``zh-yue``.
EXTLANG_PREFIXES = frozenset({"ar", "lv", "sw", "uz", "zh"})
# Members of a macrolanguage that have an ISO 639-2 code of their own: validators know them.
ISO_639_2_MEMBERS = frozenset({"fat", "min"})


@functools.cache
def feed_language_tag(tag: str) -> str:
    """``tag`` (canonical) as Atom ``xml:lang``/``hreflang``, RSS ``<language>`` and OPML
    write it: the W3C validator reports a tag whose first subtag is not an ISO 639-1 or
    639-2 code as an error, so a language with an ISO 639-3 code only is named by the
    macrolanguage that contains it, still exactly: ``cmn-Hant`` -> ``zh-Hant`` (the
    macrolanguage's usual member), ``yue`` -> ``zh-yue`` (the extended form), ``ckb`` ->
    ``ku-Arab`` (its usual script); every tag is valid BCP 47. A tag without such a
    macrolanguage (``szl``) is kept as it is."""
    primary = tag.partition("-")[0]
    if len(primary) != 3 or primary in ISO_639_2_MEMBERS:
        return tag
    import langcodes
    from langcodes.data_dicts import MACROLANGUAGES  # (the IANA registry's field)

    language = langcodes.Language.get(tag)
    dominant = language.prefer_macrolanguage()
    macro = MACROLANGUAGES.get(primary)
    if dominant.language != primary or macro is None:
        return str(dominant)
    if macro in EXTLANG_PREFIXES:
        return f"{macro}-{tag}"
    script = language.script or language.maximize().script
    return str(language.update_dict({"language": macro, "script": script}))
