"""Where the digest outputs are, relative to ``feeds_url``, and their public addresses.

The digest ``FORMATS`` rows use these path templates, and every link to a digest (in the
digests, their .eml headers and the subscribe page) is built from them with
``feeds.urls.public_url``. This module imports nothing from ``digest`` or ``feeds`` but the
URL helpers, so the subscribe page can use it without an import cycle.
"""

from __future__ import annotations

from ..feeds.urls import public_url
from ..model import Settings

DIGEST_PATH = "digests/{lang}/{period}"  # + ".html", ".txt" or ".eml"
ARCHIVE_PATH = "digests/{lang}/index.html"


def archive_url(settings: Settings, lang: str) -> str:
    """The public address of ``lang``'s digest archive page."""
    return public_url(settings, ARCHIVE_PATH.format(lang=lang))


def digest_url(settings: Settings, lang: str, period: str, extension: str = ".html") -> str:
    """The public address of one digest output (``.html`` by default)."""
    return public_url(settings, DIGEST_PATH.format(lang=lang, period=period) + extension)
