"""Inputs a user can write that a mutation fuzzer found ending in an internal error (exit
70), or passing `check` yet refused by `build`: each must be a clear error naming the file,
the line and the key or field, with no output written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker

TOO_LONG = "n" * 300  # one name longer than any filesystem here takes (255 bytes)


@pytest.mark.parametrize("key", ["statements", "output", "cache", "state", "templates"])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_folder_name_too_long_for_the_system_is_a_config_error(
        make_site: SiteMaker, tmp_path: Path, key: str, command: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"{key}: {TOO_LONG}\n")
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert f"site/sfb-feeds.yaml:4: {key}: " in err and "too long" in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_a_recipients_file_name_too_long_is_a_config_error(
        make_site: SiteMaker, tmp_path: Path) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        "digests:\n  from: a@example.org\n  unsubscribe: "
        "'https://example.org/u?lang={lang}&address={address}&token={token}'\n"
        f"  recipients:\n    en: {TOO_LONG}.csv\n"))
    code, _, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert "digests.recipients.en: " in err and "too long" in err, err


@pytest.mark.parametrize("key", ["statements", "output", "templates"])
def test_a_folder_that_is_a_loop_of_symbolic_links_is_a_config_error(
        make_site: SiteMaker, tmp_path: Path, key: str) -> None:
    """`output: loop` where loop links to itself passed `check`, and `build` ended in an
    internal error."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"{key}: loop\n")
    (config.parent / "loop").symlink_to("loop")
    for command in ("check", "build"):
        before = sorted(tmp_path.rglob("*"))
        code, _, err = run([command, "--config", str(config), "--now", "2015-09-10"])
        assert code == 1, err
        assert f"site/sfb-feeds.yaml:4: {key}: " in err and "symbolic links" in err, err
        assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("home", "command"), [
    ("", "check"),  # (not build: were it to pass, it would write /public)
    ("relative/home", "check"), ("relative/home", "build")])
def test_a_tilde_path_with_home_empty_or_relative_is_a_config_error(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        home: str, command: str) -> None:
    """With HOME set but empty, `output: ~/public` was taken for /public (and with a
    relative HOME, for a folder beside the config), as `$EMPTY/public` would be, which
    is refused."""
    monkeypatch.setenv("HOME", home)
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "output: ~/public\n")
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert "site/sfb-feeds.yaml:4: output: " in err and "$HOME" in err, err
    assert sorted(tmp_path.rglob("*")) == before
