"""The config's paths: expanded, their variables set, the folders apart from each other
(as written and as their symbolic links resolve), the templates folder and the recipients
files there. Each check returns (key, message) pairs; config.py places them at the key's line."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator, Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

from .errors import ConfigError, Problem, display_path
from .loader import NOT_REGULAR
from .model import Settings

FOLDERS = (("output", "feeds"), ("cache", ".sfb-cache"), ("state", ".sfb-state"))

Found = list[tuple[str, str]]  # (key, what is wrong with it)


def expand(base: Path, text: str) -> Path:
    """A path written in the config made absolute: ``~``, ``$NAME`` and ``${NAME}``
    expanded (cron sets ``HOME``), relative to the config's folder."""
    return Path(os.path.normpath(base / Path(os.path.expandvars(text)).expanduser()))


def folders(base: Path, v: dict[str, Any]) -> dict[str, Path]:
    """The statements, output, cache and state folders, expanded (each has a default)."""
    return {key: expand(base, v.get(key, default))
            for key, default in (("statements", "statements"), *FOLDERS)}


_REFERENCE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def unset_variables(v: dict[str, Any]) -> Found:
    """Every ``$NAME`` a path uses is set: a path silently keeping ``$NAME`` would write
    to a folder of that name."""
    written = [(key, v[key]) for key in ("statements", "templates", *dict(FOLDERS))
               if key in v]
    recipients = v.get("digests", {}).get("recipients", {})
    written += [(f"digests.recipients.{lang}", name) for lang, name in recipients.items()]
    return [(key, problem) for key, text in written for problem in _unexpanded(str(text))]


def _unexpanded(text: str) -> list[str]:
    """What keeps ``text`` from being expanded as meant: a variable not set, or set empty
    (``$EMPTY/feeds`` would be ``/feeds``); a ``~user`` with no home folder here."""
    found = []
    for match in _REFERENCE.finditer(text):
        name = match.group(1) or match.group(2)
        if name not in os.environ:
            found.append(f"uses ${name}, which is not set in the environment")
        elif not os.environ[name]:
            found.append(f"uses ${name}, which is set but empty (so {text!r} would be "
                         f"{os.path.expandvars(text)!r}); give it a value")
    if not found and text.startswith("~"):
        found += _home_problems(text)
    return found


def _home_problems(text: str) -> list[str]:
    """What keeps ``text``'s leading ``~`` or ``~user`` from naming a home folder: no
    such user; for ``~`` a ``$HOME`` set but empty or relative (``~/feeds`` would be
    ``/feeds``, or a folder beside the config)."""
    head = text.split("/")[0]
    home = os.environ.get("HOME")
    if head == "~" and home is not None and not os.path.isabs(home):
        return [f"starts with ~, the home folder, but $HOME is {home!r}, not an absolute "
                f"path (so {text!r} would be {os.path.expanduser(text)!r}); set HOME or "
                "write the path in full"]
    try:
        Path(text).expanduser()
    except RuntimeError:  # (Path.expanduser: no such user)
        return [f"{head!r} is no user's home folder on this machine"]
    return []


# The sub-folders a site's templates folder may hold (digest.templates.FOLDER and
# feeds.index_page.PAGES_FOLDER): a folder with neither would override nothing.
TEMPLATE_FOLDERS = ("email", "pages")
LINK_TO_NOTHING = "a symbolic link that leads to no file"


def template_problems(base: Path, v: dict[str, Any]) -> Found:
    """The site's own templates folder exists and holds templates: a misspelt one would
    leave the built-in templates in use without a word."""
    if "templates" not in v:
        return []
    folder = expand(base, v["templates"])
    if not folder.is_dir():
        return [("templates", f"{folder} is not a folder")]
    if not any((folder / name).is_dir() for name in TEMPLATE_FOLDERS):
        return [("templates", f"{folder} holds neither an email/ nor a pages/ folder of "
                 "templates, so it would override nothing")]
    return [("templates", f"{display_path(path)} {message}") for path, message in
            unreadable_files(folder, " as templates (remove it, or put the template's own "
                             "file in its place)")]


def unreadable_files(folder: Path, read_as: str = "") -> list[tuple[str, str]]:
    """(path, what is wrong) of each file under ``folder`` that a build could not read (it
    reads every file of the site's templates and ``locales/`` folders). First each that is
    no regular file (through a symbolic link too; ``read_as`` ends their message): a FIFO
    would keep the build waiting for a writer for ever, ``/dev/zero`` never end, and a
    symbolic link to nothing (its file gone, or a loop) would let the built-in template or
    catalog take its place without a word. Then each regular file that cannot be opened
    for reading (its mode): the build would stop at it with an internal error."""
    found = [(path, *_unreadable(path)) for path in _files(folder)]
    return [(path, f"is {kind}, not a regular file; only regular files are read{read_as}")
            for path, kind, _ in found if kind] + [
        (path, f"cannot be read: {why}; let the user that runs sfb-feeds read it, or remove it")
        for path, _, why in found if why]


