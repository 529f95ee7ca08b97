"""Real feed readers: what a subscriber sees in newsboat and sfeed.

The built sample site and a generated multi-language site (titles with ``<``, ``&``,
quotes, markup-like text, Arabic, Korean, Greek, Cyrillic, Sorani Kurdish and Cantonese,
the last two with ISO 639-3 codes only; every statement translated) are served over HTTP
on 127.0.0.1. newsboat (``-x reload``, headless) subscribes to every
language's Atom feed, to every language's RSS feed, and to ``feeds.opml``; its cache
database is then read. sfeed parses each feed from stdin. Every entry must appear once,
with the statement's own link, its title exactly as written and its date.

newsboat keys items by guid across feeds, and a statement has the same id in every
format, so Atom and RSS are read into separate caches. Each check is shown to catch the
failures it guards against (a translation link made ``alternate``, a title escaped twice)
on deliberately broken copies of the feeds.
"""

# ruff: noqa: RUF001  (multilingual test data)

from __future__ import annotations

import functools
import html
import http.server
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import render_site
from lxml import etree
from test_feeds_fixtures import NOW, build, make_settings, noon_if_bare, statement

from sfb_feeds.config import load_settings
from sfb_feeds.loader import load_statements
from sfb_feeds.model import Statement
from sfb_feeds.site import Site, make_site
from sfb_feeds.urls import site_url

REPO = Path(__file__).resolve().parents[1]
SAMPLE_NOW = datetime(2020, 1, 1, tzinfo=UTC)
NEWSBOAT = shutil.which("newsboat")
SFEED = shutil.which("sfeed")
# Guards against a reader that hangs; never what decides a check.
HANG_GUARD = 300
HUB = "https://hub.example.org/"  # the generated site's feeds link a WebSub hub

TITLES = {
    "en": ['Bosses & police <em>out</em> — "now"', "AT&T; R&D &amp; more",
           "5 < 6 > 4 & 'single'", "Why </b> matters"],
    "ar": ["العمال يتحدون & <نعم>", "بيان حول أزمة اللاجئين", "لا للحرب", "تضامن"],
    "ko": ['노동자 단결 <투쟁> & "연대"', "난민 위기에 대한 성명", "전쟁 반대", "연대"],
    "el": ["Εργάτες & φοιτητές <μαζί>", "Δήλωση για την προσφυγική κρίση", "Όχι στον πόλεμο",
           "Αλληλεγγύη"],
    "ru": ["Рабочие & студенты «вместе» </b>", "Заявление о кризисе беженцев", "Нет войне",
           "Солидарность"],
    "pl": ["Solidarność & <b>walka</b>", "Stanowisko w sprawie kryzysu", "Nie dla wojny",
           "Solidarność"],
    # ISO 639-3 codes only: Atom and RSS name them ku-Arab and zh-yue (docs/feeds.md)
    "ckb": ["کرێکاران یەکگرن & <ئێستا>", "ڕاگەیەندراو دەربارەی قەیرانی پەنابەران",
            "نا بۆ جەنگ", "هاوپشتی"],
    "yue": ["工人團結 & <而家>", "關於難民危機嘅聲明", "唔要戰爭", "團結"],
}
DAYS = ["2015-09-06", "2015-03-01", "2014-11-30", "2014-01-01"]


def generated_statements() -> tuple[Statement, ...]:
    """Four statements in each of eight languages, each translated into all the others."""
    made = []
    for language, titles in TITLES.items():
        for number, (title, day) in enumerate(zip(titles, DAYS, strict=True)):
            made.append(statement(f"https://example.org/{language}/{number}", title, day,
                                  language, translation_key=f"k{number}"))
    made.append(statement("https://example.org/en/timed", "Written with a time",
                          datetime.fromisoformat("2015-09-05T23:30:00+01:00"), "en"))
    return tuple(made)


@dataclass(frozen=True)
class Served:
    site: Site
    base: str  # the feeds' public URL, served from ``folder``
    folder: Path

    def rebuild(self) -> None:
        for path, data in build(self.site).items():
            target = self.folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def url(self, path: str) -> str:
        return self.base + path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("www")
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _serve(server: tuple[str, Path], name: str, site_of: Callable[[str], Site]) -> Served:
    root, folder = server
    base = f"{root}{name}/"
    served = Served(site_of(base), base, folder / name)
    served.rebuild()
    return served


def _sample_site(base: str) -> Site:
    settings = load_settings(REPO / "sfb-feeds.yaml")
    settings = replace(settings, site=replace(settings.site, feeds_url=base))
    return make_site(settings, load_statements(settings).statements, SAMPLE_NOW)


def _generated_site(base: str) -> Site:
    settings = make_settings(entries=50, feeds_url=base, websub_hub=HUB)
    return make_site(settings, generated_statements(), NOW)


