"""A site's own template that cannot be compiled or rendered is the site's to fix: a
:class:`TemplateFailed` naming its file and line, not an internal error.

Shared by ``digest/`` and ``feeds/index_page.py``, which do not import each other; it reads
what Jinja's errors and tracebacks carry (a syntax error's ``filename`` and ``lineno``; a
template's frames, named after its file) without importing Jinja."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import SfbError, display_path


class TemplateFailed(SfbError):
    """A site's template failed: ``file:line: what`` (one argument, so it crosses from a
    worker process intact)."""


def _where(exc: BaseException, folder: Path) -> tuple[str, int | None] | None:
    """The site template (file, line) ``exc`` points at, if any."""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    # (Jinja's lexer raises "Missing end of comment tag" and "... of raw directive" with
    # the file's name where the template's name goes, and no file name.)
    filename = filename or getattr(exc, "name", None)
    if isinstance(filename, str) and type(exc).__module__.startswith("jinja2") \
            and Path(filename).is_relative_to(folder):
        return filename, line
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if Path(frame.filename).is_relative_to(folder)]
    return (frames[-1].filename, frames[-1].lineno) if frames else None


@contextmanager
def site_templates(folder: Path | None, origin: str | None = None) -> Iterator[None]:
    """Turn an exception raised by a template of ``folder`` (the site's templates) into a
    :class:`TemplateFailed`; ``origin``: the site template that what runs was made from
    (an inlined copy has no file of its own), named when no frame is the site's."""
    try:
        yield
    except SfbError:
        raise
    except Exception as exc:
        where = None if folder is None else _site_place(exc, folder, origin)
        if where is None:
            raise
        what = getattr(exc, "message", None) or str(exc)
        raise TemplateFailed(f"{where}: the site's template failed: {type(exc).__name__}: "
                             f"{what}; correct it, or remove it to use the built-in one"
                             ) from None


def _site_place(exc: BaseException, folder: Path, origin: str | None) -> str | None:
    """``file:line`` (or ``file``) of the site template ``exc`` came from, if any; else
    ``origin``, if a template raised it (a frame of compiled template code, whose file is
    the template's, not a module's) rather than sfb-feeds' own code."""
    where = _where(exc, folder)
    if where is None and origin and Path(origin).is_relative_to(folder):
        frames = traceback.extract_tb(exc.__traceback__)
        if any(not frame.filename.endswith(".py") for frame in frames):
            where = origin, None
    if where is None:
        return None
    return display_path(Path(where[0])) + ("" if where[1] is None else f":{where[1]}")


def encoded(text: str, folder: Path | None, origin: str | None) -> bytes:
    """``text`` (a page a site's template wrote) in UTF-8. Only a lone surrogate cannot be
    (records and the config hold none): a site's template wrote it (``{{ '\\ud800' }}``),
    so the error names ``origin`` if it is the site's, else the site's templates folder."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        if folder is None:
            raise
        where = origin if origin and Path(origin).is_relative_to(folder) else folder
        raise TemplateFailed(
            f"{display_path(Path(where))}: the site's template failed: it wrote "
            f"{exc.object[exc.start:exc.end]!r}, a lone surrogate that no UTF-8 file can "
            "hold; correct it, or remove it to use the built-in one") from None
