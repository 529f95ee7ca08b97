"""Weekly email digests: inline-styled HTML, plain text, .eml, and a web archive.

Each language and week with statements gets ``digests/<lang>/<YYYY-Www>.html`` (the email
body, styles inlined), ``.txt`` (the plain-text part) and ``.eml`` (the whole message);
each language gets ``digests/<lang>/index.html``, the archive of its digests.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence

from ..model import Settings
from ..plan import OutputFormat, Scope
from ..urls import DIGEST_ARCHIVE_PATH as ARCHIVE_PATH
from ..urls import DIGEST_PATH
from .render import Digests


def formats(settings: Settings, languages: Sequence[str],
            store: MutableMapping[str, str] | None = None) -> tuple[OutputFormat, ...]:
    """The digest rows, their renderer prepared for ``languages`` (see ``Digests``);
    ``store``: inlined templates kept between runs, if the build keeps them."""
    digests = Digests(settings, languages, store=store)
    return (
        OutputFormat(name="digest-html", media_type="text/html", path=f"{DIGEST_PATH}.html",
                     scope=Scope.LANGUAGE_WEEK, render=digests.render_html),
        OutputFormat(name="digest-text", media_type="text/plain",
                     path=f"{DIGEST_PATH}.txt", scope=Scope.LANGUAGE_WEEK,
                     render=digests.render_text),
        OutputFormat(name="digest-eml", media_type="message/rfc822",
                     path=f"{DIGEST_PATH}.eml", scope=Scope.LANGUAGE_WEEK,
                     render=digests.render_eml),
        OutputFormat(name="digest-archive", media_type="text/html",
                     path=ARCHIVE_PATH, scope=Scope.LANGUAGE,
                     render=digests.render_archive),
    )
