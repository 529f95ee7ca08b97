"""The digests' localisation: catalogs, plurals, CLDR dates, direction, fallbacks."""

# The expected strings are in ten languages on purpose (en dashes, dotless i...).
# ruff: noqa: RUF001

from __future__ import annotations

import gettext
import io
import string
from datetime import date, datetime
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import jinja2.ext
import markupsafe
import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po
from conftest import SAME_IN_MANY_LANGUAGES

from sfb_feeds import catalogs, i18n, language

LANGUAGES = ("en", "pl", "tr", "da", "es", "fr", "de", "ar", "el", "ko")
LOCALE_DIR = files("sfb_feeds") / "locale"
REPO = Path(__file__).resolve().parents[1]
COUNT = "{count} statement"
SUBJECT = "{site}: statements of {week}"

# CLDR plural categories in the order of each catalog's forms (gettext index -> category).
# French and Spanish "many" (round millions) shares the plain plural's wording.
CATEGORY_ORDER = {
    "ar": ("zero", "one", "two", "few", "many", "other"),
    "pl": ("one", "few", "many"),
    "es": ("one", "many", "other"),
    "fr": ("one", "many", "other"),
    "ko": ("other",),
}
TS = "\u2009"  # CLDR puts thin spaces around the interval dash in many languages
NB = "\u00a0"


def _catalog(lang: str) -> Catalog:
    data = (LOCALE_DIR / lang / "LC_MESSAGES" / "sfb_feeds.po").read_bytes()
    return read_po(io.BytesIO(data), abort_invalid=True)


