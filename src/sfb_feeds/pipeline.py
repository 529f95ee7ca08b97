"""The pure core: settings, statements and a clock in; ``Output`` rows out."""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from datetime import datetime

from . import digest, digest_feed, feeds
from .model import Output, Settings, Statement
from .plan import OutputFormat, plan_outputs
from .site import Site, make_site


def all_formats(settings: Settings, languages: Sequence[str],
                store: MutableMapping[str, str] | None = None) -> tuple[OutputFormat, ...]:
    """Every output format the build produces, feeds first, prepared for ``languages``.

    ``store``: the digests' inlined email templates kept between runs, if the build keeps
    them (see ``digest.formats``)."""
    rows = feeds.formats(settings, languages) + digest.formats(settings, languages,
                                                               store=store)
    return rows + digest_feed.formats(rows)


def render_site(site: Site, formats: Sequence[OutputFormat] | None = None) -> list[Output]:
    """Render every planned output of ``site``; nothing is written here."""
    chosen = all_formats(site.settings, site.languages) if formats is None else formats
    return [Output(path, data) for planned in plan_outputs(site, chosen)
            for path, data in planned.render(site)]


def build_outputs(
    settings: Settings, statements: Iterable[Statement], now: datetime
) -> list[Output]:
    """Everything ``sfb-feeds build`` writes, as (path, bytes) rows."""
    return render_site(make_site(settings, statements, now))
