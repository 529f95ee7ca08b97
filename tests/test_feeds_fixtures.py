"""Factories and the sample site shared by the feed tests (this module holds no tests).

The statements are built here, not loaded from ``statements/``, so the feed tests pin the
cases they need: several years, translations, right-to-left text, markup-like text, a
statement without a web address, a non-URI id, same-day translations.
"""

# ruff: noqa: RUF001  (multilingual test data: its look-alike letters are meant)

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from conftest import render_site

from sfb_feeds import feeds
from sfb_feeds.model import FeedSettings, Settings, SiteSettings, Source, Statement
from sfb_feeds.site import Site, make_site

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2016, 1, 10, 12, 0, tzinfo=UTC)
FEEDS_URL = "https://www.istendency.net/feeds/"

# A title and an excerpt that carry everything that tends to break escaping.
TRICKY_TITLE = 'Profits < wages & "rents" — it’s 100% ✊🏽 e\u0301 עברית'
TRICKY_PARAGRAPHS = (
    "Bosses & <b>not bold</b> &amp; stays literal; 5 < 6 > 4.",
    "Quotes: \"double\" 'single' «guillemets»; emoji ✊🏽; RTL: العمال يتحدون; "
    "combining: Z\u0351a\u0352l\u0353g\u0354o.",
    "Line one continues here...",
)


def make_settings(*, entries: int = 3, feeds_url: str = FEEDS_URL,
                  timezone: str = "Europe/London", websub_hub: str = "") -> Settings:
    root = Path("/nonexistent/site")
    return Settings(
        config_path=root / "sfb-feeds.yaml",
        site=SiteSettings(
            title="Socialism From Below",
            description="Statements of the International Socialist Tendency.",
            url="https://www.istendency.net/",
            feeds_url=feeds_url,
            author="International Socialist Tendency",
            timezone=timezone,
        ),
        statements_dir=root / "statements",
        output_dir=root / "feeds",
        feeds=FeedSettings(entries=entries, websub_hub=websub_hub),
    )


def moment(value: str | datetime) -> datetime:
    """``2015-09-04`` as that day's midnight in London (as the loader reads it)."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(date.fromisoformat(value), time(), tzinfo=LONDON)


def noon_if_bare(value: datetime) -> datetime:
    """What the feeds publish for ``value``: a bare date (midnight in the site's zone, as
    the loader and :func:`moment` give it) at 12:00 that day (docs/feeds.md)."""
    if isinstance(value.tzinfo, ZoneInfo) and value.time() == time():
        return value.replace(hour=12)
    return value


def statement(ident: str, title: str, day: str | datetime, language: str = "en",
              **fields: Any) -> Statement:
    """A valid statement; ``ident`` becomes its id and (unless given) its URL."""
    when = moment(day)
    values: dict[str, Any] = {
        "url": ident if ident.startswith("https://") else None,
        "excerpt": (f"{title}: first paragraph.", "Second paragraph..."),
        "updated": when,
    }
    values.update(fields)
    if isinstance(values["updated"], str):
        values["updated"] = moment(values["updated"])
    return Statement(id=ident, title=title, date=when, language=language,
                     source=Source(path="statements/x.yaml", line=1, record=1), **values)


def url(slug: str) -> str:
    return f"https://www.istendency.net/statements/{slug}"


def sample_statements() -> tuple[Statement, ...]:
    """The feed tests' site: five languages over three years, with every awkward case."""
    refugees = "refugees-2015"
    return (
        statement(url("intervention"), "No to AKP-US intervention", "2015-09-06",
                  authors=("Revolutionary socialists of Turkey and Syria",),
                  tags=("Syria", "Turkey")),
        statement(url("refugees-en"), "Statement on the refugee crisis", "2015-09-04",
                  translation_key=refugees, tags=("refugees",),
                  updated="2015-09-05"),
        statement(url("refugees-pl"), "Stanowisko w sprawie kryzysu uchodźców", "2015-09-04",
                  "pl", translation_key=refugees, tags=("uchodźcy",)),
        statement(url("refugees-ar"), "بيان حول أزمة اللاجئين", "2015-09-04", "ar",
                  translation_key=refugees,
                  excerpt=("تواجه أوروبا أكبر أزمة لاجئين منذ الحرب العالمية الثانية.",
                           "نطالب بفتح الحدود...")),
        statement(url("refugees-pt-br"), "Declaração sobre a crise dos refugiados",
                  "2015-09-04", "pt-BR", translation_key=refugees),
        statement(url("tricky"), TRICKY_TITLE, "2015-06-01", excerpt=TRICKY_PARAGRAPHS,
                  authors=("DSIP", "Revolutionary Socialists (Egypt)"),
                  tags=("a & b", "<tag>")),
        statement(url("kathmandu"), "Solidarity after the earthquake",
                  datetime(2015, 5, 2, 9, 30, tzinfo=ZoneInfo("Asia/Kathmandu"))),
        statement(url("soma"), "DSIP: The Prime Minister and ministers must go!",
                  "2014-05-17", authors=("DSIP",), tags=("Soma",)),
        statement(url("soma-tr"), "DSIP: Başbakan ve bakanlar istifa etmeli!", "2014-05-17",
                  "tr", authors=("DSIP",)),
        statement(url("mahienour"), "Anger after court jails Mahienour el-Massry",
                  "2014-05-21"),
        statement("ist-2013-founding", "A statement with no web page", "2013-11-07",
                  excerpt=("It was only ever printed.",)),
        statement("HTTPS://WWW.IStendency.NET:443/statements/./upper%7ecase",
                  "An id written in upper case", "2013-03-01"),
        statement(url("tr-2015-a"), "Mülteci krizi üzerine açıklama", "2015-09-04", "tr",
                  translation_key=refugees),
        statement(url("tr-2015-b"), "Suruç katliamı", "2015-07-21", "tr"),
        statement(url("tr-2015-c"), "Ankara katliamı", "2015-10-10", "tr"),
        statement(url("pl-2015-b"), "Solidarność z Syrią", "2015-03-15", "pl"),
        # Not published at NOW: must appear nowhere.
        statement(url("draft"), "A draft", "2015-01-01", draft=True),
        statement(url("future"), "Scheduled", "2016-02-01"),
    )


def sample_site(entries: int = 3, **settings: Any) -> Site:
    return make_site(make_settings(entries=entries, **settings), sample_statements(), NOW)


def build(site: Site) -> dict[str, bytes]:
    """Every feed output of ``site``, by path."""
    return {output.path: output.data for output in render_site(
        site, feeds.formats(site.settings, site.languages))}


ATOM = "http://www.w3.org/2005/Atom"
NS = {"a": ATOM, "fh": "http://purl.org/syndication/history/1.0",
      "atom": ATOM, "dc": "http://purl.org/dc/elements/1.1/"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def xml(data: bytes) -> Any:
    """The document's root element, parsed by lxml (raises on any well-formedness error)."""
    from lxml import etree

    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def links(element: Any, rel: str | None = None) -> list[dict[str, str]]:
    """The Atom links directly under ``element`` as attribute dicts (optionally one rel)."""
    found = [dict(link.attrib) for link in element.findall("a:link", NS)]
    return [link for link in found if rel is None or link.get("rel", "alternate") == rel]


def paragraphs_of(html_text: str) -> list[str]:
    """The text of each ``<p>`` in an HTML fragment, as a browser would show it."""
    import html5lib

    fragment = html5lib.parseFragment(html_text, namespaceHTMLElements=False)
    return ["".join(p.itertext()) for p in fragment.iter("p")]


def public(path: str) -> str:
    return FEEDS_URL + path
