"""Languages' names and writing directions kept between builds.

``make_site`` looks them up in CLDR, which first loads the language's data (~10 ms). A
one-edit build renders one language or two, so for the rest that was all it did with
them (at 10,000 statements in ten languages: ~0.09 s of a one-edit build's ~0.9 s). They
are kept in one marshal file in the cache folder, for the code (so the Babel version)
that found them; any other file is ignored and written again.
"""

from __future__ import annotations

import marshal
from collections.abc import Mapping
from pathlib import Path

from .stamp import CACHE_FORMAT, code_fingerprint, read_marshal, write_cache

LANGUAGES_FILE = "languages.marshal"
_HEADER = f"sfb-feeds-languages-{CACHE_FORMAT}"

Facts = Mapping[str, tuple[str, str]]  # tag: (name in itself, "ltr" or "rtl")


def known_languages(folder: Path | None) -> dict[str, tuple[str, str]]:
    """What earlier builds found (nothing without a cache folder or a sound file)."""
    if folder is None:
        return {}
    match read_marshal(folder / LANGUAGES_FILE, _HEADER):
        case [code, dict() as facts] if code == code_fingerprint():
            return {tag: (name, way) for tag, (name, way) in facts.items()
                    if isinstance(tag, str) and isinstance(name, str) and way in ("ltr", "rtl")}
    return {}


def keep_languages(folder: Path | None, before: Facts, now: Facts) -> None:
    """Write ``now`` when it differs from what was read (``before``)."""
    if folder is not None and dict(now) != dict(before):
        write_cache(folder / LANGUAGES_FILE, marshal.dumps((_HEADER, code_fingerprint(),
                                                            dict(now))))
