"""One build, as a sequence: lock, scan, load, validate, model, plan, render, write.

:func:`build` is what ``sfb-feeds build`` runs. Statements are read and validated
before the output folder is touched (not even to create the lock file); rendering
happens under the lock, and nothing is written if it fails. What a repeated build can
skip (nothing changed; unchanged statement files; outputs whose render key is unchanged)
is decided by ``incremental`` alone; the stages below it do not know it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from . import manifest
from .errors import InvalidInput, Problem, counted, display_path
from .incremental import BuildMemory
from .loader import Loaded, scan_statement_files
from .manifest import WriteReport as BuildReport  # paths written, unchanged, removed
from .model import Settings

Say = Callable[[str], None]
Progress = Callable[[int, int], None]


def build(settings: Settings, now: datetime, *, on_loaded: Callable[[Loaded], None],
          detail: Say, progress: Progress | None = None, adopt: bool = False) -> BuildReport:
    """Bring the output folder up to date with the statements at ``now``.

    ``on_loaded`` sees the statements (and warnings) when they had to be read. If another
    run finished writing while this one was reading, this one starts over once rather
    than write older results.
    """
    for attempt in (1, 2):
        before = manifest.manifest_status(settings.output_dir)
        memory = BuildMemory(settings, scan_statement_files(settings.statements_dir))
        if memory.unchanged(now, before):
            detail(f"nothing changed since the last build ("
                   f"{counted(len(memory.files), 'statement file')}, "
                   f"{counted(memory.outputs_known, 'output')} checked)")
            return _announced(settings, BuildReport((), memory.outputs_known, ()))
        loaded = _loaded(memory, settings, now, detail)  # read and valid, or InvalidInput
        on_loaded(loaded)
        # Imported only with work to do (a no-op: ~25 ms of its ~190 ms at 10,000).
        from . import lock, pipeline, writer
        from .site import make_site

        with lock.hold(settings.output_dir):
            if attempt == 1 and manifest.manifest_status(settings.output_dir) != before:
                detail("another run wrote the folder meanwhile; starting over")
                continue
            site = make_site(settings, loaded.statements, now, known=memory.languages())
            inlined, compiled = memory.templates()
            planned = pipeline.plan_site(site, compiled)
            old = manifest.read_manifest(settings.output_dir.absolute())  # read once
            plan = memory.plan_renders(site, planned, old.files)
            planned = pipeline.prepared(site, planned, plan.indexes, inlined, compiled)
            waiting = _Waiting(settings)
            report = writer.write_outputs(
                settings.output_dir, memory.render(site, planned, plan, progress),
                kept=plan.kept, paths=plan.paths, adopt=adopt, old=old, before_commit=waiting)
            memory.remember(report, site)
            _tell(report, detail)
        return _announced(settings, report, waiting.earlier)  # (the folder's lock let go)
    raise AssertionError("unreachable: the second attempt always returns")


def _loaded(memory: BuildMemory, settings: Settings, now: datetime, detail: Say) -> Loaded:
    """The statements, read and validated; InvalidInput too if there is no statement file
    and the output folder holds an earlier build's outputs: a statements folder emptied (a
    disk not mounted, a sync that failed) would have every feed emptied and every page
    removed. A site with none yet builds as usual. InvalidInput also for a record edited
    after ``now`` (checked here, before the output folder is locked, or made)."""
    from .site import refuse_edits_ahead

    empty = not memory.files
    loaded = memory.load(detail)
    refuse_edits_ahead(loaded.statements, now)
    published = len(manifest.read_manifest(settings.output_dir.absolute()).files) if empty else 0
    if published:
        raise InvalidInput([Problem(
            display_path(settings.statements_dir),
            f"holds no statement files (*.yaml, *.yml), and {display_path(settings.output_dir)}"
            f" holds {counted(published, 'output')} of an earlier build: nothing was changed "
            "(is the folder's disk mounted?); to take the site down, remove the output "
            "folder yourself")])
    return loaded


@dataclass(slots=True)
class _Waiting:
    """Called by the writer before it puts outputs in place: with a WebSub hub, the changed
    feeds are recorded as waiting for it first, so a build killed before telling the hub
    leaves them to the next one. ``earlier``: the feeds that were waiting before."""

    settings: Settings
    earlier: set[str] | None = None

    def __call__(self, paths: list[str]) -> None:
        if self.settings.feeds.websub_hub:  # (without a hub, urllib is never imported)
            from . import websub

            self.earlier = websub.record(self.settings, paths)


def _announced(settings: Settings, report: BuildReport,
               waiting: set[str] | None = None) -> BuildReport:
    """``report`` with the warnings (or reminders) of telling the WebSub hub which feeds
    changed (and which feeds an earlier build could not announce: hence on no-op builds
    too); ``waiting``: the feeds waiting before this build recorded its own, if it did.
    Called without the output folder's lock: a slow hub (10 s a request) holds up no
    other build."""
    if not settings.feeds.websub_hub:
        return report  # (without a hub, urllib is not imported: ~15 ms of a no-op build)
    from . import websub

    warnings, reminders = websub.announce(settings, report.written, waiting)
    return replace(report, warnings=warnings, reminders=reminders)


def _tell(report: BuildReport, detail: Say) -> None:
    for note in report.notes:
        detail(note)
    for path in report.written:
        detail(f"wrote {path}")
    for path in report.removed:
        detail(f"removed {path}")
