"""The only reader of statement files: find them, parse them, validate every record."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import yaml

from .errors import InvalidInput, Problem, counted, display_path
from .model import Settings, Statement, StatementFile
from .urls import entry_id
from .validate import Detector, RecordContext, RecordResult, validate_record
from .yamlio import YamlProblem, compose, decode, is_null, line_of

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class FileResult:
    """Everything one file gave: its valid statements and its messages."""

    statements: tuple[Statement, ...]
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class Loaded:
    """All statements of the site (drafts and scheduled ones included) and the warnings."""

    statements: tuple[Statement, ...]
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseOptions:
    settings: Settings
    detect: Detector | None = None
    here: str = field(default_factory=os.getcwd)  # the working folder, for display_path


def scan_statement_files(folder: Path) -> list[StatementFile]:
    """Every ``*.yaml``/``*.yml`` (``x.YAML`` too) under ``folder`` with its status: each
    folder's files by name, then its subfolders by name; hidden ones skipped; a folder
    reached again through a symbolic link (a loop, or a second link to it) is read once;
    one that cannot be listed (no permission, an I/O error) is listed itself, with no
    status, so that reading it is an error naming it.
    (One ``scandir`` pass: at 100,000 files half the time of walking, then calling stat.)"""
    found: list[StatementFile] = []
    pending = [str(folder)]
    seen: set[tuple[int, int]] = set()
    with contextlib.suppress(OSError):
        status = os.stat(folder)
        seen.add((status.st_dev, status.st_ino))
    while pending:
        pending.extend(reversed(_scan_folder(pending.pop(), found, seen)))
    return found


def _scan_folder(directory: str, found: list[StatementFile], seen: set[tuple[int, int]]
                 ) -> list[str]:
    entries = _listed(directory, found)
    below = []
    for entry in entries:
        st: os.stat_result | None = None  # (a link to nothing or in a loop has none)
        with contextlib.suppress(OSError):
            st = entry.stat()
        if st is not None and stat.S_ISDIR(st.st_mode):
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                below.append(entry.path)
        elif entry.name.lower().endswith(SUFFIXES):  # (with no status too: reading reports it)
            found.append((entry.path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
                         if st else (entry.path, -1, -1, -1, -1))
    return below


def _listed(directory: str, found: list[StatementFile]) -> list[os.DirEntry[str]]:
    """The entries of ``directory`` but hidden ones, by name. A folder that cannot be
    listed is added to ``found`` itself, as a file whose reading reports why: its
    statements must not drop out of every feed without a word. (One gone since its parent
    was listed holds nothing to read.)"""
    try:
        with os.scandir(directory) as listing:
            return sorted((e for e in listing if not e.name.startswith(".")),
                          key=lambda e: e.name)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            found.append((os.path.join(directory, ""), -1, -1, -1, -1))
        return []


class Unreadable(OSError):
    """A statement file that is not read: not a regular file, or too large."""

    def __init__(self, reason: str) -> None:
        super().__init__(0, reason)


# O_NONBLOCK: opening a FIFO must not wait for a writer (regular files ignore the flag).
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK  # (os.open adds O_CLOEXEC itself: PEP 446)
READ_AHEAD = 32  # files the kernel is asked to fetch ahead of the one being read
# What a path that is not a regular file is (the config's checks name them the same way).
NOT_REGULAR = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISDIR, "a folder"))


def _open_regular(path: str | Path, limit: int) -> int:
    """A descriptor open on ``path`` if it is a regular file of at most ``limit`` bytes
    (checked on the opened file: a swap for a FIFO or ``/dev/zero`` meanwhile is refused),
    which the kernel is asked to fetch ahead."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        raise _not_opened(path, exc) from None
    try:
        mode, size = (status := os.fstat(fd)).st_mode, status.st_size
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in NOT_REGULAR if test(mode)), "not a regular file")
            raise Unreadable(f"is {kind}, not a regular file; only regular files are read")
        if size > limit:
            raise TooLarge(size, limit)
    except BaseException:
        os.close(fd)
        raise
    with contextlib.suppress(OSError, AttributeError):  # (advice only; not everywhere)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    return fd


