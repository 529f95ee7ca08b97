"""The command line: help with examples, version, usage errors, the check summary."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SiteMaker

from sfb_feeds import __version__
from sfb_feeds.cli import main
from sfb_feeds.errors import display_path


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", ["check", "build", "digest", "send", "import"])
def test_every_command_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: sfb-feeds {command}")
    assert f"\n  sfb-feeds {command}" in text.split("example", 1)[1]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sfb-feeds {__version__}"


@pytest.mark.parametrize("argv", [[], ["publish"], ["build", "--now", "yesterday"],
                                  ["check", "--quiet", "--verbose"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: sfb-feeds" in capsys.readouterr().err


def test_check_summary_counts_languages_drafts_and_scheduled(make_site: SiteMaker) -> None:
    config = make_site({
        "a.yaml": "title: A\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\nid: urn:sfb:a\n",
        "b.yaml": "title: B\ndate: 2015-09-04\nlanguage: tr\nexcerpt: x\nid: urn:sfb:b\n",
        "c.yaml": "title: C\ndate: 2015-09-04\nlanguage: tr\nexcerpt: x\nid: urn:sfb:c\n",
        "d.yaml": "title: D\ndate: 2015-09-04\nlanguage: tr\nexcerpt: x\nid: urn:sfb:d\n"
                  "draft: yes\n",
        "e.yaml": "title: E\ndate: 2999-01-01\nlanguage: da\nexcerpt: x\nid: urn:sfb:e\n",
    })
    code, out, err = run(["check", "--config", str(config)])
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "5 statements OK in 2 languages (1 scheduled, 1 draft)", "  pl: 1", "  tr: 2"]
    code, out, _ = run(["check", "--config", str(config), "--now", "3000-01-01T00:00:00Z"])
    assert out.splitlines()[0] == "5 statements OK in 3 languages (0 scheduled, 1 draft)"


def test_check_prints_warnings_and_quiet_silences_the_summary(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"})
    code, out, err = run(["check", "--quiet", "--config", str(config)])
    assert code == 0
    assert out == ""
    assert err.startswith("warning: ")
    assert "record 1: id: not set; using 'tag:www.istendency.net,2015-09-04:en/a'" in err


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sfb_feeds", "check", "--config",
                           str(REPO / "sfb-feeds.yaml")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("6 statements OK in 4 languages")


def test_the_command_line_ends_with_its_output_written_and_its_exit_code(
        tmp_path: Path) -> None:
    """The console script skips the interpreter's teardown: what it printed still reaches
    a pipe whole, and the exit code is the command's."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "statements", site / "statements")
    shutil.copy(REPO / "sfb-feeds.yaml", site / "sfb-feeds.yaml")
    command = [sys.executable, "-m", "sfb_feeds", "build", "--config",
               str(site / "sfb-feeds.yaml"), "--now", "2016-01-01", "--verbose"]
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].endswith("written, 0 unchanged, 0 removed")
    written = int(lines[-1].split()[0])
    details = (done.stdout + done.stderr).splitlines()  # (--verbose: on stderr)
    assert sum(line.startswith("wrote ") for line in details) == written > 30
    (site / "statements" / "bad.yaml").write_text("title: [\n")
    failed = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert failed.returncode == 1 and failed.stdout == ""
    assert "bad.yaml" in failed.stderr and failed.stderr.endswith("\n")


def test_a_reader_that_goes_away_stops_the_output_quietly(tmp_path: Path) -> None:
    """`sfb-feeds digest ... | head -1`: once the reader has gone, the program stops as Unix
    tools do (exit 141, nothing on stderr), whether the output was still in its buffer or,
    larger than the buffer, being written (never an "internal error")."""
    command = [sys.executable, "-m", "sfb_feeds", "digest", "--config",
               str(REPO / "sfb-feeds.yaml"), "--week", "2015-W36", "--lang", "pl"]
    for part in ("text", "html"):  # (the HTML digest is larger than the 8 KiB buffer)
        reader, writer = os.pipe()
        os.close(reader)  # the reader has gone before anything is written
        with os.fdopen(writer, "wb") as pipe:
            done = subprocess.run([*command, "--part", part], stdout=pipe,
                                  stderr=subprocess.PIPE, text=True, check=False)
        assert (done.returncode, done.stderr) == (141, ""), part


