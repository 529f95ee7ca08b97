"""Feed outputs: Atom, RSS 2.0, JSON Feed, RFC 5005 archives, OPML, the subscribe page."""

from __future__ import annotations

from ..plan import OutputFormat

FORMATS: tuple[OutputFormat, ...] = ()