def _not_opened(path: str | Path, exc: OSError) -> OSError:
    """Why ``path`` could not be opened, said plainly where the error number is obscure."""
    if exc.errno == errno.ENXIO and stat.S_ISSOCK(os.stat(path).st_mode):
        return Unreadable("is a socket, not a regular file; only regular files are read")
    if exc.errno == errno.ELOOP:
        return Unreadable("is a symbolic link in a loop (it leads back to itself)")
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return Unreadable(f"is a symbolic link to {os.readlink(path)!r}, which does not exist")
    return exc


class TooLarge(Unreadable):
    """A statement file larger than the limit (``size``: at least as large)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"is larger than {counted(limit, 'byte')} ({size} bytes) "
                         "(limits.file_bytes in the config); split it into smaller files")
        self.limit = limit


def read_ahead(paths: Iterable[str], window: int = READ_AHEAD, limit: int = 10 * 1024 * 1024
               ) -> Iterator[tuple[str, bytes | OSError]]:
    """Each regular file's bytes (at most ``limit``), or the error reading it raised, in order.

    The kernel fetches the next ``window`` files meanwhile (``posix_fadvise(WILLNEED)``):
    20,000 files read back from this VM's disk took 1.5 s one by one, 0.17 s so.
    """
    pending: deque[tuple[str, int | OSError]] = deque()
    source = iter(paths)
    try:
        while True:
            for path in islice(source, window - len(pending)):
                try:
                    pending.append((path, _open_regular(path, limit)))
                except OSError as exc:
                    pending.append((path, exc))
            if not pending:
                return
            path, opened = pending.popleft()
            yield path, opened if isinstance(opened, OSError) else _read_all(opened, limit)
    finally:  # (abandoned half way: what was opened ahead is closed)
        for _, opened in pending:
            if isinstance(opened, int):
                os.close(opened)


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes, else
    Unreadable (a FIFO would wait for a writer for ever, ``/dev/zero`` never end), or the
    OSError opening or reading it raised."""
    found = _read_all(_open_regular(path, limit), limit)
    if isinstance(found, OSError):
        raise found
    return found


def _read_all(fd: int, limit: int) -> bytes | OSError:
    """The bytes of the open file ``fd``, or the error reading it raised; ``fd`` is closed."""
    try:
        want = min(max(os.fstat(fd).st_size, 4096), limit) + 1  # +1: the read that says it ended
        chunks = [os.read(fd, want)]
        read = len(chunks[-1])
        while chunks[-1]:  # (a file that grew since fstat: never more than the limit)
            if read > limit:
                return TooLarge(read, limit)
            chunks.append(os.read(fd, 1 << 16))
            read += len(chunks[-1])
        return b"".join(chunks)
    except OSError as exc:
        return exc
    finally:
        os.close(fd)


def parse_file(path: str | Path, data: bytes, options: ParseOptions) -> FileResult:
    """Validate every record of one file (pure: the bytes are passed in)."""
    shown = display_path(path, options.here)
    try:
        node = compose(decode(data))
    except YamlProblem as exc:
        return FileResult((), (Problem(shown, exc.message, exc.line),))
    if node is None or is_null(node):
        return FileResult((), (), (Problem(shown, "holds no records", 1),))
    if not isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
        message = "must hold a record (a mapping) or a list of records"
        return FileResult((), (Problem(shown, message, line_of(node)),))
    records = node.value if isinstance(node, yaml.SequenceNode) else [node]
    site = options.settings.site
    return _joined(validate_record(record, RecordContext(
        path=shown, record=number, tz=site.tz, domain=site.domain, detect=options.detect,
        excerpt_bytes=options.settings.limits.excerpt_bytes))
        for number, record in enumerate(records, start=1))


