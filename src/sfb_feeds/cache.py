"""What makes a repeated build cheap: parsed records, render keys, and the last build's stamp.

Everything here lives in the cache folder (``cache:`` in the config, default
``.sfb-cache/`` next to it), never in the public output folder. Deleting the folder is
always safe: the next build parses, renders and compares everything once more. Every cache
file starts with a header naming the cache format, the code that wrote it and the inputs
it depends on; a file with another header, or one that cannot be read, is ignored.

Three layers, cheapest first:

* the **build stamp**: a digest of every input (statement files by path, size,
  modification time and inode; settings; templates; the code) plus the range of clock
  times over which the same statements are published. When the digest matches, the
  clock is inside the range and the output folder still matches its manifest, the build
  is done without reading a single statement.
* the **record cache**: each statement file's parsed, validated records, keyed by the
  file's size, modification time and inode, so only edited files are parsed again.
* **render keys** (:class:`RenderKeys`): a digest of everything one output shows. The
  writer keeps each file's key in its manifest and skips rendering when it is unchanged.

Record cache files are written with :mod:`marshal` (plain tuples): measured at 100,000
records it loads in 0.2 s where pickling the Statement objects takes 1.0 s, and unlike
pickle it cannot run code. A file modified within the last :data:`RACY_SECONDS` is not
cached, since a second edit in the same clock tick could keep size and time unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import operator
import os
import resource
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from zoneinfo import ZoneInfo

from . import __version__
from .errors import Problem
from .model import Settings, Source, Statement

if TYPE_CHECKING:
    from .loader import FileResult
    from .plan import PlannedOutput, Target
    from .site import Site

CACHE_FORMAT = 3  # bump when the layout of any cache file changes
RACY_SECONDS = 2
RECORDS_DIR = "records"  # RECORD_SHARDS files: an edit rewrites one small file, not all
RECORD_SHARDS = 16
STAMP_FILE = "build-stamp.marshal"
# Distributions whose upgrades can change the bytes of an output.
FileStatus = tuple[str, int, int, int]  # path, size, mtime_ns, inode
RENDERING_DISTRIBUTIONS = ("feedgen", "jinja2", "premailer", "babel", "lxml", "cssutils",
                           "pyyaml", "markupsafe", "langcodes")


def _digest(*parts: str | bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def _tree_status(folder: Path) -> Iterator[str]:
    """``relative path:size:mtime`` for every file under ``folder`` (nothing if missing)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            yield f"{os.path.relpath(path, folder)}:{st.st_size}:{st.st_mtime_ns}"


def _distribution_versions() -> str:
    """The installed versions of the rendering libraries, from their metadata folders' names.

    (Listing the folders takes a millisecond; importlib.metadata takes 30 ms.)
    """
    wanted = set(RENDERING_DISTRIBUTIONS)
    found = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                project = name.partition("-")[0].lower().replace("_", "-")
                if project in wanted:
                    found.append(name)
    return ",".join(sorted(found))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Changes when sfb-feeds' code, built-in templates, catalogs or a renderer library do.

    Files are identified by size and modification time, which is what an upgrade or an
    edit in a development checkout changes. Version numbers alone would miss the latter.
    """
    parts = [__version__, sys.version, *_tree_status(Path(__file__).parent)]
    templates = _builtin_templates()
    if templates is not None:
        parts.extend(_tree_status(templates))
    parts.append(_distribution_versions())
    return _digest(*parts)


def _builtin_templates() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("sfb_feeds.templates")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    return Path(locations[0]) if locations else None


def settings_fingerprint(settings: Settings) -> str:
    """Changes when any setting does (the frozen dataclasses' repr holds every value)."""
    return _digest(repr(settings))


def templates_fingerprint(settings: Settings) -> str:
    """Changes when a file in the site's own templates folder does."""
    if settings.templates_dir is None:
        return ""
    return _digest(*_tree_status(settings.templates_dir))


def render_base(settings: Settings) -> str:
    """The part of every render key that is the same for all outputs of a build."""
    return _digest(code_fingerprint(), settings_fingerprint(settings),
                   templates_fingerprint(settings))


# --- records ---------------------------------------------------------------------------

STATEMENT_FIELDS = ("id", "title", "date", "language", "excerpt", "truncated", "url",
                    "authors", "tags", "translation_key", "updated", "draft", "id_generated",
                    "source", "fingerprint")
# If the model grows a field this module does not know, records are simply not cached
# (and tests/test_cache.py fails to say so) rather than cached without it.
RECORDS_ENABLED = tuple(f.name for f in fields(Statement)) == STATEMENT_FIELDS


class _Uncacheable(Exception):
    pass


# A parsed file as plain values: its statements (encode_statement, source path without the
# cache's prefix) and its warnings.
Encoded = tuple[tuple[Any, ...], tuple[Any, ...]]
# Cache entries of one shard marshalled, and maybe the entries themselves (see pack).
Packed = tuple[bytes, dict[str, tuple[Any, ...]] | None]


def _encode_moment(moment: datetime) -> tuple[int, ...] | tuple[Any, ...]:
    tz = moment.tzinfo
    if isinstance(tz, ZoneInfo):
        zone: str | int = tz.key
    elif isinstance(tz, timezone):
        offset = tz.utcoffset(None)
        if tz.tzname(None) != timezone(offset).tzname(None):  # a named offset: name lost
            raise _Uncacheable
        zone = int(offset.total_seconds())
    else:
        raise _Uncacheable
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
            moment.microsecond, moment.fold, zone)


