"""The only writer of the public output folder: atomic, only what changed, only its own files.

A web server reads the output folder while a build runs, and cron may kill a build at
any moment, so every file is replaced by ``rename`` from a complete temporary file next
to it: a reader sees the whole old file or the whole new one, never a mix.

What the tool owns is listed in a manifest (see ``manifest``); files not listed there are
never touched. The manifest also makes a no-op run cheap: an output whose render key and
file status are unchanged is neither rendered nor read.

Crash ordering. Before the first temporary file appears, an *intent* file is written next
to the manifest; it lists every path this run may create and the folders it is about to
create. Then all temporary files are written and flushed to disk, renamed into place, stale
files removed, the new manifest written, and the intent file deleted. A crash at any point
leaves each file whole (old or new), and leaves manifest + intent claiming every file the
tool may have created; the next run sees the intent, checks files by their bytes instead
of trusting recorded status, and sweeps leftover temporary files. A run that fails before
renaming anything removes its temporary files and intent: the folder is as it was.

Callers must hold :func:`sfb_feeds.lock.hold` on the folder while writing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import stat
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import parallel
from .errors import SfbError
from .manifest import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    TEMP_SUFFIX,
    Entry,
    FileStatus,
    Manifest,
    UnsafePath,
    check_path,
    intent_name,
    lstat,
    read_manifest,
    same_status,
)
from .model import Output

# Above this many new files one sync() of the whole system beats an fsync() per file
# (measured on ext4: ~350 µs per fsync against ~20 ms for one sync of 2,000 files).
SYNC_ALL_THRESHOLD = 16

Progress = Callable[[int, int], None]


class WriteError(SfbError):
    """The output folder cannot be written (permissions, a folder where a file should be...)."""


@dataclass(frozen=True, slots=True)
class Deferred:
    """An output rendered only when its file has to be (re)written.

    ``key`` names everything the bytes depend on (see ``pipeline.plan_site``): the same key
    must always render the same bytes. It may be given as a function that works it out,
    which is then called where (and only if) the key is needed: in a first build, by the
    process that renders the output. ``render`` is called at most once.
    """

    path: str
    key: str | Callable[[], str]
    render: Callable[[], bytes]
    kind: str = ""  # the format's name: outputs of one kind share caches and warm-up costs
    weight: int = 1  # how much of the site it shows (its statements): spreads the work

    def render_key(self) -> str:
        return self.key if isinstance(self.key, str) else self.key()


Writable = Output | Deferred


@dataclass(frozen=True, slots=True)
class WriteReport:
    """What a run did: paths written, how many were already right, paths removed."""

    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    notes: tuple[str, ...] = ()  # things --verbose should explain (e.g. a manifest ignored)
    owned: tuple[FileStatus, ...] = field(default=(), compare=False)  # as left on disk

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def summary(self) -> str:
        return (f"{len(self.written)} written, {self.unchanged} unchanged, "
                f"{len(self.removed)} removed")


def _parents(path: str) -> Iterable[str]:
    """Every folder above ``path`` inside the output folder, innermost first."""
    while "/" in path:
        path = path.rpartition("/")[0]
        yield path


def _checked_paths(outputs: Sequence[Writable]) -> list[str]:
    paths = [check_path(output.path) for output in outputs]
    unique = set(paths)
    if len(unique) != len(paths):
        raise UnsafePath("two outputs share a path; each output needs its own")
    for path in unique:
        clash = next((p for p in _parents(path) if p in unique), None)
        if clash is not None:
            raise UnsafePath(f"{clash!r} is both an output file and the folder of {path!r}")
    return paths


def _same_bytes(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(data) + 1) == data
    except OSError:
        return False


def _fsync_path(path: str, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_durable(paths: Collection[str]) -> None:
    """Make the files (their bytes) or folders (the renames in them) ``paths`` durable: an
    fsync() each, or for many of them one sync() (measured on this VM's ext4: 32 folders
    ~60 ms one by one, ~10 ms at once)."""
    if len(paths) > SYNC_ALL_THRESHOLD:
        os.sync()
        return
    for path in sorted(paths):
        _fsync_path(path)


def _write_new(path: str, data: bytes) -> os.stat_result:
    """Create ``path`` (mode 0666 less the umask, as any new file) holding ``data``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        return os.fstat(fd)
    finally:
        os.close(fd)


