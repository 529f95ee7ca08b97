"""What makes a repeated build cheap, and what spreads a build over the cores.

:class:`BuildMemory` is the one entry point, called from ``build.py`` only; nothing
below it (loader, plan, renderers, writer) knows it exists. It keeps, in the cache
folder (``cache:`` in the config, default ``.sfb-cache/``; deleting it is always safe):

* the build stamp (``stamp``): when no input changed, the clock is inside the same
  publication window and the outputs are as the last build left them, a build stops
  before reading a statement;
* the record cache (``records``): only statement files changed since they were parsed
  are parsed again (in worker processes when there are many: ``schedule``);
* render keys (``keys``, kept in the output folder's manifest): only outputs whose key
  or file changed are rendered again (in worker processes when there are many).
"""

from __future__ import annotations

import gc
import importlib.util
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from .. import manifest
from ..errors import counted
from ..loader import (
    FileResult,
    Loaded,
    ParseOptions,
    default_detector,
    load_statements,
    parse_files,
)
from ..model import FileStatus, Output, Settings, Statement
from .stamp import (
    STAMP_FILE,
    Stamp,
    input_digest,
    load_stamp,
    publication_window,
    render_base,
    save_stamp,
)

if TYPE_CHECKING:
    from jinja2 import BytecodeCache

    from ..manifest import WriteReport
    from ..plan import PlannedOutput
    from ..site import Site
    from .records import Encoded
    from .templates import TemplateStore

# A build with nothing to do needs only this module, ``stamp`` and ``manifest``: the
# rest (records, render keys, the process pool, the loader's parsing) is imported by the
# methods that use it (measured: importing it all up front cost a no-op build of 10,000
# statements ~20 ms of its ~190 ms).

__all__ = ["STAMP_FILE", "BuildMemory", "RenderPlan"]

PARSE_PARALLEL_MIN = 500  # fewer files to parse: starting workers costs more than it saves
RENDER_PARALLEL_MIN = 64  # fewer outputs to render: likewise


@dataclass(frozen=True, slots=True)
class RenderPlan:
    """Which planned outputs to render (indexes), their files' keys and paths, and the
    files kept as they are (path: key)."""

    indexes: list[int]
    keys: list[tuple[str, ...]]  # of each file of each output rendered
    kept: dict[str, str]
    paths: list[str]  # of every file rendered
    here: int = 0  # the first ``here`` indexes: rendered before workers are forked


