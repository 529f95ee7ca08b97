"""The gettext catalogs a language's labels come from: the shipped ones and a site's own.

Each name of :func:`catalog_names` (most specific first, in the tag's script only) is read
from the site's ``locales/`` before the shipped ``sfb_feeds/locale/``; see docs/languages.md.
"""

from __future__ import annotations

import gettext
import io
import re
import string
from collections.abc import Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import NamedTuple

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po

from .errors import ConfigError, Problem, display_path
from .folders import unreadable_files
from .language import canonical_tag
from .loader import TooLarge, read_regular

DOMAIN = "sfb_feeds"
SITE_FOLDER = "locales"  # beside the config: locales/<lang>/LC_MESSAGES/sfb_feeds.po
# A site catalog larger than this is refused: the shipped ones are 6 KB at most, and
# Babel took 14 s to read a 13 MB one (400,000 messages), read again for each language.
SITE_CATALOG_BYTES = 1 << 20

# CLDR's "no" holds Bokmål's data (nb and nn inherit from it): "no" text is Bokmål.
_WRITTEN_AS = {"no": "nb"}

# What a stripped line of a .po file may be: blank, a comment, a keyword with a string, a
# string. Babel's reader skips some malformed lines (an unterminated string) without a word.
_PO_LINE = re.compile(
    r'(?:#.*)?|(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?"(?:[^"\\]|\\.)*"')


def catalog_names(lang: str) -> tuple[str, ...]:
    """Catalog folder names to try for ``lang``, most specific first, in its script only:
    ``pt-BR`` -> (pt_BR, pt_Latn, pt); ``zh-TW`` -> (zh_TW, zh_Hant); ``no`` -> (nb_Latn,
    nb). Nothing for what is not a language tag (which keeps "../x" off the file system)."""
    tag = canonical_tag(lang.replace("_", "-"))
    if tag is None:
        return ()
    parts = tag.split("-")
    parts[0] = _WRITTEN_AS.get(parts[0], parts[0])
    script = _script(parts)
    chain = ["_".join(parts[:n]) for n in range(len(parts), 0, -1)]
    if script is not None:
        chain.insert(len(chain) - 1, f"{parts[0]}_{script}")
    return tuple(dict.fromkeys(name for name in chain if _script(name.split("_")) == script))


def _script(parts: Sequence[str]) -> str | None:
    """The script a tag's ``parts`` name, or else CLDR's likely one for it (None: unknown),
    looked up with the tag's region, then without (``zh_TW`` -> zh_Hant_TW -> ``Hant``)."""
    from babel.core import get_global

    if named := [part for part in parts[1:] if len(part) == 4 and part.isalpha()]:
        return named[0].title()
    likely = get_global("likely_subtags")
    keys = [f"{parts[0]}_{part.upper()}" for part in parts[1:2] if len(part) in (2, 3)]
    found = next((str(likely[key]) for key in (*keys, parts[0]) if likely.get(key)), "")
    script = found.partition("_")[2].partition("_")[0]  # the second subtag
    return script if len(script) == 4 else None


class CatalogFile(NamedTuple):
    """One catalog a language reads: its folder name, its file, whether the site's own."""

    name: str
    source: Traversable
    site: bool


def catalog_files(lang: str, site_locales: Path | None = None,
                  shipped: Traversable | None = None) -> tuple[CatalogFile, ...]:
    """The catalog files ``lang`` reads, in the order their messages win; ConfigError
    listing every problem of the site's catalogs among them, and each file of the site's
    ``locales/`` that is no regular file (which ``build`` refuses whatever the language)."""
    roots: list[tuple[Traversable, bool]] = [] if site_locales is None else [(site_locales, True)]
    roots.append((files("sfb_feeds") / "locale" if shipped is None else shipped, False))
    found = tuple(CatalogFile(name, source, site) for name in catalog_names(lang)
                  for root, site in roots
                  if (source := root / name / "LC_MESSAGES" / f"{DOMAIN}.po").is_file())
    if problems := _special_problems(site_locales) or [
            problem for file in found for problem in _site_problems(file)]:
        raise ConfigError(problems)
    return found


def _special_problems(site_locales: Path | None) -> list[Problem]:
    """Each file of the site's ``locales/`` that ``build``, which reads them all (for its
    stamp), could not read: no regular file, or one whose mode forbids reading it."""
    found = [] if site_locales is None else unreadable_files(site_locales)
    return [Problem(display_path(path), message) for path, message in found]


def translations(lang: str, site_locales: Path | None = None,
                 shipped: Traversable | None = None) -> gettext.NullTranslations:
    """The gettext translations for ``lang``: its own catalog, then its parent's (English,
    the msgids, without one); read afresh, so keep the result (see i18n.Language).
    ``site_locales``: a site's own catalogs, which win message by message (a broken one is a
    ConfigError naming file and line); ``shipped``: instead of the shipped ones (tests)."""
    found = catalog_files(lang, site_locales, shipped)
    chain = gettext.NullTranslations()
    for file in reversed(found):  # the least specific first: each falls back on the last
        data = _site_bytes(file.source) if file.site else file.source.read_bytes()
        if isinstance(data, Problem):  # (it changed since catalog_files checked it)
            raise ConfigError([data])
        catalog = _compiled(read_po(io.BytesIO(data), domain=DOMAIN, abort_invalid=True))
        catalog.add_fallback(chain)
        chain = catalog
    return chain


