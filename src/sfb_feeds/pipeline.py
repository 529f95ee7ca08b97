"""The pure core: settings, statements and a clock in; ``Output`` rows out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial

from . import digest, feeds
from .cache import RenderKeys, render_base
from .model import Output, Settings, Statement
from .plan import OutputFormat, PlannedOutput, plan_outputs
from .site import Site, make_site
from .writer import Deferred


def all_formats(settings: Settings, languages: Sequence[str]) -> tuple[OutputFormat, ...]:
    """Every output format the build produces, feeds first."""
    return feeds.formats(settings, languages) + digest.FORMATS


def prepare(settings: Settings) -> None:
    """Do ahead what every format's first render would do first (``OutputFormat.prepare``):
    a build calls this while a helper process parses statements, when this process would
    otherwise do it alone between parsing and rendering. Failures are left for the render
    itself to report (a broken template is named there, with its line)."""
    chosen = all_formats(settings, ())
    for found in dict.fromkeys(f.prepare for f in chosen if f.prepare is not None):
        with contextlib.suppress(Exception):
            found(settings)


def rehearse(settings: Settings, statements: Sequence[Statement], now: datetime) -> None:
    """Render the first output of every format in every language for a site of only
    ``statements``, and throw the results away: what a format's first render does once
    (learning how premailer styles the digests' elements, loading a language's data) is
    then done. Only speed: a build rehearses on a sample while a helper parses. Failures
    are left for the real render to report."""
    with contextlib.suppress(Exception):
        site = make_site(settings, statements, now)
        first: dict[tuple[str, str | None], PlannedOutput] = {}
        for planned in plan_outputs(site, all_formats(settings, site.languages)):
            first.setdefault((planned.format.name, planned.target.language), planned)
        for planned in first.values():
            with contextlib.suppress(Exception):
                planned.format.render(site, planned.target)


def render_site(site: Site, formats: Sequence[OutputFormat] | None = None) -> list[Output]:
    """Render every planned output of ``site``; nothing is written here."""
    chosen = all_formats(site.settings, site.languages) if formats is None else formats
    return [
        Output(planned.path, planned.format.render(site, planned.target))
        for planned in plan_outputs(site, chosen)
    ]


def build_outputs(
    settings: Settings, statements: Iterable[Statement], now: datetime
) -> list[Output]:
    """Everything ``sfb-feeds build`` writes, as (path, bytes) rows."""
    return render_site(make_site(settings, statements, now))


def plan_site(
    settings: Settings, statements: Iterable[Statement], now: datetime,
    formats: Sequence[OutputFormat] | None = None,
) -> list[Deferred]:
    """The outputs of :func:`build_outputs`, not yet rendered, each with its render key.

    The writer renders an output only when its key or its file changed, so a build after
    a one-record edit renders only the outputs that show that record.
    """
    site = make_site(settings, statements, now)
    chosen = all_formats(settings, site.languages) if formats is None else formats
    planned = plan_outputs(site, chosen)
    keys = RenderKeys(site, planned, render_base(settings))
    # Outputs about the same target side by side: formats that share one rendering (a
    # digest's .html, .txt and .eml) then hold it only briefly, not for the whole build.
    # Periods before languages: a run of outputs (a helper's part) then shows statements
    # of neighbouring dates, which sit together in memory, so a forked helper copies
    # fewer pages (at 100,000 statements the build's peak fell by ~100 MB).
    planned.sort(key=_target_of)
    # Keys are worked out when needed: a first build needs each only to record it, in the
    # process that renders the output (~0.4 s at 100,000 statements, then on both cores).
    return [Deferred(item.path, partial(keys.key, item),
                     partial(item.format.render, site, item.target),
                     item.format.name, len(item.target.statements)) for item in planned]


def _target_of(item: PlannedOutput) -> tuple[str, str, str]:
    target = item.target
    return (item.format.scope.value, target.period or "", target.language or "")
