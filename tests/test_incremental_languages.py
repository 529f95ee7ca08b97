"""Languages' names and directions kept between builds (``incremental.languages``).

With them kept, a build that edits one statement does not ask CLDR for the names of
the languages it does not render: these tests make Babel's display names fail for such
a build, so names that are not kept, or not found again, turn them red. A damaged or
foreign file is ignored, and the outputs never depend on whether the file was there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import babel
import pytest
from test_ops_build import LONDON_SITE, age, build_cleanly, outputs, record

from sfb_feeds.config import load_settings
from sfb_feeds.incremental.languages import LANGUAGES_FILE, keep_languages, known_languages
from sfb_feeds.loader import load_statements
from sfb_feeds.site import make_site

NOW = "2016-01-01"
CONFIG = LONDON_SITE
STATEMENTS = [("en", "2015-09-04"), ("pl", "2015-09-03"), ("ar", "2015-08-20"),
              ("ko", "2015-08-10")]


def build(root: Path) -> None:
    build_cleanly(root, NOW)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "statements").mkdir(parents=True)
    for number, (lang, date) in enumerate(STATEMENTS):
        (root / "statements" / f"s{number}.yaml").write_text(record(number, lang, date),
                                                             "utf-8")
    (root / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    age(root)
    return root


def edit_english(root: Path) -> None:
    path = root / "statements" / "s0.yaml"
    path.write_text(path.read_text("utf-8").replace("title: ", "title: Edited ", 1), "utf-8")
    age(root)


def no_display_names(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> str:
        raise AssertionError("a language's name was looked up in CLDR")

    monkeypatch.setattr(babel.Locale, "get_display_name", refuse)


def test_an_edit_finds_the_names_kept_by_the_last_build(
        site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(site)
    kept = known_languages(site / ".sfb-cache")
    assert kept == {"ar": ("العربية", "rtl"), "en": ("English", "ltr"),
                    "ko": ("한국어", "ltr"), "pl": ("Polski", "ltr")}
    edit_english(site)
    with monkeypatch.context() as patched:
        no_display_names(patched)
        build(site)
    # The same outputs as a cold build of the edited statements.
    cold = tmp_path / "cold"
    cold.mkdir()
    for name in ("statements", "sfb-feeds.yaml"):
        (site / name).rename(cold / name)
    build(cold)
    assert outputs(site) == outputs(cold)


@pytest.mark.parametrize("damage", [b"", b"not marshal", b"\x00" * 40])
def test_a_damaged_file_is_ignored_and_written_again(site: Path, damage: bytes) -> None:
    build(site)
    first = outputs(site)
    path = site / ".sfb-cache" / LANGUAGES_FILE
    path.write_bytes(damage)
    edit_english(site)
    build(site)
    assert known_languages(site / ".sfb-cache")["ar"] == ("العربية", "rtl")
    assert outputs(site).keys() == first.keys()


def test_names_kept_by_other_code_are_not_trusted(tmp_path: Path) -> None:
    keep_languages(tmp_path, {}, {"pl": ("Polski", "ltr")})
    assert known_languages(tmp_path) == {"pl": ("Polski", "ltr")}
    path = tmp_path / LANGUAGES_FILE
    path.write_bytes(path.read_bytes().replace(b"sfb-feeds-languages", b"sfb-feeds-languagez"))
    assert known_languages(tmp_path) == {}


def test_without_a_cache_folder_nothing_is_kept(tmp_path: Path) -> None:
    keep_languages(None, {}, {"pl": ("Polski", "ltr")})
    assert known_languages(None) == {}
    assert list(tmp_path.iterdir()) == []


def test_a_site_takes_known_names_and_looks_up_the_rest(site: Path) -> None:
    settings = load_settings(site / "sfb-feeds.yaml")
    now = datetime(2016, 1, 1, tzinfo=UTC)
    made = make_site(settings, load_statements(settings).statements, now,
                     known={"ar": ("Arabic, as kept", "rtl"), "xx": ("Unused", "ltr")})
    assert dict(made.names) == {"ar": "Arabic, as kept", "en": "English", "ko": "한국어",
                                "pl": "Polski"}
    assert dict(made.directions) == {"ar": "rtl", "en": "ltr", "ko": "ltr", "pl": "ltr"}
