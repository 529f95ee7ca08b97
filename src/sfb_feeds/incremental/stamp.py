"""The build stamp: a digest of every input, so a build with nothing to do stops early.

It holds a digest of the statement files' statuses, the settings, the site's templates
and the code; the clock times at which the same statements are published; and the status
of the output folder's manifest and every file it lists. While all of that holds, a build
reads no statement (a no-op build of 10,000 statements: ~0.2 s instead of the ~0.5 s of
loading them from the record cache and checking every output's key).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import marshal
import os
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from .. import __version__
from ..errors import ConfigError, Problem, display_path
from ..loader import NOT_REGULAR
from ..model import FileStatus, Settings, Statement, StatementFile

CACHE_FORMAT = 5  # bump when the layout of any cache file changes
STAMP_FILE = "build-stamp.marshal"
# Distributions whose upgrades can change the bytes of an output.
RENDERING_DISTRIBUTIONS = ("feedgen", "jinja2", "premailer", "babel", "lxml", "cssutils",
                           "pyyaml", "markupsafe", "langcodes")
RACY_SECONDS = 2


def is_racy(mtime_ns: int) -> bool:
    """Whether a second edit in the same clock tick could leave the file's size and
    modification time unchanged."""
    return abs(time.time_ns() - mtime_ns) < RACY_SECONDS * 1_000_000_000


def digest(*parts: str | bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


def read_marshal(path: Path, header: object) -> list[Any]:
    """The values written at ``path`` after ``header`` (``marshal.dumps((header, *values))``);
    none when the file is missing, torn or has another header."""
    with contextlib.suppress(Exception):  # (torn marshal data raises several kinds)
        found, *values = marshal.loads(path.read_bytes())
        if found == header:
            return list(values)
    return []


def write_cache(path: Path, data: bytes) -> None:
    """Replace ``path`` whole: no fsync (a torn cache file is ignored); a failure costs
    only time, and leaves no temporary file behind (a full disk: a few every build)."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_bytes(data)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()


