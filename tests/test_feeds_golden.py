"""Golden files: every feed output of the test site and of the sample site, byte for byte.

Regenerate after an intended change with ``SFB_UPDATE_GOLDEN=1 pytest tests/test_feeds_golden.py``
and review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_feeds_fixtures import build, sample_site

from sfb_feeds.config import load_settings
from sfb_feeds.loader import load_statements
from sfb_feeds.site import make_site

GOLDEN = Path(__file__).parent / "golden" / "feeds"
REPO = Path(__file__).resolve().parents[1]
UPDATE = os.environ.get("SFB_UPDATE_GOLDEN") == "1"
SAMPLE_NOW = datetime(2020, 1, 1, tzinfo=UTC)


def compare(outputs: dict[str, bytes], folder: Path) -> None:
    if UPDATE:
        for old in sorted(folder.rglob("*"), reverse=True):
            if old.is_file():
                old.unlink()
        for path, data in outputs.items():
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    stored = {p.relative_to(folder).as_posix(): p.read_bytes()
              for p in folder.rglob("*") if p.is_file()}
    assert sorted(stored) == sorted(outputs), "outputs added or removed: regenerate"
    for path, data in outputs.items():
        assert data == stored[path], f"{path} differs from {folder / path}: review, regenerate"


def test_test_site_matches_golden_files() -> None:
    compare(build(sample_site()), GOLDEN / "test-site")


def test_test_site_with_one_entry_per_feed_matches_golden_files() -> None:
    """Archives of every kind: by year, by half-year, empty ones, beside complete feeds."""
    compare(build(sample_site(entries=1)), GOLDEN / "test-site-one-entry")


def test_sample_site_matches_golden_files() -> None:
    config = REPO / "sfb-feeds.yaml"
    if not config.is_file() or not (REPO / "statements").is_dir():
        pytest.skip("the sample site (sfb-feeds.yaml, statements/) is not in the repository")
    settings = load_settings(config)
    statements = load_statements(settings).statements
    compare(build(make_site(settings, statements, SAMPLE_NOW)), GOLDEN / "sample-site")
