"""A site's own catalogs (``locales/`` beside the config) and ``check --verbose``'s notes."""

# ruff: noqa: RUF001

from __future__ import annotations

import email
import io
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import html5lib
import pytest
from conftest import SiteMaker, snapshot
from lxml import etree
from lxml import html as lxml_html

from sfb_feeds.cli import main

NOW = "2015-09-10T12:00:00Z"
HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
RECORDS = {
    "pl.yaml": "title: Oświadczenie\ndate: 2015-09-04\nlanguage: pl\nid: urn:sfb:pl\n"
               "url: https://www.istendency.net/pl\nexcerpt: Tekst.\n",
    "sw.yaml": "title: Taarifa\ndate: 2015-09-04\nlanguage: sw\nid: urn:sfb:sw\n"
               "url: https://www.istendency.net/sw\nexcerpt: Maandishi.\n",
    "pt.yaml": "title: Declaração\ndate: 2015-09-04\nlanguage: pt-BR\nid: urn:sfb:pt\n"
               "url: https://www.istendency.net/pt\nexcerpt: Texto.\n",
    "zh.yaml": "title: 声明\ndate: 2015-09-04\nlanguage: zh\nid: urn:sfb:zh\n"
               "url: https://www.istendency.net/zh\nexcerpt: 文字。\n",
}


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _site_catalog(config: Path, lang: str, entries: str) -> Path:
    folder = config.parent / "locales" / lang / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sfb_feeds.po"
    path.write_text(HEADER + entries, encoding="utf-8")
    return path


def _build(config: Path) -> tuple[int, str]:
    code, _, err = run(["build", "--config", str(config), "--now", NOW])
    return code, err


def _page_text(config: Path, relative: str) -> str:
    data = (config.parent / "feeds" / relative).read_bytes()
    tree = html5lib.parse(data, treebuilder="lxml", namespaceHTMLElements=False)
    return " ".join(" ".join(tree.getroot().itertext()).split())


def _eml(config: Path, lang: str) -> EmailMessage:
    data = (config.parent / "feeds" / "digests" / lang / "2015-W36.eml").read_bytes()
    message = email.message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_site_message_overrides_the_shipped_one(make_site: SiteMaker) -> None:
    config = make_site(RECORDS)
    _site_catalog(config, "pl", 'msgid "Weekly digest"\nmsgstr "Przegląd tygodnia IST"\n\n'
                                'msgid "{site}: statements of {week}"\n'
                                'msgstr "{site} – przegląd: {week}"\n')
    assert _build(config) == (0, "")
    text = _page_text(config, "digests/pl/2015-W36.html")
    assert "Przegląd tygodnia IST" in text
    assert "Weekly digest" not in text
    # Messages the site catalog lacks still come from the shipped Polish one.
    assert "Pełny tekst stanowiska" in text
    assert str(_eml(config, "pl")["Subject"]).startswith("Socialism From Below – przegląd: ")
    # Other languages are untouched.
    assert "Weekly digest" in _page_text(config, "digests/sw/2015-W36.html")


def test_the_digest_feed_title_and_its_link_use_the_site_catalog(make_site: SiteMaker) -> None:
    """``<lang>/digests.xml``'s title takes "Weekly digest" from the catalogs the digests
    read (the site's first), and the archive page's autodiscovery link names it alike."""
    config = make_site(RECORDS)
    _site_catalog(config, "pl", 'msgid "Weekly digest"\nmsgstr "Przegląd tygodnia IST"\n')
    assert _build(config) == (0, "")
    feeds = config.parent / "feeds"
    feed = etree.parse(str(feeds / "pl" / "digests.xml")).getroot()
    title = feed.findtext("{http://www.w3.org/2005/Atom}title")
    assert title == "Socialism From Below — Polski — Przegląd tygodnia IST"
    page = lxml_html.document_fromstring((feeds / "digests" / "pl" / "index.html").read_bytes())
    assert [link.get("title") for link in page.head.iter("link")
            if link.get("type") == "application/atom+xml"] == [title]
    # A language the site catalog does not cover keeps the shipped (here: English) label.
    feed = etree.parse(str(feeds / "sw" / "digests.xml")).getroot()
    assert feed.findtext("{http://www.w3.org/2005/Atom}title").endswith(" — Weekly digest")


def test_a_site_catalog_adds_a_language(make_site: SiteMaker) -> None:
    config = make_site(RECORDS)
    _site_catalog(config, "sw", 'msgid "Full statement"\nmsgstr "Taarifa kamili"\n')
    assert _build(config) == (0, "")
    text = _page_text(config, "digests/sw/2015-W36.html")
    assert "Taarifa kamili" in text
    assert "Digest archive" in text  # not in the site catalog, and no shipped one: English


def test_the_subscribe_page_uses_the_site_catalog(make_site: SiteMaker) -> None:
    config = make_site(RECORDS)
    _site_catalog(config, "pl", 'msgid "Digest archive"\nmsgstr "Archiwum przeglądów IST"\n')
    assert _build(config) == (0, "")
    assert "Archiwum przeglądów IST" in _page_text(config, "index.html")


def test_an_edited_site_catalog_renders_again(make_site: SiteMaker) -> None:
    config = make_site(RECORDS)
    po = _site_catalog(config, "pl", 'msgid "Weekly digest"\nmsgstr "Przegląd IST"\n')
    assert _build(config) == (0, "")
    assert "Przegląd IST" in _page_text(config, "digests/pl/2015-W36.html")
    before = snapshot(config.parent / "feeds")
    assert _build(config) == (0, "")
    assert snapshot(config.parent / "feeds") == before  # nothing changed: nothing rewritten
    po.write_text(po.read_text(encoding="utf-8").replace("Przegląd IST", "Tydzień IST"),
                  encoding="utf-8")
    assert _build(config) == (0, "")
    text = _page_text(config, "digests/pl/2015-W36.html")
    assert "Tydzień IST" in text and "Przegląd IST" not in text
    po.unlink()
    assert _build(config) == (0, "")
    assert "Przegląd tygodnia" in _page_text(config, "digests/pl/2015-W36.html")