@cache
def _zone(spec: str | int) -> ZoneInfo | timezone:
    return ZoneInfo(spec) if isinstance(spec, str) else timezone(timedelta(seconds=spec))


def _decode_moment(v: tuple[Any, ...]) -> datetime:
    return datetime(v[0], v[1], v[2], v[3], v[4], v[5], v[6], tzinfo=_zone(v[8]), fold=v[7])


def encode_statement(s: Statement) -> tuple[Any, ...]:
    """A Statement as marshal-able plain values; see :func:`decode_statement`."""
    return (s.id, s.title, _encode_moment(s.date), s.language, s.excerpt, s.truncated, s.url,
            s.authors, s.tags, s.translation_key, _encode_moment(s.updated), s.draft,
            s.id_generated, (s.source.path, s.source.line, s.source.record), s.fingerprint)


def decode_statement(v: tuple[Any, ...], prefix: str = "",
                     shared: dict[Any, Any] | None = None) -> Statement:
    """The Statement of :func:`encode_statement`; ``prefix`` goes before its source path.

    Equal author and tag lists are kept once in ``shared`` (a site has a few dozen, over
    tens of thousands of statements).
    """
    pool: dict[Any, Any] = {} if shared is None else shared
    return Statement(
        id=v[0], title=v[1], date=_decode_moment(v[2]), language=v[3], excerpt=v[4],
        truncated=v[5], url=v[6], authors=pool.setdefault(v[7], v[7]),
        tags=pool.setdefault(v[8], v[8]), translation_key=v[9],
        updated=_decode_moment(v[10]), draft=v[11], id_generated=v[12],
        source=Source(path=prefix + v[13][0], line=v[13][1], record=v[13][2]),
        fingerprint=v[14],
    )


def _display_prefix(folder: Path) -> str | None:
    """What the loader puts before a path under ``folder`` when showing it to the user.

    Paths are shown relative to the working folder when inside it (``loader.display_path``).
    Records are cached without this prefix, so a cache written by cron (working folder:
    home) serves a run from the site's folder too. None: no single prefix (the working
    folder lies inside ``folder``), so the cache is kept per working folder.
    """
    relative = os.path.relpath(folder)
    if relative == ".":
        return ""
    if relative == ".." or relative.startswith(".." + os.sep):
        inside = (os.getcwd() + os.sep).startswith(str(folder) + os.sep)
        return None if inside else str(folder) + os.sep
    return relative + os.sep


