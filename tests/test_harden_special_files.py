"""A config, or a record in an import's folder, that is no regular file: a FIFO waited for
a writer for ever, a device was read (``/dev/zero``: until memory ran out)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_run import MINIMAL, run
from conftest import SiteMaker
from test_harden_special_locales import device, fifo, unix_socket

from sfb_feeds.config import load_settings
from sfb_feeds.digest.render import Digests
from sfb_feeds.feeds.index_page import IndexPage
from sfb_feeds.model import Settings
from sfb_feeds.template_errors import TemplateFailed

LISTING = ("Socialism From Below\n\nAbout the site.\n\nFind out more\n\n"
           "Workers united against the war\n\nMonday 1st June 2015\n\n"
           "The workers of the world are striking today against the war and for wages, and "
           "we stand with them in solidarity ...\n\nFull statement\n")


@contextlib.contextmanager
def fifo_with_a_writer(path: Path, text: str) -> Iterator[Path]:
    """A FIFO at ``path`` that a thread writes ``text`` into each time a reader opens it, so
    a reader that waits for a writer reads the text instead of waiting for ever."""
    os.mkfifo(path)
    done = threading.Event()

    def write() -> None:
        while not done.is_set():
            with contextlib.suppress(BrokenPipeError), open(path, "w") as fifo:
                fifo.write(text)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield path
    finally:  # (the writer waits for a reader: give it them until it has seen it is done;
        done.set()  # one given between its look at ``done`` and its open would not do)
        while writer.is_alive():
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            writer.join(0.01)


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


RECIPIENTS = (MINIMAL + "digests:\n  from: D <d@example.org>\n"
              '  unsubscribe: "https://example.org/u?lang={lang}&address={address}&token={token}"\n'
              "  recipients:\n    en: en.txt\n")
RECORD = "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\nid: urn:sfb:a\n"


@pytest.mark.parametrize("command", ["check", "send"])
def test_a_recipients_file_that_is_a_fifo_is_refused(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """check waited for a writer for ever; send reads the file more than once."""
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "s" * 32)
    config = make_site({"a.yaml": RECORD}, config=RECIPIENTS)
    argv = [command, "--config", str(config), "--now", "2015-09-10"]
    with fifo_with_a_writer(config.parent / "en.txt", "ann@example.org\n"):
        code, out, err = run(argv + (["--dry-run"] if command == "send" else []))
    assert (code, out) == (1, "")
    assert err == ("error: site/sfb-feeds.yaml:8: digests.recipients.en: cannot read "
                   "site/en.txt: not a regular file (a FIFO, a device or a socket) (send mails "
                   "the language's subscribers from it; correct the path or create the file)\n")


@pytest.mark.parametrize("command", ["check", "build", "digest"])
def test_a_fifo_in_the_templates_folder_is_refused(make_site: SiteMaker, command: str) -> None:
    """check passed it; build waited for a writer for ever (reading the site's templates
    for the build's fingerprint, then in the template loader)."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "templates: tpl\n")
    (config.parent / "tpl" / "email").mkdir(parents=True)
    argv = [command, "--config", str(config), "--now", "2015-09-10"]
    with fifo_with_a_writer(config.parent / "tpl" / "email" / "digest.html", "{{ title }}\n"):
        code, out, err = run(argv)
    assert (code, out) == (1, "")
    assert err == ("error: site/sfb-feeds.yaml:4: templates: site/tpl/email/digest.html is a "
                   "FIFO, not a regular file; only regular files are read as templates "
                   "(remove it, or put the template's own file in its place)\n")
    assert not (config.parent / "feeds").exists()
    assert not (config.parent / "digests").exists()


def test_a_device_in_the_templates_folder_is_refused(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "templates: tpl\n")
    (config.parent / "tpl" / "pages" / "parts").mkdir(parents=True)
    (config.parent / "tpl" / "pages" / "parts" / "zero.html").symlink_to("/dev/zero")
    code, out, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, out) == (1, "")
    assert err == ("error: site/sfb-feeds.yaml:4: templates: site/tpl/pages/parts/zero.html "
                   "is a character device, not a regular file; only regular files are read as "
                   "templates (remove it, or put the template's own file in its place)\n")
    assert not (config.parent / "feeds").exists()


@pytest.mark.parametrize("target", ["/nonexistent/digest.html", "digest.html"])
def test_a_template_link_to_nothing_is_refused(make_site: SiteMaker, target: str) -> None:
    """A site template that is a symbolic link to a file that is gone (a share not mounted),
    or a link to itself, was passed over: the built-in template took its place, without a
    word, as for a misspelt templates folder."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "templates: tpl\n")
    (config.parent / "tpl" / "email").mkdir(parents=True)
    (config.parent / "tpl" / "email" / "digest.html").symlink_to(target)  # (itself: a loop)
    for command in ("check", "build", "digest"):
        code, out, err = run([command, "--config", str(config), "--now", "2015-09-10"])
        assert (code, out) == (1, ""), command
        assert err == ("error: site/sfb-feeds.yaml:4: templates: site/tpl/email/digest.html "
                       "is a symbolic link that leads to no file, not a regular file; only "
                       "regular files are read as templates (remove it, or put the "
                       "template's own file in its place)\n"), command
    assert not (config.parent / "feeds").exists()
    assert not (config.parent / "digests").exists()


def link_to_nothing(path: Path) -> str:
    path.symlink_to("/nonexistent/template.html")
    return "a symbolic link that leads to no file"


def prepare_index_page(settings: Settings) -> object:
    return IndexPage(settings, ["en"])


def prepare_digests(settings: Settings) -> object:
    return Digests(settings, ["en"])


@pytest.mark.parametrize(("template", "prepare"), [
    ("pages/index.html", prepare_index_page), ("email/digest.html", prepare_digests)])
@pytest.mark.parametrize("make", [fifo, device, unix_socket, link_to_nothing])
def test_a_template_that_turns_special_after_the_checks_is_refused(
        make_site: SiteMaker, template: str, prepare: Callable[[Settings], object],
        make: Callable[[Path], str]) -> None:
    """The config's check and the build's stamp passed; then the template's file became a
    FIFO (nobody writes to it), a device, a socket or a link to nothing before the
    renderers loaded it. They name it (exit 1 through the CLI: TemplateFailed is an
    SfbError) without waiting; before, the built-in template took its place without a
    word (Jinja's loader passed over what is not a file; a FIFO swapped in between its
    look and its blocking open would have kept the build waiting for ever)."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "templates: tpl\n")
    path = config.parent / "tpl" / template
    path.parent.mkdir(parents=True)
    path.write_text("{{ title }}\n", encoding="utf-8")
    settings = load_settings(config)  # checked: a regular file then
    path.unlink()
    kind = make(path)
    outcome: list[BaseException | object] = []

    def attempt() -> None:
        try:
            outcome.append(prepare(settings))
        except BaseException as error:  # (handed to the test's thread)
            outcome.append(error)

    loading = threading.Thread(target=attempt, daemon=True)
    loading.start()
    loading.join(120)  # a guard only: a loader waiting for a writer fails the test
    assert not loading.is_alive(), "the template loader waited for the FIFO's writer"
    assert len(outcome) == 1 and isinstance(outcome[0], TemplateFailed), outcome
    assert outcome[0].messages() == [
        f"site/tpl/{template}: is {kind}, not a regular file; only regular files are read "
        "as templates (remove it, or put the template's own file in its place)"]
    assert outcome[0].exit_code == 1