@pytest.mark.parametrize(
    ("entries", "line", "message"),
    [
        ('msgid "Weekly digest"\nmsgstr "Przegląd\n', 6,
         "not a .po line: 'msgstr \"Przegląd'"),
        ('msgid "Weekly digest"\nmsgstrr "Przegląd"\n', 6,
         "not a .po line: 'msgstrr \"Przegląd\"'"),
        ('msgid "Weekly digest"\n\nmsgid "Also in"\nmsgstr "Też"\n', 5,
         "missing msgstr for msgid 'Weekly digest'"),
        ('msgid "by {authors}"\nmsgstr "autorstwa {autorzy}"\n', 5,
         "msgstr of 'by {authors}' must keep the msgid's placeholders ({authors}) exactly"),
        ('msgid "Also in"\nmsgstr "Też w {"\n', 5,
         "msgstr of 'Also in' must keep the msgid's placeholders (no placeholders) exactly"),
    ],
)
def test_a_broken_site_catalog_is_a_config_error(
    make_site: SiteMaker, entries: str, line: int, message: str
) -> None:
    config = make_site(RECORDS)
    assert _build(config) == (0, "")
    before = snapshot(config.parent / "feeds")
    po = _site_catalog(config, "pl", entries)
    shown = "site/locales/pl/LC_MESSAGES/sfb_feeds.po"  # from the working folder, as others
    assert po == Path.cwd() / shown
    code, err = _build(config)
    assert code == 1
    assert err.splitlines()[-1].startswith(f"error: {shown}:{line}: {message}")
    assert snapshot(config.parent / "feeds") == before  # nothing written
    code, _, err = run(["check", "--config", str(config), "--now", NOW])
    assert code == 1
    assert f"error: {shown}:{line}: {message}" in err


def test_a_site_catalog_that_is_not_utf8_is_reported(make_site: SiteMaker) -> None:
    config = make_site(RECORDS)
    po = _site_catalog(config, "pl", "")
    po.write_bytes(HEADER.encode() + 'msgid "Also in"\nmsgstr "Też w"\n'.encode("cp1250")
                   + "msgid \"Unsubscribe\"\nmsgstr \"Wypisz się\"\n".encode("cp1250"))
    code, err = _build(config)
    assert code == 1
    assert f"error: {po.relative_to(Path.cwd())}: not UTF-8" in err


def test_check_verbose_names_the_languages_that_fall_back(make_site: SiteMaker) -> None:
    config = make_site(RECORDS)
    code, _, err = run(["check", "--verbose", "--config", str(config), "--now", NOW])
    assert code == 0
    notes = [line for line in err.splitlines() if "catalog" in line]
    assert notes == [
        "pt-BR: labels from the catalogs pt_BR, pt",
        "sw: no catalog; labels fall back to English",
        "zh: labels from the catalogs zh_Hans",
    ]
    _site_catalog(config, "sw", 'msgid "Full statement"\nmsgstr "Taarifa kamili"\n')
    code, _, err = run(["check", "--verbose", "--config", str(config), "--now", NOW])
    assert code == 0
    assert "sw: no catalog; labels fall back to English" not in err
    code, _, err = run(["check", "--config", str(config), "--now", NOW])
    assert (code, err) == (0, "")  # the notes are for --verbose only


def _feed_titles(config: Path) -> dict[str, str]:
    """The subscribe page's autodiscovery links: href (under feeds/) -> title."""
    page = lxml_html.document_fromstring((config.parent / "feeds" / "index.html").read_bytes())
    start = "https://www.istendency.net/feeds/"
    return {link.get("href").removeprefix(start): link.get("title")
            for link in page.head.iter("link") if link.get("rel") == "alternate"}


def test_the_subscribe_pages_feed_titles_are_in_each_rows_language(make_site: SiteMaker) -> None:
    """The words of a feed link's title ("weekly digests", "all languages") were English
    on every row; they come from the row's catalogs, as its labels do. Format names stay."""
    config = make_site(RECORDS)
    assert _build(config) == (0, "")
    titles = _feed_titles(config)
    assert titles["pl/digests.xml"] == "Socialism From Below — Polski (przeglądy tygodnia)"
    assert titles["pl/atom.xml"] == "Socialism From Below — Polski (Atom)"
    assert titles["pl/feed.json"] == "Socialism From Below — Polski (JSON Feed)"
    assert titles["pt-BR/digests.xml"].endswith(" (resumos semanais)")  # through pt
    assert titles["sw/digests.xml"] == "Socialism From Below — Kiswahili (weekly digests)"
    assert titles["rss.xml"] == "Socialism From Below — all languages (RSS)"


def test_a_site_catalog_words_the_subscribe_pages_feed_titles(make_site: SiteMaker) -> None:
    config = make_site(RECORDS)
    _site_catalog(config, "pl", 'msgid "weekly digests"\nmsgstr "przeglądy IST"\n')
    _site_catalog(config, "en", 'msgid "all languages"\nmsgstr "every language"\n')
    assert _build(config) == (0, "")
    titles = _feed_titles(config)
    assert titles["pl/digests.xml"] == "Socialism From Below — Polski (przeglądy IST)"
    assert titles["atom.xml"] == "Socialism From Below — every language (Atom)"
