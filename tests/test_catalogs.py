"""The shipped label catalogs: complete, placeholders intact, CLDR plurals, really used."""

# Expected labels are written in their own scripts on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import gettext
import io
import re
import string
from collections.abc import Callable
from importlib.resources import files

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from babel.plural import to_gettext

from sfb_feeds import i18n

LOCALE_DIR = files("sfb_feeds") / "locale"
# Every catalog that must ship (folder names, as the loader looks them up).
CATALOGS = (
    "en", "pl", "tr", "da", "es", "fr", "de", "ar", "el", "ko",
    "ru", "uk", "sr_Latn", "sr", "hr", "bs", "sl", "cs", "sk", "hu", "ro", "bg", "pt", "pt_BR",
    "it", "ca", "nl", "nb", "sv", "fi", "ga", "he", "fa", "ur", "hi", "ja", "zh_Hans",
    "zh_Hant",
)
# Regional catalogs that hold only what differs from their base language's catalog.
PARTIAL = frozenset({"pt_BR"})
# Catalogs written before CLDR's plural rules were taken through babel.plural.to_gettext:
# their headers come from babel.messages.plurals (tests/test_i18n.py checks those).
OLDER_HEADERS = frozenset({"en", "pl", "tr", "da", "es", "fr", "de", "ar", "el", "ko"})
GETTEXT_ORDER = ("zero", "one", "two", "few", "many", "other")
COUNTS = (*range(0, 1001), 1_000_000)
# Labels no language writes as English does (so an English fallback would show).
NEVER_ENGLISH = ("Weekly digest", "Full statement", "No statements this week.", "Unsubscribe")


def _read(name: str) -> Catalog:
    path = LOCALE_DIR / name / "LC_MESSAGES" / "sfb_feeds.po"
    return read_po(io.BytesIO(path.read_bytes()), abort_invalid=True)


def _template() -> Catalog:
    return read_po(io.BytesIO((LOCALE_DIR / "sfb_feeds.pot").read_bytes()))


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _forms(message: Message) -> tuple[str, ...]:
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return tuple(str(form) for form in forms)


def _translated(catalog: Catalog) -> dict[str, Message]:
    """The entries gettext will use: not fuzzy, every form filled in."""
    return {_key(m): m for m in catalog if m.id and not m.fuzzy and all(_forms(m))}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _tag(name: str) -> str:
    return name.replace("_", "-")


def _chain(name: str) -> list[str]:
    """The catalog and the ones it falls back to: pt_BR -> [pt_BR, pt]."""
    parts = name.split("_")
    return ["_".join(parts[:n]) for n in range(len(parts), 0, -1)
            if (LOCALE_DIR / "_".join(parts[:n])).is_dir()]


def _categories(name: str) -> tuple[str, ...]:
    """CLDR's plural categories for the language, in gettext's form order."""
    used = Locale.parse(name).plural_form.tags | {"other"}
    return tuple(tag for tag in GETTEXT_ORDER if tag in used)


def test_at_least_thirty_catalogs_ship() -> None:
    shipped = sorted(p.name for p in LOCALE_DIR.iterdir() if p.is_dir())
    assert set(CATALOGS) <= set(shipped)
    assert len(shipped) >= 30


@pytest.mark.parametrize("name", CATALOGS)
def test_catalog_parses_and_names_its_language(name: str) -> None:
    catalog = _read(name)
    assert catalog.locale_identifier == name
    assert not any(m.fuzzy for m in catalog if m.id)


@pytest.mark.parametrize("name", CATALOGS)
def test_every_label_of_the_template_is_translated(name: str) -> None:
    wanted = {_key(m) for m in _template() if m.id}
    own = set(_translated(_read(name)))
    if name in PARTIAL:
        assert len(_chain(name)) > 1, f"{name} is partial but has nothing to fall back to"
        own = set().union(*(set(_translated(_read(c))) for c in _chain(name)))
    assert sorted(wanted - own) == [], f"{name} lacks these labels"
    assert sorted(set(_translated(_read(name))) - wanted) == [], f"{name}: unknown labels"


@pytest.mark.parametrize("name", CATALOGS)
def test_placeholders_are_kept(name: str) -> None:
    catalog = _read(name)
    single_numbers = _single_number_forms(catalog)
    for key, message in _translated(catalog).items():
        wanted = _fields(key)
        for index, form in enumerate(_forms(message)):
            found = _fields(form)
            if isinstance(message.id, tuple) and index in single_numbers:
                # "one statement" needs no {count} when the form serves one number only.
                assert found <= wanted, (name, key, form)
            else:
                assert found == wanted, (name, key, form)


def _single_number_forms(catalog: Catalog) -> set[int]:
    plural = _plural_function(catalog)
    served: dict[int, set[int]] = {}
    for count in COUNTS:
        served.setdefault(plural(count), set()).add(count)
    return {index for index, numbers in served.items() if len(numbers) == 1}


def _plural_function(catalog: Catalog) -> Callable[[int], int]:
    return gettext.c2py(catalog.plural_expr)