def _strip(path: str, prefix: str) -> str:
    if not path.startswith(prefix):
        raise _Uncacheable
    return path[len(prefix):]


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` whole; a cache needs no fsync (a torn file is just ignored)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


def _is_racy(mtime_ns: int) -> bool:
    return abs(time.time_ns() - mtime_ns) < RACY_SECONDS * 1_000_000_000


class RecordCache:
    """Parsed records per statement file, reused while the file's status is unchanged.

    The loader calls :meth:`lookup` before reading a file and :meth:`store` after parsing
    it; :meth:`save` writes the cache, keeping only the files looked up in this run. A
    build may first :meth:`prime` the cache with the statuses it scanned (sparing a second
    stat per file) and :meth:`remember` files parsed in worker processes. Files with
    problems are never cached: they are parsed again and reported again on every run.
    """

    def __init__(self, path: Path | None, header: tuple[Any, ...], prefix: str = "") -> None:
        self.path = path
        self.header = header
        self.prefix = prefix
        self._entries: dict[str, tuple[Any, ...]] = {}
        self._status: dict[str, tuple[int, int, int]] = {}  # size, mtime_ns, inode
        self._fresh: dict[str, FileResult] = {}
        self._shared: dict[Any, Any] = {}
        self._seen: set[str] = set()
        self._parsed: set[str] = set()  # entries that came from workers in this run
        self._dirty: set[int] = set()
        # The shards that were empty when opened and have had nothing but entries packed
        # by workers since (:meth:`pack`), and those bytes, already on their way to disk.
        self._blank: set[int] = set(range(RECORD_SHARDS))
        self._spills: dict[int, _Spill] = {}
        self.hits = 0
        self.misses = 0

    @classmethod
    def open(cls, settings: Settings, *, detector: str = "") -> RecordCache:
        """The cache for ``settings`` (empty when there is none or it does not fit).

        ``detector`` names the language detector in use: its answers are cached too.
        """
        path = settings.cache_dir / RECORDS_DIR if settings.cache_dir is not None else None
        prefix = _display_prefix(settings.statements_dir)
        header = ("sfb-feeds-records", CACHE_FORMAT, code_fingerprint(),
                  repr(settings.site), os.getcwd() if prefix is None else "", detector)
        cache = cls(path, header, prefix or "")
        if path is not None and RECORDS_ENABLED:
            cache._entries, read = _read_records(path, header)
            cache._blank -= read
        return cache

    def prime(self, files: Iterable[FileStatus]) -> list[str]:
        """Take the files' statuses as just scanned; returns the paths not in the cache."""
        missing = []
        for path, size, mtime_ns, ino in files:
            self._status[path] = (size, mtime_ns, ino)
            entry = self._entries.get(path)
            if entry is None or entry[:3] != (size, mtime_ns, ino):
                missing.append(path)
        return missing

    def remember(self, path: str, result: FileResult) -> None:
        """A file parsed elsewhere (a worker): :meth:`lookup` hands it to the loader."""
        self._fresh[path] = result
        self.store(path, result)

    def encode(self, result: FileResult) -> Encoded | None:
        """``result`` as plain values (in a worker, to send back cheaply); None when it
        cannot be cached (problems, unusual time zones): send the result itself then."""
        if result.problems or not RECORDS_ENABLED:
            return None
        try:
            return (tuple(self._encode(s) for s in result.statements),
                    tuple((_strip(p.path, self.prefix), p.message, p.line, p.record, p.field)
                          for p in result.warnings))
        except _Uncacheable:
            return None

    def pack(self, encoded: Iterable[tuple[str, Encoded]], *, keep: bool = True
             ) -> tuple[dict[int, Packed], list[tuple[str, Encoded]]]:
        """In a worker: the cache entries of files it parsed and :meth:`encode`-d, marshalled
        by shard, as :meth:`save` writes them (then they need not be marshalled again in
        the process that saves: ~1 s of it alone at 100,000 statements); and those not
        to be cached. The entries are kept beside their bytes if ``keep`` (a worker that
        sends them to another process drops them: they travel as the bytes)."""
        shards: dict[int, dict[str, tuple[Any, ...]]] = {}
        loose = []
        for path, values in encoded:
            status = self._status.get(path)
            if status is None or _is_racy(status[1]):
                loose.append((path, values))
            else:
                shards.setdefault(shard_of(path), {})[path] = (*status, *values)
        return {number: (marshal.dumps(entries), entries if keep else None)
                for number, entries in shards.items()}, loose

    def remember_packed(self, shard: int, packed: Packed) -> None:
        """Entries :meth:`pack`-ed in a worker: kept for the cache, and decoded now for
        :meth:`lookup` to hand to the loader, as :meth:`remember_encoded`."""
        blob, kept = packed
        entries: dict[str, tuple[Any, ...]] = marshal.loads(blob) if kept is None else kept
        for path, entry in entries.items():
            self._fresh[path] = self._decode(entry[3], entry[4])
        self._parsed.update(entries)
        self._dirty.add(shard)
        if not self._spilled(shard, blob, tuple(entries)):
            self._entries.update(entries)

    def _spilled(self, shard: int, blob: bytes, keys: tuple[str, ...]) -> bool:
        """Whether packed entries went straight to their shard's file (one that held
        nothing else), and so need not be kept here. Not keeping them matters beyond
        their size: dropped now, the memory they took is reused by the next statements
        loaded; kept until the end, they leave holes between all the statements (at
        100,000: ~80 MB more resident for the whole build, shared with helpers)."""
        if shard not in self._blank or self.path is None:
            return False
        try:
            spill = self._spills.get(shard) or self._spills.setdefault(
                shard, _Spill.start(self.path / f"{shard:02d}.marshal"))
            spill.add(blob, keys)
        except OSError:
            self._blank.discard(shard)  # (written from the entries, then)
            return False
        return True

    def remember_encoded(self, path: str, encoded: Encoded) -> None:
        """A file parsed and encoded elsewhere (:meth:`encode`): kept for the cache, and
        decoded now for :meth:`lookup` to hand to the loader (counted as parsed). Now,
        rather than when the loader asks: a build calls this while helpers still parse,
        instead of after them with the other cores idle."""
        self._fresh[path] = self._decode(*encoded)
        status = self._status.get(path)
        if status is None or _is_racy(status[1]):  # not to be cached
            return
        self._entries[path] = (*status, *encoded)
        self._parsed.add(path)
        self._dirty.add(shard_of(path))
        self._blank.discard(shard_of(path))

    def lookup(self, path: Path | str) -> FileResult | None:
        """The cached result for ``path`` if the file is unchanged."""
        key = str(path)
        status = self._status.get(key) or self._stat(key)
        fresh = self._fresh.pop(key, None)
        if fresh is not None:  # parsed in this run (in a helper)
            self.misses += 1
            if key in self._parsed:
                self._seen.add(key)  # and kept for the cache
            return fresh
        entry = self._entries.get(key)
        if status is None or entry is None or entry[:3] != status:
            self.misses += 1
            return None
        self._seen.add(key)
        self.hits += 1
        return self._decode(entry[3], entry[4])

    def _decode(self, statements: tuple[Any, ...], warnings: tuple[Any, ...]) -> FileResult:
        from .loader import FileResult

        prefix = self.prefix
        return FileResult(tuple(decode_statement(v, prefix, self._shared) for v in statements),
                          (), tuple(Problem(prefix + p[0], *p[1:]) for p in warnings))

    def _stat(self, key: str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(key)
        except OSError:
            return None
        self._status[key] = (st.st_size, st.st_mtime_ns, st.st_ino)
        return self._status[key]

    def store(self, path: Path | str, result: FileResult) -> None:
        """Remember a freshly parsed file (unless it had problems or was just modified).

        The status kept is the one taken *before* the file was read: if the file changed
        in between, the next run sees a new status and parses it again.
        """
        key = str(path)
        status = self._status.get(key)
        if status is None or result.problems or not RECORDS_ENABLED or _is_racy(status[1]):
            return
        try:
            statements = tuple(self._encode(s) for s in result.statements)
            warnings = tuple((_strip(p.path, self.prefix), p.message, p.line, p.record, p.field)
                             for p in result.warnings)
        except _Uncacheable:
            return
        self._entries[key] = (*status, statements, warnings)
        self._seen.add(key)
        self._dirty.add(shard_of(key))
        self._blank.discard(shard_of(key))

    def _encode(self, statement: Statement) -> tuple[Any, ...]:
        values = encode_statement(statement)
        source = statement.source
        return (*values[:13], (_strip(source.path, self.prefix), source.line, source.record),
                *values[14:])

    def save(self) -> None:
        """Write the shards that changed; files not met in this run are forgotten."""
        if self.path is None or not RECORDS_ENABLED:
            return
        stale = {shard_of(key) for key in self._entries if key not in self._seen}
        # A shard that holds only what workers packed, all of it met, is in its file;
        # another's packed entries come back from its file to be written with the rest.
        spilled: set[int] = set()
        entries = self._entries
        for number, spill in sorted(self._spills.items()):
            whole = number in self._blank and all(key in self._seen for key in spill.keys)
            back = spill.finish(self.header, whole)
            if back is None:
                spilled.add(number)
            else:
                entries = entries | back
        self._spills.clear()
        shards: dict[int, dict[str, tuple[Any, ...]]] = {
            number: {} for number in (self._dirty | stale) - spilled}
        if shards:
            for key, entry in entries.items():
                number = shard_of(key)
                if number in shards and key in self._seen:
                    shards[number][key] = entry
        for number, shard in sorted(shards.items()):
            with contextlib.suppress(OSError):  # a cache that cannot be written costs time
                _write_atomically(self.path / f"{number:02d}.marshal",
                                  _framed(self.header, [marshal.dumps(shard)]))
        _sweep_temporary(self.path)


def shard_of(path: str) -> int:
    return zlib.crc32(path.encode("utf-8", "surrogatepass")) % RECORD_SHARDS


_FRAME = struct.Struct("<Q")


def _tail(header: tuple[Any, ...], lengths: Sequence[int]) -> bytes:
    """What ends a shard file after its blobs (marshalled dicts of entries): the cache's
    header and each blob's length, marshalled, then the length of that."""
    tail = marshal.dumps((header, tuple(lengths)))
    return tail + _FRAME.pack(len(tail))


def _framed(header: tuple[Any, ...], blobs: Sequence[bytes]) -> bytes:
    return b"".join((*blobs, _tail(header, [len(blob) for blob in blobs])))


def _unframed(data: bytes, header: tuple[Any, ...]) -> dict[str, tuple[Any, ...]] | None:
    """The entries of a shard file; None if it is of another header, torn or garbage."""
    view = memoryview(data)
    (size,) = _FRAME.unpack_from(view, len(view) - _FRAME.size)
    end = len(view) - _FRAME.size - size
    if end < 0:
        return None
    stored_header, lengths = marshal.loads(view[end:len(view) - _FRAME.size])
    if stored_header != header or sum(lengths) != end:
        return None
    return _blob_entries(view, lengths)


def _blob_entries(view: memoryview, lengths: Sequence[int]) -> dict[str, tuple[Any, ...]] | None:
    """The entries of the blobs of ``lengths`` that ``view`` starts with; None if one of
    them is not a dict of entries."""
    entries: dict[str, tuple[Any, ...]] = {}
    offset = 0
    for length in lengths:
        blob = marshal.loads(view[offset:offset + length])
        if not isinstance(blob, dict):
            return None
        entries.update(blob)
        offset += length
    return entries


def _sweep_temporary(folder: Path) -> None:
    """Remove the temporary files that killed runs left (``.<name>.<pid>.tmp``)."""
    with contextlib.suppress(OSError):
        for path in folder.glob(".*.tmp"):
            pid = path.name.rsplit(".", 2)[-2]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # (someone else's: alive)
    return True


@dataclass(slots=True)
class _Spill:
    """A shard file being written as workers' packed entries arrive (so they need not be
    held here: ~120 MB at 100,000 statements), made the shard's file by :meth:`finish`."""

    final: Path
    temp: Path
    file: BinaryIO
    lengths: list[int]
    keys: list[str]

    @classmethod
    def start(cls, final: Path) -> _Spill:
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        # Unbuffered: a helper forked meanwhile holds a copy of this file, and must have
        # nothing of ours to flush into it.
        return cls(final, temp, open(temp, "wb", buffering=0), [], [])  # (see finish)

    def add(self, blob: bytes, keys: Iterable[str]) -> None:
        self.file.write(blob)
        self.lengths.append(len(blob))
        self.keys.extend(keys)

    def finish(self, header: tuple[Any, ...], keep: bool) -> dict[str, tuple[Any, ...]] | None:
        """Complete the file and put it in place if ``keep`` (None). Else, or if it cannot
        be written, it goes, and the entries it holds come back (those it could read)."""
        try:
            if keep:
                self.file.write(_tail(header, self.lengths))
                self.file.close()
                os.replace(self.temp, self.final)
                return None
        except OSError:
            pass
        entries: dict[str, tuple[Any, ...]] | None = None
        with contextlib.suppress(Exception):  # (what cannot be read is parsed next time)
            self.file.close()
            entries = _blob_entries(memoryview(self.temp.read_bytes()), self.lengths)
        with contextlib.suppress(OSError):
            self.temp.unlink()
        return entries or {}


def _read_records(folder: Path, header: tuple[Any, ...]
                  ) -> tuple[dict[str, tuple[Any, ...]], set[int]]:
    """Every entry of the cache's shard files, and which shards held any."""
    entries: dict[str, tuple[Any, ...]] = {}
    read = set()
    for number in range(RECORD_SHARDS):
        try:
            shard = _unframed((folder / f"{number:02d}.marshal").read_bytes(), header)
        except Exception:  # any missing or unreadable shard (truncated, garbage) is ignored
            continue
        if shard:
            entries.update(shard)
            read.add(number)
    return entries, read


# --- the build stamp -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Stamp:
    """What the last complete build read and left in the output folder.

    ``published_from``/``published_until`` (POSIX seconds, None = unbounded) bound the
    clock times at which exactly the same statements are published: from the newest
    published date up to, not including, the next scheduled date. ``manifest`` is the
    status of the output folder's manifest and ``outputs`` that of every file it lists.
    """

    inputs: str
    published_from: float | None
    published_until: float | None
    manifest: tuple[int, int, int]
    outputs: tuple[FileStatus, ...]

    def fits(self, inputs: str, now: datetime, manifest: tuple[int, int, int] | None) -> bool:
        """Whether a build at ``now`` of ``inputs`` would produce what is on disk, as far
        as the inputs and the manifest tell (the outputs' own status is checked apart)."""
        moment = now.timestamp()
        return (self.inputs == inputs and self.manifest == manifest
                and (self.published_from is None or self.published_from <= moment)
                and (self.published_until is None or moment < self.published_until))


_entry_name = operator.attrgetter("name")
# A first subfolder holding at least this many files makes the scan share the other
# subfolders with a forked process: stat() of 100,000 files is ~0.5 s of one core.
FORK_SCAN_FILES = 1_000


def _scan_folder(directory: str, suffixes: tuple[str, ...], found: list[FileStatus]
                 ) -> list[str]:
    """Append the statement files directly in ``directory`` to ``found``, sorted by name;
    return its subfolders, sorted (hidden files and folders skipped)."""
    try:
        with os.scandir(directory) as listing:
            entries = [entry for entry in listing if entry.name[0] != "."]
    except OSError:
        return []
    entries.sort(key=_entry_name)
    below = []
    append = found.append
    for entry in entries:
        if entry.is_dir():
            below.append(entry.path)
        elif entry.name.endswith(suffixes):
            try:
                st = entry.stat()
            except OSError:
                continue
            append((entry.path, st.st_size, st.st_mtime_ns, st.st_ino))
    return below


def _scan_tree(directories: list[str], suffixes: tuple[str, ...],
               found: list[FileStatus]) -> None:
    """Depth first, in name order: each folder's files, then its subfolders."""
    pending = list(reversed(directories))
    while pending:
        pending.extend(reversed(_scan_folder(pending.pop(), suffixes, found)))


def _scan_in_child(directories: list[str], suffixes: tuple[str, ...],
                   check: Callable[[], bool] | None = None
                   ) -> Callable[[], tuple[list[FileStatus], bool | None] | None] | None:
    """Start scanning ``directories`` (and running ``check``) in a forked process; the
    returned function collects the result (None if the process failed). None where fork
    is unavailable or fails."""
    if not hasattr(os, "fork"):
        return None
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the child: scan, send, and leave without running any cleanup
        status = 1
        try:
            os.close(read_end)
            checked = check() if check is not None else None
            found: list[FileStatus] = []
            _scan_tree(directories, suffixes, found)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(marshal.dumps((found, checked)))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)

    def collect() -> tuple[list[FileStatus], bool | None] | None:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            return None
        found, checked = marshal.loads(data)
        return list(found), checked

    return collect


def scan_statement_files(folder: Path, suffixes: tuple[str, ...]) -> list[FileStatus]:
    """Every statement file under ``folder`` with its status, in a stable order.

    The same selection as ``loader.find_statement_files`` (hidden files and folders
    skipped), in one pass with ``scandir``: at 100,000 files this takes half the time of
    walking and then calling stat. When the first subfolder is large, a forked process
    scans the second half of the remaining subfolders meanwhile (same order either way).
    """
    return scan_and_check(folder, suffixes, None)[0]


def _nothing_checked() -> bool:
    return False


def scan_and_check(folder: Path, suffixes: tuple[str, ...], check: Callable[[], bool] | None
                   ) -> tuple[list[FileStatus], Callable[[], bool]]:
    """:func:`scan_statement_files`, and ``check`` (the outputs' status, as a no-op build
    needs it): run by the forked helper when there is one, else when asked for."""
    found: list[FileStatus] = []
    below = _scan_folder(str(folder), suffixes, found)
    later = check if check is not None else _nothing_checked
    if len(below) < 3:
        _scan_tree(below, suffixes, found)
        return found, later
    before = len(found)
    _scan_tree(below[:1], suffixes, found)
    rest = below[1:]
    # The helper's share is smaller when it also checks the outputs (~a quarter of the work).
    middle = len(rest) * (3 if check is not None else 2) // (5 if check is not None else 4)
    child = (_scan_in_child(rest[middle:], suffixes, check)
             if len(found) - before >= FORK_SCAN_FILES else None)
    if child is None:
        _scan_tree(rest, suffixes, found)
        return found, later
    _scan_tree(rest[:middle], suffixes, found)
    theirs = child()
    if theirs is None:  # the helper failed: do its share here
        theirs = ([], None)
        _scan_tree(rest[middle:], suffixes, theirs[0])
    found.extend(theirs[0])
    checked = theirs[1]
    return found, later if checked is None else (lambda: bool(checked))


def input_digest(settings: Settings, files: list[FileStatus],
                 detector: str = "") -> str | None:
    """The digest of everything a build reads; None if a file is too fresh to trust."""
    newest = max((mtime_ns for _, _, mtime_ns, _ in files), default=0)
    if _is_racy(newest) or newest > time.time_ns():
        return None
    return _digest(str(CACHE_FORMAT), render_base(settings), detector, marshal.dumps(files))


def publication_window(statements: Iterable[Statement], now: datetime
                       ) -> tuple[float | None, float | None]:
    """(newest published date, next scheduled date) as POSIX seconds."""
    moment = now.timestamp()
    newest: float | None = None
    upcoming: float | None = None
    for statement in statements:
        if statement.draft:
            continue
        when = statement.date.timestamp()
        if when <= moment:
            newest = when if newest is None else max(newest, when)
        else:
            upcoming = when if upcoming is None else min(upcoming, when)
    return newest, upcoming


_STAMP_HEADER = ("sfb-feeds-stamp", CACHE_FORMAT)


def load_stamp(settings: Settings) -> Stamp | None:
    if settings.cache_dir is None:
        return None
    try:
        header, *fields_ = marshal.loads((settings.cache_dir / STAMP_FILE).read_bytes())
        if header != _STAMP_HEADER:
            return None
        inputs, published_from, published_until, manifest, outputs = fields_
        return Stamp(inputs, published_from, published_until, tuple(manifest), outputs)
    except Exception:  # missing or unreadable: no shortcut this time
        return None


def save_stamp(settings: Settings, stamp: Stamp | None) -> None:
    """Remember ``stamp``; None forgets the previous one."""
    if settings.cache_dir is None:
        return
    path = settings.cache_dir / STAMP_FILE
    with contextlib.suppress(OSError):  # without a stamp the next build takes the long way
        if stamp is None:
            path.unlink(missing_ok=True)
            return
        _write_atomically(path, marshal.dumps((
            _STAMP_HEADER, stamp.inputs, stamp.published_from, stamp.published_until,
            stamp.manifest, tuple(stamp.outputs))))


# --- language facts ---------------------------------------------------------------------

LANGUAGES_FILE = "languages.json"


def _languages_header() -> list[Any]:
    from importlib.metadata import version

    return ["sfb-feeds-languages", CACHE_FORMAT, version("babel"), version("langcodes")]


def load_languages(settings: Settings) -> dict[str, Any]:
    """Language names and directions found by an earlier run (see ``language.learnt``);
    empty when there are none or they came from other versions of Babel or langcodes."""
    if settings.cache_dir is None:
        return {}
    try:
        header, answers = json.loads((settings.cache_dir / LANGUAGES_FILE).read_bytes())
    except Exception:  # missing, torn or foreign: found again
        return {}
    return answers if header == _languages_header() and isinstance(answers, dict) else {}


def save_languages(settings: Settings, answers: dict[str, Any]) -> None:
    if settings.cache_dir is not None:
        with contextlib.suppress(OSError):
            _write_atomically(settings.cache_dir / LANGUAGES_FILE, json.dumps(
                [_languages_header(), answers], ensure_ascii=False, sort_keys=True
            ).encode("utf-8"))


# --- render keys -----------------------------------------------------------------------


class RenderKeys:
    """The render key of each planned output: a digest of everything it can show.

    That is: the code, settings and templates (:func:`render_base`); the format's name,
    version and path; the site's language list; the output's statements in order, each
    with the fingerprints of its published translations; and, for year and week outputs,
    the list of periods of that kind in the language; and the target's ``context`` (what
    else it shows, such as an archive's neighbours).
    A renderer that shows anything else must bump its format's version when it changes,
    and must never show the run's clock: outputs are reused while their key is unchanged.
    """

    def __init__(self, site: Site, planned: Sequence[PlannedOutput], base: str) -> None:
        self.base = _digest(base, ",".join(site.languages))
        # A statement with translations shows as its fingerprint plus its whole group's;
        # worked out once per statement (in the process that needs it), as most
        # statements are in several targets.
        self._groups = {key: "+" + "+".join(s.fingerprint for s in group)
                        for key, group in site.translations.items()}
        self._shown: dict[int, str] = {}  # by id() of the statement (all alive)
        # By target; holding the target keeps its id from being reused.
        self._targets: dict[int, tuple[Target, str]] = {}
        periods: dict[tuple[str, str | None], set[str]] = {}
        for item in planned:
            if item.target.period is not None:
                scope_key = (item.format.scope.value, item.target.language)
                periods.setdefault(scope_key, set()).add(item.target.period)
        self._periods = {k: ",".join(sorted(v)) for k, v in periods.items()}

    def key(self, item: PlannedOutput) -> str:
        target = item.target
        scope = item.format.scope.value
        # Formats of one scope share their target objects, and so this part of the key.
        memo = self._targets.get(id(target))
        if memo is None:
            shown_of = self._shown
            statements = [shown_of.get(id(s)) or shown_of.setdefault(id(s), self._shown_alone(s))
                          for s in target.statements]
            context = [f"{name}={value}" for name, value in target.context]
            memo = self._targets[id(target)] = (target, _digest("\x00".join((
                scope, target.language or "", target.period or "",
                self._periods.get((scope, target.language), ""), *context, *statements))))
        shown = memo[1]
        return _digest("\x00".join((self.base, item.format.name, item.format.version,
                                    item.path, shown)))

    def _shown_alone(self, statement: Statement) -> str:
        """What a statement contributes to a key: its fingerprint, and its translations'."""
        if statement.translation_key is None:
            return statement.fingerprint
        return statement.fingerprint + self._groups.get(statement.translation_key, "")


def timed(label: str, sink: Callable[[str], None] | None) -> Callable[[], None]:
    """Start a stopwatch; calling the result reports the time taken (and the peak memory so
    far) to ``sink``, for ``--verbose``."""
    start = time.perf_counter()

    def stop() -> None:
        if sink is not None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
            sink(f"{label}: {(time.perf_counter() - start) * 1000:.0f} ms "
                 f"(memory so far: {peak} MB)")

    return stop