def _unlink(path: str) -> bool:
    try:
        os.unlink(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def temp_name(full: str) -> str:
    """The temporary file next to ``full`` that is renamed over it."""
    head, _, tail = full.rpartition("/")
    return f"{head}/.{tail}{TEMP_SUFFIX}"


def _fail(action: str, path: str, exc: OSError) -> WriteError:
    return WriteError(f"{path}: cannot {action}: {exc.strerror or exc}")


@dataclass(slots=True)
class _Staged:
    path: str
    temp: str
    entry: Entry


@dataclass(slots=True)
class _Part:
    """What rendering some outputs gave: entries kept, files staged, folders created."""

    new: dict[str, Entry]
    staged: list[_Staged]
    created: list[str]
    unchanged: int


@dataclass(slots=True)
class _Job:
    """The state of one write_outputs call; see the module docstring for the order."""

    root: Path
    old: Manifest
    manifest_name: str
    durable: bool
    planned: list[str]
    real_root: str = ""
    planned_set: frozenset[str] = frozenset()
    new: dict[str, Entry] = field(default_factory=dict)
    staged: list[_Staged] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    safe_dirs: set[str] = field(default_factory=set)
    checked: dict[str, bool] = field(default_factory=dict)
    unchanged: int = 0
    intended_dirs: set[str] = field(default_factory=set)
    intent_written: bool = False
    renaming: bool = False

    def full(self, path: str) -> str:
        return f"{self.root}/{path}"

    def reuse(self, output: Writable) -> bool:
        """Keep ``output``'s file without rendering if its key and status are unchanged."""
        if not isinstance(output, Deferred):
            return False
        entry = self.old.files.get(output.path)
        if entry is None or entry.key != output.render_key():
            return False
        if not same_status(entry, lstat(self.full(output.path))):
            return False
        self._keep(output.path, entry)
        return True

    def consider_part(self, outputs: Sequence[Writable]) -> _Part:
        """Render, compare and stage ``outputs`` (in a worker process, or here)."""
        sub = dataclasses.replace(self, new={}, staged=[], created=[], unchanged=0,
                                  checked=dict(self.checked), safe_dirs=set(self.safe_dirs))
        for output in outputs:
            sub.consider(output)
            parallel.tick()  # (a helper that ended is replaced now, not after this part)
        return _Part(sub.new, sub.staged, sub.created, sub.unchanged)

    def merge(self, part: _Part) -> None:
        self.new.update(part.new)
        self.staged.extend(part.staged)
        self.created.extend(part.created)
        self.unchanged += part.unchanged

    def prepare_for_workers(self) -> None:
        if not self.intent_written:
            self._write_intent()  # here: workers must find it written

    def consider(self, output: Writable) -> None:
        path = output.path
        full = self.full(path)
        entry = self.old.files.get(path)
        st = lstat(full)
        if isinstance(output, Deferred):
            key = output.render_key()
            if entry is not None and entry.key == key and same_status(entry, st):
                self._keep(path, entry)
                return
            data = output.render()
        else:
            data, key = output.data, ""
        digest = hashlib.sha256(data).hexdigest()
        if entry is not None and entry.sha256 == digest and same_status(entry, st):
            self._keep(path, entry._replace(key=key))
        elif st is not None and stat.S_ISREG(st.st_mode) and st.st_size == len(data) \
                and _same_bytes(full, data):
            self._keep(path, Entry(digest, st.st_size, st.st_mtime_ns, st.st_ino, key))
        else:
            self._stage(path, data, Entry(digest, len(data), -1, -1, key))

    def _keep(self, path: str, entry: Entry) -> None:
        self.new[path] = entry
        self.unchanged += 1

    def _stage(self, path: str, data: bytes, entry: Entry) -> None:
        if not self.intent_written:
            self._write_intent()
        self._ensure_parent(path)
        full = self.full(path)
        temp = temp_name(full)
        _unlink(temp)  # a leftover of a killed run; recreated below with fresh permissions
        try:
            st = _write_new(temp, data)
        except OSError as exc:
            raise _fail("write", path, exc) from exc
        self.staged.append(_Staged(path, temp, entry._replace(
            size=st.st_size, mtime_ns=st.st_mtime_ns, ino=st.st_ino)))

    def _missing_dirs(self) -> set[str]:
        wanted = {d for p in self.planned for d in _parents(p)}
        return {d for d in wanted if not os.path.isdir(self.full(d))}

    def _write_intent(self) -> None:
        claimed = sorted(set(self.planned) - set(self.old.files))
        self.intended_dirs = self._missing_dirs()
        dirs = sorted(self.intended_dirs | self.old.dirs)
        document = {"format": MANIFEST_FORMAT, "files": claimed, "dirs": dirs}
        self._replace_file(intent_name(self.manifest_name),
                           json.dumps(document, ensure_ascii=False).encode("utf-8"))
        self.intent_written = True

    def _ensure_parent(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        if not parent or parent in self.safe_dirs:
            return
        for folder in reversed(list(_parents(path))):
            if folder in self.safe_dirs:
                continue
            self._make_dir(folder)
            self.safe_dirs.add(folder)

    def _make_dir(self, folder: str) -> None:
        full = self.full(folder)
        st = lstat(full)
        if st is not None and not stat.S_ISDIR(st.st_mode) and folder in self.old.files \
                and folder not in self.planned_set:
            _unlink(full)  # an output of ours that is now a folder of outputs
            st = None
        if st is None:
            try:
                os.mkdir(full)
                self.created.append(folder)
            except FileExistsError:
                pass  # another worker was quicker
            except OSError as exc:
                raise _fail("create folder", folder, exc) from exc
        if not self._inside(full):
            raise UnsafePath(f"refusing to write into {folder!r}: it leads outside the output "
                             f"folder (to {os.path.realpath(full)})")

    def _inside(self, folder: str) -> bool:
        """Whether ``folder`` (absolute) really lies in the output folder, links resolved."""
        if folder == str(self.root):
            return True
        if folder not in self.checked:
            real = os.path.realpath(folder)
            self.checked[folder] = real.startswith(self.real_root + os.sep)
        return self.checked[folder]

    def commit(self) -> tuple[list[str], list[str]]:
        """Make the staged files visible, remove stale ones; returns (written, removed)."""
        self._flush_staged()
        self.renaming = True
        touched: set[str] = set()
        for item in self.staged:
            full = self.full(item.path)
            try:
                os.replace(item.temp, full)
            except OSError as exc:
                raise _fail("replace", item.path, exc) from exc
            self.new[item.path] = item.entry
            touched.add(os.path.dirname(full))
        removed = self._remove_stale(touched)
        if not self.old.complete:
            self._sweep_temps()
        dirs = self._settle_dirs(touched)
        if self.durable:
            _make_durable(touched)
        final = Manifest(files=self.new, dirs=dirs, complete=True, generation="")
        if self._manifest_differs(final):
            final = Manifest(files=self.new, dirs=dirs, generation=uuid.uuid4().hex)
            self._replace_file(self.manifest_name, final.encode())
        if self.intent_written or not self.old.complete:
            _unlink(self.full(intent_name(self.manifest_name)))
        return [item.path for item in self.staged], removed

    def _flush_staged(self) -> None:
        if self.durable and self.staged:
            _make_durable([item.temp for item in self.staged])

    def _remove_stale(self, touched: set[str]) -> list[str]:
        removed: list[str] = []
        for path in sorted(set(self.old.files) - set(self.new)):
            full = self.full(path)
            if not self._inside(os.path.dirname(full)):
                continue  # its folder became a link to elsewhere: never delete through it
            _unlink(temp_name(full))
            st = lstat(full)
            if st is None or stat.S_ISDIR(st.st_mode):
                continue  # already gone, or someone put a folder there: not ours
            if _unlink(full):
                removed.append(path)
                touched.add(os.path.dirname(full))
        return removed

    def _sweep_temps(self) -> None:
        # After a killed run: its temporary files sit next to paths the manifest lists.
        for path in set(self.old.files) | set(self.new):
            _unlink(temp_name(self.full(path)))

    def _settle_dirs(self, touched: set[str]) -> frozenset[str]:
        """Remove folders the tool created that no output needs any more (only if empty)."""
        needed = {d for p in self.new for d in _parents(p)}
        owned = set(self.old.dirs) | set(self.created)
        for folder in sorted(owned - needed, key=lambda d: d.count("/"), reverse=True):
            try:
                os.rmdir(self.full(folder))
            except OSError:
                continue  # not empty (someone else's files) or already gone
            touched.discard(self.full(folder))
            touched.add(os.path.dirname(self.full(folder)))
        return frozenset(owned & needed)

    def _manifest_differs(self, final: Manifest) -> bool:
        return (not self.old.present or not self.old.complete or self.intent_written
                or self.old.dirs != final.dirs or self.old.files != final.files)

    def _replace_file(self, name: str, data: bytes) -> None:
        full = self.full(name)
        temp = temp_name(full)
        _unlink(temp)
        try:
            _write_new(temp, data)
            if self.durable:
                _fsync_path(temp)
            os.replace(temp, full)
            if self.durable:
                _fsync_path(str(self.root))
        except OSError as exc:
            raise _fail("write", name, exc) from exc

    def abort(self) -> None:
        """Undo a run that failed before any file was replaced; the folder is as before."""
        if self.renaming:
            return  # some files are new already: the incomplete manifest tells the next run
        # If undoing fails too, the incomplete manifest stays and the next run cleans up.
        with contextlib.suppress(OSError, WriteError):
            self._undo()

    def _undo(self) -> None:
        if not self.intent_written:
            return  # nothing was staged: temporary files come after the intent
        # Workers may have staged files this process never heard of: every planned path's
        # temporary file goes, and every folder this run may have created, if empty.
        for path in self.planned:
            _unlink(temp_name(self.full(path)))
        folders = set(self.created) | self.intended_dirs
        for folder in sorted(folders, key=lambda d: d.count("/"), reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(self.full(folder))
        if self.intent_written and self.old.complete:
            # (after an earlier crash, the intent written now still names what that run
            # may have left behind, so it stays)
            _unlink(self.full(intent_name(self.manifest_name)))


def _prepare_root(output_dir: Path) -> Path:
    root = Path(os.path.abspath(output_dir))
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail("create folder", str(output_dir), exc) from exc
    return root


def write_outputs(
    output_dir: Path,
    outputs: Sequence[Writable],
    *,
    manifest_name: str = MANIFEST_NAME,
    progress: Progress | None = None,
    durable: bool = True,
    workers: int = 1,
) -> WriteReport:
    """Bring ``output_dir`` to exactly ``outputs`` (plus any files the tool does not own).

    Only files whose bytes differ are written; unchanged files keep their bytes and
    modification time. Files listed in the previous manifest but not produced now are
    removed. ``progress(done, total)`` is called after each output. ``durable=False``
    skips fsync (tests, throwaway folders). With ``workers`` > 1, outputs that must be
    rendered are rendered in that many forked processes (see ``parallel``). If rendering or
    writing fails before any file was replaced, the folder is left as it was.
    """
    planned = _checked_paths(outputs)
    if manifest_name in planned:
        raise UnsafePath(f"{manifest_name!r} is the manifest's name, not an output's")
    root = _prepare_root(output_dir)
    old = read_manifest(root, manifest_name)
    job = _Job(root=root, old=old, manifest_name=manifest_name, durable=durable,
               planned=planned, real_root=os.path.realpath(root),
               planned_set=frozenset(planned))
    try:
        _render_and_stage(job, outputs, progress or _no_progress, workers)
        written, removed = job.commit()
    except BaseException:
        job.abort()
        raise
    owned = tuple((path, e.size, e.mtime_ns, e.ino) for path, e in job.new.items())
    return WriteReport(tuple(written), job.unchanged, tuple(removed), _notes(old), owned)


PARALLEL_MIN = 64  # fewer outputs to render than this: forking costs more than it saves
# An output showing more than 1/(workers * HEAVY_PARTS) of all the statements shown is
# rendered here rather than in a worker (see ``_here_first``).
HEAVY_PARTS = 16
RENDER_PARTS = 16  # parts per worker: small enough that the workers finish together


def _no_progress(done: int, total: int) -> None:
    pass


def _render_and_stage(job: _Job, outputs: Sequence[Writable], progress: Progress,
                      workers: int) -> None:
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        progress(done, len(outputs))

    pending: list[Writable] = []
    for output in outputs:
        if job.reuse(output):
            step(1)
        else:
            pending.append(output)
    with _writeback_meanwhile(job.durable and len(pending) >= WRITEBACK_MIN):
        _render_pending(job, pending, step, workers)


# Rendering this many outputs or more, staged files are handed to the disk as they come
# (see _writeback_meanwhile), every WRITEBACK_EVERY seconds.
WRITEBACK_MIN = 256
WRITEBACK_EVERY = 0.5


@contextlib.contextmanager
def _writeback_meanwhile(enabled: bool) -> Iterator[None]:
    """While many outputs render, a thread asks the kernel to write out what is staged so
    far (``sync()``, which waits for the disk without using this process's CPU), so the
    sync that must come before the files are renamed into place finds little left.
    Measured at 100,000 statements (1.3 GB staged): that sync took 0.7 s, with both cores
    idle; with this, ~10 ms."""
    if not enabled:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=_sync_until, args=(stop,), name="sfb-feeds writeback",
                              daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _sync_until(stop: threading.Event) -> None:
    while not stop.wait(WRITEBACK_EVERY):
        os.sync()


def _render_pending(job: _Job, pending: list[Writable], step: Callable[[int], None],
                    workers: int) -> None:
    if workers > 1 and len(pending) >= PARALLEL_MIN:
        job.prepare_for_workers()
        for output in _here_first(pending, workers):
            job.consider(output)
            step(1)
        # Outputs that show many statements are rendered here: in a helper, touching
        # them would copy the pages they live on. The rest go in parts of about equal
        # weight (statements shown) to whichever process is free; a helper makes way for
        # a fresh fork when the memory budget says so.
        pending.sort(key=lambda o: not _shows_many(o))  # (a stable sort: order kept)
        own = sum(1 for o in pending if _shows_many(o))
        weights = [o.weight if isinstance(o, Deferred) else 1 for o in pending]
        per_worker, per_fork, helper_mb = parallel.plan_parts(len(pending) - own, workers,
                                                              RENDER_PARTS)
        for count, part in parallel.run(job.consider_part, pending, workers,
                                        per_worker=per_worker, weights=weights,
                                        per_fork=per_fork, own=own, helper_mb=helper_mb):
            job.merge(part)
            step(count)
        return
    for output in pending:
        job.consider(output)
        step(1)


# An output showing this many statements or more is rendered in this process (a feed
# shows 50; a weekly digest a few).
SHOWS_MANY = 32


def _shows_many(output: Writable) -> bool:
    return isinstance(output, Deferred) and output.weight >= SHOWS_MANY


def _here_first(pending: list[Writable], workers: int) -> list[Writable]:
    """Take out of ``pending`` what is better rendered in this process, before forking.

    That is one output of each kind, so that whatever a renderer builds on its first call
    (compiled templates, a CSS inliner's rules) is inherited by every worker instead of
    being built in each; and every output that shows a large part of the site (a whole
    language's or the whole site's statements). Such a render touches most of the
    statements, and in a forked worker each object it touches is copied (reference
    counts live in the objects' pages), so two of them at once could double the memory.
    """
    weights = [o.weight if isinstance(o, Deferred) else 1 for o in pending]
    heavy = sum(weights) / (workers * HEAVY_PARTS)
    seen: set[str] = set()
    here: list[int] = []
    for index, output in enumerate(pending):
        if isinstance(output, Deferred) and (output.kind not in seen or output.weight > heavy):
            seen.add(output.kind)
            here.append(index)
    taken = [pending[index] for index in here]
    for index in reversed(here):
        del pending[index]
    return taken


def _notes(old: Manifest) -> tuple[str, ...]:
    if old.generation == "corrupt":
        return ("the manifest was unreadable; compared every file by its bytes",)
    if not old.present:
        return ("no manifest yet; compared existing files by their bytes",)
    if not old.complete:
        return ("the previous run was interrupted; checked files by their bytes and "
                "removed its temporary files",)
    return ()
