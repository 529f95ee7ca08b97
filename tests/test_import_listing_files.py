"""`import` reads a listing only if it is a regular file of at most 64 MiB.

Before, it read the whole path, whatever it was: a 3 GB sparse file or /dev/zero filled
the memory (internal error, exit 70, with the machine's memory gone meanwhile) and a
FIFO without a writer kept it waiting for ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE = "https://example.org/"


def _import(listing: Path, out: Path) -> subprocess.CompletedProcess[str]:
    # A child process, so that a read that never ends fails this test (timeout) instead
    # of hanging the suite; the timeout is a guard, never what the test checks.
    return subprocess.run(
        [sys.executable, "-m", "sfb_feeds", "import", str(listing), "--out", str(out),
         "--base-url", BASE],
        capture_output=True, text=True, timeout=120, check=False)


def test_a_listing_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    listing = tmp_path / "huge.txt"
    with listing.open("wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: nothing of it is on the disk
    result = _import(listing, tmp_path / "out")
    assert result.returncode in (1, 2), result.stderr
    assert "huge.txt" in result.stderr and "larger than" in result.stderr
    assert "internal error" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_listing_that_is_no_regular_file_is_named(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        listing = tmp_path / "pipe.txt"
        os.mkfifo(listing)
    else:
        listing = Path("/dev/zero")
    result = _import(listing, tmp_path / "out")
    assert result.returncode in (1, 2), result.stderr
    expected = "is a FIFO" if kind == "fifo" else "is a character device"
    assert expected in result.stderr and listing.name in result.stderr
    assert not (tmp_path / "out").exists()
