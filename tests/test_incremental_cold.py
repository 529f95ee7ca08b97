"""Divergences between an incremental build and a cold one found by a randomized
differential probe (an edit, then an incremental build and a cold build of the same inputs
must agree: exit code, messages and every output byte)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from cli_run import MINIMAL, run
from conftest import snapshot

NOW = "2016-01-01"
LONG = "title: A\ndate: 2015-01-01\nlanguage: en\nid: urn:sfb:a\nexcerpt: " + "word " * 40 + "\n"


def aged(path: Path) -> None:
    """Dated an hour back, so the caches trust it."""
    moment = time.time() - 3600
    os.utime(path, (moment, moment))


def site(root: Path, records: dict[str, str], config: str = MINIMAL) -> Path:
    (root / "statements").mkdir(parents=True)
    for name, text in records.items():
        (root / "statements" / name).write_text(text, "utf-8")
        aged(root / "statements" / name)
    (root / "sfb-feeds.yaml").write_text(config, "utf-8")
    return root / "sfb-feeds.yaml"


def build(config: Path) -> tuple[int, str, str]:
    return run(["build", "--config", str(config), "--now", NOW])


def test_a_lowered_excerpt_limit_refuses_a_cached_statement_as_a_cold_build_does(
        tmp_path: Path) -> None:
    config = site(tmp_path / "site", {"a.yaml": LONG})
    assert build(config)[0] == 0
    before = snapshot(tmp_path / "site" / "feeds")
    config.write_text(MINIMAL + "limits:\n  excerpt_bytes: 100\n", "utf-8")
    message = ("error: site/statements/a.yaml:5: record 1: excerpt: is longer than 100 bytes "
               "(limits.excerpt_bytes); shorten it (a feed carries an excerpt, not the "
               "whole text)\n")
    assert build(config)[::2] == (1, message)  # incremental: the record cache was filled
    assert snapshot(tmp_path / "site" / "feeds") == before
    shutil.rmtree(tmp_path / "site" / ".sfb-cache")
    assert build(config)[::2] == (1, message)  # cold


def test_a_lowered_file_limit_refuses_a_cached_file_as_a_cold_build_does(
        tmp_path: Path) -> None:
    config = site(tmp_path / "site", {"a.yaml": LONG})
    assert build(config)[0] == 0
    config.write_text(MINIMAL + "limits:\n  file_bytes: 100\n", "utf-8")
    incremental = build(config)
    shutil.rmtree(tmp_path / "site" / ".sfb-cache")
    cold = build(config)
    assert cold[0] == 1
    assert incremental[::2] == cold[::2]
