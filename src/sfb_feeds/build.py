"""One build: render every output (pure), then hand them to the writer under the lock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from . import lock, writer
from .model import Settings, Statement
from .pipeline import build_outputs


@dataclass(frozen=True, slots=True)
class BuildReport:
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def summary(self) -> str:
        return (f"{len(self.written)} written, {self.unchanged} unchanged, "
                f"{len(self.removed)} removed")


def build_site(
    settings: Settings,
    statements: Sequence[Statement],
    now: datetime,
    *,
    detail: Callable[[str], None] = lambda _: None,
) -> BuildReport:
    """Render everything, then write what changed; nothing is written if rendering fails."""
    outputs = build_outputs(settings, statements, now)
    with lock.hold(settings.output_dir):
        result = writer.write_outputs(settings.output_dir, outputs)
    for path in result.written:
        detail(f"wrote {path}")
    for path in result.removed:
        detail(f"removed {path}")
    return BuildReport(tuple(result.written), result.unchanged, tuple(result.removed))
