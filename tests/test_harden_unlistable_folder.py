"""A statements folder (or one inside it) that cannot be listed is an error naming it, and
nothing is written: its statements dropped out of every feed without a word before (a
sub-folder left unreadable by a sync or a permissions slip: 6 outputs removed, exit 0).

Root reads any folder whatever its mode; the CLI then runs without the capabilities that
let it (``setpriv``), as any other user would. The subprocess's timeout guards the run only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import MINIMAL, RECORD
from conftest import SiteMaker

NOW = "2015-09-10"
OTHER = RECORD.replace("urn:sfb:a", "urn:sfb:b").replace("title: A", "title: B")


def as_a_user() -> list[str]:
    """What runs a command as a user whom a folder's mode binds."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a folder's mode binds nobody here")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def run_cli(argv: list[str], here: Path) -> tuple[int, str]:
    done = subprocess.run([*as_a_user(), sys.executable, "-m", "sfb_feeds", *argv], cwd=here,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stderr


def outputs(config: Path) -> dict[str, bytes]:
    folder = config.parent / "feeds"
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture
def closed() -> Iterator[list[Path]]:
    """Folders the test closes (mode 000): opened again after it, for the clean-up."""
    folders: list[Path] = []
    yield folders
    for folder in folders:
        folder.chmod(0o755)


@pytest.mark.parametrize("where", ["statements/2015", "statements"])
def test_a_folder_that_cannot_be_listed_is_an_error(make_site: SiteMaker, closed: list[Path],
                                                    where: str) -> None:
    config = make_site({"a.yaml": RECORD, "2015/b.yaml": OTHER}, config=MINIMAL)
    argv = ["--config", str(config), "--now", NOW]
    assert run_cli(["build", *argv], config.parent.parent) == (0, "")
    before = outputs(config)
    folder = config.parent / where
    folder.chmod(0)
    closed.append(folder)
    for command in ("check", "build"):
        assert run_cli([command, *argv], config.parent.parent) == (
            1, f"error: site/{where}: cannot read: Permission denied\n"), command
    assert outputs(config) == before


TEMPLATE = "tpl/email/digest.html"
CATALOG = "locales/en/LC_MESSAGES/sfb_feeds.po"


@pytest.mark.parametrize(("where", "config_line"), [
    (TEMPLATE, "site/sfb-feeds.yaml:4: templates: "), (CATALOG, "")])
def test_a_template_or_catalog_that_cannot_be_read_is_an_error(
        make_site: SiteMaker, closed: list[Path], where: str, config_line: str) -> None:
    """A site template or catalog whose mode forbids reading it: check passed it, and build
    and digest stopped with an internal error (exit 70, "this is a bug")."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "templates: tpl\n")
    (config.parent / "tpl" / "email").mkdir(parents=True)
    (config.parent / CATALOG).parent.mkdir(parents=True)
    (config.parent / TEMPLATE).write_text("{{ title }}\n", encoding="utf-8")
    (config.parent / CATALOG).write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n', encoding="utf-8")
    argv = ["--config", str(config), "--now", NOW]
    closing = config.parent / where
    closing.chmod(0)
    closed.append(closing)
    colon = "" if config_line else ":"
    for command in ("check", "build", "digest"):
        assert run_cli([command, *argv], config.parent.parent) == (
            1, f"error: {config_line}site/{where}{colon} cannot be read: Permission denied; "
            "let the user that runs sfb-feeds read it, or remove it\n"), command
    assert not [name for name in outputs(config) if not name.startswith(".")]  # (a lock, no more)
    assert not (config.parent / "digests").exists()


@pytest.mark.parametrize(("where", "config_line"), [
    (TEMPLATE, "site/sfb-feeds.yaml:4: templates: "), (CATALOG, "")])
def test_a_template_or_catalog_linked_to_a_file_that_cannot_be_read_is_an_error(
        make_site: SiteMaker, closed: list[Path], where: str, config_line: str) -> None:
    """The same through a symbolic link to a file elsewhere: check passed such a template
    (build then refused it), and named such a catalog otherwise than a closed one."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "templates: tpl\n")
    (config.parent / "tpl" / "email").mkdir(parents=True)
    (config.parent / CATALOG).parent.mkdir(parents=True)
    elsewhere = config.parent.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "digest.html").write_text("{{ title }}\n", encoding="utf-8")
    (elsewhere / "sfb_feeds.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n', encoding="utf-8")
    (config.parent / TEMPLATE).symlink_to(elsewhere / "digest.html")
    (config.parent / CATALOG).symlink_to(elsewhere / "sfb_feeds.po")
    target = elsewhere / Path(where).name
    target.chmod(0)
    closed.append(target)
    argv = ["--config", str(config), "--now", NOW]
    colon = "" if config_line else ":"
    for command in ("check", "build", "digest"):
        assert run_cli([command, *argv], config.parent.parent) == (
            1, f"error: {config_line}site/{where}{colon} cannot be read: Permission denied; "
            "let the user that runs sfb-feeds read it, or remove it\n"), command
    assert not [name for name in outputs(config) if not name.startswith(".")]
    assert not (config.parent / "digests").exists()
