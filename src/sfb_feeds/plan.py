"""Outputs declared as data: a format crossed with a scope (site, language, year, week).

A new kind of output is one more :class:`OutputFormat` row in the table a renderer
package's ``formats(settings, languages)`` returns (``feeds``, ``digest``), not new
control flow.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from .model import Statement
from .site import Site
from .weeks import week_of_day


class Scope(enum.Enum):
    SITE = "site"  # one output for the whole site; language None
    LANGUAGE = "language"  # one output per language with published statements
    LANGUAGE_YEAR = "language-year"  # one per language and calendar year (site timezone)
    LANGUAGE_WEEK = "language-week"  # one per language and digest week with statements


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What one output is about: a language (None: all) and a period, with its statements.

    ``statements`` are newest first. For LANGUAGE_YEAR the period is ``"2015"``; for
    LANGUAGE_WEEK it is the digest week label, e.g. ``"2015-W36"``. ``context`` holds what
    else the output shows that its statements do not determine (an archive's neighbours),
    as name/value pairs worked out when planning; it is part of the output's render key.
    """

    language: str | None
    period: str | None
    statements: tuple[Statement, ...]
    context: tuple[tuple[str, str], ...] = ()

    def value(self, name: str) -> str:
        """The ``context`` value called ``name`` ("" when it has none)."""
        return next((value for key, value in self.context if key == name), "")


Renderer = Callable[[Site, Target], bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputFormat:
    """One row of the output table.

    ``path`` is a template relative to the output folder using ``{lang}`` and ``{period}``.
    ``version`` is part of every cache key: bump it when the renderer's output changes.
    ``targets``, when given, plans the format's targets itself instead of one per period
    of ``scope`` (RFC 5005 archives exist only for languages that outgrow their feed).
    """

    name: str
    media_type: str
    path: str
    scope: Scope
    render: Renderer
    version: str = "1"
    targets: Callable[[Site], Iterable[Target]] | None = None


@dataclass(frozen=True, slots=True)
class PlannedOutput:
    format: OutputFormat
    target: Target
    path: str


class _Periods:
    """A statement's year and week label (site timezone), by its day: each day's worked
    out once for every format and language (a week label costs ~5 µs)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.days: dict[date, tuple[str, str]] = {}

    def __call__(self, statement: Statement) -> tuple[str, str]:
        day = statement.date.astimezone(self.site.settings.site.tz).date()
        found = self.days.get(day)
        if found is None:
            found = self.days[day] = (f"{day.year:04d}",
                                      week_of_day(day, self.site.settings).label)
        return found


def _targets(site: Site, scope: Scope, periods: _Periods) -> Iterator[Target]:
    if scope is Scope.SITE:
        yield Target(language=None, period=None, statements=site.statements)
        return
    for lang in site.languages:
        statements = site.by_language[lang]
        if scope is Scope.LANGUAGE:
            yield Target(language=lang, period=None, statements=statements)
        else:
            yield from _by_period(lang, statements, int(scope is Scope.LANGUAGE_WEEK), periods)


def _by_period(lang: str, statements: tuple[Statement, ...], which: int, periods: _Periods
               ) -> Iterator[Target]:
    groups: defaultdict[str, list[Statement]] = defaultdict(list)
    for statement in statements:
        groups[periods(statement)[which]].append(statement)
    for period in sorted(groups, reverse=True):
        yield Target(language=lang, period=period, statements=tuple(groups[period]))


def plan_outputs(site: Site, formats: Sequence[OutputFormat]) -> list[PlannedOutput]:
    """Every output of every format, in a stable order; two outputs never share a path."""
    planned: list[PlannedOutput] = []
    seen: dict[str, str] = {}
    # Formats planned the same way (one scope, or one ``targets`` function) share their
    # targets, and so the part of their render keys that the targets decide.
    shared: dict[object, list[Target]] = {}
    periods = _Periods(site)
    for fmt in formats:
        source = fmt.targets or fmt.scope
        if source not in shared:
            shared[source] = list(fmt.targets(site) if fmt.targets is not None
                                  else _targets(site, fmt.scope, periods))
        for target in shared[source]:
            path = fmt.path.format(lang=target.language or "", period=target.period or "")
            if path in seen:
                raise RuntimeError(f"outputs {seen[path]} and {fmt.name} both write {path}")
            seen[path] = fmt.name
            planned.append(PlannedOutput(fmt, target, path))
    return planned
