"""Weekly email digests: inline-styled HTML, plain text, .eml, and a web archive.

Each language and week with statements gets ``digests/<lang>/<YYYY-Www>.html`` (the email
body, styles inlined), ``.txt`` (the plain-text part) and ``.eml`` (the whole message);
each language gets ``digests/<lang>/index.html``, the archive of its digests.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence

from jinja2 import BytecodeCache

from ..model import Settings
from ..plan import OutputFormat, Scope
from ..urls import DIGEST_ARCHIVE_PATH, DIGEST_PATH
from .render import Digests

__all__ = ["PARTS", "Digests", "formats", "rows"]

PARTS = ((".html", "text/html"), (".txt", "text/plain"), (".eml", "message/rfc822"))


def formats(settings: Settings, languages: Sequence[str],
            store: MutableMapping[str, str] | None = None,
            compiled: BytecodeCache | None = None) -> tuple[OutputFormat, ...]:
    """The digest rows, their renderer prepared for ``languages`` (see ``Digests``);
    ``store`` and ``compiled``: inlined and compiled templates kept between runs, if the
    build keeps them."""
    return rows(Digests(settings, languages, store=store, compiled=compiled))


def rows(digests: Digests) -> tuple[OutputFormat, ...]:
    """The digest rows of the prepared renderer ``digests``."""
    return (
        # One rendering of a week's digest gives its three files (cold 10,000: ~0.9 s of
        # the ~8 s rendered apart; see docs/operations.md).
        OutputFormat(name="digest", path=DIGEST_PATH, files=PARTS,
                     scope=Scope.LANGUAGE_WEEK, render=digests.render),
        OutputFormat(name="digest-archive", media_type="text/html",
                     path=DIGEST_ARCHIVE_PATH, scope=Scope.LANGUAGE,
                     render=digests.render_archive),
    )
