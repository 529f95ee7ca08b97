"""Divergences between an incremental build and a cold one found by a randomized
differential probe (an edit, then an incremental build and a cold build of the same inputs
must agree: exit code, messages and every output byte)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
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


DIGEST_TXT = (Path(__file__).resolve().parents[1] / "templates" / "email"
              / "digest.txt").read_text("utf-8")
CATALOG = ('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
           'msgid "Weekly digest"\nmsgstr "{label}"\n')
SITE_FILES = {
    "template": ("tpl/email/digest.txt",
                 lambda label: DIGEST_TXT.replace("{{ count_label }}",
                                                  "{{ count_label }} " + label)),
    "catalog": ("locales/en/LC_MESSAGES/sfb_feeds.po",
                lambda label: CATALOG.replace("{label}", label)),
}


@pytest.mark.parametrize("kind", sorted(SITE_FILES))
def test_a_site_file_edited_twice_in_one_clock_tick_is_rendered_as_a_cold_build_does(
        tmp_path: Path, kind: str) -> None:
    """The second edit keeps the file's size and modification time (as an edit within the
    same clock tick does): the outputs must still show it."""
    config = site(tmp_path / "site", {"a.yaml": LONG}, MINIMAL + "templates: tpl\n")
    (tmp_path / "site" / "tpl" / "email").mkdir(parents=True)
    name, text = SITE_FILES[kind]
    path = tmp_path / "site" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text("AAAA"), "utf-8")
    moment = path.stat().st_mtime_ns
    assert build(config)[0] == 0
    path.write_text(text("BBBB"), "utf-8")
    os.utime(path, ns=(moment, moment))
    assert build(config)[0] == 0
    incremental = snapshot(tmp_path / "site" / "feeds")
    shutil.rmtree(tmp_path / "site" / "feeds")
    shutil.rmtree(tmp_path / "site" / ".sfb-cache")
    assert build(config)[0] == 0
    cold = snapshot(tmp_path / "site" / "feeds")
    assert "BBBB" in cold["digests/en/2015-W01.txt"][0].decode()
    assert {path: data for path, (data, _) in incremental.items() if path[0] != "."} \
        == {path: data for path, (data, _) in cold.items() if path[0] != "."}
