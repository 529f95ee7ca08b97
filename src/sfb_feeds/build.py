"""One build: under the folder's lock, load, render and write only what changed.

:func:`build_site` is the plain path (statements in, files out). :func:`build_incremental`
is what ``sfb-feeds build`` runs: the same result, but it first asks whether anything at
all changed since the last build (see ``cache.Stamp``), parses only edited statement files
and renders only outputs whose render key changed. Both hold the lock for the whole build,
so two runs never interleave and a slow run cannot overwrite a newer run's files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from . import cache, lock, writer
from .loader import Loaded, default_detector, find_statement_files, load_statements
from .model import Settings, Statement
from .validate import Detector

Say = Callable[[str], None]


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class BuildReport:
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def summary(self) -> str:
        return (f"{len(self.written)} written, {self.unchanged} unchanged, "
                f"{len(self.removed)} removed")


def _write(settings: Settings, statements: Sequence[Statement], now: datetime,
           detail: Say, progress: writer.Progress | None) -> BuildReport:
    from .pipeline import plan_site  # imports every renderer: only when rendering may happen

    stop = cache.timed("planned", detail)
    outputs = plan_site(settings, statements, now)
    stop()
    stop = cache.timed("rendered and wrote what changed", detail)
    result = writer.write_outputs(settings.output_dir, outputs, progress=progress)
    stop()
    for note in result.notes:
        detail(note)
    for path in result.written:
        detail(f"wrote {path}")
    for path in result.removed:
        detail(f"removed {path}")
    return BuildReport(result.written, result.unchanged, result.removed)


def build_site(
    settings: Settings,
    statements: Sequence[Statement],
    now: datetime,
    *,
    detail: Say = _silent,
    progress: writer.Progress | None = None,
) -> BuildReport:
    """Render everything, then write what changed; nothing is written if rendering fails."""
    with lock.hold(settings.output_dir):
        return _write(settings, statements, now, detail, progress)


def build_incremental(
    settings: Settings,
    now: datetime,
    *,
    on_loaded: Callable[[Loaded], None] = lambda _: None,
    detail: Say = _silent,
    progress: writer.Progress | None = None,
) -> BuildReport:
    """``sfb-feeds build``: like ``build_site(load_statements(settings))``, doing only what
    changed. ``on_loaded`` sees the statements (and warnings) when they had to be read.

    Statements are read before the lock is taken, so invalid input never touches the
    output folder (not even to create the lock file). If another run finished writing
    while this one was reading, this one starts over rather than write older results.
    """
    detect = default_detector()
    detector = f"{detect.__module__}.{detect.__qualname__}" if detect else ""
    for attempt in (1, 2):
        generation = writer.manifest_generation(settings.output_dir)
        stop = cache.timed("checked the statement files", detail)
        files = cache.input_files(find_statement_files(settings.statements_dir))
        inputs = cache.input_digest(settings, files, detector)
        stop()
        intact = _unchanged_since_last_build(settings, inputs, generation, now)
        if intact is not None:
            detail(f"nothing changed since the last build ({len(files)} statement files, "
                   f"{intact} outputs checked)")
            return BuildReport((), intact, ())
        loaded = _load(settings, detect, detector, detail)
        on_loaded(loaded)
        with lock.hold(settings.output_dir):
            if attempt == 1 and writer.manifest_generation(settings.output_dir) != generation:
                detail("another run wrote the folder meanwhile; starting over")
                continue
            report = _write(settings, loaded.statements, now, detail, progress)
            window = cache.publication_window(loaded.statements, now)
            done = writer.manifest_generation(settings.output_dir)
            cache.save_stamp(settings, cache.Stamp(inputs, *window, done)
                             if inputs is not None else None)
            return report
    raise AssertionError("unreachable: the second attempt always returns")


def _unchanged_since_last_build(settings: Settings, inputs: str | None, generation: str,
                                now: datetime) -> int | None:
    """The number of outputs if the last build read the same inputs and its outputs are
    all still in place (then there is nothing to do); else None."""
    stamp = cache.load_stamp(settings)
    if inputs is None or stamp is None or stamp.generation != generation \
            or not stamp.fits(inputs, now):
        return None
    return writer.outputs_intact(settings.output_dir, generation)


def _load(settings: Settings, detect: Detector | None, detector: str, detail: Say) -> Loaded:
    stop = cache.timed("loaded the statements", detail)
    records = cache.RecordCache.open(settings, detector=detector)
    try:
        loaded = load_statements(settings, detect=detect, cache=records)
    finally:
        records.save()
    stop()
    detail(f"{len(loaded.statements)} statements, {records.misses} files parsed, "
           f"{records.hits} from the cache")
    return loaded
