"""Odd inputs end in a message and exit 1 (or a clean build), never a traceback or a hang."""

from __future__ import annotations

import io
import os
import socket
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import SiteMaker, snapshot

from sfb_feeds.cli import main
from sfb_feeds.errors import display_path

MINIMAL = "site:\n  title: T\n  url: https://example.org/\n"


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def record(lang: str = "en", date: str = "2015-09-04", excerpt: str = "hi") -> str:
    return (f"title: A {lang}\ndate: {date}\nlanguage: {lang}\nexcerpt: {excerpt}\n"
            f"id: urn:sfb:{lang}\n")


def test_the_minimal_config_builds(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": record()}, config=MINIMAL)
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    rss = ET.parse(config.parent / "feeds" / "en" / "rss.xml").getroot()
    assert rss.findtext("channel/description") == "T"


@pytest.mark.parametrize("lang", ["ku-Arab", "rom", "crh", "lad", "ber", "qaa"])
def test_languages_without_cldr_data_build(make_site: SiteMaker, lang: str) -> None:
    config = make_site({"a.yaml": record(lang)}, config=MINIMAL)
    code, out, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, ""), err
    atom = ET.parse(config.parent / "feeds" / lang / "atom.xml").getroot()
    title = atom.findtext("{http://www.w3.org/2005/Atom}title") or ""
    assert title.startswith("T — ")
    code, out, err = run(["digest", "--config", str(config), "--now", "2015-09-10",
                          "--lang", lang])
    assert (code, err) == (0, "")
    assert f"A {lang}" in out


def test_a_script_subtag_decides_the_direction(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": record("ku-Arab")}, config=MINIMAL)
    code, out, _ = run(["digest", "--config", str(config), "--now", "2015-09-10",
                        "--part", "html"])
    assert code == 0
    assert 'dir="rtl"' in out


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "f.yaml")
    return "f.yaml: is a FIFO, not a regular file; only regular files are read"


def _zero(folder: Path) -> str:
    (folder / "z.yaml").symlink_to("/dev/zero")
    return "z.yaml: is a character device, not a regular file; only regular files are read"


def _socket(folder: Path) -> str:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "s.yaml"))
    sock.close()
    return "s.yaml: is a socket, not a regular file; only regular files are read"


def _dangling(folder: Path) -> str:
    (folder / "d.yaml").symlink_to("moved-away.yaml")
    return "d.yaml: is a symbolic link to 'moved-away.yaml', which does not exist"


def _loop(folder: Path) -> str:
    (folder / "l.yaml").symlink_to("l.yaml")
    return "l.yaml: is a symbolic link in a loop (it leads back to itself)"


@pytest.mark.parametrize("plant", [_fifo, _zero, _socket, _dangling, _loop])
@pytest.mark.parametrize("command", ["check", "build"])
def test_only_regular_files_are_read(make_site: SiteMaker, plant: object,
                                     command: str) -> None:
    """Each other kind of file is reported by name: a link to nothing is not skipped
    without a word, nor is a link in a loop an internal error."""
    config = make_site({"a.yaml": record()}, config=MINIMAL)
    assert callable(plant)
    expected = plant(config.parent / "statements")
    code, _, err = run([command, "--config", str(config)])
    assert (code, err) == (1, f"error: site/statements/{expected}\n")
    assert not (config.parent / "feeds").exists()


def test_statement_files_and_excerpts_have_size_limits(make_site: SiteMaker) -> None:
    big = "x" * (1024 * 1024 + 1)
    config = make_site({"a.yaml": record(excerpt=big)}, config=MINIMAL)
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert "statements/a.yaml:4: record 1: excerpt: is longer than 1048576 bytes " \
           "(limits.excerpt_bytes)" in err
    config.write_text(MINIMAL + "limits:\n  excerpt_bytes: 2000000\n  file_bytes: 1000000\n")
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert "error: site/statements/a.yaml: is larger than 1000000 bytes (1048644 bytes) " \
           "(limits.file_bytes in the config)" in err
    config.write_text(MINIMAL + "limits:\n  excerpt_bytes: 2000000\n")
    code, _, err = run(["check", "--config", str(config)])
    assert (code, err) == (0, "")


@pytest.mark.parametrize(("date", "week_starts"), [
    ("0001-01-01", "sunday"), ("9999-12-30", "monday"), ("0001-01-07T00:00:00+14:00", "sunday"),
])
def test_dates_at_the_calendar_edges_are_refused(make_site: SiteMaker, date: str,
                                                  week_starts: str) -> None:
    config = make_site({"a.yaml": record(date=date)},
                       config=MINIMAL + f"digests:\n  week_starts: {week_starts}\n")
    for command in ("check", "build"):
        code, _, err = run([command, "--config", str(config)])
        assert code == 1
        assert f"record 1: date: {date} is outside the years 0002 to 9998" in err


