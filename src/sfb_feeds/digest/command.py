"""``sfb-feeds digest``: one week's digests, for one language or all of them, as ``Output``
rows (the same bytes ``build`` writes for those paths); printing and writing are the CLI's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from ..errors import UsageError
from ..language import canonical_tag
from ..model import Output, Settings, Statement
from ..plan import period_label, plan_outputs
from ..site import Site, make_site
from ..weeks import last_complete_week, parse_week, week_bounds
from . import formats as digest_formats
from .render import personal

PARTS = {"html": ".html", "text": ".txt", "eml": ".eml"}


def week_label(settings: Settings, now: datetime, week: str | None) -> str:
    """The label of ``week`` (default: the last complete week at ``now``)."""
    if week is None:
        return last_complete_week(now, settings).label
    try:
        return parse_week(week.strip().upper(), settings).label
    except ValueError as exc:
        raise UsageError(f"--week: {exc}") from None


def require_complete_week(settings: Settings, now: datetime, week: str | None) -> None:
    """UsageError when ``week`` (``--week``) is not over at ``now``: its digest would leave
    out what is published later in it, and a digest is sent once."""
    if week is None or (label := week_label(settings, now, week)) <= \
            last_complete_week(now, settings).label:
        return
    end = week_bounds(parse_week(label, settings), settings)[1]
    raise UsageError(f"--week {label}: that week is not over yet (it ends at "
                     f"{end:%Y-%m-%d %H:%M} in {settings.site.tz.key}): its digest can be sent "
                     "once it has; a test copy can go now, with --to ADDRESS")


def _language(site: Site, lang: str | None) -> str | None:
    if lang is None:
        return None
    tag = canonical_tag(lang.strip())
    if tag is None:
        raise UsageError(f"--lang: {lang!r} is not a language tag (e.g. pl, pt-BR)")
    if tag not in site.languages:
        known = ", ".join(site.languages) or "none"
        raise UsageError(f"--lang: no published statements in {tag!r} (languages: {known})")
    return tag


def _ending(part: str | None) -> str:
    """The path ending of ``part`` ("": every part)."""
    if part is not None and part not in PARTS:
        raise UsageError(f"--part: {part!r} is not one of {', '.join(PARTS)}")
    return "" if part is None else PARTS[part]


def show_digest(
    site: Site, week: str | None = None, lang: str | None = None, part: str | None = None
) -> list[Output]:
    """The digests of ``week`` (default: the last complete week at ``site.now``).

    Every language, or only ``lang``; every part (.html, .txt, .eml), or only ``part``
    (``"html"``, ``"text"`` or ``"eml"``). Languages in order, parts in that order. A week
    without statements has no digest: the list is then empty. UsageError for a malformed
    week, an unknown language or part.
    """
    label = week_label(site.settings, site.now, week)
    language = _language(site, lang)
    ending = _ending(part)
    # Planned in the order of the languages; the archive pages have no week to match.
    rows = digest_formats(site.settings, [language] if language else site.languages)
    return [Output(path, data) for planned in plan_outputs(site, rows)
            if period_label(planned.target) == label
            and (language is None or planned.target.language == language)
            for path, data in planned.render(site) if path.endswith(ending)]


def digest_outputs(
    settings: Settings,
    statements: Iterable[Statement],
    now: datetime,
    *,
    week: str | None = None,
    lang: str | None = None,
    part: str | None = None,
) -> list[Output]:
    """``show_digest`` for the statements published at ``now``."""
    return show_digest(make_site(settings, statements, now), week, lang, part)


def list_copies(settings: Settings, statements: Iterable[Statement], now: datetime, *,
                week: str | None = None, lang: str | None = None) -> list[Output] | None:
    """The ``.eml`` digests as a list address gets them, when that is not as built: with a
    personal ``digests.unsubscribe`` (``{address}``, ``{token}``) a list's copy carries no
    unsubscribe link of ours (the list software adds its own). None: as built."""
    if not personal(settings.digests.unsubscribe):
        return None
    bare = replace(settings, digests=replace(settings.digests, unsubscribe=""))
    return digest_outputs(bare, statements, now, week=week, lang=lang, part="eml")
