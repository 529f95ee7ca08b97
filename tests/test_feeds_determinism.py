"""Same input, same bytes: across runs, hash seeds, build clocks and input order."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from test_feeds_fixtures import NOW, build, make_settings, sample_statements

from sfb_feeds.site import make_site

DIGEST_SCRIPT = """
import hashlib, sys
sys.path.insert(0, {tests!r})
from test_feeds_fixtures import build, sample_site
for path, data in sorted(build(sample_site()).items()):
    print(path, hashlib.sha256(data).hexdigest())
"""


def digests(seed: str, tmp_path: Path) -> str:
    script = DIGEST_SCRIPT.format(tests=str(Path(__file__).parent))
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_bytes_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    first, second = digests("0", tmp_path), digests("4242", tmp_path)
    assert first.count("\n") > 20
    assert first == second


def test_a_second_build_changes_no_byte() -> None:
    settings = make_settings()
    assert build(make_site(settings, sample_statements(), NOW)) == build(
        make_site(settings, sample_statements(), NOW))


def test_the_build_clock_never_reaches_the_output() -> None:
    settings = make_settings()
    earlier = build(make_site(settings, sample_statements(), NOW))
    # Later, with the same statements published: nothing may change.
    later = build(make_site(settings, sample_statements(), NOW + timedelta(days=20)))
    assert later == earlier


def test_input_order_does_not_matter() -> None:
    settings = make_settings()
    statements = sample_statements()
    assert build(make_site(settings, statements[::-1], NOW)) == build(
        make_site(settings, statements, NOW))


def test_digest_script_matches_in_process(tmp_path: Path) -> None:
    from test_feeds_fixtures import sample_site

    expected = "".join(f"{path} {hashlib.sha256(data).hexdigest()}\n"
                       for path, data in sorted(build(sample_site()).items()))
    assert digests("1", tmp_path) == expected