@pytest.fixture(scope="module", params=["sample", "generated"])
def served(request: pytest.FixtureRequest, server: tuple[str, Path]) -> Served:
    if request.param == "sample" and not (REPO / "statements").is_dir():
        pytest.skip("the sample site is not in the repository")
    site_of = _sample_site if request.param == "sample" else _generated_site
    return _serve(server, request.param, site_of)


# --- newsboat ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    feed: str
    guid: str
    title: str
    url: str
    published: int
    unread: bool


def newsboat(home: Path, *args: str) -> None:
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8", "TZ": "UTC",
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}
    config = home / "newsboat.conf"
    config.touch()
    subprocess.run([str(NEWSBOAT), "-C", str(config), *args], env=env, check=True,
                   capture_output=True, timeout=HANG_GUARD)


def reload(home: Path, urls: list[str]) -> list[Item]:
    """Subscribe to ``urls`` (in a cache of its own), fetch them all, read the cache."""
    (home / "urls").write_text("".join(f"{url}\n" for url in urls), encoding="utf-8")
    cache = home / "cache.db"
    newsboat(home, "-u", str(home / "urls"), "-c", str(cache), "-x", "reload")
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT feedurl, guid, title, url, pubDate, unread FROM rss_item "
                          "WHERE deleted = 0").fetchall()
    db.close()
    return [Item(row[0], row[1], row[2], row[3], row[4], bool(row[5])) for row in rows]


def websites(home: Path) -> dict[str, str]:
    """Each subscribed feed's website, as newsboat shows it (a feed's last alternate link)."""
    with sqlite3.connect(home / "cache.db") as db:
        shown = dict(db.execute("SELECT rssurl, url FROM rss_feed").fetchall())
    db.close()
    return shown


def expected(site: Site, language: str | None) -> dict[str, Statement]:
    """The statements of a feed (every one: the sites fit in one feed), by their link."""
    chosen = site.by_language[language] if language else site.statements
    return {s.url or "": s for s in chosen}


def shown_date(moment: datetime) -> date:
    """The day a reader in UTC sees: a bare date is that date (docs/feeds.md)."""
    return noon_if_bare(moment).astimezone(UTC).date()


def problems(items: list[Item], feed: str, want: dict[str, Statement]) -> list[str]:
    """What a subscriber to ``feed`` would see wrong."""
    found = [item for item in items if item.feed == feed]
    seen = Counter(item.url for item in found)
    wrong = [f"{feed}: {url} shown {n} times" for url, n in seen.items() if n != 1]
    wrong += [f"{feed}: opens {url}, not a statement's own page" for url in seen
              if url not in want]
    wrong += [f"{feed}: {url} missing" for url in want if url not in seen]
    for item in found:
        source = want.get(item.url)
        if source is None:
            continue
        if item.title != source.title:
            wrong.append(f"{feed}: title {item.title!r} instead of {source.title!r}")
        day = datetime.fromtimestamp(item.published, UTC).date()
        if day != shown_date(source.date):
            wrong.append(f"{feed}: {item.url} dated {day}, not {shown_date(source.date)}")
    return wrong