def _unreadable(path: str) -> tuple[str | None, str | None]:
    """What ``path`` is if it is no regular file, and why it cannot be opened (or None)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if os.path.islink(path):
            return LINK_TO_NOTHING, None
        return f"a file that cannot be looked at ({exc.strerror})", exc.strerror or str(exc)
    if stat.S_ISREG(mode):
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        except OSError as exc:
            return None, exc.strerror or str(exc)  # (through a symbolic link too)
    return next((kind for test, kind in NOT_REGULAR if test(mode)), None), None


def _files(folder: Path) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        yield from (os.path.join(root, name) for name in sorted(files))


def folder_problems(base: Path, v: dict[str, Any]) -> Found:
    """Output, cache and state apart from each other and from the statements; none of
    them ``/`` or the home folder; cache and state never published inside the output.
    Compared as written, then as their symbolic links resolve (a link is no way round)."""
    written = folders(base, v)
    found = _overlaps(written, {key: str(folder) for key, folder in written.items()})
    real = {key: Path(os.path.realpath(folder)) for key, folder in written.items()}
    named = {key: str(folder) if folder == real[key] else f"{folder} (which resolves to "
             f"{real[key]})" for key, folder in written.items()}
    refused = {key for key, _ in found}
    return found + [(key, message) for key, message in _overlaps(real, named)
                    if key not in refused]


def _overlaps(paths: Mapping[str, Path], named: Mapping[str, str]) -> Found:
    """What :func:`folder_problems` refuses among ``paths``, each shown as ``named`` says."""
    home = Path.home()
    forbidden = {Path("/"): "/", home: "the home folder",
                 Path(os.path.realpath(home)): "the home folder"}
    statements = paths["statements"]
    found: Found = []
    for key, folder in paths.items():
        if folder in forbidden:
            found.append((key, f"is {forbidden[folder]}; give {key} a folder of its own"))
        elif key != "statements" and not _apart(folder, statements):
            found.append((key, f"{named[key]} overlaps the statements folder "
                          f"{named['statements']} (drafts and scheduled statements would be "
                          "exposed or mixed up); keep them apart"))
    folders = [(key, folder) for key, folder in paths.items() if key != "statements"]
    return found + [problem for (other, where), (key, folder) in combinations(folders, 2)
                    if (problem := _pair(key, folder, other, where, named))]


_DRAFTS = "the text of drafts and scheduled statements"
_HOLDS = {"state": "the send ledger and the addresses of those who unsubscribed"}


def _pair(key: str, folder: Path, other: str, where: Path,
          named: Mapping[str, str]) -> tuple[str, str] | None:
    if other == "output" and folder.is_relative_to(where):
        return (key, f"{named[key]} lies inside the output folder {named[other]}, which is "
                f"published (it would expose {_HOLDS.get(key, _DRAFTS)}); move it outside")
    if not _apart(folder, where):
        return (key, f"{named[key]} overlaps {other} ({named[other]}); keep them apart")
    return None


def _apart(one: Path, other: Path) -> bool:
    return not (one.is_relative_to(other) or other.is_relative_to(one))


# What looking a path up answers when the path as written can never be used: a name longer
# than the filesystem takes, a loop of symbolic links. (A folder not made yet, a file in its
# place or one its user may not enter are each named later, where they matter.)
_NEVER_USABLE = (errno.ENAMETOOLONG, errno.ELOOP)


def unusable_paths(base: Path, v: dict[str, Any]) -> Found:
    """Each folder the system refuses even to look up: every later check and every
    command would stop at it with an internal error."""
    paths = folders(base, v)
    if "templates" in v:
        paths["templates"] = expand(base, v["templates"])
    found: Found = []
    for key, path in paths.items():
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno in _NEVER_USABLE:
                found.append((key, f"{display_path(path)} cannot be used: "
                              f"{exc.strerror or exc}; correct the path"))
    return found


def refuse_files_in_the_way(settings: Settings) -> None:
    """ConfigError naming each of the output, cache and state folders that a file stands
    in place of, or in place of a folder above it: build, send or digest would stop there
    when making it. For ``check``, which makes no folder (config.py leaves them to the
    command that needs the folder)."""
    made = {key: path for key, path in (("output", settings.output_dir), ("cache",
            settings.cache_dir), ("state", settings.state_folder)) if path is not None}
    found = []
    for key, path in made.items():
        blocker = _file_in_the_way(path)
        if blocker is not None:
            made_here = "" if blocker == path else f", so {display_path(path)} cannot be made"
            found.append(Problem(display_path(settings.config_path),
                                 f"{display_path(blocker)} is not a folder{made_here}; move "
                                 f"it away or change {key} in the config", field=key))
    if found:
        raise ConfigError(found)


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest of ``path`` and the folders above it that exists, if it is no folder."""
    for candidate in (path, *path.parents):
        try:
            return None if stat.S_ISDIR(os.stat(candidate).st_mode) else candidate
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return None  # (unreadable and the like: named where it matters)
    return None


def path_problems(base: Path, v: dict[str, Any]) -> Found:
    """The paths' variables set and usable, then (once every path is whole) the folders
    apart."""
    return (unset_variables(v) or unusable_paths(base, v)
            or folder_problems(base, v) + template_problems(base, v))


def unreadable_recipients(recipients: Mapping[str, Path]) -> Found:
    """Each recipients file that cannot be opened: `send` could not mail its subscribers."""
    found: Found = []
    for lang, path in recipients.items():
        try:
            _open_as_a_file(path)
        except OSError as exc:
            found.append((f"digests.recipients.{lang}", f"cannot read {display_path(path)}: "
                          f"{exc.strerror or exc} (send mails the language's subscribers "
                          "from it; correct the path or create the file)"))
    return found


def _open_as_a_file(path: Path) -> None:
    """OSError unless ``path`` opens as a regular file (without waiting: a FIFO would wait
    for a writer for ever, and ``send`` reads the file more than once)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if not stat.S_ISREG(mode):
        raise OSError(0, "not a regular file (a FIFO, a device or a socket)")
