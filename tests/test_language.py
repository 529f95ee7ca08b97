"""Language tags and names (CLDR via Babel, tags via langcodes)."""

from __future__ import annotations

import pytest

from sfb_feeds import language


@pytest.mark.parametrize(("tag", "name"), [
    ("pl", "Polski"), ("tr", "Türkçe"), ("da", "Dansk"), ("ar", "العربية"), ("ko", "한국어"),
    ("el", "Ελληνικά"), ("en", "English"), ("pt-BR", "Português (Brasil)"),
    ("sr-Latn", "Srpski (latinica)"),
])
def test_native_names_are_the_language_in_itself_as_a_heading(tag: str, name: str) -> None:
    assert language.native_name(tag) == name


def test_canonical_tags() -> None:
    assert language.canonical_tag("pt-br") == "pt-BR"
    assert language.canonical_tag("EN") == "en"
    assert language.canonical_tag("../etc") is None
