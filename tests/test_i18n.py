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

from sfb_feeds import i18n

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




def test_unknown_language_gets_english_labels_and_its_own_dates() -> None:
    assert i18n.label("sw", "Unsubscribe") == "Unsubscribe"
    assert i18n.format_date(date(2015, 9, 6), "sw") == "6 Septemba 2015"
    assert i18n.format_names(["A", "B"], "sw") == "A na B"


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
    brazil = i18n._translations_from(tmp_path, "pt-BR")
    portugal = i18n._translations_from(tmp_path, "pt-PT")
    assert brazil.gettext("Full statement") == "Declaração completa"
    assert portugal.gettext("Unsubscribe") == "Anular subscrição"
    assert portugal.gettext("Full statement") == "Declaração completa"  # from pt
    assert portugal.gettext("Also in") == "Also in"  # in neither: English
    assert brazil.ngettext(COUNT, i18n.PLURALS[COUNT], 0) == "{count} declaração"
    assert brazil.ngettext(COUNT, i18n.PLURALS[COUNT], 2) == "{count} declarações"


def test_fuzzy_translations_are_not_used(tmp_path: Path) -> None:
    strings = {"Full statement": "Declaração completa", "Unsubscribe": "talvez?"}
    _write_catalog(tmp_path, "pt", strings, fuzzy={"Unsubscribe"})
    t = i18n._translations_from(tmp_path, "pt")
    assert t.gettext("Unsubscribe") == "Unsubscribe"
    assert t.gettext("Full statement") == "Declaração completa"


def test_no_catalog_means_null_translations(tmp_path: Path) -> None:
    t = i18n._translations_from(tmp_path, "pl")
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
