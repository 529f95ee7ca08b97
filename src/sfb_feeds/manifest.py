"""The manifest: which files in the output folder sfb-feeds owns and how it left them;
``WriteReport``: what a run did to them.

``.sfb-feeds-manifest.json`` lists every file the tool wrote, with the hash, size,
modification time and inode it had when written and the *render key* of what produced it
(``incremental.keys``). It is JSON for people to read, and lives beside the files (not in
the cache folder, which is safe to delete): losing it would lose track of which files are
ours. An *intent* file beside it (``writer``) marks an interrupted run. Paths read from
either are checked like output paths: a tampered manifest cannot make the tool delete
anything outside the folder.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from .errors import SfbError
from .model import FileStatus

MANIFEST_NAME = ".sfb-feeds-manifest.json"
INTENT_NAME = f"{MANIFEST_NAME}.intent"  # a run's intent, beside the manifest (writer.py)
MANIFEST_FORMAT = "sfb-feeds-manifest"
MANIFEST_VERSION = 1
RESERVED_PREFIX = ".sfb-feeds"  # manifest, lock file: never an output name
TEMP_SUFFIX = ".sfb-tmp"


class UnsafePath(SfbError, ValueError):  # (SfbError: a planted link is the user's to fix)
    """An output path that would leave the output folder or collide with the tool's own files."""


class Entry(NamedTuple):
    """One owned file as it was left on disk; ``sha256`` is None while not yet known."""

    sha256: str | None
    size: int
    mtime_ns: int
    ino: int
    key: str


UNKNOWN = Entry(None, -1, -1, -1, "")


@dataclass(frozen=True, slots=True)
class Manifest:
    files: Mapping[str, Entry]
    dirs: frozenset[str] = frozenset()
    complete: bool = True
    generation: str = ""  # changes on every write; lets a cache tell manifests apart
    present: bool = True  # False: there was no readable manifest

    def encode(self) -> bytes:
        document = {
            "format": MANIFEST_FORMAT, "version": MANIFEST_VERSION,
            "complete": self.complete, "generation": self.generation,
            "dirs": sorted(self.dirs),
            "files": {path: list(entry) for path, entry in sorted(self.files.items())},
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


ABSENT = Manifest(files={}, present=False)


# Names that need no closer look: no part empty or starting with a dot (so no "." or
# "..", no hidden or reserved name), no backslash or NUL. Checked for every output twice
# a build, so the common case is one regular-expression match.
_PLAIN_PATH = re.compile(r"[\w-][\w.-]*(?:/[\w-][\w.-]*)*\Z", re.ASCII)


def check_path(path: str) -> str:
    """``path`` if it is a plain relative POSIX path inside the folder; else UnsafePath."""
    if _PLAIN_PATH.match(path) and TEMP_SUFFIX not in path:
        return path
    parts = path.split("/")  # (an empty or absolute path has an empty part)
    if "\\" in path or "\x00" in path or any(p in ("", ".", "..") for p in parts):
        raise UnsafePath(f"refusing to write {path!r}: output paths must be relative and "
                         "stay inside the output folder")
    if any(p.startswith(RESERVED_PREFIX) or p.endswith(TEMP_SUFFIX) for p in parts):
        raise UnsafePath(f"refusing to write {path!r}: the name is reserved for sfb-feeds' "
                         "own bookkeeping files")
    return path


def parents(path: str) -> Iterable[str]:
    """Every folder above ``path`` inside the output folder, innermost first."""
    while "/" in path:
        path = path.rpartition("/")[0]
        yield path


def checked_paths(paths: Iterable[str]) -> list[str]:
    """``paths`` checked (each safe, none repeated, none the folder of another)."""
    paths = [check_path(path) for path in paths]
    unique = set(paths)
    if len(unique) != len(paths):
        raise UnsafePath("two outputs share a path; each output needs its own")
    for path in unique:
        clash = next((p for p in parents(path) if p in unique), None)
        if clash is not None:
            raise UnsafePath(f"{clash!r} is both an output file and the folder of {path!r}")
    return paths


def read_manifest(root: Path) -> Manifest:
    """The manifest in ``root`` merged with a killed run's intent (then not ``complete``);
    a missing or unreadable manifest gives an empty, not-``present`` one."""
    manifest = _read_manifest_file(root / MANIFEST_NAME)
    try:
        intent = json.loads((root / INTENT_NAME).read_bytes())
        claimed = [check_path(p) for p in intent["files"]]
        dirs = frozenset(check_path(d) for d in intent["dirs"])
    except FileNotFoundError:
        return manifest
    except (OSError, ValueError, TypeError, KeyError):
        claimed, dirs = [], frozenset()  # torn while being written: it named nothing yet
    files = {**manifest.files, **{p: UNKNOWN for p in claimed if p not in manifest.files}}
    return replace(manifest, files=files, dirs=manifest.dirs | dirs, complete=False)


def _read_manifest_file(path: Path) -> Manifest:
    try:
        document = json.loads(path.read_bytes())
        if document.get("format") != MANIFEST_FORMAT or \
                document.get("version") != MANIFEST_VERSION:
            return ABSENT
        files = {check_path(p): Entry(*values) for p, values in document["files"].items()}
        dirs = frozenset(check_path(d) for d in document["dirs"])
        return Manifest(files=files, dirs=dirs, complete=document["complete"] is True,
                        generation=str(document["generation"]))
    except FileNotFoundError:
        return ABSENT
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        # Unreadable means "we know nothing": nothing is removed, everything is compared
        # byte for byte, and a good manifest is written at the end.
        return Manifest(files={}, complete=False, present=False, generation="corrupt")


def same_status(entry: Entry, st: os.stat_result | None) -> bool:
    return (st is not None and stat.S_ISREG(st.st_mode) and entry.sha256 is not None
            and st.st_size == entry.size and st.st_mtime_ns == entry.mtime_ns
            and st.st_ino == entry.ino)


def lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def manifest_status(output_dir: Path) -> tuple[int, int, int] | None:
    """The manifest file's size, mtime (ns) and inode; None if there is none or a run was
    interrupted. It is only ever replaced whole (new inode): the same status, the same
    manifest, known without reading it."""
    root = os.path.abspath(output_dir)
    if os.path.lexists(f"{root}/{INTENT_NAME}"):
        return None
    st = lstat(f"{root}/{MANIFEST_NAME}")
    return None if st is None else (st.st_size, st.st_mtime_ns, st.st_ino)


def files_intact(output_dir: Path, files: Iterable[FileStatus]) -> bool:
    """Whether every file still has the given status (reads no file contents)."""
    root = os.path.abspath(output_dir)
    for path, size, mtime_ns, ino in files:
        st = lstat(f"{root}/{path}")
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size != size \
                or st.st_mtime_ns != mtime_ns or st.st_ino != ino:
            return False
    return True


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What a run did: paths written (sorted), how many were already right, paths removed."""

    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    notes: tuple[str, ...] = ()  # things --verbose should explain (e.g. a manifest ignored)
    owned: tuple[FileStatus, ...] = field(default=(), compare=False)  # as left on disk
    warnings: tuple[str, ...] = ()  # to show even under --quiet (e.g. a WebSub hub down)
    reminders: tuple[str, ...] = ()  # warnings an earlier run gave: not under --quiet

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def summary(self) -> str:
        return (f"{len(self.written)} written, {self.unchanged} unchanged, "
                f"{len(self.removed)} removed")
