"""Messages a user sees: internal errors in one line (exit 70), control characters escaped."""

from __future__ import annotations

import argparse
import io

import pytest
from conftest import SiteMaker

from sfb_feeds import __version__, cli
from sfb_feeds.cli import main
from sfb_feeds.errors import Problem


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _broken(args: argparse.Namespace, console: object) -> int:
    raise RuntimeError("something inside went wrong")


@pytest.fixture
def broken_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "check", _broken)


@pytest.mark.usefixtures("broken_check")
def test_an_unexpected_exception_is_one_line_naming_the_version_exit_70() -> None:
    code, out, err = run(["check"])
    assert code == 70
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: internal error in sfb-feeds {__version__}: ")
    assert "RuntimeError: something inside went wrong" in lines[0]
    assert "report" in lines[0] and "--verbose" in lines[0]
    assert "Traceback" not in err


@pytest.mark.usefixtures("broken_check")
def test_verbose_shows_the_traceback_of_an_internal_error() -> None:
    code, _, err = run(["check", "--verbose"])
    assert code == 70
    assert "Traceback (most recent call last):" in err
    assert err.splitlines()[-1].startswith(f"error: internal error in sfb-feeds {__version__}")


@pytest.mark.parametrize(("problem", "shown"), [
    (Problem("a\n\x1b[2Kb.yaml", "bad"), "a\\x0a\\x1b[2Kb.yaml: bad"),
    (Problem("a.yaml", "bad", 3, 1, "ti\x1b]0;x\x07tle"),
     "a.yaml:3: record 1: ti\\x1b]0;x\\x07tle: bad"),
    (Problem("a\u202eb.yaml", "x\r\nerror: forged", 1),
     "a\\u202eb.yaml:1: x\\x0d\\x0aerror: forged"),
    (Problem("a\u2028b", "ok"), "a\\u2028b: ok"),
])
def test_problems_escape_control_characters(problem: Problem, shown: str) -> None:
    assert str(problem) == shown


def test_a_hostile_file_name_and_field_name_cannot_forge_error_lines(
        make_site: SiteMaker) -> None:
    config = make_site({
        "x\n\x1b[31merror: forged.yaml":
            "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"
            "\"evil\\e[2K\\nerror: fake\": 1\n",
    })
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "\x1b" not in err
    assert "forged.yaml" in lines[0] and "\\x1b[2K\\x0aerror: fake" in lines[0]
