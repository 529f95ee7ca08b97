"""The record cache: each statement file's parsed records, reused while the file is unchanged.

Entries are keyed by the file's path and status (size, modification time, inode), in
RECORD_SHARDS files so that an edit rewrites one small file; each starts with a header
naming the cache format, the code and the settings it depends on (another header, or a
file that cannot be read: ignored). Files with problems, or modified within the last
RACY_SECONDS (see ``stamp.is_racy``), are not cached.

Entries are plain tuples written with :mod:`marshal`: at 100,000 records that loads in
0.2 s where unpickling Statement objects takes 1.0 s, and unlike pickle it runs no code.
"""

from __future__ import annotations

import marshal
import os
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import Problem
from ..loader import FileResult
from ..model import Settings, Source, Statement, StatementFile
from .stamp import CACHE_FORMAT, code_fingerprint, is_racy, read_marshal, write_cache

RECORDS_DIR = "records"
RECORD_SHARDS = 16
STATEMENT_FIELDS = ("id", "title", "date", "language", "excerpt", "truncated", "url",
                    "authors", "tags", "translation_key", "updated", "draft", "id_generated",
                    "source", "fingerprint")
# A model with a field this module does not know is simply not cached.
RECORDS_ENABLED = tuple(f.name for f in fields(Statement)) == STATEMENT_FIELDS

Encoded = tuple[tuple[Any, ...], tuple[Any, ...]]  # statements, warnings as plain values


def _encode_moment(moment: datetime) -> tuple[Any, ...]:
    tz = moment.tzinfo
    if isinstance(tz, ZoneInfo):
        zone: str | int = tz.key
    elif isinstance(tz, timezone):
        offset = tz.utcoffset(None)
        if tz.tzname(None) != timezone(offset).tzname(None):  # a named offset: name lost
            raise ValueError
        zone = int(offset.total_seconds())
    else:
        raise ValueError
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second,
            moment.microsecond, moment.fold, zone)


def _decode_moment(v: tuple[Any, ...], zones: dict[Any, Any]) -> datetime:
    zone = zones.get(v[8]) or zones.setdefault(v[8], ZoneInfo(v[8]) if isinstance(v[8], str)
                                               else timezone(timedelta(seconds=v[8])))
    return datetime(v[0], v[1], v[2], v[3], v[4], v[5], v[6], tzinfo=zone, fold=v[7])


def _strip(path: str, prefix: str) -> str:
    if not path.startswith(prefix):
        raise ValueError
    return path[len(prefix):]


def encode_result(result: FileResult, prefix: str) -> Encoded | None:
    """``result`` as marshal-able plain values; None when it is not to be cached."""
    if result.problems or not RECORDS_ENABLED:
        return None
    try:
        return (tuple(_encode_statement(s, prefix) for s in result.statements),
                tuple((_strip(p.path, prefix), p.message, p.line, p.record, p.field)
                      for p in result.warnings))
    except ValueError:  # (a zone or a path it cannot keep)
        return None


def _encode_statement(s: Statement, prefix: str) -> tuple[Any, ...]:
    src = s.source
    return (s.id, s.title, _encode_moment(s.date), s.language, s.excerpt, s.truncated, s.url,
            s.authors, s.tags, s.translation_key, _encode_moment(s.updated), s.draft,
            s.id_generated, (_strip(src.path, prefix), src.line, src.record), s.fingerprint)


def decode_result(encoded: Encoded, prefix: str, shared: dict[Any, Any]) -> FileResult:
    """The FileResult of :func:`encode_result`; equal author and tag lists and time zones
    kept once in ``shared`` (a site has a few dozen over thousands of statements: 19.6 MB
    for 10,000 statements decoded, against 23.4 MB without)."""
    statements, warnings = encoded
    return FileResult(tuple(_decode_statement(v, prefix, shared) for v in statements), (),
                      tuple(Problem(prefix + p[0], *p[1:]) for p in warnings))