def _files_under(folder: Path) -> Iterator[str]:
    """Every file under ``folder`` (nothing if missing), in a fixed order."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        yield from (os.path.join(root, name) for name in sorted(files))


def _tree_status(folder: Path) -> Iterator[str]:
    """``relative path:size:mtime`` for every file under ``folder`` (nothing if missing)."""
    for path in _files_under(folder):
        with contextlib.suppress(OSError):
            st = os.stat(path)
            yield f"{os.path.relpath(path, folder)}:{st.st_size}:{st.st_mtime_ns}"


class _NotRegular(OSError):
    def __init__(self, mode: int) -> None:
        super().__init__(0, next((kind for test, kind in NOT_REGULAR if test(mode)),
                                 "not a regular file"))


def _tree_contents(folder: Path) -> list[str]:
    """``relative path:digest of its bytes`` for every file under ``folder`` (nothing if
    missing); ConfigError naming each that is no regular file. A file that vanished, or a
    link to nothing or in a loop, is passed over here: the config's check named it (and
    the site template loader refuses one that turned into it since)."""
    found: list[str] = []
    problems: list[Problem] = []
    for path in _files_under(folder):
        try:
            found.append(f"{os.path.relpath(path, folder)}:{_file_digest(path)}")
        except _NotRegular as exc:
            problems.append(Problem(display_path(path), f"is {exc.strerror}, not a regular "
                                    "file; only regular files are read"))
        except OSError:
            continue
    if problems:
        raise ConfigError(problems)
    return found


def _file_digest(path: str) -> str:
    """:func:`digest` of the file's bytes, read piece by piece; _NotRegular for what is
    not a regular file, found on the file opened without waiting (a FIFO would wait for a
    writer for ever, ``/dev/zero`` never end; either may have taken a checked file's place)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # (a socket: it cannot be opened at all)
            raise _NotRegular(os.stat(path).st_mode) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _NotRegular(mode)
        h = hashlib.blake2b(digest_size=16)
        while piece := os.read(fd, 1 << 20):
            h.update(piece)
        h.update(b"\x00")  # as ``digest`` ends each part
        return h.hexdigest()
    finally:
        os.close(fd)


def _distribution_versions() -> str:
    """The rendering libraries' metadata folders' names (a millisecond; importlib.metadata
    takes 30 ms)."""
    found = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            for name in os.listdir(entry or "."):
                project = name.partition("-")[0].lower().replace("_", "-")
                if name.endswith((".dist-info", ".egg-info")) \
                        and project in RENDERING_DISTRIBUTIONS:
                    found.append(name)
    return ",".join(sorted(found))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Changes when sfb-feeds' code, built-in templates or a renderer library do (by the
    files' size and modification time, which an edit in a checkout changes too)."""
    spec = importlib.util.find_spec("sfb_feeds.templates")  # shipped beside the package
    builtin = list(spec.submodule_search_locations or ()) if spec is not None else []
    return digest(__version__, sys.version, *_tree_status(Path(__file__).parent.parent),
                  *(line for folder in builtin for line in _tree_status(Path(folder))),
                  _distribution_versions())


def render_base(settings: Settings) -> str:
    """What every output depends on: the code, every setting, the site's templates and
    its own catalogs (``locales/`` beside the config). Those two by their bytes (a few
    small files): a file edited twice within one clock tick keeps its size and time, and
    they are read when rendered, not parsed once with the statements. ConfigError names
    each file there that is no regular file (the config's check of the templates folder
    may have passed before it appeared)."""
    templates = (() if settings.templates_dir is None
                 else _tree_contents(settings.templates_dir))
    locales = _tree_contents(settings.config_path.parent / "locales")
    return digest(code_fingerprint(), repr(settings), *templates, "locales", *locales)


def input_digest(settings: Settings, files: list[StatementFile], detector: str) -> str | None:
    """The digest of everything a build reads; None if a file is too fresh to trust."""
    newest = max((mtime_ns for _, _, mtime_ns, *_ in files), default=0)
    if is_racy(newest) or newest > time.time_ns():
        return None
    return digest(str(CACHE_FORMAT), render_base(settings), detector, marshal.dumps(files))


def publication_window(statements: Iterable[Statement], now: datetime
                       ) -> tuple[float | None, float | None]:
    """(newest published date, next scheduled date) as POSIX seconds."""
    moment = now.timestamp()
    published = [s.date.timestamp() for s in statements if not s.draft]
    newest = max((t for t in published if t <= moment), default=None)
    upcoming = min((t for t in published if t > moment), default=None)
    return newest, upcoming


class Stamp(NamedTuple):
    """What the last complete build read and left in the output folder.

    ``published_from``/``published_until`` (POSIX seconds, None = unbounded) bound the
    clock times at which the same statements are published; ``manifest`` and ``outputs``:
    the status of the output folder's manifest and of every file it lists."""

    inputs: str
    published_from: float | None
    published_until: float | None
    manifest: tuple[int, int, int]
    outputs: tuple[FileStatus, ...]

    def fits(self, inputs: str | None, now: datetime,
             manifest: tuple[int, int, int] | None) -> bool:
        """Whether a build of ``inputs`` at ``now`` would change nothing, as far as the
        inputs and the manifest tell (the outputs are checked apart)."""
        moment = now.timestamp()
        return (self.inputs == inputs and self.manifest == manifest
                and (self.published_from is None or self.published_from <= moment)
                and (self.published_until is None or moment < self.published_until))


_HEADER = ("sfb-feeds-stamp", CACHE_FORMAT)


def load_stamp(settings: Settings) -> Stamp | None:
    if settings.cache_dir is None:
        return None
    values = read_marshal(settings.cache_dir / STAMP_FILE, _HEADER)  # [] if unsound
    return Stamp(*values) if len(values) == len(Stamp._fields) else None


def save_stamp(settings: Settings, stamp: Stamp | None) -> None:
    """Remember ``stamp``; None forgets the previous one."""
    if settings.cache_dir is None:
        return
    path = settings.cache_dir / STAMP_FILE
    if stamp is not None:
        write_cache(path, marshal.dumps((_HEADER, *stamp)))
        return
    with contextlib.suppress(OSError):  # without a stamp the next build takes the long way
        path.unlink(missing_ok=True)