def _joined(results: Iterable[FileResult | RecordResult]) -> FileResult:
    """The statements, problems and warnings of ``results``, in order."""
    statements: list[Statement] = []
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for result in results:
        statements += result.statements
        problems += result.problems
        warnings += result.warnings
    return FileResult(tuple(statements), tuple(problems), tuple(warnings))


def parse_files(paths: Iterable[str], options: ParseOptions) -> Iterator[tuple[str, FileResult]]:
    """Read and parse each file (a file that cannot be read gives its problem)."""
    for name, data in read_ahead(paths, limit=options.settings.limits.file_bytes):
        if isinstance(data, bytes):
            yield name, parse_file(name, data, options)
        else:  # (an Unreadable's message says what the file is)
            why = data.strerror if isinstance(data, Unreadable) else f"cannot read: {data.strerror}"
            yield name, FileResult((), (Problem(display_path(name, options.here), str(why)),))


def _repeats(statements: Sequence[Statement], key: Callable[[Statement], object]
             ) -> Iterator[tuple[Statement, Statement]]:
    """Each statement whose ``key`` (None: none) an earlier one has, and that one."""
    first: dict[object, Statement] = {}
    for statement in statements:
        if (value := key(statement)) is not None \
                and (earlier := first.setdefault(value, statement)) is not statement:
            yield statement, earlier


def _where(statement: Statement) -> str:
    return f"{statement.source.path}:{statement.source.line} record {statement.source.record}"


def _about(statement: Statement, field: str, message: str) -> Problem:
    src = statement.source
    return Problem(src.path, message, src.line, src.record, field)


def _duplicate_ids(statements: Sequence[Statement], settings: Settings) -> list[Problem]:
    """Statements whose ids are published alike (feeds write ids in RFC 3986 normal form:
    ``HTTPS://Example.org:443/a`` is ``https://example.org/a``)."""
    def published(statement: Statement) -> str:
        return entry_id(statement.id, statement.date, settings)

    return [_about(s, "id", f"{s.id!r} is already used by {_where(earlier)}"
                   + ("" if s.id == earlier.id else
                      f" as {earlier.id!r} (feeds publish both as {published(s)!r})")
                   + "; ids must be unique")
            for s, earlier in _repeats(statements, published)]


def _translations_in_one_language(statements: Sequence[Statement]) -> list[Problem]:
    """Warnings: a translation group with two statements in one language (a copied key)."""
    return [_about(s, "translation_key", f"{s.translation_key!r} is also on {_where(earlier)}, "
                   f"in the same language ({s.language}); translations of a statement are in "
                   "other languages, so neither is shown as the other's translation")
            for s, earlier in _repeats(statements, lambda s: None if s.translation_key is None
                                     else (s.translation_key, s.language))]


def default_detector() -> Detector:
    """The offline language detector (imported on first use: it loads language models)."""
    from .detect import detect_language

    return detect_language


def load_statements(settings: Settings, *, detect: Detector | None = None,
                    files: Sequence[str] | None = None,
                    known: Mapping[str, FileResult] | None = None) -> Loaded:
    """Every statement of the site, or InvalidInput listing every problem in every file.

    ``files``: the statement files as :func:`scan_statement_files` just listed them (else the
    folder is scanned); ``known``: results of files parsed already (elsewhere, or earlier).
    """
    names = _statement_files(settings.statements_dir, files)
    given = known or {}
    options = ParseOptions(settings=settings, detect=detect or default_detector())
    parsed = parse_files((name for name in names if name not in given), options)
    every = _joined(given[name] if name in given else next(parsed)[1] for name in names)
    if problems := [*every.problems, *_duplicate_ids(every.statements, settings)]:
        raise InvalidInput(problems)
    return Loaded(every.statements,
                  (*every.warnings, *_translations_in_one_language(every.statements)))


def _statement_files(folder: Path, files: Sequence[str] | None) -> Sequence[str]:
    if not folder.is_dir():
        raise InvalidInput([Problem(display_path(folder), "statements folder not found; "
                                    "create it or set `statements:` in the config")])
    return files if files is not None else [path for path, *_ in scan_statement_files(folder)]
