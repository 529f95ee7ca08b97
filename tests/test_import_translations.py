"""Translations shown by a listing get one translation_key, even when some of them were
imported by an earlier run (the site's listing grows a translation of an older statement)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_run import run

LISTING = Path(__file__).parent / "fixtures" / "listings" / "translations.txt"
BASE = "https://www.istendency.net/"
SPANISH = "2020-03-12-declaracion-sobre-las-huelgas-en-la-sanidad"
GREEK = "2020-03-12-s-28d0389277"
SERBIAN = "2020-03-12-statement-on-the-health-strikes"


def statements(numbers: tuple[int, ...]) -> str:
    """The fixture's header and only its statements with these numbers (0 is the first)."""
    text = LISTING.read_text(encoding="utf-8")
    header, rest = text.split("Find out more\n\n", 1)
    parts = rest.split("Full statement\n")
    return header + "Find out more\n\n" + "".join(
        parts[number].lstrip("\n") + "Full statement\n\n" for number in numbers)


def keys(folder: Path) -> dict[str, str | None]:
    return {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")).get("translation_key")
            for path in sorted(folder.glob("*.yaml"))}


def import_in_two_runs(tmp_path: Path, first: tuple[int, ...]) -> tuple[int, str, str]:
    (tmp_path / "first.txt").write_text(statements(first), encoding="utf-8")
    (tmp_path / "all.txt").write_text(statements((0, 1, 2)), encoding="utf-8")
    out = str(tmp_path / "statements")
    assert run(["import", str(tmp_path / "first.txt"), "--out", out, "--base-url", BASE])[0] == 0
    return run(["import", str(tmp_path / "all.txt"), "--out", out, "--base-url", BASE])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_new_translation_takes_the_key_of_those_already_imported(tmp_path: Path) -> None:
    code, _, err = import_in_two_runs(tmp_path, (1, 2))  # the Greek and Serbian first
    assert (code, err) == (0, "")
    assert keys(tmp_path / "statements") == {SPANISH: GREEK, GREEK: GREEK, SERBIAN: GREEK}


def test_a_translation_already_imported_without_a_key_is_named(tmp_path: Path) -> None:
    code, _, err = import_in_two_runs(tmp_path, (0,))  # the Spanish alone first: no key
    assert code == 0
    assert err == (
        f"warning: all.txt:7: 'Declaración sobre las huelgas en la sanidad' is already present "
        f"as statements/{SPANISH}.yaml without the translation_key of its translations "
        f"here; add 'translation_key: {SPANISH}' to it to link them\n")
    assert keys(tmp_path / "statements") == {SPANISH: None, GREEK: SPANISH, SERBIAN: SPANISH}
