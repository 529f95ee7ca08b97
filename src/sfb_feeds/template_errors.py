"""A site's own template that cannot be compiled or rendered is the site's to fix: a
:class:`TemplateFailed` naming its file and line, not an internal error.

Shared by ``digest/`` and ``feeds/index_page.py``, which do not import each other; it reads
what Jinja's errors and tracebacks carry (a syntax error's ``filename`` and ``lineno``; a
template's frames, named after its file) without importing Jinja."""

from __future__ import annotations

import re
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


# What no page may hold: characters XML cannot carry (HTML parsers report each, and the
# digest feed is made from the digest's page) and lone surrogates (no UTF-8 file can).
_NOT_IN_A_PAGE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def encoded(text: str, folder: Path | None, origin: str | None, *, page: bool = True
            ) -> bytes:
    """``text``, what a site's template wrote, in UTF-8. Records and the config hold no
    control character or lone surrogate, so a site's template wrote any there is
    (``{{ '\\x0c' }}``): refused, naming ``origin`` if it is the site's, else the site's
    templates folder. ``page`` False: plain text, where only a lone surrogate is refused."""
    refuse_unwritable(text, folder, origin, page=page)
    return text.encode("utf-8")


def refuse_unwritable(text: str, folder: Path | None, origin: str | None, *,
                      page: bool = True) -> None:
    """The check :func:`encoded` makes, alone."""
    if folder is None:  # (the built-in templates, fed records that hold no such character:
        return  # scanning every output cost ~6 % of rendering's CPU at 10,000 statements)
    bad = (_NOT_IN_A_PAGE if page else _SURROGATE).search(text)
    if bad is None:
        return
    where = origin if origin and Path(origin).is_relative_to(folder) else folder
    what = ("a lone surrogate that no UTF-8 file can hold" if _SURROGATE.match(bad.group())
            else "a control character that HTML and XML cannot carry")
    raise TemplateFailed(f"{display_path(Path(where))}: the site's template failed: it wrote "
                         f"{bad.group()!r}, {what}; correct it, or remove it to use the "
                         "built-in one")


def not_inlined(exc: Exception, folder: Path, origin: str | None) -> TemplateFailed:
    """The error for a page whose CSS premailer could not inline (a site's stylesheet with
    a selector it cannot parse): the built-in templates never give it one."""
    where = origin if origin and Path(origin).is_relative_to(folder) else folder
    return TemplateFailed(f"{display_path(Path(where))}: the site's template failed: its CSS "
                          f"could not be inlined: {type(exc).__name__}: {exc}; correct it, or "
                          "remove it to use the built-in one")