@pytest.mark.parametrize("date", ["0002-01-01", "9998-12-31T23:00:00-14:00"])
def test_dates_just_inside_the_edges_build(make_site: SiteMaker, date: str) -> None:
    config = make_site({"a.yaml": record(date=date)},
                       config=MINIMAL + "digests:\n  week_starts: sunday\n")
    code, _, err = run(["build", "--config", str(config), "--now", "9998-12-31T23:59:00-12:00"])
    assert (code, err) == (0, "")


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01", "9999-W01"])
@pytest.mark.parametrize("command", ["digest", "send"])
def test_weeks_at_the_calendar_edges_are_usage_errors(make_site: SiteMaker, week: str,
                                                      command: str) -> None:
    config = make_site({"a.yaml": record()},
                       config=MINIMAL + "digests:\n  lists:\n    en: l@example.org\n"
                       "  from: f@example.org\n")
    code, _, err = run([command, "--config", str(config), "--week", week, "--dry-run"]
                       if command == "send" else [command, "--config", str(config),
                                                  "--week", week])
    assert code == 2
    assert f"--week: '{week}' is outside the years 0002 to 9998" in err


def test_now_at_the_calendar_edges_is_a_usage_error(capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    assert main(["digest", "--now", "0001-01-01"]) == 2
    assert "is outside the years 0002 to 9998" in capsys.readouterr().err


def test_a_folder_link_planted_in_the_output_folder_is_a_clean_error(
        make_site: SiteMaker, tmp_path: Path) -> None:
    config = make_site({"a.yaml": record()}, config=MINIMAL)
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    en = config.parent / "feeds" / "en"
    for child in en.iterdir():
        child.unlink()
    en.rmdir()
    en.symlink_to(elsewhere)
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1
    assert err == (f"error: site/feeds/en: is a link that leads outside the output folder (to "
                   f"{display_path(elsewhere)}); remove it (sfb-feeds writes nothing through "
                   "it)\n")
    assert list(elsewhere.iterdir()) == []


def test_lowering_a_limit_refuses_a_file_accepted_before(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": record(excerpt="x" * 5000)}, config=MINIMAL)
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    config.write_text(MINIMAL + "limits:\n  excerpt_bytes: 1000\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1
    assert "excerpt: is longer than 1000 bytes" in err


def test_a_link_loop_under_statements_reads_each_folder_once(make_site: SiteMaker) -> None:
    config = make_site({"en/a.yaml": record()}, config=MINIMAL)
    statements = config.parent / "statements"
    (statements / "en" / "back").symlink_to(statements)  # a loop: en/back/en/back/...
    (statements / "again").symlink_to(statements / "en")  # a second way to the same folder
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    atom = ET.parse(config.parent / "feeds" / "en" / "atom.xml").getroot()
    assert len(atom.findall("{http://www.w3.org/2005/Atom}entry")) == 1


def test_an_emptied_statements_folder_leaves_a_published_site_as_it_was(
        make_site: SiteMaker, capsys: pytest.CaptureFixture[str]) -> None:
    """A statements folder with no statement file (a disk not mounted, a sync that failed)
    once a site is published: exit 1, naming the folder, and the outputs untouched (before,
    every feed was emptied and every digest removed). The next build with the statements
    back writes nothing."""
    config = make_site()
    assert main(["build", "--config", str(config), "--quiet"]) == 0
    output = config.parent / "feeds"
    before = snapshot(output)
    statements = config.parent / "statements"
    (statements / "a.yaml").rename(config.parent / "a.yaml")
    capsys.readouterr()
    assert main(["build", "--config", str(config)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: {display_path(statements)}: holds no statement files"), error
    published = [path for path in before if not Path(path).name.startswith(".")]
    assert f"{display_path(output)} holds {len(published)} outputs of" in error
    assert snapshot(output) == before
    (config.parent / "a.yaml").rename(statements / "a.yaml")
    assert main(["build", "--config", str(config), "-v"]) == 0
    assert "0 written" in capsys.readouterr().err
    assert snapshot(output) == before


def test_a_site_with_no_statements_yet_builds(make_site: SiteMaker) -> None:
    """A first build of an empty statements folder publishes empty feeds (nothing to keep)."""
    config = make_site({})
    assert main(["build", "--config", str(config), "--quiet"]) == 0
    assert (config.parent / "feeds" / "atom.xml").is_file()
