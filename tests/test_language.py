"""Language tags and names (CLDR via Babel, tags via langcodes)."""

from __future__ import annotations

import os
import time

import pytest
from conftest import SiteMaker

from sfb_feeds import language


@pytest.mark.parametrize(("tag", "name"), [
    ("pl", "Polski"), ("tr", "Türkçe"), ("da", "Dansk"), ("ar", "العربية"), ("ko", "한국어"),
    ("el", "Ελληνικά"), ("en", "English"), ("pt-BR", "Português (Brasil)"),
    ("sr-Latn", "Srpski (latinica)"),
    ("pl-XX", "Polski"),  # a region CLDR does not know: the language's own name
    ("qaa", "qaa"), ("rom", "rom"),  # no name in CLDR: the tag itself
])
def test_native_names_are_the_language_in_itself_as_a_heading(tag: str, name: str) -> None:
    assert language.native_name(tag) == name


def test_canonical_tags() -> None:
    assert language.canonical_tag("pt-br") == "pt-BR"
    assert language.canonical_tag("EN") == "en"
    assert language.canonical_tag("../etc") is None


@pytest.mark.parametrize(("tag", "preferred"), [
    ("i-klingon", "tlh"), ("i-navajo", "nv"), ("I-Klingon", "tlh"), ("art-lojban", "jbo"),
    ("sgn-BE-FR", "sfb"),
])
def test_a_grandfathered_tag_is_taken_in_its_preferred_form(tag: str, preferred: str) -> None:
    """BCP 47 (RFC 5646 2.2.8) keeps the grandfathered tags valid, each with a preferred
    value: ``i-klingon`` was refused as "not a BCP 47 language tag"."""
    assert language.canonical_tag(tag) == preferred


@pytest.mark.parametrize("tag", ["x-private", "i", "i-", "i-nonesuch", "q-abc", "i-klingon/.."])
def test_tags_of_no_language_stay_refused(tag: str) -> None:
    assert language.canonical_tag(tag) is None


def test_tags_answered_without_langcodes_are_the_ones_it_leaves_as_they_are() -> None:
    import langcodes

    for tag in language.CANONICAL_AS_WRITTEN:
        assert langcodes.tag_is_valid(tag), tag
        assert str(langcodes.standardize_tag(tag)) == tag, tag
        assert language.canonical_tag(tag) == tag


def test_a_build_with_nothing_to_do_loads_no_renderer_and_no_language_data(
        make_site: SiteMaker) -> None:
    """The cron case: no renderer, no Babel, no langcodes, no lingua are even imported."""
    import subprocess
    import sys

    config = make_site()
    for path in (config.parent / "statements").iterdir():  # saved well before cron ran
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    run = [sys.executable, "-c",
           "import sys; from sfb_feeds.cli import main; "
           f"code = main(['build', '--config', {str(config)!r}, '--now', '2016-01-01']); "
           "print(code, sorted(m for m in ('sfb_feeds.pipeline', 'jinja2', 'lxml', 'babel', "
           "'langcodes', 'lingua', 'feedgen') if m in sys.modules))"]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    assert first.stdout.splitlines()[-1].startswith("0 ['babel'")  # it had work to do
    second = subprocess.run(run, capture_output=True, text=True, check=True)
    assert second.stdout == "0 []\n", second.stdout + second.stderr