@pytest.mark.parametrize("name", sorted(set(CATALOGS) - OLDER_HEADERS))
def test_plural_forms_header_is_cldrs_through_babel(name: str) -> None:
    catalog = _read(name)
    # Python's gettext knows only n: CLDR's e (the compact exponent) is 0 for every count.
    expected = re.sub(r"\be\b", "0", to_gettext(Locale.parse(name).plural_form))
    assert catalog.plural_forms == expected
    assert catalog.num_plurals == len(_categories(name))


@pytest.mark.parametrize("name", sorted(set(CATALOGS) - OLDER_HEADERS))
def test_plural_forms_pick_cldrs_category(name: str) -> None:
    catalog = _read(name)
    plural = _plural_function(catalog)
    categories = _categories(name)
    locale = Locale.parse(name)
    for count in COUNTS:
        assert categories[plural(count)] == locale.plural_form(count), (name, count)
    for message in catalog:
        if message.id and isinstance(message.id, tuple):
            assert len(_forms(message)) == len(categories)


@pytest.mark.parametrize("name", CATALOGS)
def test_labels_come_out_in_the_language(name: str) -> None:
    tag = _tag(name)
    merged: dict[str, Message] = {}
    for catalog in reversed(_chain(name)):
        merged.update(_translated(_read(catalog)))
    for msgid in i18n.MESSAGES:
        if msgid in i18n.PLURALS:
            continue
        values = {field: f"<{field}>" for field in _fields(msgid)}
        translated = i18n.translations(tag).gettext(msgid)
        assert translated.format(**values) == _forms(merged[msgid])[0].format(**values)
    if name != "en":
        for msgid in NEVER_ENGLISH:
            assert i18n.translations(tag).gettext(msgid) != msgid, (name, msgid)


PLURAL_LABELS = [
    ("ru", (1, 3, 5, 21, 112), ("1 заявление", "3 заявления", "5 заявлений", "21 заявление",
                                "112 заявлений")),
    ("uk", (1, 2, 11, 22), ("1 заява", "2 заяви", "11 заяв", "22 заяви")),
    ("sr-Latn", (1, 4, 5, 21), ("1 saopštenje", "4 saopštenja", "5 saopštenja",
                                "21 saopštenje")),
    ("sr-Cyrl", (1, 2), ("1 саопштење", "2 саопштења")),
    ("hr", (1, 2, 5), ("1 izjava", "2 izjave", "5 izjava")),
    ("sl", (1, 2, 3, 5, 101), ("1 izjava", "2 izjavi", "3 izjave", "5 izjav", "101 izjava")),
    ("cs", (1, 5), ("1 prohlášení", "5 prohlášení")),
    ("sk", (1, 3, 5), ("1 vyhlásenie", "3 vyhlásenia", "5 vyhlásení")),
    ("ro", (1, 19, 20), ("1 declarație", "19 declarații", "20 de declarații")),
    ("pt", (1, 2, 1_000_000), ("1 declaração", "2 declarações", "1.000.000 de declarações")),
    ("pt-BR", (2,), ("2 declarações",)),
    ("it", (1, 2), ("1 dichiarazione", "2 dichiarazioni")),
    ("he", (1, 2, 3), ("הצהרה אחת", "שתי הצהרות", "3 הצהרות")),
    ("fi", (1, 2), ("1 kannanotto", "2 kannanottoa")),
    ("ja", (1, 3), ("声明1件", "声明3件")),
    ("zh-Hans", (3,), ("3 份声明",)),
    ("zh-TW", (1, 3), ("1 份聲明", "3 份聲明")),
]


@pytest.mark.parametrize(("lang", "counts", "expected"), PLURAL_LABELS)
def test_plural_labels(lang: str, counts: tuple[int, ...], expected: tuple[str, ...]) -> None:
    rendered = tuple(i18n.Language(lang).plural_label("{count} statement", "{count} statements", n)
                     for n in counts)
    assert rendered == expected


LABELS = [
    ("ru", "Full statement", "Полный текст заявления"),
    ("sr-Latn", "Weekly digest", "Nedeljni pregled"),
    ("sr", "Weekly digest", "Недељни преглед"),
    ("sr-Cyrl", "Weekly digest", "Недељни преглед"),
    ("bs", "Weekly digest", "Sedmični pregled"),
    ("hr", "Weekly digest", "Tjedni pregled"),
    ("pt-BR", "Unsubscribe", "Cancelar inscrição"),  # its own entry
    ("pt-BR", "Weekly digest", "Resumo semanal"),  # through pt
    ("pt-PT", "Unsubscribe", "Cancelar a subscrição"),
    ("zh-Hans", "{label}:", "Also in："),
    ("zh-HK", "Unsubscribe", "取消訂閱"),
    ("zh-Hant", "Weekly digest", "每週摘要"),
    ("zh-CN", "Weekly digest", "每周摘要"),
    ("ja", "Also in", "他の言語"),
    ("fa", "Unsubscribe", "لغو اشتراک"),
    ("nb", "Also in", "Også på"),
]


@pytest.mark.parametrize(("lang", "msgid", "expected"), LABELS)
def test_labels(lang: str, msgid: str, expected: str) -> None:
    assert i18n.translations(lang).gettext(msgid).format(label="Also in") == expected
