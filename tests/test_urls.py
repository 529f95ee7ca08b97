"""Public URLs and ids: joined onto feeds_url with or without a slash, in canonical form."""

from __future__ import annotations

import pytest
from test_feeds_fixtures import make_settings, moment

from sfb_feeds.urls import ascii_host_uri, canonical_uri, entry_id, feeds_base, public_url


@pytest.mark.parametrize(("value", "canonical"), [
    ("https://www.istendency.net/a", "https://www.istendency.net/a"),
    ("HTTPS://WWW.IStendency.NET:443/a", "https://www.istendency.net/a"),
    ("http://example.org:80", "http://example.org/"),
    ("https://example.org:8443/x", "https://example.org:8443/x"),
    ("https://example.org/a/./b/../c", "https://example.org/a/c"),
    ("https://example.org/%7euser/%e2%9c%8a", "https://example.org/~user/%E2%9C%8A"),
    ("https://example.org/zażółć?q=ü#ß", "https://example.org/za%C5%BC%C3%B3%C5%82%C4%87"
                                          "?q=%C3%BC#%C3%9F"),
    ("https://example.org/a%2Fb?x=1%262&y=2", "https://example.org/a%2Fb?x=1%262&y=2"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://example.org/a b|c", "https://example.org/a%20b%7Cc"),
    ("tag:www.istendency.net,2015-09-04:en/slug", "tag:www.istendency.net,2015-09-04:en/slug"),
    ("TAG:x.org,2015:a", "tag:x.org,2015:a"),
    ("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
     "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
])
def test_canonical_uri(value: str, canonical: str) -> None:
    assert canonical_uri(value) == canonical
    assert canonical_uri(canonical) == canonical


@pytest.mark.parametrize("feeds_url", [
    "https://www.istendency.net/feeds", "https://www.istendency.net/feeds/",
    "https://www.istendency.net/feeds//", "https://WWW.istendency.net/feeds"])
def test_public_urls_join_whatever_the_trailing_slash(feeds_url: str) -> None:
    settings = make_settings(feeds_url=feeds_url)
    assert feeds_base(settings) == "https://www.istendency.net/feeds/"
    assert public_url(settings, "pl/atom.xml") == "https://www.istendency.net/feeds/pl/atom.xml"
    assert public_url(settings, "pt-BR/archive/2015.xml") == (
        "https://www.istendency.net/feeds/pt-BR/archive/2015.xml")


def test_feeds_at_the_root_of_a_host() -> None:
    settings = make_settings(feeds_url="https://feeds.example.org")
    assert public_url(settings, "atom.xml") == "https://feeds.example.org/atom.xml"


@pytest.mark.parametrize(("ident", "expected"), [
    ("https://www.istendency.net/statements/x", "https://www.istendency.net/statements/x"),
    ("ist-2015-refugees", "tag:www.istendency.net,2015-09-04:ist-2015-refugees"),
    ("refugees statement #1", "tag:www.istendency.net,2015-09-04:refugees%20statement%20%231"),
    ("tag:www.istendency.net,2015-09-04:en/x", "tag:www.istendency.net,2015-09-04:en/x"),
])
def test_entry_ids_are_uris(ident: str, expected: str) -> None:
    assert entry_id(ident, moment("2015-09-04"), make_settings()) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://bücher.example/ä?q={lang}", "https://xn--bcher-kva.example/ä?q={lang}"),
    ("https://Ann:pw@BÜCHER.example:8443/x", "https://Ann:pw@xn--bcher-kva.example:8443/x"),
    ("https://www.example.org/ä", "https://www.example.org/ä"),  # an ASCII host: as written
    ("mailto:leave@example.org?subject=ä", "mailto:leave@example.org?subject=ä"),
    ("mailto:Leave@BÜCHER.example?subject=ä", "mailto:Leave@xn--bcher-kva.example?subject=ä"),
])
def test_a_header_url_has_an_ascii_host(url: str, expected: str) -> None:
    assert ascii_host_uri(url) == expected
