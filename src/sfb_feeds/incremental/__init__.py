"""What makes a repeated build cheap, and what spreads a build over the cores.

:class:`BuildMemory`, called from ``build.py`` only, keeps in the cache folder (config
``cache:``, default ``.sfb-cache/``; deleting it is always safe) the build ``stamp`` (a
build with nothing to do stops before reading a statement), the ``records`` cache (only
changed statement files are parsed again) and the templates and languages' names
earlier builds prepared; render ``keys``, kept in the output folder's manifest, pick the
outputs to render again. Parsing and rendering go to workers when there are many
(``schedule``).
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
from ..loader import FileResult, Loaded, default_detector, load_statements
from ..model import Output, Settings, Statement, StatementFile
from . import stamp
from .stamp import STAMP_FILE

if TYPE_CHECKING:
    from jinja2 import BytecodeCache

    from ..manifest import WriteReport
    from ..plan import PlannedOutput
    from ..site import Site
    from .records import Encoded
    from .templates import TemplateStore

# A build with nothing to do needs only this module, ``stamp`` and ``manifest``: the rest
# is imported by the methods that use it (measured: importing it all up front cost a
# no-op build of 10,000 statements ~20 ms of its ~190 ms).

__all__ = ["STAMP_FILE", "BuildMemory", "RenderPlan"]

# Fewer files to parse, or outputs to render: starting workers costs more than it saves
# (2 workers against this process, 2-core VM: parsing 500 files 99 against 74 ms, 1,000
# 146 against 143, 2,000 245 against 292; rendering 128 outputs 137 against 114 ms, 256
# 290 against 339).
PARSE_PARALLEL_MIN = 1_000
RENDER_PARALLEL_MIN = 200
# Statements from which the outputs about a whole language or the site are rendered here,
# before forking (below: by the workers, like the rest). Given to the workers, cold 10,000
# took 0.97 x the time (8 pairs, range 0.88-1.08; peak PSS 208 against 230 MB) and cold
# 19,000 0.98 x (4 pairs; 267 against 287 MB): the building process no longer renders them
# with a core idle. At 100,000 each worker would copy them: 697-728 MB (session 18).
WHOLE_HERE_FROM = 20_000


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

    def __init__(self, settings: Settings, files: list[StatementFile]) -> None:
        self.settings = settings
        self.files = files  # the statement files' status, until they are loaded
        # The language detector is part of every key; found without importing it.
        self.detector = "sfb_feeds.detect" if importlib.util.find_spec(
            "sfb_feeds.detect") else ""
        self.inputs = stamp.input_digest(settings, files, self.detector)
        self.last = stamp.load_stamp(settings)
        self._templates: TemplateStore | None = None
        self._languages: dict[str, tuple[str, str]] = {}
        self._read: Sequence[Statement] = ()  # the statements in the order they were read

    def unchanged(self, now: datetime, manifest_status: tuple[int, int, int] | None) -> bool:
        """Whether the last build at another time would have written the same: the same
        inputs, the same statements published, the outputs untouched since."""
        last = self.last
        return last is not None and last.fits(self.inputs, now, manifest_status) \
            and manifest.files_intact(self.settings.output_dir, last.outputs)

    @property
    def outputs_known(self) -> int:
        return 0 if self.last is None else len(self.last.outputs)

    def load(self, detail: Callable[[str], None]) -> Loaded:
        """Every statement, validated: unchanged files from the record cache, the others
        parsed (in workers when there are many). InvalidInput lists every problem."""
        from .records import RecordCache

        records = RecordCache(self.settings, self.detector)
        # The collector is off while statements load: they make no cycles, and the heap
        # they grow sets off full collections (at 10,000: four, ~120 ms; with it on, a
        # cold build takes 1.10 x the time, paired).
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
            gc.freeze()  # lives as long as the build, no cycles: unfrozen by ``remember``
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

    def templates(self) -> tuple[MutableMapping[str, str], BytecodeCache | None]:
        """The email templates earlier builds inlined and compiled (see ``templates``),
        for the renderers; the inlined ones this build adds are kept by :meth:`remember`."""
        from .templates import TemplateStore, bytecode_cache

        self._templates = TemplateStore(self.settings.cache_dir)
        return self._templates, bytecode_cache(self.settings.cache_dir)

    def plan_renders(self, site: Site, planned: Sequence[PlannedOutput],
                     old: Mapping[str, manifest.Entry]) -> RenderPlan:
        """The outputs whose render key or file changed since the last build (whose
        files are ``old``, the output folder's manifest)."""
        from .keys import RenderKeys, outputs_to_render

        keys = RenderKeys(site, stamp.render_base(self.settings))
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
        # Below WHOLE_HERE_FROM statements one pool of workers renders it all (no ``reads``):
        # cold 10,000 0.95 x the time of a pool per ROUND_WEIGHT statements (8 pairs, each
        # below 1.0; the largest process 146 against 124 MB: a worker copies more).
        reads = None if len(self._read) < WHOLE_HERE_FROM else [
            planned[i].target.statements for i in plan.indexes]
        for part in run_parts(work, len(plan.indexes), least=RENDER_PARALLEL_MIN,
                              here=plan.here, reads=reads):
            for files in part:
                yield from files
                done += len(files)
            if progress is not None:
                progress(done, total)

    def languages(self) -> Mapping[str, tuple[str, str]]:
        """Languages' names and directions found by earlier builds (see ``languages``)."""
        from .languages import known_languages

        self._languages = known_languages(self.settings.cache_dir)
        return self._languages

    def remember(self, report: WriteReport, site: Site) -> None:
        """Keep this build's stamp (to recognise the next build with nothing to do), the
        templates it inlined and the languages' names and directions."""
        from .languages import keep_languages

        gc.unfreeze()  # (what ``load`` and ``schedule.run_parts`` froze)
        if self._templates is not None:
            self._templates.save()
        keep_languages(self.settings.cache_dir, self._languages,
                       {tag: (site.names[tag], site.directions[tag]) for tag in site.names})
        after = manifest.manifest_status(self.settings.output_dir)
        window = stamp.publication_window(self._read, site.now)
        stamp.save_stamp(self.settings, None if self.inputs is None or after is None
                         else stamp.Stamp(self.inputs, *window, after, report.owned))


def _in_render_order(planned: Sequence[PlannedOutput], indexes: list[int],
                     read: Sequence[Statement]) -> tuple[list[int], int]:
    """The outputs to render, those rendered here before workers are forked first, and
    how many those are.

    Here: the first of each language's most numerous kind (its digests), so that what a
    language's first render prepares (Babel's data, the templates' first run) is
    inherited by every worker instead of prepared in each (cold 10,000, 5 runs each:
    without them 9.0 s instead of 7.5 s, system time 6.1 s instead of 3.9 s); and, from
    WHOLE_HERE_FROM statements, the outputs about a whole language or the site (feeds,
    the digests' archive page), which read statements from all over the heap, which a
    worker would copy.

    The rest follow in the order their statements were read, so that a pool of workers
    (see ``schedule.ROUND_WEIGHT``) touches the memory of a run of neighbouring
    statements: cold 100,000 peak PSS 585-594 MB against 1,150 MB with each format
    spread evenly (each worker had copied ~330 MB); cold 10,000 0.96 x the time (8 pairs)."""
    here = _rendered_here(planned, indexes, len(read) >= WHOLE_HERE_FROM)
    at = {id(statement): n for n, statement in enumerate(read)}

    def first_read(i: int) -> int:
        return min((at.get(id(s), 0) for s in planned[i].target.statements), default=0)

    rest = sorted((i for i in indexes if i not in here), key=first_read)
    return [i for i in indexes if i in here] + rest, len(here)


def _rendered_here(planned: Sequence[PlannedOutput], indexes: list[int], whole_here: bool
                   ) -> set[int]:
    """The first output of each language's most numerous kind (if it has several), and
    (``whole_here``) the outputs about a whole language or the site."""
    kinds = [(planned[i].format.name, planned[i].target.language) for i in indexes]
    most: dict[str | None, tuple[str, str | None]] = {}
    for kind, count in Counter(kinds).most_common():  # (ties: the first seen)
        if count > 1:
            most.setdefault(kind[1], kind)
    first: dict[tuple[str, str | None], int] = {}
    for i, kind in zip(indexes, kinds, strict=True):
        first.setdefault(kind, i)
    whole = {i for i in indexes if whole_here and planned[i].target.period is None}
    return whole.union(first[kind] for kind in most.values())


def _parse_part(settings: Settings, paths: Sequence[str], prefix: str, indexes: Sequence[int]
                ) -> list[tuple[str, FileResult | Encoded]]:
    """Parse some statement files: as plain values when they can be cached (which travel
    between processes several times faster than Statement objects), else whole."""
    from ..loader import ParseOptions, parse_files
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