@pytest.mark.parametrize("encoding", [{"LC_ALL": "C", "PYTHONUTF8": "0"},
                                      {"PYTHONIOENCODING": "latin-1"}])
def test_digest_prints_the_files_bytes_whatever_the_locale(encoding: dict[str, str]) -> None:
    """`sfb-feeds digest --part html > pl.html` under a locale that is not UTF-8 (an old
    server's ISO-8859 one, or C without Python's UTF-8 mode): the bytes `build` writes, as
    under a UTF-8 locale, never an internal error over a character the locale lacks."""
    golden = REPO / "tests" / "golden" / "digests" / "sample-site" / "digests" / "pl"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LC_", "LANG", "PYTHONIO", "PYTHONUTF8"))} | encoding
    for part, suffix in (("html", "html"), ("text", "txt"), ("eml", "eml")):
        done = subprocess.run(
            [sys.executable, "-m", "sfb_feeds", "digest", "--config",
             str(REPO / "sfb-feeds.yaml"), "--week", "2015-W36", "--lang", "pl", "--part", part],
            capture_output=True, check=False, env=env)
        assert (done.returncode, done.stderr) == (0, b""), part
        assert done.stdout == (golden / f"2015-W36.{suffix}").read_bytes(), part


def test_a_summary_the_locale_cannot_spell_is_escaped_not_a_crash(tmp_path: Path) -> None:
    """`import --out świat` under an ISO-8859-1 locale: the records are written, and the
    summary naming them says so with the characters it lacks escaped (as on standard
    error), exit 0, never an internal error after the work is done."""
    listing = REPO / "tests" / "fixtures" / "listings" / "basic.txt"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LC_", "LANG", "PYTHONUTF8"))} | {"PYTHONIOENCODING": "latin-1"}
    done = subprocess.run([sys.executable, "-m", "sfb_feeds", "import", str(listing), "--out",
                           "świat", "--base-url", "https://example.org"],
                          capture_output=True, check=False, env=env, cwd=tmp_path)
    names = sorted(path.name for path in (tmp_path / "świat").iterdir())
    assert done.returncode == 0 and b"internal error" not in done.stderr
    lines = done.stdout.decode("latin-1").splitlines()
    assert lines[0] == (f"{len(names)} records written, 0 already present (left unchanged), "
                        "0 to review")
    assert lines[1:] == [f"  wrote \\u015bwiat/{name}" for name in names]


def test_help_describes_every_argument_and_whom_send_mails(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`import --help` says what LISTING is; `send --help` names both kinds of recipient
    that send mails (the lists and the subscribers of the recipients files)."""
    assert main(["import", "--help"]) == 0
    text = capsys.readouterr().out
    arguments = text.split("positional arguments:\n", 1)[1].split("\n\n", 1)[0]
    assert arguments.split("\n") == [
        "  LISTING         a text file of one listing page, as copied from the site"]
    assert main(["send", "--help"]) == 0
    description = capsys.readouterr().out.split("\n\n")[1]
    assert description == ("email each digest of a week to its list (digests.lists) and "
                           "subscribers (digests.recipients), once only")


@pytest.mark.parametrize("command", ["check", "build", "digest", "send", "import"])
def test_an_unknown_option_is_named_with_the_commands_usage(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``build --bogus`` showed the usage of sfb-feeds as a whole (``sfb-feeds [-h]
    [--version] COMMAND ...``), not the options of the command it was given to."""
    listing = ["listing.txt"] if command == "import" else []  # (import's one argument)
    assert main([command, "--bogus", *listing, "-z"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: sfb-feeds {command} ")
    assert err.endswith(f"sfb-feeds {command}: error: unrecognized arguments: --bogus -z\n")


def test_check_verbose_says_what_it_read(make_site: SiteMaker) -> None:
    """``check -v`` said no more than ``check`` on a site with catalogs for its languages:
    it names the config, the statements, output and templates folders it resolved."""
    config = make_site({"a.yaml": "title: A\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\n"
                                  "id: urn:sfb:a\n"})
    code, _, err = run(["check", "--verbose", "--config", str(config)])
    assert code == 0
    site = display_path(config.parent)
    assert err.splitlines() == [
        f"config {site}/sfb-feeds.yaml: statements from {site}/statements/, outputs to "
        f"{site}/feeds/, built-in templates"]
