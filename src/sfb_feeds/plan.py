"""Outputs declared as data: a format crossed with a scope (site, language, year, week).

A new kind of output is one more :class:`OutputFormat` row in the table a renderer
package's ``formats(settings, languages)`` returns, not new control flow.
"""

from __future__ import annotations

import enum
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .model import Statement
from .site import Site
from .weeks import Week, week_of_day


class Scope(enum.Enum):
    SITE = "site"  # one output for the whole site; language None
    LANGUAGE = "language"  # one output per language with published statements
    LANGUAGE_YEAR = "language-year"  # one per language and calendar year (site timezone)
    LANGUAGE_WEEK = "language-week"  # one per language and digest week with statements


@dataclass(frozen=True, slots=True, order=True)
class Months:
    """Consecutive months of one year (site timezone): a whole year, a half or one month,
    named in paths ``2015``, ``2015-h1`` / ``2015-h2``, ``2015-03``."""

    year: int
    first: int = 1
    last: int = 12

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.year:04d}-{self.first:02d}"
        if (self.first, self.last) == (1, 12):
            return f"{self.year:04d}"
        return f"{self.year:04d}-h{1 if self.first == 1 else 2}"


Period = Week | Months


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """Where an output stands among its language's RFC 5005 archives: whether it holds
    every statement (``fh:complete``), and the archives just newer and older than it."""

    complete: bool = False
    newer: Months | None = None
    older: Months | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What one output is about: a language (None: all), a period, its statements.

    ``statements`` are newest first; ``period`` is the year, the digest week or an
    archive's months; ``history`` what else a feed shows (RFC 5005 links), worked out
    when planning. Every field is part of the output's render key.
    """

    language: str | None
    period: Period | None
    statements: tuple[Statement, ...]
    history: History | None = None


Renderer = Callable[[Site, Target], bytes | Mapping[str, bytes]]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputFormat:
    """One row of the output table.

    ``path``: relative to the output folder, with ``{lang}`` and ``{period}``. A row
    writes one file of ``media_type`` per target, ``render`` returning its bytes; or it
    declares ``files``, (path ending, media type) pairs, and ``render`` returns each
    file's bytes by its ending, from one rendering (a digest's .html, .txt and .eml).
    ``version`` is part of every render key: bump it when the output changes.
    ``targets``, when given, plans the targets instead of one per period of ``scope``
    (RFC 5005 archives exist only for languages that outgrow their feed).
    """

    name: str
    path: str
    scope: Scope
    render: Renderer
    media_type: str = ""
    files: tuple[tuple[str, str], ...] = ()
    version: str = "1"
    targets: Callable[[Site], Iterable[Target]] | None = None

    @property
    def outputs(self) -> tuple[tuple[str, str], ...]:
        """The (path ending, media type) of each file of a target."""
        return self.files or (("", self.media_type),)


@dataclass(frozen=True, slots=True)
class PlannedOutput:
    """One rendering: a row, its target and the paths of the files it writes."""

    format: OutputFormat
    target: Target
    paths: tuple[str, ...]

    def render(self, site: Site) -> list[tuple[str, bytes]]:
        data = self.format.render(site, self.target)
        if isinstance(data, bytes):
            return [(self.paths[0], data)]
        return [(path, data[ending])
                for path, (ending, _) in zip(self.paths, self.format.outputs, strict=True)]


def _targets(site: Site, scope: Scope, periods: Callable[[date], tuple[Months, Week]]
             ) -> Iterator[Target]:
    if scope is Scope.SITE:
        yield Target(language=None, period=None, statements=site.statements)
        return
    tz, which = site.settings.site.tz, int(scope is Scope.LANGUAGE_WEEK)
    for lang in site.languages:
        statements = site.by_language[lang]
        if scope is Scope.LANGUAGE:
            yield Target(language=lang, period=None, statements=statements)
            continue
        groups: defaultdict[Period, list[Statement]] = defaultdict(list)
        for statement in statements:
            groups[periods(statement.date.astimezone(tz).date())[which]].append(statement)
        for period in sorted(groups, key=lambda period: period.label, reverse=True):
            yield Target(language=lang, period=period, statements=tuple(groups[period]))


def plan_outputs(site: Site, formats: Sequence[OutputFormat]) -> list[PlannedOutput]:
    """Every output of every format, in a stable order; two outputs never share a path."""
    planned: list[PlannedOutput] = []
    seen: dict[str, str] = {}

    @functools.cache  # each day's year and week once for every format (a week: ~5 µs)
    def periods(day: date) -> tuple[Months, Week]:
        return Months(day.year), week_of_day(day, site.settings)

    # (Formats planned the same way once shared their targets: 1 ms and 0.01 MB of 10,000
    # statements' planning saved, so no longer.)
    for fmt in formats:
        targets = fmt.targets(site) if fmt.targets is not None else \
            _targets(site, fmt.scope, periods)
        for target in targets:
            path = fmt.path.format(lang=target.language or "", period=period_label(target))
            paths = tuple(path + ending for ending, _ in fmt.outputs)
            for path in paths:
                if path in seen:
                    raise RuntimeError(f"outputs {seen[path]} and {fmt.name} both write {path}")
                seen[path] = fmt.name
            planned.append(PlannedOutput(fmt, target, paths))
    return planned


def period_label(target: Target) -> str:
    """How the target's period is named in paths and keys ("" when it has none)."""
    return "" if target.period is None else target.period.label