class BuildMemory:
    """What the last builds left in the cache folder, for one build of ``settings``."""

    def __init__(self, settings: Settings, files: list[FileStatus]) -> None:
        self.settings = settings
        self.files = files  # the statement files' status, until they are loaded
        # The language detector is part of every key; found without importing it.
        self.detector = "sfb_feeds.detect" if importlib.util.find_spec(
            "sfb_feeds.detect") else ""
        self.inputs = input_digest(settings, files, self.detector)
        self.stamp = load_stamp(settings)
        self._templates: TemplateStore | None = None
        self._languages: dict[str, tuple[str, str]] = {}
        self._read: Sequence[Statement] = ()  # the statements in the order they were read

    def unchanged(self, now: datetime, manifest_status: tuple[int, int, int] | None) -> bool:
        """Whether the last build at another time would have written the same: the same
        inputs, the same statements published, the outputs untouched since."""
        stamp = self.stamp
        return stamp is not None and stamp.fits(self.inputs, now, manifest_status) \
            and manifest.files_intact(self.settings.output_dir, stamp.outputs)

    @property
    def outputs_known(self) -> int:
        return 0 if self.stamp is None else len(self.stamp.outputs)

    def load(self, detail: Callable[[str], None]) -> Loaded:
        """Every statement, validated: unchanged files from the record cache, the others
        parsed (in workers when there are many). InvalidInput lists every problem."""
        from .records import RecordCache

        records = RecordCache(self.settings, self.detector)
        # The cyclic collector is off while statements load: they make no cycles, and
        # the heap they grow sets off full collections (measured at 10,000: four, ~120 ms;
        # with the collector on, a cold build takes 1.10 x the time, paired).
        enabled = gc.isenabled()
        gc.disable()
        try:
            known = records.cached(self.files)
            parsed = self._parse([path for path, *_ in self.files if path not in known],
                                 records.prefix)
            records.update(self.files, {path: values for path, (_, values) in parsed.items()})
            known.update((path, result) for path, (result, _) in parsed.items())
            loaded = load_statements(self.settings, detect=default_detector(),
                                     files=[path for path, *_ in self.files], known=known)
            # What is loaded lives as long as the build and makes no cycles: the collector
            # skips it from now on (see ``remember``).
            gc.freeze()
        finally:
            if enabled:
                gc.enable()
        records.save()
        self.files = []  # freed once loaded: cold 100,000 peak PSS 569-577 against 599-604 MB
        self._read = loaded.statements
        detail(f"{counted(len(loaded.statements), 'statement')}, "
               f"{counted(len(parsed), 'file')} parsed, "
               f"{len(known) - len(parsed)} from the cache")
        return loaded

    def _parse(self, paths: list[str], prefix: str
               ) -> dict[str, tuple[FileResult, Encoded | None]]:
        from .records import decode_result
        from .schedule import run_parts

        work = partial(_parse_part, self.settings, paths, prefix)
        found: dict[str, tuple[FileResult, Encoded | None]] = {}
        shared: dict[Any, Any] = {}
        for part in run_parts(work, len(paths), least=PARSE_PARALLEL_MIN):
            for path, result in part:
                found[path] = ((result, None) if isinstance(result, FileResult)
                               else (decode_result(result, prefix, shared), result))
        return found

    def inlined_templates(self) -> MutableMapping[str, str]:
        """The email templates inlined by earlier builds (see ``templates``), for
        ``digest.formats``; what this build adds is kept by :meth:`remember`."""
        if self._templates is None:
            from .templates import TemplateStore

            self._templates = TemplateStore(self.settings.cache_dir)
        return self._templates

    def compiled_templates(self) -> BytecodeCache | None:
        """Where Jinja keeps the email templates it compiled, between builds (see
        ``templates``); None without a cache folder."""
        from .templates import bytecode_cache

        return bytecode_cache(self.settings.cache_dir)

    def plan_renders(self, site: Site, planned: Sequence[PlannedOutput],
                     old: Mapping[str, manifest.Entry]) -> RenderPlan:
        """The outputs whose render key or file changed since the last build (whose
        files are ``old``, the output folder's manifest)."""
        from .keys import RenderKeys, outputs_to_render

        keys = RenderKeys(site, render_base(self.settings))
        all_keys = [keys.keys(item) for item in planned]
        indexes, kept = outputs_to_render(self.settings.output_dir, planned, all_keys, old)
        indexes, here = _in_render_order(planned, indexes, self._read)
        return RenderPlan(indexes, [all_keys[i] for i in indexes], kept,
                          [path for i in indexes for path in planned[i].paths], here)

    def render(self, site: Site, planned: Sequence[PlannedOutput], plan: RenderPlan,
               progress: Callable[[int, int], None] | None = None) -> Iterator[Output]:
        """The outputs of ``plan`` (in workers when there are many, as they are done)."""
        from .schedule import run_parts

        work = partial(_render_part, site, planned, plan)
        done = len(plan.kept)  # files
        total = done + sum(len(keys) for keys in plan.keys)
        reads = [planned[i].target.statements for i in plan.indexes]
        for part in run_parts(work, len(plan.indexes), least=RENDER_PARALLEL_MIN,
                              here=plan.here, reads=reads):
            for files in part:
                yield from files
                done += len(files)
            if progress is not None:
                progress(done, total)

    def languages(self) -> Mapping[str, tuple[str, str]]:
        """Languages' names and directions found by earlier builds (see ``languages``),
        for ``make_site``."""
        from .languages import known_languages

        self._languages = known_languages(self.settings.cache_dir)
        return self._languages

    def remember(self, statements: Sequence[Statement], now: datetime,
                 report: WriteReport, site: Site) -> None:
        """Keep the stamp of this build, to recognise the next build with nothing to do,
        the templates it inlined and the languages' names and directions."""
        from .languages import keep_languages

        gc.unfreeze()  # (what ``load`` and ``schedule.run_parts`` froze)
        if self._templates is not None:
            self._templates.save()
        keep_languages(self.settings.cache_dir, self._languages,
                       {tag: (site.names[tag], site.directions[tag]) for tag in site.names})
        after = manifest.manifest_status(self.settings.output_dir)
        save_stamp(self.settings, None if self.inputs is None or after is None else
                   Stamp(self.inputs, *publication_window(statements, now), after,
                         report.owned))


