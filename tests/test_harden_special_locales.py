"""A FIFO, device or socket in the site's ``locales/`` folder, or one that takes a template's
place after the config's check, is an error naming it (exit 1, nothing written): build
read every file of both folders for its stamp and waited for a FIFO's writer for ever;
check passed a FIFO in place of a catalog. A site catalog over a mebibyte is refused
(Babel took 14 s to read a 13 MB one, again for each language).

The CLI runs in a subprocess: a build that waits for ever then fails the test when the
subprocess's timeout (a guard only, far above a build's time) runs out.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_run import MINIMAL, RECORD
from conftest import SiteMaker

from sfb_feeds.build import build
from sfb_feeds.config import load_settings
from sfb_feeds.errors import ConfigError

GUARD = 120  # seconds: only against a test run stuck for ever
CATALOG = "locales/en/LC_MESSAGES/sfb_feeds.po"  # the records' language
HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def run_cli(argv: list[str], here: Path) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "sfb_feeds", *argv], cwd=here,
                          capture_output=True, text=True, timeout=GUARD)
    return done.returncode, done.stdout, done.stderr


def outputs(config: Path) -> list[str]:
    """What the build wrote in the output folder (its lock file aside)."""
    folder = config.parent / "feeds"
    found = folder.rglob("*") if folder.exists() else ()
    return sorted(str(path) for path in found if path.name != ".sfb-feeds.lock")


def fifo(path: Path) -> str:
    os.mkfifo(path)
    return "a FIFO"


def device(path: Path) -> str:
    path.symlink_to("/dev/zero")
    return "a character device"


def unix_socket(path: Path) -> str:
    with socket.socket(socket.AF_UNIX) as bound:  # (the file stays after it is closed)
        bound.bind(str(path))
    return "a socket"


@pytest.mark.parametrize("command", ["check", "build", "digest"])
def test_a_fifo_in_place_of_a_catalog_is_refused(make_site: SiteMaker, command: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    (config.parent / CATALOG).parent.mkdir(parents=True)
    os.mkfifo(config.parent / CATALOG)  # nobody writes to it
    code, _, err = run_cli([command, "--config", str(config), "--now", "2015-09-10"],
                           config.parent.parent)
    assert code == 1
    assert err == (f"error: site/{CATALOG}: is a FIFO, not a regular file; only regular "
                   "files are read\n")
    assert outputs(config) == []
    assert not (config.parent / "digests").exists()


@pytest.mark.parametrize("make", [fifo, device, unix_socket])
def test_any_special_file_in_locales_is_refused(make_site: SiteMaker,
                                                make: Callable[[Path], str]) -> None:
    """Not only a catalog: build reads every file there (for the build's stamp)."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    (config.parent / "locales").mkdir()
    kind = make(config.parent / "locales" / "notes")
    for command in ("check", "build"):
        code, _, err = run_cli([command, "--config", str(config), "--now", "2015-09-10"],
                               config.parent.parent)
        assert (code, err) == (1, f"error: site/locales/notes: is {kind}, not a regular "
                               "file; only regular files are read\n"), command
    assert outputs(config) == []


def test_a_fifo_made_in_the_templates_folder_after_the_config_check(
        make_site: SiteMaker) -> None:
    """The config's check of the templates folder passed; a FIFO then took a template's
    place before the build read the folder: the build names it instead of waiting."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "templates: tpl\n")
    (config.parent / "tpl" / "email").mkdir(parents=True)
    settings = load_settings(config)  # checked: no FIFO yet
    late = config.parent / "tpl" / "email" / "digest.html"
    os.mkfifo(late)
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            build(settings, datetime(2015, 9, 10, tzinfo=UTC), on_loaded=print,
                  detail=print)
        except BaseException as error:  # (handed to the test's thread)
            errors.append(error)

    builder = threading.Thread(target=attempt, daemon=True)
    builder.start()
    builder.join(GUARD)
    stuck = builder.is_alive()
    for _ in range(600):  # waiting for a writer: one that comes and goes lets it go on
        if not builder.is_alive():
            break
        with contextlib.suppress(OSError):  # (ENXIO: nobody has it open to read just now)
            os.close(os.open(late, os.O_WRONLY | os.O_NONBLOCK))
        builder.join(0.1)
    assert not stuck, "the build waited for the FIFO's writer"
    assert len(errors) == 1 and isinstance(errors[0], ConfigError), errors
    assert errors[0].messages() == ["site/tpl/email/digest.html: is a FIFO, not a regular "
                                    "file; only regular files are read"]
    assert outputs(config) == []


@pytest.mark.parametrize("command", ["check", "build"])
def test_a_catalog_over_a_mebibyte_is_refused(make_site: SiteMaker, command: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    path = config.parent / CATALOG
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "# padding\n" * (1 << 17), encoding="utf-8")  # 1.25 MiB
    code, _, err = run_cli([command, "--config", str(config), "--now", "2015-09-10"],
                           config.parent.parent)
    assert code == 1
    assert err == (f"error: site/{CATALOG}: is larger than 1048576 bytes; a catalog of "
                   "sfb-feeds' labels takes a few kilobytes (is it another program's?)\n")
    assert outputs(config) == []


def test_a_catalog_link_to_nothing_is_refused(make_site: SiteMaker) -> None:
    """A site catalog that is a symbolic link to a file that is gone was passed over: the
    digests fell back on the shipped labels without a word."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    (config.parent / CATALOG).parent.mkdir(parents=True)
    (config.parent / CATALOG).symlink_to("/nonexistent/sfb_feeds.po")
    for command in ("check", "build", "digest"):
        code, _, err = run_cli([command, "--config", str(config), "--now", "2015-09-10"],
                               config.parent.parent)
        assert (code, err) == (1, f"error: site/{CATALOG}: is a symbolic link that leads to "
                               "no file, not a regular file; only regular files are read\n"), \
            command
    assert outputs(config) == []
    assert not (config.parent / "digests").exists()
