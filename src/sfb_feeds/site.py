"""The read-only view of a build that every renderer receives."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from .errors import InvalidInput, Problem
from .language import native_name, text_direction
from .model import Settings, Statement
from .moments import published_moment
from .urls import entry_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """Everything a renderer may look at: settings, the run's clock, published statements.

    ``statements``: only published records (not drafts, not scheduled after ``now``),
    newest first, as in ``by_language``; ``languages`` is sorted. ``names`` and
    ``directions``: each language's own name and writing direction, looked up once (at
    100,000 statements, looking them up for each translation link took ~3 s of CPU).
    ``translations``: each key's whole group; ``shown_translations``: its first statement
    in each language (by id), the ones shown as translations.
    """

    settings: Settings
    now: datetime
    statements: tuple[Statement, ...]
    languages: tuple[str, ...]
    by_language: Mapping[str, tuple[Statement, ...]]
    translations: Mapping[str, tuple[Statement, ...]]
    shown_translations: Mapping[str, tuple[Statement, ...]]
    names: Mapping[str, str]
    directions: Mapping[str, str]

    def language_name(self, tag: str) -> str:
        """The language's name in itself: ``pl`` -> ``Polski``."""
        return self.names.get(tag) or native_name(tag)

    def direction(self, tag: str) -> str:
        """``"rtl"`` for languages written right to left, else ``"ltr"``."""
        return self.directions.get(tag) or text_direction(tag)

    def translations_of(self, statement: Statement) -> tuple[Statement, ...]:
        """The published translations of ``statement`` (its group's statements in other
        languages, the first of each by id: a key copied onto many records of a language
        shows one, so no entry lists thousands), ordered by language."""
        if statement.translation_key is None:
            return ()
        group = self.shown_translations.get(statement.translation_key, ())
        return tuple(s for s in group if s.language != statement.language)


def feed_title(site: Site, language: str | None) -> str:
    """"Socialism From Below — Polski", or the bare site title for all languages."""
    title = site.settings.site.title
    return f"{title} — {site.language_name(language)}" if language else title


def is_published(statement: Statement, now: datetime) -> bool:
    return not statement.draft and statement.date <= now


def refuse_edits_ahead(statements: Iterable[Statement], now: datetime) -> None:
    """InvalidInput naming each record (drafts aside) whose ``updated`` is later than both
    the run's clock and its date: an edit that has not happened, which feeds would publish
    as it is (the W3C validator: ImplausibleDate). Never true of a record that was not so at
    an earlier clock: a record that built once keeps building."""
    clock = now.isoformat(timespec="seconds")
    if problems := [Problem(s.source.path, f"is after the run's clock ({clock}); it is the "
                            "time of the last edit, which cannot be later than now (feeds "
                            "would say the statement was edited then); correct it, or "
                            "leave it out", s.source.line, s.source.record, "updated")
                    for s in statements if not s.draft and s.updated > max(now, s.date)]:
        raise InvalidInput(problems)


_NONE_KNOWN: Mapping[str, tuple[str, str]] = MappingProxyType({})


def make_site(settings: Settings, statements: Iterable[Statement], now: datetime, *,
              known: Mapping[str, tuple[str, str]] = _NONE_KNOWN) -> Site:
    """Select what is published at ``now`` and index it for the renderers.

    ``known``: languages' (name, direction) looked up before; the others come from CLDR.
    InvalidInput if a record was edited after ``now`` (:func:`refuse_edits_ahead`)."""
    statements = tuple(statements)
    refuse_edits_ahead(statements, now)
    published = sorted((s for s in statements if is_published(s, now)),
                       key=_feed_order(settings))
    by_language: defaultdict[str, list[Statement]] = defaultdict(list)
    groups: defaultdict[str, list[Statement]] = defaultdict(list)
    for statement in published:
        by_language[statement.language].append(statement)
        if statement.translation_key is not None:
            groups[statement.translation_key].append(statement)
    languages = sorted({s.language for s in published} | set(settings.digests.lists))
    facts = _language_facts(languages, known)
    ordered = _by_language_then_id(groups)
    return Site(
        settings=settings,
        now=now,
        statements=tuple(published),
        languages=tuple(sorted(by_language)),
        names=MappingProxyType({tag: name for tag, (name, _) in facts.items()}),
        directions=MappingProxyType({tag: way for tag, (_, way) in facts.items()}),
        by_language=MappingProxyType({k: tuple(v) for k, v in by_language.items()}),
        translations=MappingProxyType(ordered),
        shown_translations=MappingProxyType({k: _first_of_each_language(v)
                                             for k, v in ordered.items()}),
    )


def _by_language_then_id(groups: Mapping[str, list[Statement]]
                         ) -> dict[str, tuple[Statement, ...]]:
    return {k: tuple(sorted(v, key=lambda s: (s.language, s.id))) for k, v in groups.items()}


def _first_of_each_language(group: tuple[Statement, ...]) -> tuple[Statement, ...]:
    """The first statement of each language in ``group`` (ordered by language, then id)."""
    return tuple(s for n, s in enumerate(group) if n == 0 or group[n - 1].language != s.language)


def _feed_order(settings: Settings) -> Callable[[Statement], tuple[float, str, str]]:
    """The sort key: newest first by the moment feeds say a statement was published (a day
    alone at noon: a statement of 08:00 that day is older), ties broken by language, then
    id as feeds publish it (RFC 3986 normal form): an id or a date rewritten in another
    spelling of what is published (``HTTPS://Host/a``, the noon written out) keeps its
    place. Moments are worked out once per pair of dates (statements share days: 10,000
    sorted in 34 ms, against 52 ms converting each in its zone)."""
    seen: dict[Hashable, float] = {}

    def key(statement: Statement) -> tuple[float, str, str]:
        date, updated = statement.date, statement.updated
        # (zones and folds too: datetimes of one instant are equal whatever their zone)
        pair = (date, date.tzinfo, date.fold, updated, updated.tzinfo, updated.fold)
        if (at := seen.get(pair)) is None:
            at = seen[pair] = published_moment(statement).timestamp()
        return -at, statement.language, entry_id(statement.id, statement.date, settings)

    return key


def _language_facts(tags: Iterable[str], known: Mapping[str, tuple[str, str]]
                    ) -> dict[str, tuple[str, str]]:
    """Each language's name in itself and direction: as ``known``, else from CLDR."""
    return {tag: known.get(tag) or (native_name(tag), text_direction(tag)) for tag in tags}
