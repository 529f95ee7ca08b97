"""Statement records as YAML text, and writing them without ever replacing a file."""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from .. import durable
from ..errors import counted
from ..loader import read_regular, scan_statement_files
from ..model import LimitSettings
from ..urls import canonical_uri
from ..validate import RecordContext, validate_record
from ..yamlio import YamlProblem, compose, decode

# write_new's temporary file: ".<name>.<process id>.<8 hex digits>.tmp"
_TEMPORARY = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.[0-9a-f]{8}\.tmp$")


def remove_stale_temporaries(folder: Path) -> None:
    """Remove the temporary files that imports killed while writing (SIGKILL, a power cut)
    left in ``folder``: those whose process has ended. (Hidden, they are no records, but
    they would stay in the statements folder, and in its version control, for ever.)"""
    try:
        names = os.listdir(folder)
    except OSError:  # no folder yet, or one that cannot be read: nothing of ours in it
        return
    for name in names:
        if (found := _TEMPORARY.match(name)) and not _running(int(found["pid"])):
            durable.unlink(str(folder / name))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # (signal 0: only asks whether the process exists)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; a number too large
        pass
    return True


def write_new(path: Path, data: bytes) -> bool:
    """Write ``path`` atomically unless it exists; False (and nothing written) if it does.
    (A hidden temporary file is hard-linked into place: the link fails if the name is taken,
    even by a file that appeared meanwhile, and nobody ever sees half a record.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        durable.write_new(str(temporary), data, durable=True)
        os.link(temporary, path)
    except durable.StageError:  # the temporary file could not be written
        raise
    except FileExistsError:
        return False
    except OSError:  # a filesystem without hard links: check, then rename
        if path.exists():
            return False
        os.replace(temporary, path)
    finally:
        durable.unlink(str(temporary))
    durable.fsync_path(str(path.parent))  # the new name must survive a crash too
    return True


def refusal(text: str, limits: LimitSettings) -> str | None:
    """Why ``sfb-feeds check`` would refuse this record file (``FIELD: message``), or None.
    A missing language is no reason: the import flags it for review, and check detects it."""
    if len(text.encode("utf-8")) > limits.file_bytes:
        return f"the record would be larger than {counted(limits.file_bytes, 'byte')} " \
               "(limits.file_bytes)"
    context = RecordContext(path="", record=1, tz=ZoneInfo("UTC"), domain="localhost",
                            detect=lambda excerpt: "und", excerpt_bytes=limits.excerpt_bytes)
    node = compose(text)  # (dump_record wrote it: it reads back)
    problems = validate_record(node, context).problems if node is not None else []
    if not problems:
        return None
    first = problems[0]
    return f"{first.field}: {first.message}" if first.field else first.message


def title_key(day: str, language: str, title: str) -> tuple[str, str, str]:
    """What makes two records the same statement: day, language, and title compared without
    case, punctuation or spacing ("Egypt's  prisoners!" = "egypts prisoners")."""
    letters = "".join(char for char in unicodedata.normalize("NFKC", title).casefold()
                      if char.isalnum() or char.isspace())
    return day[:10], language.casefold(), " ".join(letters.split())


def published(value: str) -> str:
    """An id or url as feeds publish it, the form in which ``build`` finds two ids the same
    (RFC 3986 normal form: ``HTTPS://Example.org:443/a`` is ``https://example.org/a``); a
    value that is no URI at all as written (``sfb-feeds check`` reports it)."""
    try:
        return canonical_uri(value)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class Held:
    """A record already in the folder: its file and its ``translation_key`` (None if none),
    the line it starts on and its date (``YYYY-MM-DD``)."""

    path: Path
    translation_key: str | None = None
    line: int = 1
    day: str = ""


@dataclass(slots=True)
class ExistingRecords:
    """The records in a folder, by what a new record could repeat -> where they are."""

    ids: dict[str, Held] = field(default_factory=dict)  # the id, or lacking one the url
    urls: dict[str, Held] = field(default_factory=dict)  # (both as published(...))
    titles: dict[tuple[str, str, str], Held] = field(default_factory=dict)  # title_key(...)
    undated: dict[tuple[str, str], Held] = field(default_factory=dict)  # title_key(...)[1:]

    def remember(self, path: Path, values: Mapping[str, object], line: int = 1) -> None:
        """Count one record (its fields as text or dates) as present in ``path`` from
        ``line``."""
        text = {name: str(value).strip() for name, value in values.items()}
        held = Held(path, text.get("translation_key") or None, line,
                    text.get("date", "")[:10])
        if ident := text.get("id") or text.get("url"):
            self.ids.setdefault(published(ident), held)
        if url := text.get("url"):
            self.urls.setdefault(published(url), held)
        if all(text.get(name) for name in ("date", "language", "title")):
            key = title_key(text["date"], text["language"], text["title"])
            self.titles.setdefault(key, held)
            self.undated.setdefault(key[1:], held)

    def holding(self, ident: str) -> Held | None:
        """The record with this id (or url, lacking one), as feeds publish it."""
        return self.ids.get(published(ident))

    def duplicate(self, url: str, day: str, language: str | None, title: str) -> \
            tuple[Held, str] | None:
        """The record holding the same statement under another id, and why it is the same."""
        if (same := self.urls.get(published(url))) is not None:
            return same, "the same url"
        found = self.titles.get(title_key(day, language, title)) if language else None
        return (found, "the same date, language and title") if found else None

    def redated(self, day: str, language: str | None, title: str) -> Held | None:
        """A record with this title and language on another date (the same statement, its
        date corrected on the site, or another one with the same title)."""
        if not language:
            return None
        found = self.undated.get(title_key(day, language, title)[1:])
        return found if found is not None and found.day != day[:10] else None

    def find(self, ident: str, url: str, day: str, language: str | None, title: str) -> \
            Held | None:
        """The record that already holds this statement, under its id or another."""
        found = self.duplicate(url, day, language, title)
        return self.holding(ident) or (found[0] if found else None)


def existing_records(folder: Path) -> ExistingRecords:
    """Every record already in ``folder`` (searched as the loader does); unreadable files
    are passed over (``sfb-feeds check`` reports them)."""
    found = ExistingRecords()
    for path in (Path(name) for name, *_ in scan_statement_files(folder)):  # (none if no folder)
        for line, values in _records_in(path):
            found.remember(path, values, line)
    return found


def _records_in(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The line where each record in one file starts, and its scalar fields; nothing for a
    file that cannot be read."""
    try:
        node = compose(decode(read_regular(path, LimitSettings().file_bytes)))
    except (OSError, YamlProblem):
        return []
    records = node.value if isinstance(node, yaml.SequenceNode) else [node]
    return [(record.start_mark.line + 1,
             {str(key.value): str(value.value) for key, value in record.value
              if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode)})
            for record in records if isinstance(record, yaml.MappingNode)]
