"""Weekly email digests: inline-styled HTML, plain text, .eml, and a web archive."""

from __future__ import annotations

from ..plan import OutputFormat

FORMATS: tuple[OutputFormat, ...] = ()
