"""A config, or a record in an import's folder, that is no regular file: a FIFO waited for
a writer for ever, a device was read (``/dev/zero``: until memory ran out)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest
from cli_run import MINIMAL, run
from conftest import SiteMaker

LISTING = ("Socialism From Below\n\nAbout the site.\n\nFind out more\n\n"
           "Workers united against the war\n\nMonday 1st June 2015\n\n"
           "The workers of the world are striking today against the war and for wages, and "
           "we stand with them in solidarity ...\n\nFull statement\n")


@contextlib.contextmanager
def fifo_with_a_writer(path: Path, text: str) -> object:
    """A FIFO at ``path`` that a thread writes ``text`` into once a reader opens it (so a
    reader that waits for a writer gets the text, instead of waiting for ever)."""
    os.mkfifo(path)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(path, "w") as fifo:
            fifo.write(text)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield path
    finally:  # (a reader that never came: open one, so the writer's open returns)
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        writer.join()


@pytest.mark.parametrize("command", ["check", "build"])
def test_a_config_that_is_a_fifo_is_refused(make_site: SiteMaker, command: str) -> None:
    config = make_site({}, config=MINIMAL)
    config.unlink()
    with fifo_with_a_writer(config, MINIMAL):
        code, out, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert (code, out) == (1, "")
    assert err == ("error: site/sfb-feeds.yaml: cannot read the config: is a FIFO, not a "
                   "regular file; only regular files are read\n")
    assert not (config.parent / "feeds").exists()


@pytest.mark.parametrize(("device", "kind"), [("/dev/null", "a character device")])
def test_a_config_that_is_a_device_is_refused(make_site: SiteMaker, device: str,
                                              kind: str) -> None:
    config = make_site({}, config=MINIMAL)
    config.unlink()
    config.symlink_to(device)
    code, out, err = run(["check", "--config", str(config)])
    assert (code, out, err) == (1, "", f"error: site/sfb-feeds.yaml: cannot read the config: "
                                f"is {kind}, not a regular file; only regular files are read\n")


def test_a_config_larger_than_a_mebibyte_is_refused(make_site: SiteMaker) -> None:
    config = make_site({}, config=MINIMAL + "#" * (1 << 20) + "\n")
    code, out, err = run(["check", "--config", str(config)])
    assert (code, out, err) == (1, "", "error: site/sfb-feeds.yaml: is larger than 1048576 "
                                "bytes; is it the config?\n")


def test_import_passes_over_a_fifo_in_its_folder(tmp_path: Path) -> None:
    """As check and build do (they name it): it is no record, and is not waited on."""
    (tmp_path / "listing.txt").write_text(LISTING, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    os.chdir(tmp_path)
    with fifo_with_a_writer(out / "x.yaml", "id: https://e.org/statements/2015-06-01-workers-"
                            "united-against-the-war\n"):
        code, _, err = run(["import", "listing.txt", "--out", "out", "--base-url",
                            "https://e.org/"])
    assert (code, err) == (0, "")
    assert sorted(p.name for p in out.iterdir()) == [
        "2015-06-01-workers-united-against-the-war.yaml", "x.yaml"]
