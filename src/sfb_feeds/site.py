"""The read-only view of a build that every renderer receives."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from .model import Settings, Statement


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """Everything a renderer may look at: settings, the run's clock, published statements.

    ``statements`` holds only published records (not drafts, not scheduled after ``now``),
    newest first. ``languages`` is sorted; ``by_language`` keeps the newest-first order.
    """

    settings: Settings
    now: datetime
    statements: tuple[Statement, ...]
    languages: tuple[str, ...]
    by_language: Mapping[str, tuple[Statement, ...]]
    translations: Mapping[str, tuple[Statement, ...]]

    def translations_of(self, statement: Statement) -> tuple[Statement, ...]:
        """The other published translations of ``statement``, ordered by language."""
        if statement.translation_key is None:
            return ()
        group = self.translations.get(statement.translation_key, ())
        return tuple(s for s in group if s.id != statement.id)


def is_published(statement: Statement, now: datetime) -> bool:
    return not statement.draft and statement.date <= now


def make_site(settings: Settings, statements: Iterable[Statement], now: datetime) -> Site:
    """Select what is published at ``now`` and index it for the renderers."""
    published = sorted(
        (s for s in statements if is_published(s, now)), key=Statement.sort_key
    )
    by_language: defaultdict[str, list[Statement]] = defaultdict(list)
    groups: defaultdict[str, list[Statement]] = defaultdict(list)
    for statement in published:
        by_language[statement.language].append(statement)
        if statement.translation_key is not None:
            groups[statement.translation_key].append(statement)
    return Site(
        settings=settings,
        now=now,
        statements=tuple(published),
        languages=tuple(sorted(by_language)),
        by_language=MappingProxyType({k: tuple(v) for k, v in by_language.items()}),
        translations=MappingProxyType(
            {k: tuple(sorted(v, key=lambda s: (s.language, s.id))) for k, v in groups.items()}
        ),
    )
