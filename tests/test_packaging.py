"""The wheel carries everything: run from an unpacked wheel, away from the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (found,) = out.glob("sfb_feeds-*.whl")
    return found


def test_wheel_ships_every_module_template_and_catalog(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    source = REPO / "src"
    expected = {str(p.relative_to(source)) for p in source.rglob("*")
                if p.is_file() and p.suffix in {".py", ".po", ".html", ".typed"}
                and "__pycache__" not in p.parts}
    expected |= {f"sfb_feeds/templates/{p.relative_to(REPO / 'templates')}"
                 for p in (REPO / "templates").rglob("*") if p.is_file()
                 and "__pycache__" not in p.parts}
    assert expected - names == set()


def test_unpacked_wheel_builds_the_sample_site_from_elsewhere(wheel: Path,
                                                               tmp_path: Path) -> None:
    unpacked = tmp_path / "lib"
    zipfile.ZipFile(wheel).extractall(unpacked)
    site = tmp_path / "site"
    shutil.copytree(REPO / "statements", site / "statements")
    shutil.copy(REPO / "sfb-feeds.yaml", site / "sfb-feeds.yaml")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    done = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from sfb_feeds.cli import main; import sfb_feeds; assert 'lib' in sfb_feeds.__file__; "
         "sys.exit(main(sys.argv[2:]))", str(unpacked), "build", "--config",
         str(site / "sfb-feeds.yaml"), "--now", "2016-01-01T00:00:00+00:00"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    polish = (site / "feeds" / "digests" / "pl" / "2015-W36.html").read_text(encoding="utf-8")
    assert "Pełny tekst" in polish or "pełny" in polish.lower()
    assert (site / "feeds" / "index.html").is_file()
    assert list(elsewhere.iterdir()) == []