def language_feeds(served: Served, file: str) -> dict[str, str | None]:
    return {served.url(f"{language}/{file}"): language for language in served.site.languages}


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed")
@pytest.mark.parametrize("file", ["atom.xml", "rss.xml"])
def test_newsboat_shows_every_entry_once_with_its_link_title_and_date(
        served: Served, file: str, tmp_path: Path) -> None:
    feeds = language_feeds(served, file)
    items = reload(tmp_path, list(feeds))
    assert items
    found = [p for feed, language in feeds.items()
             for p in problems(items, feed, expected(served.site, language))]
    assert found == []


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed")
@pytest.mark.parametrize("file", ["atom.xml", "rss.xml"])
def test_newsboat_shows_the_sites_page_as_every_feeds_website(
        served: Served, file: str, tmp_path: Path) -> None:
    """Not another language's feed: the feed in other languages is linked as related."""
    feeds = [served.url(file), *language_feeds(served, file)]
    reload(tmp_path, feeds)
    home = site_url(served.site.settings)
    assert websites(tmp_path) == dict.fromkeys(feeds, home)


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed")
def test_newsboat_finds_nothing_new_after_a_no_op_rebuild(served: Served, tmp_path: Path) -> None:
    feeds = [*language_feeds(served, "atom.xml"), served.url("rss.xml")]
    reload(tmp_path, feeds)
    with sqlite3.connect(tmp_path / "cache.db") as db:
        db.execute("UPDATE rss_item SET unread = 0")
    db.close()
    served.rebuild()
    assert [item for item in reload(tmp_path, feeds) if item.unread] == []


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed")
def test_newsboat_imports_feeds_opml_once_per_language(served: Served, tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    with urllib.request.urlopen(served.url("feeds.opml"), timeout=HANG_GUARD) as response:
        opml.write_bytes(response.read())
    newsboat(tmp_path, "-u", str(tmp_path / "urls"), "-i", str(opml))
    urls = (tmp_path / "urls").read_text(encoding="utf-8").split()
    assert urls == [served.url("atom.xml"),
                    *[served.url(f"{language}/atom.xml") for language in served.site.languages]]
    items = reload(tmp_path, urls)
    with sqlite3.connect(tmp_path / "cache.db") as db:
        titles = dict(db.execute("SELECT rssurl, title FROM rss_feed").fetchall())
    db.close()
    assert all(titles.get(url) for url in urls)  # every subscribed feed parsed
    assert len(set(titles.values())) == len(urls)  # and can be told apart in the list
    # newsboat keeps one item per guid: each statement once, from whichever feed.
    assert sorted(item.url for item in items) == sorted(expected(served.site, None))


@pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed")
def test_newsboat_dates_each_digest_by_its_week_after_a_late_edit(
        server: tuple[str, Path], tmp_path: Path) -> None:
    """A statement edited months after its week (``updated`` moved) changes that week's
    digest, but newsboat (which dates an Atom entry by its ``published``) still shows it
    dated in its week, below the next week's digest."""
    root, folder = server
    base = f"{root}digest-edited/"
    site = make_site(make_settings(feeds_url=base), (
        statement("https://example.org/newer", "Newer", "2015-09-09"),
        statement("https://example.org/older", "Older", "2015-09-01", updated="2016-01-05")),
        NOW)
    feed = folder / "digest-edited" / "en" / "digests.xml"
    feed.parent.mkdir(parents=True)
    feed.write_bytes(next(o.data for o in render_site(site) if o.path == "en/digests.xml"))
    items = reload(tmp_path, [f"{base}en/digests.xml"])
    shown = {item.url.rsplit("/", 1)[1]: datetime.fromtimestamp(item.published, UTC).date()
             for item in items}
    assert shown == {"2015-W37.html": date(2015, 9, 9), "2015-W36.html": date(2015, 9, 1)}


# --- sfeed -------------------------------------------------------------------------------

def sfeed_entries(data: bytes) -> list[tuple[str, str, str]]:
    """(timestamp, title, link) of each entry sfeed reads from ``data``."""
    done = subprocess.run([str(SFEED)], input=data, capture_output=True, check=True,
                          timeout=HANG_GUARD)
    lines = done.stdout.decode("utf-8").splitlines()
    return [(fields[0], fields[1], fields[2]) for fields in (line.split("\t") for line in lines)]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HANG_GUARD) as response:
        data: bytes = response.read()
    return data


def sfeed_problems(data: bytes, feed: str, want: dict[str, Statement]) -> list[str]:
    entries = sfeed_entries(data)
    items = [Item(feed, "", title, link, int(stamp), True) for stamp, title, link in entries]
    return problems(items, feed, want)


@pytest.mark.skipif(SFEED is None, reason="sfeed is not installed")
@pytest.mark.parametrize("file", ["atom.xml", "rss.xml"])
def test_sfeed_shows_every_entry_with_its_link_and_title(served: Served, file: str) -> None:
    feeds = {**language_feeds(served, file), served.url(file): None}
    found = [p for feed, language in feeds.items()
             for p in sfeed_problems(fetch(feed), feed, expected(served.site, language))]
    assert found == []


# --- the checks catch what they guard against -------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"


def translations_made_alternate(data: bytes) -> bytes:
    root = etree.fromstring(data)
    for link in root.iter(f"{ATOM}link"):
        if link.get("rel") == "related":
            link.set("rel", "alternate")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def rss_titles_escaped_twice(data: bytes) -> bytes:
    root = etree.fromstring(data)
    for title in root.iter("title"):
        title.text = html.escape(title.text or "", quote=False)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.skipif(NEWSBOAT is None or SFEED is None, reason="newsboat or sfeed missing")
def test_the_reader_checks_catch_the_failures_they_guard_against(
        server: tuple[str, Path], tmp_path: Path) -> None:
    served = _serve(server, "broken", _generated_site)
    language = "pl"
    want = expected(served.site, language)
    atom = served.folder / language / "atom.xml"
    atom.write_bytes(translations_made_alternate(atom.read_bytes()))
    rss = served.folder / language / "rss.xml"
    rss.write_bytes(rss_titles_escaped_twice(rss.read_bytes()))
    (tmp_path / "a").mkdir()
    (tmp_path / "r").mkdir()
    feed = served.url(f"{language}/atom.xml")
    # newsboat opens an entry's last alternate link: a translation.
    assert any("not a statement's own page" in p
               for p in problems(reload(tmp_path / "a", [feed]), feed, want))
    # and shows the feed's last alternate link as its website: another language's feed.
    assert websites(tmp_path / "a")[feed] != site_url(served.site.settings)
    feed = served.url(f"{language}/rss.xml")
    shown = problems(reload(tmp_path / "r", [feed]), feed, want)
    assert any(re.search(r"title '.*&amp;", p) for p in shown)
    assert any(re.search(r"title '.*&amp;", p)
               for p in sfeed_problems(rss.read_bytes(), feed, want))

