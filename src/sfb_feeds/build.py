"""One build: under the folder's lock, load, render and write only what changed.

:func:`build_site` is the plain path (statements in, files out). :func:`build_incremental`
is what ``sfb-feeds build`` runs: the same result, but it first asks whether anything at
all changed since the last build (see ``cache.Stamp``), parses only edited statement files
and renders only outputs whose render key changed. Both hold the lock for the whole build,
so two runs never interleave and a slow run cannot overwrite a newer run's files.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from . import cache, language, lock, manifest, parallel, writer
from .loader import (
    SUFFIXES,
    FileResult,
    Loaded,
    ParseOptions,
    default_detector,
    load_statements,
    parse_file,
    read_ahead,
    read_bytes,
)
from .model import Settings, Statement

Say = Callable[[str], None]


def _silent(_: str) -> None:
    pass


# What a build did: the writer's report (paths written, how many unchanged, paths removed).
BuildReport = writer.WriteReport


def _write(settings: Settings, statements: Sequence[Statement], now: datetime,
           detail: Say, progress: writer.Progress | None) -> writer.WriteReport:
    from .pipeline import plan_site  # imports every renderer: only when rendering may happen

    known = cache.load_languages(settings)
    language.remember(known)  # names and directions: spares loading CLDR data per language
    stop = cache.timed("planned", detail)
    with _collector_paused():  # (a third of planning's time at 100,000 statements)
        outputs = plan_site(settings, statements, now)
    stop()
    stop = cache.timed("rendered and wrote what changed", detail)
    result = writer.write_outputs(settings.output_dir, outputs, progress=progress,
                                  workers=parallel.default_workers())
    stop()
    for tag in {statement.language for statement in statements}:  # workers' answers stay
        language.native_name(tag)                                  # there: find them here
        language.is_rtl(tag)
    if language.learnt() != known:
        cache.save_languages(settings, language.learnt())
    for note in result.notes:
        detail(note)
    for path in result.written:
        detail(f"wrote {path}")
    for path in result.removed:
        detail(f"removed {path}")
    return result


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
        result = _write(settings, statements, now, detail, progress)
    return BuildReport(result.written, result.unchanged, result.removed)


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
    detector = _detector_name()
    for attempt in (1, 2):
        before = manifest.manifest_status(settings.output_dir)
        stamp = cache.load_stamp(settings)
        stop = cache.timed("checked the statement files", detail)
        # Whether the outputs are as the last build left them: only a no-op needs to know,
        # and a large scan's helper process finds out meanwhile.
        outputs_check = None if stamp is None else partial(
            manifest.files_intact, settings.output_dir, stamp.outputs)
        files, intact = cache.scan_and_check(settings.statements_dir, SUFFIXES, outputs_check)
        inputs = cache.input_digest(settings, files, detector)
        stop()
        if inputs is not None and stamp is not None and stamp.fits(inputs, now, before) \
                and intact():
            detail(f"nothing changed since the last build ({len(files)} statement files, "
                   f"{len(stamp.outputs)} outputs checked)")
            return BuildReport((), len(stamp.outputs), ())
        loaded = _load(settings, files, detector, detail, now)
        on_loaded(loaded)
        with lock.hold(settings.output_dir):
            if attempt == 1 and manifest.manifest_status(settings.output_dir) != before:
                detail("another run wrote the folder meanwhile; starting over")
                continue
            result = _write(settings, loaded.statements, now, detail, progress)
            after = manifest.manifest_status(settings.output_dir)
            window = cache.publication_window(loaded.statements, now)
            cache.save_stamp(settings, None if inputs is None or after is None else
                             cache.Stamp(inputs, *window, after, result.owned))
            return BuildReport(result.written, result.unchanged, result.removed)
    raise AssertionError("unreachable: the second attempt always returns")


def _detector_name() -> str:
    """Which language detector the loader will use; part of every cache key.

    Found without importing it: a build with nothing to do never needs it.
    """
    import importlib.util

    return "sfb_feeds.detect" if importlib.util.find_spec("sfb_feeds.detect") else ""


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while statements load or outputs are planned,
    and what that left frozen (never scanned again) for the rest of the build.

    Neither makes reference cycles (refcounting frees all they drop), but with the
    collector on, the heap they grow sets off full collections that scan every object
    made so far, and each later one scans them again: measured in a cold 10,000 build, 4
    full collections costing ~120 ms while loading; at 100,000, planning took 0.99 s with
    the collector on, 0.67 s with it off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # (what is frozen and later dropped is still freed by refcounting)
        if enabled:
            gc.enable()


def _load(settings: Settings, files: list[cache.FileStatus], detector: str,
          detail: Say, now: datetime | None = None) -> Loaded:
    with _collector_paused():
        loaded = _load_statements(settings, files, detector, detail, now)
    parallel.release_free_memory()  # what parsing left free, before helpers are forked
    return loaded


def _load_statements(settings: Settings, files: list[cache.FileStatus], detector: str,
                     detail: Say, now: datetime | None) -> Loaded:
    stop = cache.timed("loaded the statements", detail)
    records = cache.RecordCache.open(settings, detector=detector)
    missing = records.prime(files)
    # The statements parsed in workers accumulate here as they come back.
    workers = parallel.default_workers(growth_mb=len(missing) * RECORD_KB // 1024,
                                       worker_mb=parallel.PARSE_WORKER_MB)
    if workers > 1 and len(missing) >= PARSE_PARALLEL_MIN:
        per_worker, per_fork, helper_mb = parallel.plan_parts(len(missing), workers,
                                                              PARSE_PARTS)
        parts = parallel.run(partial(_parse_files, settings, records), missing, workers,
                             per_worker=per_worker, per_fork=per_fork, helper_mb=helper_mb,
                             meanwhile=partial(_prepare_rendering, settings, _sample(missing),
                                               now))
        for _, (parsed, packed) in parts:
            for shard, entries in packed.items():
                records.remember_packed(shard, entries)
            for path, result in parsed:
                if isinstance(result, tuple):
                    records.remember_encoded(path, result)
                else:
                    records.remember(path, result)
    try:
        loaded = load_statements(settings, detect=default_detector(), cache=records,
                                 files=[path for path, *_ in files])
    finally:
        records.save()
    stop()
    detail(f"{len(loaded.statements)} statements, {records.misses} files parsed, "
           f"{records.hits} from the cache")
    return loaded


def _prepare_rendering(settings: Settings, sample: Sequence[str],
                       now: datetime | None) -> None:
    """While a helper parses: import the renderers and do what their first renders would
    (compile templates, learn how premailer styles the digests' elements, load language
    data), which would otherwise wait until all is parsed, the other core idle. The first
    renders are rehearsed on a small site of ``sample`` files (parsed here again)."""
    from .pipeline import prepare, rehearse

    prepare(settings)
    if now is None:
        return
    options = ParseOptions(settings=settings, detect=default_detector())
    statements: list[Statement] = []
    for path in sample:
        with contextlib.suppress(OSError):
            statements.extend(parse_file(path, read_bytes(path), options).statements)
    rehearse(settings, statements, now)


SAMPLE_FILES = 48  # statement files rehearsed on: enough for most languages and layouts


def _sample(paths: Sequence[str]) -> list[str]:
    """About SAMPLE_FILES of ``paths``, spread evenly over them (over the years, and so
    over the languages and layouts of each)."""
    step = max(1, len(paths) // SAMPLE_FILES)
    return list(paths[::step][:SAMPLE_FILES])


PARSE_PARTS = 8  # parts per worker
PARSE_PARALLEL_MIN = 500  # fewer files to parse: starting workers costs more than it saves
# What one loaded statement costs this process, with its cache entry (measured at 100,000
# benchmark statements: ~360 MB more after loading them than before).
RECORD_KB = 4


def _parse_files(settings: Settings, records: cache.RecordCache, paths: Sequence[str]
                 ) -> tuple[list[tuple[str, FileResult | cache.Encoded]],
                            dict[int, cache.Packed]]:
    """Parse statement files (in a worker); unreadable ones are left to the loader.

    Results go back packed as the record cache writes them (plain values travel between
    processes several times faster than Statement objects), encoded when they are not to
    be cached, or whole when they cannot be encoded.
    """
    options = ParseOptions(settings=settings, detect=default_detector())
    whole: list[tuple[str, FileResult | cache.Encoded]] = []
    encoded: list[tuple[str, cache.Encoded]] = []
    for path, data in read_ahead(paths):
        if isinstance(data, OSError):
            continue
        result = parse_file(path, data, options)
        values = records.encode(result)
        if values is None:
            whole.append((path, result))
        else:
            encoded.append((path, values))
    packed, loose = records.pack(encoded, keep=not parallel.in_helper())
    return [*whole, *loose], packed
