"""Localisation for the digests: gettext labels, CLDR dates and lists, text direction.

Labels are gettext messages with ``str.format`` placeholders (``{site}``, ``{week}``,
``{count}``, ``{authors}``): translate first, then format, as templates do with
``{{ _("{site}: statements of {week}").format(site=site_title, week=week_words) }}``
(under autoescape ``.format`` escapes the values). The catalogs are the ``.po`` files of
``sfb_feeds/locale/``, read at run time (no ``.mo`` to keep in step), once, into a
:class:`Language` that renderers prepare ahead and keep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from babel import Locale
from babel.dates import (
    DateTimePattern,
    match_skeleton,
    parse_pattern,
    tokenize_pattern,
    untokenize_pattern,
)
from babel.dates import format_date as _format_cldr_date
from babel.lists import format_list as _format_cldr_list
from babel.numbers import format_decimal

from . import catalogs
from .catalogs import translations as translations  # i18n.translations(lang)
from .language import babel_locale, canonical_tag, text_direction

if TYPE_CHECKING:
    from .model import Settings

def _mark(msgid: str) -> str:
    """Mark a label for ``pybabel extract -k _mark``; translation happens at render time."""
    return msgid


def _mark_plural(singular: str, plural: str) -> tuple[str, str]:
    """Mark a plural label for ``pybabel extract -k _mark_plural:1,2``."""
    return singular, plural


# Singular msgid -> plural msgid, for the labels that go through ngettext.
PLURALS: Mapping[str, str] = MappingProxyType(dict([
    # TRANSLATORS: how many statements a digest holds. A form used for
    # one number only (Arabic zero, one, two) may leave {count} out.
    _mark_plural("{count} statement", "{count} statements"),
]))

# Every fixed label of the digests (for plurals: the singular msgid). Order = catalog order.
MESSAGES: tuple[str, ...] = (
    # TRANSLATORS: the email subject. {site} is the site title, {week}
    # the week in words from CLDR, like "31 August to 6 September 2015".
    _mark("{site}: statements of {week}"),
    _mark("Weekly digest"),
    _mark("Statements of the week"),
    _mark("No statements this week."),
    _mark("View in browser"),
    _mark("Read online"),
    _mark("Full statement"),
    # TRANSLATORS: in a week with more statements than one email can hold whole, before
    # the list of the other statements, each shown by its title (linked) and date.
    _mark("To keep this email short, the statements below are listed by title only."),
    # TRANSLATORS: before links to a statement's translations, each named
    # in its own language: "Also in: Polski · Türkçe".
    _mark("Also in"),
    # TRANSLATORS: a label followed by what it labels ("Full statement: https://…",
    # "Also in: Polski"). {label} is the label; write the colon and spacing your
    # language's way (French: a no-break space before the colon).
    _mark("{label}:"),
    # TRANSLATORS: {authors}: the authors, often organisations, joined as
    # "DSIP and RS"; prefer wording that needs no case ending on names.
    _mark("by {authors}"),
    # TRANSLATORS: a label before a date.
    _mark("Published"),
    # TRANSLATORS: a label before a date.
    _mark("Updated"),
    _mark("Subscribe to the feed"),
    _mark("Atom feed"),
    _mark("RSS feed"),
    _mark("JSON feed"),
    _mark("Digest archive"),
    # TRANSLATORS: the subscribe page's title of a language's feed of weekly digests, in
    # parentheses after the site and the language: "Socialism From Below — Polski (weekly
    # digests)"; lowercase where your language allows.
    _mark("weekly digests"),
    # TRANSLATORS: the subscribe page's title of the feeds of every language together:
    # "Socialism From Below — all languages (Atom)".
    _mark("all languages"),
    _mark("Previous digests"),
    _mark("You are receiving this because you subscribed to the {site} mailing list."),
    _mark("Unsubscribe"),
    # TRANSLATORS: the unsubscribe page, opened from the link in a digest, asks before
    # it acts. {address}: the subscriber's email address.
    _mark("Stop sending these digests to {address}?"),
    # TRANSLATORS: the same question when the link does not show the address.
    _mark("Stop sending these digests to this address?"),
    # TRANSLATORS: the unsubscribe page after the button was pressed. It says "if this
    # link was valid" on purpose: the page never tells whether an address is subscribed.
    _mark("Done. If this link was valid, no more digests in this language will be sent to "
          "that address."),
    # TRANSLATORS: the unsubscribe page, reached without a valid unsubscribe request
    # (a mail program's one-click request lacked its body, say).
    _mark("This is not an unsubscribe request. Open the link from the digest instead."),
    *PLURALS,
)


def catalogs_used(lang: str, site_locales: Path | None = None) -> tuple[str, ...]:
    """The names of the catalogs ``lang``'s labels come from, most specific first
    (empty: English labels). A broken site catalog among them raises ConfigError."""
    return tuple(dict.fromkeys(file.name for file in catalogs.catalog_files(lang, site_locales)))


def site_locales(settings: Settings) -> Path:
    """Where a site keeps its own catalogs: ``locales/`` beside its config."""
    return settings.config_path.parent / catalogs.SITE_FOLDER


# Plain "en" means the site's international English: day before month, "6 September 2015".
_ENGLISH = Locale.parse("en_001")
_ROOT = Locale.parse("root")


def _cldr_locales(lang: str) -> tuple[Locale, Locale]:
    """(where the date patterns come from, where month names, list words and number
    symbols come from) for ``lang``."""
    tag = canonical_tag(lang.replace("_", "-"))
    locale = None if tag is None else _ENGLISH if tag == "en" else babel_locale(tag)
    if locale is None or locale.months["format"]["wide"] == _ROOT.months["format"]["wide"]:
        # Unknown to CLDR, or known without month names ("M09"): English throughout.
        return _ENGLISH, _ENGLISH
    if locale.date_formats["long"].pattern == _ROOT.date_formats["long"].pattern:
        # Month names but no date patterns of its own: root's "2015 September 6" reads
        # worse than the English order with the language's month names.
        return _ENGLISH, locale
    return locale, locale


def _day(moment: date) -> date:
    # The calendar day as given: no conversion to UTC or to the machine's timezone.
    return moment.date() if isinstance(moment, datetime) else moment


def _week_patterns(patterns: Locale, field: str) -> tuple[DateTimePattern, ...] | None:
    """The interval patterns of ``patterns`` for days that differ from ``field`` on,
    parsed and with months written as the long date writes them; None when there is no
    usable one."""
    formats = patterns.interval_formats
    skeleton = match_skeleton("yMMMMd", formats)
    parts = formats[skeleton].get(field) if skeleton else None
    if not parts or len(parts) != 2 or not _width(parts[0], "ML" if field == "M" else field):
        return None
    long = patterns.date_formats["long"].pattern
    wide, day = _width(long, "ML") >= 4, _width(long, "d")
    return tuple(parse_pattern(_as_long_date(part, wide, day)) for part in parts)


def _width(pattern: str, letters: str) -> int:
    """How many letters the widest field of ``pattern`` named by ``letters`` has (0: none;
    ``MMMM``: 4; ``M``: 1)."""
    return max((int(value[1]) for kind, value in tokenize_pattern(pattern)
                if kind == "field" and value[0] in letters), default=0)


def _as_long_date(pattern: str, wide: bool, day: int) -> str:
    """``pattern`` with its months and days written as the long date writes them, as ICU
    fits an interval's fields to the skeleton asked for (Babel does not).

    Where the long date spells the month out (``wide``: "6 September 2015") the week
    does too. Chinese and Japanese long dates write it as a number ("2015年9月6日"), where
    CLDR's wide name would read "九月": such languages keep the interval's own month. Days
    take the long date's width (``day``): CLDR's Italian, Croatian and Serbian intervals
    wrote "06 settembre", "07. rujna", where their dates write "6 settembre 2015"."""
    tokens = []
    for kind, value in tokenize_pattern(pattern):
        if kind == "field" and wide and value in (("M", 3), ("L", 3)):
            value = (value[0], 4)
        elif kind == "field" and value[0] == "d" and day:
            value = ("d", day)
        tokens.append((kind, value))
    return str(untokenize_pattern(tokens))


MOST_KEPT = 100_000  # lists of names kept per language


class Language:
    """One language's catalog, CLDR data and direction, read once, when a renderer is
    prepared. The dates, counts and lists of names written are kept: a site has few distinct
    ones, and Babel takes 20-40 µs for each (together a third of an HTML digest's rendering,
    measured on a generated 3,000-statement site). ``site_locales``: the site's own catalogs
    (:func:`site_locales`), which win message by message."""

    __slots__ = ("_dates", "_fallback", "_lists", "_long", "_names", "_numbers", "_weeks",
                 "catalog", "direction", "lang")

    def __init__(self, lang: str, site_locales: Path | None = None) -> None:
        self.lang = lang
        self._dates: dict[date, str] = {}
        self._numbers: dict[int, str] = {}
        self._lists: dict[tuple[str, ...], str] = {}
        self.catalog = translations(lang, site_locales)
        patterns, self._names = _cldr_locales(lang)
        self._long = patterns.date_formats["long"].pattern
        self._weeks = {field: _week_patterns(patterns, field) for field in "yMd"}
        self._fallback = str(patterns.interval_formats.get(None) or "{0} \u2013 {1}")
        self.direction = text_direction(lang)

    def label(self, msgid: str, **values: object) -> str:
        """The translated label ``msgid`` with its ``{placeholders}`` filled in."""
        return self.catalog.gettext(msgid).format(**values)

    def plural_label(self, singular: str, plural: str, count: int) -> str:
        """The plural label for ``count``; ``{count}`` is written the language's way."""
        text = self.catalog.ngettext(singular, plural, count)
        return text.format(count=self.format_number(count))

    def format_date(self, moment: date) -> str:
        """The long date: ``6 September 2015``, ``6 września 2015`` (``moment`` as given)."""
        if (found := self._dates.get(day := _day(moment))) is None:
            found = self._dates[day] = str(_format_cldr_date(day, self._long, self._names))
        return found

    def format_week(self, start: date, end: date) -> str:
        """The days from ``start`` to ``end`` in words: ``31 August\u2009\u2013\u20096 September
        2015``. CLDR's interval patterns, with the month written in full where the closest
        pattern abbreviates it (Babel does not widen fields the way ICU does). Datetimes
        count by their calendar day, as given."""
        start, end = _day(start), _day(end)
        if start == end:
            return self.format_date(start)
        field = "y" if start.year != end.year else "M" if start.month != end.month else "d"
        if (patterns := self._weeks[field]) is None:
            # No usable pattern (a few locales drop the first month): two full dates.
            return self._fallback.format(self.format_date(start), self.format_date(end))
        return "".join(pattern.apply(day, self._names)
                       for pattern, day in zip(patterns, (start, end), strict=True))

    def format_number(self, number: int) -> str:
        """An integer with the language's digit grouping: ``1,000``, ``1 000``."""
        if (found := self._numbers.get(number)) is None:
            found = self._numbers[number] = str(format_decimal(number, locale=self._names))
        return found

    def format_names(self, names: Iterable[str]) -> str:
        """Names joined the language's way: ``A, B and C``, ``A, B i C``."""
        if (found := self._lists.get(items := tuple(names))) is None:
            found = str(_format_cldr_list(list(items), locale=self._names)) if items else ""
            if len(self._lists) < MOST_KEPT:
                self._lists[items] = found
        return found
