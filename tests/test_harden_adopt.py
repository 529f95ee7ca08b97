"""A first build never silently replaces the user's files at output paths."""

from __future__ import annotations

from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker


def test_a_first_build_lists_foreign_files_and_writes_nothing(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    feeds = config.parent / "feeds"
    (feeds / "en").mkdir(parents=True)
    (feeds / "index.html").write_text("my own page")
    (feeds / "en" / "atom.xml").write_text("mine too")
    (feeds / "notes.txt").write_text("not an output path")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1
    lines = err.splitlines()
    assert lines == [
        "error: site/feeds already holds 2 files at output paths that sfb-feeds did not "
        "write; move them away, or run `build --adopt` to let it replace them",
        "  not sfb-feeds': site/feeds/en/atom.xml",
        "  not sfb-feeds': site/feeds/index.html"]
    assert sorted(p.name for p in feeds.rglob("[!.]*")) == ["atom.xml", "en", "index.html",
                                                             "notes.txt"]
    assert (feeds / "index.html").read_text() == "my own page"


def test_adopt_takes_them_over_and_later_builds_need_no_flag(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    feeds = config.parent / "feeds"
    feeds.mkdir()
    (feeds / "index.html").write_text("my own page")
    code, _, err = run(["build", "--adopt", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    assert (feeds / "index.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert (feeds / "notes.txt").exists() is False
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-11"])
    assert (code, err) == (0, "")