def _decode_statement(v: tuple[Any, ...], prefix: str, pool: dict[Any, Any]) -> Statement:
    return Statement(
        id=v[0], title=v[1], date=_decode_moment(v[2], pool), language=v[3], excerpt=v[4],
        truncated=v[5], url=v[6], authors=pool.setdefault(v[7], v[7]),
        tags=pool.setdefault(v[8], v[8]), translation_key=v[9],
        updated=_decode_moment(v[10], pool), draft=v[11], id_generated=v[12],
        source=Source(path=prefix + v[13][0], line=v[13][1], record=v[13][2]),
        fingerprint=v[14],
    )


def display_prefix(folder: Path) -> str | None:
    """What the loader puts before a path under ``folder`` when showing it to the user.

    Records are cached without it, so a cache written by cron (working folder: home)
    serves a run from the site's folder too. None: no single prefix (the working folder
    lies inside ``folder``), so the cache is kept per working folder."""
    relative = os.path.relpath(folder)
    if relative == ".":
        return ""
    if relative == ".." or relative.startswith(".." + os.sep):
        inside = (os.getcwd() + os.sep).startswith(str(folder) + os.sep)
        return None if inside else str(folder) + os.sep
    return relative + os.sep


def shard_of(path: str) -> int:
    return zlib.crc32(path.encode("utf-8", "surrogatepass")) % RECORD_SHARDS


class RecordCache:
    """Parsed records by statement file. :meth:`cached` gives what is still valid;
    :meth:`save` keeps the files of this run's scan, with what was parsed now."""

    def __init__(self, settings: Settings, detector: str) -> None:
        cache = settings.cache_dir if RECORDS_ENABLED else None
        self.folder = None if cache is None else cache / RECORDS_DIR
        prefix = display_prefix(settings.statements_dir)
        self.prefix = prefix or ""
        # The limits too: a file or excerpt within the old ones may be over new ones.
        self.header = ("sfb-feeds-records", CACHE_FORMAT, code_fingerprint(),
                       repr(settings.site), repr(settings.limits),
                       os.getcwd() if prefix is None else "", detector)
        self.shards = [self._read(number) for number in range(RECORD_SHARDS)]
        self.dirty: set[int] = set()

    def _read(self, number: int) -> dict[str, tuple[Any, ...]]:
        if self.folder is not None:
            match read_marshal(self.folder / f"{number:02d}.marshal", self.header):
                case [dict() as entries]:
                    return entries
        return {}  # no cache, or missing, torn or foreign: parsed again

    def cached(self, files: Iterable[StatementFile]) -> dict[str, FileResult]:
        """The results of the ``files`` whose status matches their entry."""
        found: dict[str, FileResult] = {}
        shared: dict[Any, Any] = {}
        for path, *status in files:
            entry = self.shards[shard_of(path)].get(path)
            if entry is not None and list(entry[:4]) == status:
                found[path] = decode_result(entry[4:], self.prefix, shared)
        return found

    def update(self, files: Iterable[StatementFile], parsed: Mapping[str, Encoded | None]
               ) -> None:
        """Keep exactly the scanned ``files``: those ``parsed`` now with their new values
        (None: not to be cached), the others as they were."""
        keep: list[dict[str, tuple[Any, ...]]] = [{} for _ in range(RECORD_SHARDS)]
        for path, *status in files:
            number = shard_of(path)
            if path in parsed:
                values = parsed[path]
                if values is not None and not is_racy(status[1]):  # (mtime)
                    keep[number][path] = (*status, *values)
                self.dirty.add(number)
            elif path in self.shards[number]:
                keep[number][path] = self.shards[number][path]
        self.dirty.update(n for n in range(RECORD_SHARDS) if len(keep[n]) != len(self.shards[n]))
        self.shards = keep

    def save(self) -> None:
        """Write the shards that changed."""
        if self.folder is None:
            return
        for number in sorted(self.dirty):
            write_cache(self.folder / f"{number:02d}.marshal",
                        marshal.dumps((self.header, self.shards[number])))
        self.dirty.clear()