def _entries(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _fields(text: str) -> set[str]:
    """The ``{names}`` in a format string; ValueError for a broken brace."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _forms(message: Message) -> tuple[str, ...]:
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return tuple(str(form) for form in forms)


# --- the catalogs themselves ---------------------------------------------------------------


def test_every_label_is_marked_for_extraction() -> None:
    # pybabel extract only sees labels wrapped in _mark/_mark_plural.
    source = Path(i18n.__file__)
    found = [
        message
        for _, message, _, _ in extract_from_file(
            "python", source, keywords={"_mark": None, "_mark_plural": (1, 2)}
        )
    ]
    singles = {m for m in found if isinstance(m, str)}
    plurals = {m[0]: m[1] for m in found if isinstance(m, tuple)}
    assert singles | set(plurals) == set(i18n.MESSAGES)
    assert plurals == dict(i18n.PLURALS)
    assert len(i18n.MESSAGES) == len(set(i18n.MESSAGES))


def test_template_matches_the_labels() -> None:
    template = read_po(io.BytesIO((LOCALE_DIR / "sfb_feeds.pot").read_bytes()))
    assert {_key(m) for m in _entries(template)} == set(i18n.MESSAGES)
    plurals = {m.id[0]: m.id[1] for m in _entries(template) if isinstance(m.id, tuple)}
    assert plurals == dict(i18n.PLURALS)


def test_the_ten_languages_have_catalogs() -> None:
    shipped = {entry.name for entry in LOCALE_DIR.iterdir() if entry.is_dir()}
    assert set(LANGUAGES) <= shipped


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_holds_exactly_the_labels(lang: str) -> None:
    catalog = _catalog(lang)
    entries = _entries(catalog)
    assert sorted(_key(m) for m in entries) == sorted(i18n.MESSAGES)
    assert {m.id[0]: m.id[1] for m in entries if isinstance(m.id, tuple)} == dict(i18n.PLURALS)
    assert not [m.id for m in entries if m.fuzzy], "fuzzy entries are not used at run time"
    assert not catalog.obsolete
    assert str(catalog.locale) == lang
    assert catalog.charset.lower() == "utf-8"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_forms_header_is_the_cldr_one(lang: str) -> None:
    catalog = _catalog(lang)
    assert catalog.plural_forms == get_plural(lang).plural_forms
    for message in _entries(catalog):
        if isinstance(message.id, tuple):
            assert len(_forms(message)) == get_plural(lang).num_plurals


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_is_translated(lang: str) -> None:
    t = i18n.translations(lang)
    for msgid in i18n.MESSAGES:
        plural = i18n.PLURALS.get(msgid)
        texts = [t.gettext(msgid)] if plural is None else [t.ngettext(msgid, plural, 5)]
        for text in texts:
            assert text.strip(), (lang, msgid)
            assert text == text.strip(), (lang, msgid)
            if lang == "en":
                assert text == (msgid if plural is None else plural)
            elif msgid not in SAME_IN_MANY_LANGUAGES:
                assert text not in (msgid, plural), f"{lang}: {msgid!r} is left in English"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang: str) -> None:
    t = i18n.translations(lang)
    for message in _entries(_catalog(lang)):
        if isinstance(message.id, str):
            assert _fields(_forms(message)[0]) == _fields(message.id), (lang, message.id)
            continue
        wanted = _fields(message.id[0]) | _fields(message.id[1])
        for index, form in enumerate(_forms(message)):
            names = _fields(form)
            assert names <= wanted, (lang, form)
            # A form may spell its number out only if it is used for that one number.
            numbers = {n for n in range(1000) if t.plural(n) == index}
            if len(numbers) > 1:
                assert names == wanted, (lang, form, sorted(numbers)[:5])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_percent_sign_for_jinja(lang: str) -> None:
    # Jinja's newstyle gettext applies `text % variables` to every translation.
    for message in _entries(_catalog(lang)):
        assert not any("%" in form for form in _forms(message)), (lang, message.id)


# --- plurals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_choice_follows_cldr(lang: str) -> None:
    t = i18n.translations(lang)
    order = CATEGORY_ORDER.get(lang, ("one", "other"))
    locale = Locale.parse(lang)
    for n in [*range(250), 1000, 1001, 1002, 1011, 10**6, 2 * 10**6, 10**6 + 1]:
        category = locale.plural_form(n)
        assert order[t.plural(n)] == category, (lang, n)


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 1, "1 statement"),
        ("en", 2, "2 statements"),
        ("en", 1000, "1,000 statements"),
        ("pl", 0, "0 stanowisk"),
        ("pl", 1, "1 stanowisko"),
        ("pl", 2, "2 stanowiska"),
        ("pl", 5, "5 stanowisk"),
        ("pl", 12, "12 stanowisk"),
        ("pl", 22, "22 stanowiska"),
        ("pl", 1000, f"1{NB}000 stanowisk"),
        ("ar", 0, "لا بيانات"),
        ("ar", 1, "بيان واحد"),
        ("ar", 2, "بيانان"),
        ("ar", 3, "3 بيانات"),
        ("ar", 11, "11 بيانًا"),
        ("ar", 100, "100 بيان"),
        ("ar", 103, "103 بيانات"),
        ("tr", 1, "1 açıklama"),
        ("tr", 2, "2 açıklama"),
        ("fr", 0, "0 déclaration"),
        ("fr", 2, "2 déclarations"),
        ("da", 1, "1 udtalelse"),
        ("da", 3, "3 udtalelser"),
        ("de", 1, "1 Erklärung"),
        ("el", 4, "4 ανακοινώσεις"),
        ("ko", 1, "성명 1건"),
        ("ko", 7, "성명 7건"),
        ("sw", 3, "3 statements"),
    ],
)
def test_statement_count(lang: str, count: int, expected: str) -> None:
    assert i18n.Language(lang).plural_label(COUNT, i18n.PLURALS[COUNT], count) == expected


# --- labels with values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", f"SFB: statements of 31 August{TS}–{TS}6 September 2015"),
        ("pl", f"SFB: stanowiska z tygodnia 31 sierpnia{TS}–{TS}6 września 2015"),
        ("tr", f"SFB: 31 Ağustos{TS}–{TS}6 Eylül 2015 haftasının açıklamaları"),
        ("da", "SFB: udtalelser fra ugen 31. august–6. september 2015"),
        ("fr", f"SFB{NB}: déclarations de la semaine du 31 août{TS}–{TS}6 septembre 2015"),
        ("ar", "SFB: بيانات أسبوع 31 أغسطس – 6 سبتمبر 2015"),
        ("ko", "SFB: 2015년 8월 31일~9월 6일 주간 성명"),
        ("sw", f"SFB: statements of 31 Agosti 2015{TS}–{TS}6 Septemba 2015"),
    ],
)
def test_subject_line(lang: str, expected: str) -> None:
    week = i18n.Language(lang).format_week(date(2015, 8, 31), date(2015, 9, 6))
    assert i18n.translations(lang).gettext(SUBJECT).format(site="SFB", week=week) == expected


def test_authors_are_joined_the_language_way() -> None:
    authors = i18n.Language("pl").format_names(["DSIP", "RS", "SWP"])
    assert i18n.Language("pl").label("by {authors}", authors=authors) == "Autorstwo: DSIP, RS i SWP"
    assert i18n.Language("tr").label("by {authors}", authors="DSİP") == "Yazan: DSİP"
    assert i18n.Language("en").format_names(["A", "B"]) == "A and B"
    assert i18n.Language("en").format_names([]) == ""


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "same_month", "across_months", "across_years"),
    [
        (
            "en",
            "7–13 September 2015",
            f"31 August{TS}–{TS}6 September 2015",
            f"28 December 2015{TS}–{TS}3 January 2016",
        ),
        (
            "en-US",
            f"September 7{TS}–{TS}13, 2015",
            f"August 31{TS}–{TS}September 6, 2015",
            f"December 28, 2015{TS}–{TS}January 3, 2016",
        ),
        (
            "pl",
            "7–13 września 2015",
            f"31 sierpnia{TS}–{TS}6 września 2015",
            f"28 grudnia 2015{TS}–{TS}3 stycznia 2016",
        ),
        (
            "tr",
            "7–13 Eylül 2015",
            f"31 Ağustos{TS}–{TS}6 Eylül 2015",
            f"28 Aralık 2015{TS}–{TS}3 Ocak 2016",
        ),
        (
            "da",
            "7.–13. september 2015",
            "31. august–6. september 2015",
            "28. december 2015–3. januar 2016",
        ),
        (
            "de",
            "7.–13. September 2015",
            f"31. August{TS}–{TS}6. September 2015",
            f"28. Dezember 2015{TS}–{TS}3. Januar 2016",
        ),
        (
            "es",
            "7–13 de septiembre de 2015",
            f"31 de agosto{TS}–{TS}6 de septiembre de 2015",
            f"28 de diciembre de 2015{TS}–{TS}3 de enero de 2016",
        ),
        (
            "fr",
            "7–13 septembre 2015",
            f"31 août{TS}–{TS}6 septembre 2015",
            f"28 décembre 2015{TS}–{TS}3 janvier 2016",
        ),
        (
            "ar",
            "7–13 سبتمبر 2015",
            "31 أغسطس – 6 سبتمبر 2015",
            "28 ديسمبر 2015 – 3 يناير 2016",
        ),
        (
            "el",
            "7–13 Σεπτεμβρίου 2015",
            "31 Αυγούστου – 6 Σεπτεμβρίου 2015",
            "28 Δεκεμβρίου 2015 – 3 Ιανουαρίου 2016",
        ),
        (
            "ko",
            "2015년 9월 7일~13일",
            "2015년 8월 31일~9월 6일",
            "2015년 12월 28일~2016년 1월 3일",
        ),
        # Chinese and Japanese write the month as a number in dates ("9月"), never "九月".
        (
            "zh",
            f"2015年9月7日{TS}–{TS}13日",
            f"2015年8月31日{TS}–{TS}9月6日",
            f"2015年12月28日{TS}–{TS}2016年1月3日",
        ),
        (
            "zh-TW",
            "2015年9月7日至13日",
            "2015年8月31日至9月6日",
            "2015年12月28日至2016年1月3日",
        ),
        (
            "ja",
            "2015年9月7日～13日",
            "2015年8月31日～9月6日",
            "2015年12月28日～2016年1月3日",
        ),
        # CLDR's intervals pad days to two digits ("06 settembre", "07. rujna") in
        # languages whose dates do not ("6 settembre 2015"): the day as the date writes it.
        (
            "it",
            "7–13 settembre 2015",
            f"31 agosto{TS}–{TS}6 settembre 2015",
            f"28 dicembre 2015{TS}–{TS}3 gennaio 2016",
        ),
        (
            "hr",
            f"7.{TS}–{TS}13. rujna 2015.",
            f"31. kolovoza{TS}–{TS}6. rujna 2015.",
            f"28. prosinca 2015.{TS}–{TS}3. siječnja 2016.",
        ),
        (
            "sr-Latn",
            "7.–13. septembar 2015.",
            f"31. avgust{TS}–{TS}6. septembar 2015.",
            f"28. decembar 2015.{TS}–{TS}3. januar 2016.",
        ),
        # CLDR's Swahili pattern for two months drops the first month: two full dates.
        (
            "sw",
            f"7{TS}–{TS}13 Septemba 2015",
            f"31 Agosti 2015{TS}–{TS}6 Septemba 2015",
            f"28 Desemba 2015{TS}–{TS}3 Januari 2016",
        ),
    ],
)
def test_format_week(lang: str, same_month: str, across_months: str, across_years: str) -> None:
    assert i18n.Language(lang).format_week(date(2015, 9, 7), date(2015, 9, 13)) == same_month
    assert i18n.Language(lang).format_week(date(2015, 8, 31), date(2015, 9, 6)) == across_months
    assert i18n.Language(lang).format_week(date(2015, 12, 28), date(2016, 1, 3)) == across_years


def test_format_week_of_one_day_is_the_date() -> None:
    assert i18n.Language("pl").format_week(date(2015, 9, 6), date(2015, 9, 6)) == "6 września 2015"


def test_format_week_takes_datetimes_by_their_day() -> None:
    warsaw = ZoneInfo("Europe/Warsaw")
    start = datetime(2015, 8, 31, 0, 0, tzinfo=warsaw)
    end = datetime(2015, 9, 6, 23, 59, tzinfo=warsaw)
    assert i18n.Language("de").format_week(start, end) == "31. August\u2009–\u20096. September 2015"
    same_day = datetime(2015, 9, 6, 23, 59, tzinfo=warsaw)
    assert i18n.Language("pl").format_week(same_day.replace(hour=0), same_day) == "6 września 2015"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "6 September 2015"),
        ("en-GB", "6 September 2015"),
        ("en-US", "September 6, 2015"),
        ("pl", "6 września 2015"),
        ("tr", "6 Eylül 2015"),
        ("da", "6. september 2015"),
        ("es", "6 de septiembre de 2015"),
        ("fr", "6 septembre 2015"),
        ("de", "6. September 2015"),
        ("ar", "6 سبتمبر 2015"),
        ("el", "6 Σεπτεμβρίου 2015"),
        ("ko", "2015년 9월 6일"),
        ("pt-BR", "6 de setembro de 2015"),
        ("sw", "6 Septemba 2015"),  # no catalog, but CLDR dates
        ("ce", "6 сентябрь 2015"),  # month names but root patterns: English order
        ("ht", "6 September 2015"),  # no month names in CLDR: English
        ("tlh", "6 September 2015"),  # a valid tag CLDR does not know
        ("qq", "6 September 2015"),  # not a language tag at all
    ],
)
def test_format_date(lang: str, expected: str) -> None:
    assert i18n.Language(lang).format_date(date(2015, 9, 6)) == expected


def test_format_date_keeps_the_given_timezone() -> None:
    # 00:30 in Warsaw is still the 6th in UTC: the caller's local day is the one shown.
    moment = datetime(2015, 9, 7, 0, 30, tzinfo=ZoneInfo("Europe/Warsaw"))
    assert i18n.Language("pl").format_date(moment) == "7 września 2015"


# --- direction, names, fallbacks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "direction"),
    [
        ("ar", "rtl"),
        ("ar-EG", "rtl"),
        ("he", "rtl"),
        ("fa", "rtl"),
        ("ur", "rtl"),
        ("en", "ltr"),
        ("pl", "ltr"),
        ("tr", "ltr"),
        ("ko", "ltr"),
        ("el", "ltr"),
        ("sw", "ltr"),
        ("qq", "ltr"),
    ],
)
def test_text_direction(lang: str, direction: str) -> None:
    assert language.text_direction(lang) == direction


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("pl", "Polski"),
        ("tr", "Türkçe"),
        ("da", "Dansk"),
        ("ar", "العربية"),
        ("el", "Ελληνικά"),
        ("ko", "한국어"),
    ],
)
def test_language_label(tag: str, name: str) -> None:
    assert language.native_name(tag) == name


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("pl", "Pełny tekst stanowiska"),
        ("PL", "Pełny tekst stanowiska"),
        ("pl-PL", "Pełny tekst stanowiska"),
        ("pl_PL", "Pełny tekst stanowiska"),
        ("de-AT", "Vollständige Erklärung"),
        ("es-419", "Declaración completa"),
        ("ar-EG", "النص الكامل للبيان"),
        ("sw", "Full statement"),
        ("pt-BR", "Declaração completa"),  # pt_BR holds only what differs: from pt
        ("tlh", "Full statement"),
        ("../../etc", "Full statement"),
        ("", "Full statement"),
        # The script comes from CLDR's likely subtags: only a catalog in it will do.
        ("zh", "声明全文"),
        ("zh-CN", "声明全文"),
        ("zh-SG", "声明全文"),
        ("zh-Hans", "声明全文"),
        ("zh-Hans-HK", "声明全文"),
        # Traditional Chinese: its own catalog, never the Simplified one.
        ("zh-Hant", "聲明全文"),
        ("zh-TW", "聲明全文"),
        ("zh-HK", "聲明全文"),
        ("zh-MO", "聲明全文"),
        ("zh-Hant-TW", "聲明全文"),
        ("zh_TW", "聲明全文"),
        ("no", "Hele uttalelsen"),  # CLDR's "no" is Bokmål
        ("nb-NO", "Hele uttalelsen"),
        ("sr", "Цело саопштење"),  # Serbian without a script: Cyrillic
        ("sr-RS", "Цело саопштење"),
        ("sr-Cyrl", "Цело саопштење"),
        ("sr-Latn", "Celo saopštenje"),
        ("sr-ME", "Celo saopštenje"),  # Montenegro writes Serbian in Latin
    ],
)
def test_catalog_choice(lang: str, expected: str) -> None:
    assert i18n.translations(lang).gettext("Full statement") == expected


@pytest.mark.parametrize(
    ("lang", "used"),
    [
        ("pt-BR", ("pt_BR", "pt")),
        ("pt", ("pt",)),
        ("zh", ("zh_Hans",)),
        ("zh-TW", ("zh_Hant",)),
        ("zh-HK", ("zh_Hant",)),
        ("zh-Hant", ("zh_Hant",)),
        ("no", ("nb",)),
        ("sr", ("sr",)),
        ("sr-Latn", ("sr_Latn",)),
        ("sw", ()),
    ],
)
def test_catalogs_used(lang: str, used: tuple[str, ...]) -> None:
    assert i18n.catalogs_used(lang) == used

def test_unknown_language_gets_english_labels_and_its_own_dates() -> None:
    assert i18n.translations("sw").gettext("Unsubscribe") == "Unsubscribe"
    assert i18n.Language("sw").format_date(date(2015, 9, 6)) == "6 Septemba 2015"
    assert i18n.Language("sw").format_names(["A", "B"]) == "A na B"


def _write_catalog(root: Path, name: str, strings: dict[str, str], fuzzy: set[str]) -> None:
    catalog = Catalog(locale=name.split("_")[0], domain="sfb_feeds")
    for msgid, text in strings.items():
        catalog.add(msgid, text, flags={"fuzzy"} if msgid in fuzzy else ())
    catalog.add(
        (COUNT, i18n.PLURALS[COUNT]),
        ("{count} declaração", "{count} de declarações", "{count} declarações"),
    )
    folder = root / name / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "sfb_feeds.po").open("wb") as out:
        write_po(out, catalog)


def test_regional_tag_falls_back_to_its_language(tmp_path: Path) -> None:
    base = {"Full statement": "Declaração completa", "Unsubscribe": "Cancelar inscrição"}
    _write_catalog(tmp_path, "pt", base, fuzzy=set())
    _write_catalog(tmp_path, "pt_PT", {"Unsubscribe": "Anular subscrição"}, fuzzy=set())
    brazil = catalogs.translations("pt-BR", shipped=tmp_path)
    portugal = catalogs.translations("pt-PT", shipped=tmp_path)
    assert brazil.gettext("Full statement") == "Declaração completa"
    assert portugal.gettext("Unsubscribe") == "Anular subscrição"
    assert portugal.gettext("Full statement") == "Declaração completa"  # from pt
    assert portugal.gettext("Also in") == "Also in"  # in neither: English
    assert brazil.ngettext(COUNT, i18n.PLURALS[COUNT], 0) == "{count} declaração"
    assert brazil.ngettext(COUNT, i18n.PLURALS[COUNT], 2) == "{count} declarações"


def test_fuzzy_translations_are_not_used(tmp_path: Path) -> None:
    strings = {"Full statement": "Declaração completa", "Unsubscribe": "talvez?"}
    _write_catalog(tmp_path, "pt", strings, fuzzy={"Unsubscribe"})
    t = catalogs.translations("pt", shipped=tmp_path)
    assert t.gettext("Unsubscribe") == "Unsubscribe"
    assert t.gettext("Full statement") == "Declaração completa"


def test_no_catalog_means_null_translations(tmp_path: Path) -> None:
    t = catalogs.translations("pl", shipped=tmp_path)
    assert type(t) is gettext.NullTranslations
    assert t.ngettext(COUNT, i18n.PLURALS[COUNT], 1) == COUNT


# --- Jinja -------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "p":
            self.paragraphs.append("")

    def handle_data(self, data: str) -> None:
        self.paragraphs[-1] += data


def _jinja(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        extensions=[jinja2.ext.i18n], autoescape=True, undefined=jinja2.StrictUndefined
    )
    # The method comes from the i18n extension, so the type checker cannot see it.
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(lang), newstyle=True
    )
    return env


def test_jinja_newstyle_gettext_with_placeholders() -> None:
    template = _jinja("pl").from_string(
        "<p>{{ _('Full statement') }}</p>"
        "<p>{{ _('{site}: statements of {week}').format(site=site, week=week) }}</p>"
        "<p>{{ ngettext('{count} statement', '{count} statements', n).format(count=n) }}</p>"
    )
    html = template.render(site="<b>SFB</b>", week="31 sierpnia – 6 września 2015", n=5)
    parsed = _Text()
    parsed.feed(html)
    assert parsed.tags == ["p", "p", "p"]  # the site title stayed text
    assert parsed.paragraphs == [
        "Pełny tekst stanowiska",
        "<b>SFB</b>: stanowiska z tygodnia 31 sierpnia – 6 września 2015",
        "5 stanowisk",
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_label_renders_through_jinja(lang: str) -> None:
    env = _jinja(lang)
    t = i18n.translations(lang)
    for msgid in i18n.MESSAGES:
        plural = i18n.PLURALS.get(msgid)
        if plural is None:
            rendered = env.from_string("{{ _(m) }}").render(m=msgid)
            assert rendered == str(markupsafe.escape(t.gettext(msgid)))
        else:
            rendered = env.from_string("{{ ngettext(m, p, 3) }}").render(m=msgid, p=plural)
            assert rendered == str(markupsafe.escape(t.ngettext(msgid, plural, 3)))


def test_templates_use_only_known_labels() -> None:
    templates = sorted((REPO / "templates" / "email").glob("*"))
    templates = [path for path in templates if path.is_file() and path.name != "__init__.py"]
    if not templates:
        pytest.skip("no digest templates in templates/email yet")
    known = set(i18n.MESSAGES) | set(i18n.PLURALS.values())
    keywords = ("_", "gettext", "ngettext", "pgettext", "npgettext")
    for path in templates:
        with path.open("rb") as source:
            found = list(jinja2.ext.babel_extract(source, keywords, [], {}))
        for line, _, message, _ in found:
            texts = message if isinstance(message, tuple) else (message,)
            for text in texts:
                if text is not None:
                    assert text in known, f"{path.name}:{line}: {text!r} is not in i18n.MESSAGES"


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", "Also in:"), ("fr", "Également en\u00a0:"), ("de", "Auch auf:"),
    ("ar", "بلغات أخرى:"),
])
def test_a_label_takes_its_colon_the_languages_way(lang: str, expected: str) -> None:
    t = i18n.translations(lang)
    assert t.gettext("{label}:").format(label=t.gettext("Also in")) == expected


def test_the_unsubscribe_page_messages_are_labels() -> None:
    from sfb_feeds import unsubscribe

    page = (unsubscribe.ASK, unsubscribe.ASK_NO_ADDRESS, unsubscribe.DONE,
            unsubscribe.NOT_ONE_CLICK)
    assert set(page) <= set(i18n.MESSAGES)  # so every catalog must translate them
    assert i18n.translations("pl").gettext(unsubscribe.ASK).format(address="ann@example.org") == (
        "Przestać wysyłać te przeglądy na adres ann@example.org?")
    assert i18n.translations("fr").gettext(unsubscribe.ASK_NO_ADDRESS).endswith(f"adresse{NB}?")
