"""Shared fixtures: a throwaway site folder, a guard that tests run inside tmp_path, and an
SMTP server on loopback for the send tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings as hypothesis_settings

# The property tests draw new examples on every run, which is how they find what nobody
# thought of; CI (.ci/run sets SFB_HYPOTHESIS=ci) draws the same ones every time, so that
# its verdict changes only when the code does. A case found locally is pinned with @example.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("SFB_HYPOTHESIS", "default"))

if TYPE_CHECKING:
    from smtp_faults import FaultyHandler

    from sfb_feeds.model import Output
    from sfb_feeds.plan import OutputFormat
    from sfb_feeds.site import Site

REPO = Path(__file__).resolve().parents[1]

SITE_CONFIG = """\
site:
  title: Socialism From Below
  description: Statements of the International Socialist Tendency.
  url: https://www.istendency.net/
  feeds_url: https://www.istendency.net/feeds/
  author: International Socialist Tendency
  timezone: Europe/London
"""

GOOD_RECORD = """\
title: A statement
date: 2015-09-04
language: en
url: https://www.istendency.net/statements/a
excerpt: |
  First paragraph.

  Second paragraph...
"""

SiteMaker = Callable[..., Path]

# Labels most languages write exactly as English does (the translation is checked all
# the same: a catalog must hold it, and French, for one, writes it differently).
SAME_IN_MANY_LANGUAGES = frozenset({"{label}:"})


def render_site(site: Site, formats: Sequence[OutputFormat] | None = None) -> list[Output]:
    """Render every planned output of ``site`` (all formats unless ``formats``); nothing is
    written."""
    from sfb_feeds.model import Output
    from sfb_feeds.pipeline import all_formats
    from sfb_feeds.plan import plan_outputs

    chosen = all_formats(site.settings, site.languages) if formats is None else formats
    return [Output(path, data) for planned in plan_outputs(site, chosen)
            for path, data in planned.render(site)]


# Where a build, import or send run from the wrong folder would write inside the repository.
_GUARDED = ("feeds", "statements", ".sfb-cache", ".sfb-state")


def _repo_outputs() -> set[str]:
    found: set[str] = set()
    for name in _GUARDED:
        for root, _, files in os.walk(REPO / name):
            found.update(str(Path(root, f).relative_to(REPO)) for f in files)
    return found


@pytest.fixture(autouse=True)
def _run_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run every test in its own folder, and fail it if it wrote into the repository."""
    before = _repo_outputs()
    monkeypatch.chdir(tmp_path)
    yield
    added = _repo_outputs() - before
    assert not added, f"the test wrote into the repository: {sorted(added)}"


@pytest.fixture
def make_site(tmp_path: Path) -> SiteMaker:
    """Write a config and statement files; returns the config path.

    ``files`` maps paths under ``statements/`` to YAML text (dedented) or raw bytes.
    """

    def make(files: dict[str, str | bytes] | None = None, config: str = SITE_CONFIG,
             folder: str = "site") -> Path:
        root = tmp_path / folder
        (root / "statements").mkdir(parents=True, exist_ok=True)
        for name, content in (files or {"a.yaml": GOOD_RECORD}).items():
            path = root / "statements" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content), encoding="utf-8")
        config_path = root / "sfb-feeds.yaml"
        config_path.write_text(config, encoding="utf-8")
        return config_path

    return make


@pytest.fixture
def send_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What every `send` test's environment holds: the unsubscribe links' secret, and no
    pause between retries (``pytestmark = pytest.mark.usefixtures("send_environment")``)."""
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "a test secret")
    monkeypatch.setenv("SFB_FEEDS_SEND_BACKOFF", "0")


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The server processes a test starts (appended once started), stopped after it."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def server() -> Iterator[tuple[FaultyHandler, int]]:
    """An SMTP server on loopback (aiosmtpd) that keeps every message it accepts; yields its
    handler and port. aiosmtpd is imported here, not above: only the send tests need it, and
    they skip without it."""
    import smtp_faults

    handler = smtp_faults.FaultyHandler(keep=True)
    with smtp_faults.aiosmtpd_server(handler) as port:
        yield handler, port


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """``folder`` (made if missing) as a tmpfs of ``size`` (``48k``, ``1m``) for a disk that
    fills up; the test is skipped where mounting is not allowed (not root)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a full disk: {done.stderr!r}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` with its bytes and modification time."""
    result: dict[str, tuple[bytes, int]] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            result[str(path.relative_to(folder))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return result


@pytest.fixture
def flushed(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """The inodes ``os.fsync`` is called on during the test (files' bytes, folders' names):
    what would survive a crash."""
    inodes: set[int] = set()
    real = os.fsync

    def recording(fd: int) -> None:
        inodes.add(os.fstat(fd).st_ino)
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return inodes
