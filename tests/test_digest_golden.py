"""Golden files: every digest output of the sample site and of a right-to-left test site.

Regenerate after an intended change with
``SFB_UPDATE_GOLDEN=1 pytest tests/test_digest_golden.py`` and review the diff.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import render_site
from test_digest_factory import refugee_statements, site, statement

from sfb_feeds import digest
from sfb_feeds.config import load_settings
from sfb_feeds.loader import load_statements
from sfb_feeds.site import Site, make_site

GOLDEN = Path(__file__).parent / "golden" / "digests"
REPO = Path(__file__).resolve().parents[1]
UPDATE = os.environ.get("SFB_UPDATE_GOLDEN") == "1"
SAMPLE_NOW = datetime(2020, 1, 1, tzinfo=UTC)


def compare(s: Site, folder: Path) -> None:
    outputs = {o.path: o.data for o in render_site(s, digest.formats(s.settings, s.languages))}
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


def test_sample_site_digests_match_golden_files() -> None:
    config = REPO / "sfb-feeds.yaml"
    if not config.is_file() or not (REPO / "statements").is_dir():
        pytest.skip("the sample site (sfb-feeds.yaml, statements/) is not in the repository")
    # No cache: rendering would keep compiled templates in the repository's .sfb-cache.
    settings = dataclasses.replace(load_settings(config), cache_dir=None)
    compare(make_site(settings, load_statements(settings).statements, SAMPLE_NOW),
            GOLDEN / "sample-site")


def test_right_to_left_site_digests_match_golden_files() -> None:
    statements = [
        *refugee_statements(),
        statement("بيان حول أزمة اللاجئين في أوروبا", lang="ar", key="ist-refugee-crisis-2015",
                  excerpt=("تواجه أوروبا أكبر أزمة لاجئين منذ عقود.", "نطالب بفتح الحدود..."),
                  authors=("الاشتراكيون الثوريون", "DSIP"), slug="refugees-ar",
                  day=date(2015, 9, 5)),
        statement("إلى الأمام", lang="ar", slug="forward-ar", day=date(2019, 12, 31)),  # 2020-W01
    ]
    compare(site(statements, now=SAMPLE_NOW), GOLDEN / "rtl-site")
