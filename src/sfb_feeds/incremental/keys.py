"""Render keys: a digest of everything one output shows, kept in the manifest.

An output whose keys and files are unchanged since the last build is neither rendered
nor read: a one-record edit of 10,000 statements renders the few outputs that show it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..manifest import Entry, lstat, same_status
from ..model import Statement
from ..plan import PlannedOutput, period_label
from ..site import Site
from .stamp import digest


class RenderKeys:
    """The render key of each planned output's files.

    That is: ``base`` (code, settings, templates); the format's name, version and path;
    the site's language list; the target's language, period and ``history`` (an
    archive's neighbours, a feed's completeness); its statements in order, each with the
    fingerprints of its translations. A renderer that shows anything else must bump its
    format's version when that changes, and must never show the run's clock. What an
    output shows beyond its statements belongs in its target, hence in its key.
    """

    def __init__(self, site: Site, base: str) -> None:
        self.base = digest(base, ",".join(site.languages))
        # A group's part is the digest of its members' fingerprints, not them joined: every
        # member carries it (one key shared by 4,000 records, cold: 607 -> 94 MB, 6.6 -> 3.3 s).
        self._groups = {key: "+" + digest(*(s.fingerprint for s in group))
                        for key, group in site.translations.items()}
        # Each statement's part, once (most are in several targets), by id(): the site
        # keeps them all alive (10,000 statements, 2,596 outputs: keys in 21 ms against 29
        # ms without it; a memo of each shared Target's part saved ~1 ms more: not kept).
        self._shown: dict[int, str] = {}

    def keys(self, item: PlannedOutput) -> tuple[str, ...]:
        target = item.target
        shown = digest("\x00".join((
            item.format.scope.value, target.language or "", period_label(target),
            repr(target.history), *(self._shown_of(s) for s in target.statements))))
        return tuple(digest("\x00".join((self.base, item.format.name, item.format.version,
                                         path, shown))) for path in item.paths)

    def _shown_of(self, statement: Statement) -> str:
        """A statement's fingerprint, and its translations' group's."""
        found = self._shown.get(id(statement))
        if found is None:
            group = statement.translation_key
            found = self._shown[id(statement)] = statement.fingerprint + (
                "" if group is None else self._groups.get(group, ""))
        return found


def outputs_to_render(root: Path, planned: Sequence[PlannedOutput],
                      keys: Sequence[tuple[str, ...]], old: Mapping[str, Entry]
                      ) -> tuple[list[int], dict[str, str]]:
    """The indexes of ``planned`` to render, and the files kept as they are (path: key):
    those of outputs whose every file has its key and status in the manifest (``old``)."""
    render: list[int] = []
    kept: dict[str, str] = {}
    folder = str(root.absolute())
    for index, (item, item_keys) in enumerate(zip(planned, keys, strict=True)):
        files = dict(zip(item.paths, item_keys, strict=True))
        if all((entry := old.get(path)) is not None and entry.key == key
               and same_status(entry, lstat(f"{folder}/{path}")) for path, key in files.items()):
            kept.update(files)
        else:
            render.append(index)
    return render, kept
