"""The only writer of the public output folder: atomic, only what changed, only its own files.

A web server reads the folder while a build runs and cron may kill a build at any moment,
so every file is replaced by ``rename`` from a complete temporary file beside it: a reader
sees the whole old file or the whole new one. Files not listed in the manifest (see
``manifest``) are never touched; an output whose render key and file status are unchanged
is neither rendered nor read.

Crash ordering. Before the first temporary file appears, an *intent* file beside the
manifest lists every path this run may create and the folders it is about to create. Then
the temporary files are written and fsynced, then the new manifest beside the old one
(everything that takes space, before any rename: a full disk leaves the folder as it was),
the files renamed into place, stale files removed, the new manifest renamed over the old and
the intent deleted. Killed at any point, every file is whole (old
or new) and manifest + intent claim every file the tool may have created: the next run
sees the intent, checks files by their bytes instead of their recorded status, and sweeps
leftover temporary files. A run that fails before renaming anything removes its temporary
files and intent: the folder is as it was. Callers hold :func:`sfb_feeds.lock.hold`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .durable import (
    StageError,
    Stager,
    fsync_path,
    make_durable,
    replace_file,
    same_bytes,
    stage_file,
    temp_name,
    unlink,
)
from .errors import SfbError, counted, display_path
from .manifest import (
    INTENT_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    UNKNOWN,
    Entry,
    Manifest,
    UnsafePath,
    WriteReport,
    checked_paths,
    lstat,
    parents,
    read_manifest,
    same_status,
)
from .model import Output


class WriteError(SfbError):
    """The output folder cannot be written (permissions, a folder where a file should be...)."""


class ForeignFiles(WriteError):
    """A first build would replace files the tool did not write (``--adopt``: take them)."""

    def __init__(self, root: Path, paths: Sequence[str]) -> None:
        self.paths = tuple(paths)
        self.shown = tuple(display_path(root / path) for path in paths)
        super().__init__(f"{display_path(root)} already holds {counted(len(paths), 'file')} at "
                         "output paths that sfb-feeds did not write; move them away, or run "
                         "`build --adopt` to let it replace them")

    def details(self) -> list[str]:
        return [f"  not sfb-feeds': {shown}" for shown in self.shown]


def _fail(action: str, full: str, exc: OSError) -> WriteError:
    """``full`` (the whole path) named from the working folder, as every message does."""
    return WriteError(f"{display_path(full)}: cannot {action}: {exc.strerror or exc}")


@dataclass(slots=True)
class _Staging:
    """One write_outputs call while it stages files; see the module docstring."""

    root: Path
    old: Manifest
    planned: frozenset[str]
    stager: Stager  # writes (and flushes, if durable) staged files on threads
    real_root: str = ""
    new: dict[str, Entry] = field(default_factory=dict)
    staged: list[tuple[str, str, Entry]] = field(default_factory=list)  # path, temp, entry
    created: list[str] = field(default_factory=list)
    safe_dirs: set[str] = field(default_factory=set)
    checked: dict[str, bool] = field(default_factory=dict)
    intended_dirs: set[str] = field(default_factory=set)
    intent_written: bool = False
    renaming: bool = False
    foreign: list[str] | None = None  # a first write's files in the way; None: adopt them

    def full(self, path: str) -> str:
        return f"{self.root}/{path}"

    def consider(self, output: Output) -> None:
        """Stage ``output`` unless its file already holds its bytes."""
        path, data, key = output.path, output.data, output.key
        entry = self.old.files.get(path)
        st = self._status(path)
        digest = hashlib.sha256(data).hexdigest()
        if entry is not None and entry.sha256 == digest and same_status(entry, st):
            self.new[path] = entry._replace(key=key)
        elif st is not None and stat.S_ISREG(st.st_mode) and st.st_size == len(data) \
                and same_bytes(self.full(path), data):
            self.new[path] = Entry(digest, st.st_size, st.st_mtime_ns, st.st_ino, key)
        elif self.foreign is not None and st is not None:
            self.foreign.append(path)
        else:
            self._stage(path, data, Entry(digest, len(data), -1, -1, key), st)

    def _status(self, path: str) -> os.stat_result | None:
        # (nothing yet in a folder this run creates: cold 10,000 0.91 x the time, 8 pairs)
        return None if path.rpartition("/")[0] in self.intended_dirs else lstat(self.full(path))

    def _stage(self, path: str, data: bytes, entry: Entry, st: os.stat_result | None) -> None:
        if st is not None and stat.S_ISDIR(st.st_mode):  # (else its rename fails, late)
            raise WriteError(f"{display_path(self.full(path))}: is a folder where an output "
                             "file goes; move it away (sfb-feeds never removes what it did "
                             "not write)")
        if not self.intent_written:
            self._write_intent()
        self._ensure_parent(path)
        temp = temp_name(self.full(path))
        # A file replaced keeps the permissions it had (an operator's chmod), set-id bits aside.
        kept = st.st_mode & 0o777 if st is not None and stat.S_ISREG(st.st_mode) else None
        self.stager.add(temp, data, kept)
        self.staged.append((path, temp, entry))

    def _write_intent(self) -> None:
        claimed = sorted(self.planned - self.old.files.keys())
        wanted = {d for p in self.planned for d in parents(p)}
        self.intended_dirs = {d for d in wanted if not os.path.isdir(self.full(d))}
        dirs = sorted(self.intended_dirs | self.old.dirs)
        document = {"format": MANIFEST_FORMAT, "files": claimed, "dirs": dirs}
        self._replace_file(INTENT_NAME,
                           json.dumps(document, ensure_ascii=False).encode("utf-8"))
        self.intent_written = True

    def _ensure_parent(self, path: str) -> None:
        if path.rpartition("/")[0] in self.safe_dirs:
            return
        for folder in reversed(list(parents(path))):
            if folder not in self.safe_dirs:
                self._make_dir(folder)
                self.safe_dirs.add(folder)

    def _make_dir(self, folder: str) -> None:
        full = self.full(folder)
        st = lstat(full)
        if st is not None and not stat.S_ISDIR(st.st_mode) and folder in self.old.files \
                and folder not in self.planned:
            unlink(full)  # an output of ours that is now a folder of outputs
            st = None
        if st is None:
            try:
                os.mkdir(full)
                self.created.append(folder)
            except OSError as exc:
                raise _fail("create folder", full, exc) from exc
        elif not stat.S_ISDIR(st.st_mode) and not os.path.isdir(full):  # (a link to one is)
            raise WriteError(f"{display_path(full)}: is not a folder, and a folder of outputs "
                             "goes there; move it away (sfb-feeds never removes what it did "
                             "not write)")
        if not self._inside(full):
            raise UnsafePath(f"{display_path(full)}: is a link that leads outside the output "
                             f"folder (to {display_path(os.path.realpath(full))}); remove it "
                             "(sfb-feeds writes nothing through it)")

    def _inside(self, folder: str) -> bool:
        """Whether ``folder`` (absolute) really lies in the output folder, links resolved
        (each folder once: realpath costs ~23 µs, and stale files share few folders)."""
        if folder == str(self.root):
            return True
        if folder not in self.checked:
            real = os.path.realpath(folder)
            self.checked[folder] = real.startswith(self.real_root + os.sep)
        return self.checked[folder]

    def _replace_file(self, name: str, data: bytes) -> None:
        try:
            replace_file(self.full(name), data, durable=self.stager.durable)
        except OSError as exc:
            raise _fail("write", self.full(name), exc) from exc


@dataclass(slots=True)
class _Job(_Staging):
    """One write_outputs call: staging, then committing (or undoing) what was staged."""

    def commit(self) -> tuple[list[str], list[str]]:
        """Make the staged files visible, remove stale ones; returns (written, removed).
        Everything that takes space (the staged files, then the new manifest) is written
        before the first file is replaced: a full disk stops the run with the folder as
        it was. (A rename keeps the staged file's status, which the manifest records.)"""
        written = self.stager.wait()  # bytes on disk first
        for path, temp, entry in self.staged:
            st = written[temp]
            self.new[path] = entry._replace(size=st.st_size, mtime_ns=st.st_mtime_ns,
                                            ino=st.st_ino)
        dirs = self._dirs_kept()
        manifest = self._stage_manifest(dirs) if self._manifest_differs(dirs) else None
        touched = self._replace_staged()
        removed = self._remove_stale(touched)
        if not self.old.complete:  # a killed run's temporary files sit next to listed paths
            for path in set(self.old.files) | set(self.new):
                unlink(temp_name(self.full(path)))
        self._settle_dirs(touched, dirs)
        if self.stager.durable:
            make_durable(touched)
        if manifest is not None:
            self._rename(manifest, MANIFEST_NAME)
        if self.intent_written or not self.old.complete:
            unlink(self.full(INTENT_NAME))
        return sorted(p for p, *_ in self.staged), removed

    def _replace_staged(self) -> set[str]:
        """Rename every staged file over its path; the folders that changed."""
        touched: set[str] = set()
        for path, temp, _ in self.staged:
            full = self.full(path)
            try:
                os.replace(temp, full)
            except OSError as exc:
                raise _fail("replace", full, exc) from exc
            self.renaming = True  # (from the first file replaced, abort undoes nothing)
            touched.add(os.path.dirname(full))
        return touched

    def _stage_manifest(self, dirs: frozenset[str]) -> str:
        """The new manifest, written and flushed beside the old one; its temporary file."""
        final = Manifest(files=self.new, dirs=dirs, generation=uuid.uuid4().hex)
        full = self.full(MANIFEST_NAME)
        try:
            return stage_file(full, final.encode(), durable=self.stager.durable)
        except StageError as exc:
            raise _fail(exc.action, full, exc) from exc

    def _rename(self, temp: str, name: str) -> None:
        full = self.full(name)
        try:
            os.replace(temp, full)
        except OSError as exc:
            raise _fail("replace", full, exc) from exc
        if self.stager.durable:
            fsync_path(str(self.root))

    def _remove_stale(self, touched: set[str]) -> list[str]:
        removed: list[str] = []
        for path in sorted(set(self.old.files) - set(self.new)):
            full = self.full(path)
            if not self._inside(os.path.dirname(full)):
                continue  # its folder became a link to elsewhere: never delete through it
            unlink(temp_name(full))
            st = lstat(full)
            if st is None or stat.S_ISDIR(st.st_mode):
                continue  # already gone, or someone put a folder there: not ours
            if unlink(full):
                removed.append(path)
                touched.add(os.path.dirname(full))
        return removed

    def _dirs_kept(self) -> frozenset[str]:
        """The folders the tool created that outputs still need (the manifest's)."""
        needed = {d for p in self.new for d in parents(p)}
        return frozenset((set(self.old.dirs) | set(self.created)) & needed)

    def _settle_dirs(self, touched: set[str], kept: frozenset[str]) -> None:
        """Remove folders the tool created that no output needs any more (not ``kept``:
        :meth:`_dirs_kept`), if they are empty."""
        owned = set(self.old.dirs) | set(self.created)
        for folder in sorted(owned - kept, key=lambda d: d.count("/"), reverse=True):
            try:
                os.rmdir(self.full(folder))
            except OSError:
                continue  # not empty (someone else's files) or already gone
            touched.discard(self.full(folder))
            touched.add(os.path.dirname(self.full(folder)))

    def _manifest_differs(self, dirs: frozenset[str]) -> bool:
        return (not self.old.present or not self.old.complete or self.intent_written
                or self.old.dirs != dirs or self.old.files != self.new)

    def abort(self) -> None:
        """Undo a run that failed before any file was replaced; the folder is as before.

        Once renaming began, some files are new: the incomplete manifest tells the next run.
        Before, the new manifest goes if it was staged. Without an intent, nothing else was
        staged. Else every planned path's temporary file goes
        (one may be half written), and every folder this run may have created, if empty; if
        undoing fails too, the incomplete manifest stays and the next run cleans up."""
        if self.renaming:
            return
        with contextlib.suppress(OSError):
            unlink(temp_name(self.full(MANIFEST_NAME)))  # (staged, if the run got that far)
        if not self.intent_written:
            return
        with contextlib.suppress(OSError):
            for path in self.planned:
                unlink(temp_name(self.full(path)))
            folders = set(self.created) | self.intended_dirs
            for folder in sorted(folders, key=lambda d: d.count("/"), reverse=True):
                with contextlib.suppress(OSError):
                    os.rmdir(self.full(folder))
            if self.old.complete:  # (else it names what an earlier crash may have left)
                unlink(self.full(INTENT_NAME))


def write_outputs(output_dir: Path, outputs: Iterable[Output], *,
                  paths: Sequence[str] | None = None, kept: Mapping[str, str] | None = None,
                  durable: bool = True, adopt: bool = False, old: Manifest | None = None,
                  before_commit: Callable[[list[str]], None] | None = None) -> WriteReport:
    """Bring ``output_dir`` to exactly ``outputs`` and ``kept`` (and files not the tool's).

    Only files whose bytes differ are written (the others keep their modification time);
    ``kept`` files (path: render key) stay as the last run left them, unread; other files
    the last manifest lists are removed. ``outputs`` may be a stream (being rendered),
    named beforehand by ``paths``; if it or the writing fails before a file is replaced,
    the folder is left as it was. ``durable=False`` skips fsync (tests, throwaway folders).
    A first write (no manifest) raises ForeignFiles if other bytes sit at output paths,
    unless ``adopt``. ``old``: the manifest, if the caller read it under the same lock.
    ``before_commit`` sees the paths about to be written, once all are staged, before the
    first is replaced (what must outlive a crash after that: the WebSub pending list)."""
    if paths is None:
        outputs = list(outputs)
        paths = [output.path for output in outputs]
    kept = kept or {}
    planned = frozenset(checked_paths([*paths, *kept]))
    root = Path(os.path.abspath(output_dir))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail("create folder", str(root), exc) from exc
    old = read_manifest(root) if old is None else old
    first = not old.present and old.complete  # (an interrupted or unreadable one: ours)
    job = _Job(root=root, old=old, planned=planned, stager=Stager(durable),
               real_root=os.path.realpath(root), foreign=[] if first and not adopt else None)
    written, removed = _run(job, outputs, kept, before_commit)
    owned = tuple((path, e.size, e.mtime_ns, e.ino) for path, e in job.new.items())
    unchanged = len(job.new) - len(written)  # (staged files are in job.new once committed)
    return WriteReport(tuple(written), unchanged, tuple(removed), _notes(old), owned)


def _run(job: _Job, outputs: Iterable[Output], kept: Mapping[str, str],
         before_commit: Callable[[list[str]], None] | None = None
         ) -> tuple[list[str], list[str]]:
    """Stage every output and commit them all, or leave the folder as it was."""
    try:
        for path, key in kept.items():  # as the last run left them, now under ``key``
            job.new[path] = job.old.files.get(path, UNKNOWN)._replace(key=key)
        for output in outputs:
            job.consider(output)
        _check_delivered(job)
        if job.foreign:
            raise ForeignFiles(job.root, job.foreign)
        if before_commit is not None:
            before_commit(sorted(p for p, *_ in job.staged))
        return job.commit()
    except BaseException as exc:
        job.stager.close()
        job.abort()
        if isinstance(exc, StageError):  # a staged file's (named by its path) or a folder's
            path = next((job.full(p) for p, temp, _ in job.staged if temp == exc.filename),
                        exc.filename)
            raise _fail(exc.action, path, exc) from exc
        raise


def _check_delivered(job: _Job) -> None:
    """Paths named beforehand that the stream never brought (a fault upstream) stop it."""
    missing = job.planned - {*job.new, *(p for p, *_ in job.staged), *(job.foreign or ())}
    if missing:
        raise RuntimeError(f"{counted(len(missing), 'planned output')} never came, {min(missing)} "
                           "among them: nothing was written")


def _notes(old: Manifest) -> tuple[str, ...]:
    if old.generation == "corrupt":
        return ("the manifest was unreadable; compared every file by its bytes",)
    if not old.present:
        return ("no manifest yet; compared existing files by their bytes",)
    if not old.complete:
        return ("the previous run was interrupted; checked files by their bytes and "
                "removed its temporary files",)
    return ()
