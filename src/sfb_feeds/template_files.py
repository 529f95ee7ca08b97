"""A site's own templates, read by Jinja only when each is a regular file.

Jinja's ``FileSystemLoader`` looks at a template with ``os.path.isfile`` and then opens it
with a blocking ``open``: a FIFO, a device or a link to nothing there was passed over (the
built-in template took its place without a word), and a FIFO swapped in between the two
would keep the build waiting for a writer for ever. The config's check and the build's
stamp refuse such files (``folders.unreadable_files``), but one can take a template's place
after they looked. :class:`SiteTemplateLoader` opens each template without waiting and
looks at what it opened: anything but a regular file (or a folder, which is no template,
as before) is a :class:`TemplateFailed` naming it, exit 1, before anything is written.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path

import jinja2

from .errors import display_path
from .folders import LINK_TO_NOTHING
from .loader import NOT_REGULAR
from .template_errors import TemplateFailed

_CHUNK = 1 << 16


def not_a_template(path: str, kind: str) -> TemplateFailed:
    """The error for a site template at ``path`` that is ``kind`` (one argument: it
    crosses from a worker process intact)."""
    return TemplateFailed(f"{display_path(path)}: is {kind}, not a regular file; only "
                          "regular files are read as templates (remove it, or put the "
                          "template's own file in its place)")


class SiteTemplateLoader(jinja2.BaseLoader):
    """The templates under ``folder`` (``name`` a ``/``-separated path in it), through
    Jinja's public loader interface: the source, its file name (the one Jinja's file
    loader gives, so compiled templates kept by the bytecode cache are found again) and
    a check that the file's modification time is still the one read."""

    def __init__(self, folder: Path, encoding: str = "utf-8") -> None:
        self.folder = os.fspath(folder)
        self.encoding = encoding

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        path = os.path.join(self.folder, *_pieces(template))
        fd = _open(path, template)
        try:
            status = os.fstat(fd)
            if stat.S_ISDIR(status.st_mode):
                raise jinja2.TemplateNotFound(template)
            if not stat.S_ISREG(status.st_mode):
                raise not_a_template(path, _kind(status.st_mode))
            source = _decoded(_read(fd), path, self.encoding)
        finally:
            os.close(fd)
        mtime = status.st_mtime

        def uptodate() -> bool:
            try:
                return os.stat(path).st_mtime == mtime
            except OSError:
                return False

        return source, os.path.normpath(path), uptodate


def _pieces(template: str) -> list[str]:
    """The path's parts; TemplateNotFound for one that would lead out of the folder."""
    pieces = [piece for piece in template.split("/") if piece not in ("", ".")]
    if any(piece == os.pardir or os.sep in piece for piece in pieces):
        raise jinja2.TemplateNotFound(template)
    return pieces


def _open(path: str, template: str) -> int:
    """A descriptor open on ``path``, without waiting (O_NONBLOCK: a FIFO would wait for a
    writer); TemplateNotFound when nothing is there (the next loader's turn)."""
    try:
        return os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # (a socket: it cannot be opened at all)
            raise not_a_template(path, _kind(os.stat(path).st_mode)) from None
        if exc.errno == errno.ELOOP or (exc.errno == errno.ENOENT and os.path.islink(path)):
            raise not_a_template(path, LINK_TO_NOTHING) from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise jinja2.TemplateNotFound(template) from None
        raise TemplateFailed(f"{display_path(path)}: cannot be read: {exc.strerror or exc}; let "
                             "the user that runs sfb-feeds read it, or remove it") from None


def _kind(mode: int) -> str:
    return next((kind for test, kind in NOT_REGULAR if test(mode)), "a special file")


def _read(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, _CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(data: bytes, path: str, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise TemplateFailed(f"{display_path(path)}: is not UTF-8 text (byte "
                             f"0x{data[exc.start]:02x} at {exc.start}); save it as UTF-8"
                             ) from None
