"""Factories for the digest tests: settings and statements built in memory (no files read)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from sfb_feeds.model import DigestSettings, Settings, SiteSettings, Source, Statement
from sfb_feeds.site import Site, make_site

BASE = "https://www.istendency.net/"
NOW = datetime(2015, 9, 14, 12, 0, tzinfo=ZoneInfo("UTC"))


def settings(
    *, timezone: str = "Europe/London", week_starts: str = "monday",
    templates_dir: Path | None = None, title: str = "Socialism From Below", **digests: Any,
) -> Settings:
    options: dict[str, Any] = {
        "sender": "Socialism From Below <digest@istendency.net>",
        "lists": MappingProxyType({"en": "ist-en@lists.istendency.net",
                                   "pl": "ist-pl@lists.istendency.net"}),
        "unsubscribe": "https://www.istendency.net/unsubscribe?list={lang}",
    }
    options.update(digests)
    return Settings(
        config_path=Path("/site/sfb-feeds.yaml"),
        site=SiteSettings(
            title=title, description="Statements of the IST.", url=BASE,
            feeds_url=BASE + "feeds/", author="International Socialist Tendency",
            timezone=timezone,
        ),
        statements_dir=Path("/site/statements"),
        output_dir=Path("/site/feeds"),
        templates_dir=templates_dir,
        digests=DigestSettings(week_starts=week_starts, **options),
    )


_counter = iter(range(1, 1_000_000))


def statement(
    title: str = "A statement", *, day: date | datetime = date(2015, 9, 4), lang: str = "en",
    excerpt: tuple[str, ...] = ("First paragraph.", "Second paragraph..."),
    key: str | None = None, authors: tuple[str, ...] = (), slug: str | None = None,
    url: str | None = "default", tz: str = "Europe/London",
) -> Statement:
    moment = day if isinstance(day, datetime) else datetime.combine(
        day, time(), tzinfo=ZoneInfo(tz))
    slug = slug or f"s{next(_counter)}-{lang}"
    link = f"{BASE}statements/{slug}" if url == "default" else url
    return Statement(
        id=f"{BASE}statements/{slug}", title=title, date=moment, language=lang,
        excerpt=excerpt, truncated=excerpt[-1].endswith("..."), url=link, authors=authors,
        translation_key=key, updated=moment, source=Source(path=f"{slug}.yaml", line=1, record=1),
        fingerprint=slug,
    )


def site(statements: list[Statement], now: datetime = NOW, **options: Any) -> Site:
    return make_site(settings(**options), statements, now)


def refugee_statements() -> list[Statement]:
    """The sample site's week 2015-W36: three translations and one English statement."""
    key = "ist-refugee-crisis-2015"
    return [
        statement("Udtalelse om flygtningekrisen", lang="da", key=key, slug="refugees-da"),
        statement("STANOWISKO W SPRAWIE KRYZYSU UCHODŹCÓW", lang="pl", key=key,
                  slug="refugees-pl"),
        statement(
            "Mülteci krizi üzerine açıklama",  # noqa: RUF001 (Turkish dotless i)
            lang="tr", key=key, slug="refugees-tr",
        ),
        statement("No to AKP-US intervention, victory to the Syrian revolution!",
                  day=date(2015, 9, 6), authors=("Revolutionary socialists of Turkey and Syria",),
                  slug="no-to-akp"),
    ]