def _compiled(catalog: Catalog) -> gettext.GNUTranslations:
    """``catalog`` as the standard library reads a compiled one: going through .mo bytes
    lets it evaluate Plural-Forms; fuzzy and empty entries are left out, as msgfmt does.
    ValueError (or another exception) when it cannot: :func:`_gettext_problems`."""
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    return gettext.GNUTranslations(io.BytesIO(compiled.getvalue()))


def _site_bytes(source: Traversable) -> bytes | Problem:
    """A site catalog's bytes, or why they cannot be read: read without waiting (a FIFO
    that took the file's place would wait for a writer for ever), at most
    SITE_CATALOG_BYTES."""
    try:
        return read_regular(str(source), SITE_CATALOG_BYTES)
    except TooLarge:
        return Problem(display_path(str(source)), f"is larger than {SITE_CATALOG_BYTES} "
                       "bytes; a catalog of sfb-feeds' labels takes a few kilobytes (is it "
                       "another program's?)")
    except OSError as error:
        return Problem(display_path(str(source)), f"cannot read: {error.strerror or error}")


def _site_problems(file: CatalogFile) -> list[Problem]:
    """What is wrong with ``file`` if it is one of the site's (the shipped ones are not
    checked: their tests do that)."""
    if not file.site:
        return []
    data = _site_bytes(file.source)
    return ([data] if isinstance(data, Problem)
            else _text_problems(display_path(str(file.source)), data))


def _text_problems(path: str, data: bytes) -> list[Problem]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [Problem(path, f"not UTF-8 (byte {error.start}): save the catalog as UTF-8")]
    problems = [Problem(path, f"not a .po line: {line.strip()[:60]!r} (each line is a "
                              'comment, a keyword with a "quoted string", or a "string")',
                        line=number)
                for number, line in enumerate(text.splitlines(), 1)
                if not _PO_LINE.fullmatch(line.strip())]
    if problems:
        return problems
    try:
        catalog = read_po(io.StringIO(text), domain=DOMAIN, abort_invalid=True)
    except PoFileError as error:  # its line numbers count from 0
        return [Problem(path, str(error).rsplit(" on ", 1)[0], line=error.lineno + 1)]
    return _catalog_problems(path, text, catalog)


def _catalog_problems(path: str, text: str, catalog: Catalog) -> list[Problem]:
    return [problem for message in catalog if message.id and message.string
            for problem in _placeholder_problems(path, message)
            ] or _gettext_problems(path, text, catalog)


# The counts a site's Plural-Forms is tried with: any a digest may show, in practice.
_COUNTS = range(1001)


def _gettext_problems(path: str, text: str, catalog: Catalog) -> list[Problem]:
    """What keeps gettext from using ``catalog``, which Babel read: a message with more
    than one msgid_plural; a Plural-Forms it cannot evaluate, or that fails or gives a
    form the catalog lacks for a count (gettext would fall back to English unseen)."""
    for message in catalog:
        if isinstance(message.id, tuple) and len(message.id) > 2:
            return [Problem(path, f"{message.id[0]!r} has {len(message.id) - 1} "
                                  "msgid_plural lines; give it one", line=message.lineno)]
    line = next((number for number, written in enumerate(text.splitlines(), 1)
                 if written.lstrip('"').startswith("Plural-Forms:")), None)
    try:
        _compiled(catalog)
        plural = gettext.c2py(catalog.plural_expr)  # (as the compiled catalog evaluates it)
    except ValueError as error:
        return [Problem(path, f"Plural-Forms: {error}", line=line)]
    for count in _COUNTS:
        try:
            form = plural(count)
        except Exception as error:  # (an expression of the site's: n / (n - 7))
            return [Problem(path, f"Plural-Forms: fails for n = {count} "
                                  f"({type(error).__name__}: {error})", line=line)]
        if not 0 <= form < catalog.num_plurals:
            return [Problem(path, f"Plural-Forms: gives form {form} for n = {count}, but "
                                  f"there are {catalog.num_plurals} (nplurals)", line=line)]
    return []


def _placeholder_problems(path: str, message: Message) -> list[Problem]:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    wanted = _fields(msgid) or set()
    for form in forms:
        found = _fields(str(form))
        # A plural form may leave {count} out ("one statement"); nothing else may differ.
        fits = found is not None and (
            found <= wanted if isinstance(message.id, tuple) else found == wanted)
        if not fits:
            shown = ", ".join(f"{{{name}}}" for name in sorted(wanted)) or "no placeholders"
            return [Problem(path, f"msgstr of {msgid!r} must keep the msgid's placeholders "
                                  f"({shown}) exactly, with single braces", line=message.lineno)]
    return []


def _fields(text: str) -> set[str] | None:
    """The ``{names}`` in a format string; None for a broken brace."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None