def _in_render_order(planned: Sequence[PlannedOutput], indexes: list[int],
                     read: Sequence[Statement]) -> tuple[list[int], int]:
    """The outputs to render, those rendered in this process before workers are forked
    first, and how many those are.

    Here: one of each language's most numerous kind (its digests): whatever a language's
    first render prepares (Babel's data and formats, the templates' first run) is then
    inherited by every worker instead of being prepared in each (measured at 10,000, cold,
    5 runs each: without them 9.0 s instead of 7.5 s, system time 6.1 s instead of 3.9 s).
    And the outputs about a whole language or the site (feeds, the digests' archive
    page): they read statements from every part of the heap, which a worker would copy.

    The rest follow in the order their statements were read (by the first one read), so
    that a pool of workers (see ``schedule.ROUND_WEIGHT``) touches the memory of a run of
    neighbouring statements, not of all of them: at 100,000 statements, cold, peak PSS
    585-594 MB against 1,150 MB with each format spread evenly over the run (each
    worker had copied ~330 MB of this process's pages); cold 10,000 0.96 x the time
    (8 pairs), the workers copying fewer pages."""
    firsts = _firsts(planned, indexes)
    chosen = set(firsts)
    whole = [i for i in indexes if i not in chosen and planned[i].target.period is None]
    chosen.update(whole)
    at = {id(statement): n for n, statement in enumerate(read)}

    def first_read(i: int) -> int:
        return min((at.get(id(s), 0) for s in planned[i].target.statements), default=0)

    rest = sorted((i for i in indexes if i not in chosen), key=first_read)
    return firsts + whole + rest, len(firsts) + len(whole)


def _firsts(planned: Sequence[PlannedOutput], indexes: list[int]) -> list[int]:
    """The first output of each language's most numerous kind, if it has several."""
    count = Counter(_kind(planned[i]) for i in indexes)
    most: dict[str | None, tuple[str, str | None]] = {}
    for kind, outputs in count.items():
        if outputs > 1 and (kind[1] not in most or outputs > count[most[kind[1]]]):
            most[kind[1]] = kind
    wanted = set(most.values())
    return list({_kind(planned[i]): i for i in reversed(indexes)
                 if _kind(planned[i]) in wanted}.values())[::-1]


def _kind(item: PlannedOutput) -> tuple[str, str | None]:
    return item.format.name, item.target.language


def _parse_part(settings: Settings, paths: Sequence[str], prefix: str, indexes: Sequence[int]
                ) -> list[tuple[str, FileResult | Encoded]]:
    """Parse some statement files: as plain values when they can be cached (which travel
    between processes several times faster than Statement objects), else whole."""
    from .records import encode_result

    options = ParseOptions(settings=settings, detect=default_detector())
    return [(path, encode_result(result, prefix) or result)
            for path, result in parse_files((paths[i] for i in indexes), options)]


def _render_part(site: Site, planned: Sequence[PlannedOutput], plan: RenderPlan,
                 indexes: Sequence[int]) -> list[list[Output]]:
    rendered = []
    for i in indexes:
        files = planned[plan.indexes[i]].render(site)
        rendered.append([Output(path, data, key)
                         for (path, data), key in zip(files, plan.keys[i], strict=True)])
    return rendered
