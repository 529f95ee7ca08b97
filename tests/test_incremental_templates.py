"""The inlined email templates a build keeps in its cache folder (``incremental.templates``).

With the store filled, a build prepares the digests without premailer at all: these tests
make ``import premailer`` fail for such a build, so a store that is not used, or not
found, turns them red.
"""

from __future__ import annotations

import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from test_ops_build import LONDON_SITE, age, build_cleanly, outputs, record

from sfb_feeds.incremental.templates import JINJA_FOLDER, TEMPLATES_FILE, TemplateStore

REPO = Path(__file__).resolve().parents[1]
CONFIG = LONDON_SITE + """\
templates: templates
"""


def build(root: Path) -> None:
    build_cleanly(root, "2016-01-01")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "statements").mkdir(parents=True)
    for number, (lang, date) in enumerate([("en", "2015-09-04"), ("en", "2015-09-02"),
                                            ("pl", "2015-09-03"), ("el", "2015-08-20")]):
        (root / "statements" / f"s{number}.yaml").write_text(
            record(number, lang, date, excerpt="First paragraph.\n\nSecond one."), "utf-8")
    shutil.copytree(REPO / "templates" / "email", root / "templates" / "email")
    (root / "sfb-feeds.yaml").write_text(CONFIG, encoding="utf-8")
    age(root)
    return root


def rebuilt_without_premailer(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every output, built again into an empty output folder with premailer unimportable."""
    shutil.rmtree(root / "feeds")
    with monkeypatch.context() as patch:
        for name in [n for n in sys.modules if n == "premailer" or n.startswith("premailer.")]:
            patch.delitem(sys.modules, name)
        patch.setitem(sys.modules, "premailer", None)  # import premailer: ImportError
        build(root)
    return outputs(root)


def digest_pages(found: dict[str, bytes]) -> list[str]:
    return sorted(path for path in found if path.startswith("digests/")
                  and path.endswith(".html") and not path.endswith("index.html"))


def test_a_build_with_the_store_filled_writes_the_same_bytes_without_premailer(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(site)
    first = outputs(site)
    assert len(digest_pages(first)) >= 3  # en, pl and el weeks
    assert rebuilt_without_premailer(site, monkeypatch) == first


@pytest.mark.parametrize("damage", [
    b"",
    b"{not json",
    b'{"format": "something else", "entries": {}}',
    b"\xff\xfe\x00garbage",
])
def test_a_damaged_store_is_ignored_and_written_again(
        site: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes) -> None:
    build(site)
    first = outputs(site)
    store = site / ".sfb-cache" / TEMPLATES_FILE
    assert store.is_file()
    store.write_bytes(damage)
    shutil.rmtree(site / "feeds")
    build(site)  # premailer again: the damaged store gave nothing
    assert outputs(site) == first
    assert rebuilt_without_premailer(site, monkeypatch) == first  # refilled


def test_an_entry_whose_text_was_altered_is_inlined_again(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path)
    store["a"], store["b"] = "<p style='color: red'>{{ x }}</p>", "<p>kept</p>"
    store.save()
    path = tmp_path / TEMPLATES_FILE
    path.write_bytes(path.read_bytes().replace(b"red", b"RED"))
    again = TemplateStore(tmp_path)
    assert "a" not in again
    assert again["b"] == "<p>kept</p>"


def test_only_the_entries_a_build_used_are_kept(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path)
    store["old"], store["new"] = "old text", "new text"
    store.save()
    later = TemplateStore(tmp_path)
    assert later["new"] == "new text"
    later.save()
    assert dict(TemplateStore(tmp_path)) == {"new": "new text"}


class _Styles(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.styles.extend(value or "" for name, value in attrs if name == "style")


def styles(page: bytes) -> str:
    parser = _Styles()
    parser.feed(page.decode("utf-8"))
    return " ".join(parser.styles)


def test_an_edited_stylesheet_misses_the_store(site: Path) -> None:
    build(site)
    pages = digest_pages(outputs(site))
    assert all("#123456" not in styles(outputs(site)[p]) for p in pages)
    with (site / "templates" / "email" / "digest.css").open("a", encoding="utf-8") as css:
        css.write("\n.excerpt { color: #123456; }\n")
    age(site / "templates")
    build(site)
    found = outputs(site)
    assert pages and all("#123456" in styles(found[page]) for page in pages)


def rebuilt_without_compiling(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every output, built again into an empty output folder with Jinja unable to compile."""
    shutil.rmtree(root / "feeds")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a template was compiled")

    with monkeypatch.context() as patch:
        patch.setattr(jinja2.Environment, "compile", refuse)
        build(root)
    return outputs(root)


def test_templates_compiled_once_are_kept_between_builds(
        site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(site)
    first = outputs(site)
    assert any((site / ".sfb-cache" / JINJA_FOLDER).iterdir())
    assert rebuilt_without_compiling(site, monkeypatch) == first


@pytest.mark.parametrize("damage", [b"", b"j2\x00garbage", b"\x80\x04garbage"])
def test_damaged_compiled_templates_are_compiled_again(site: Path, damage: bytes) -> None:
    build(site)
    first = outputs(site)
    folder = site / ".sfb-cache" / JINJA_FOLDER
    for entry in folder.iterdir():
        # (Jinja's own header, then damaged bytes where its checksum and code should be)
        entry.write_bytes(entry.read_bytes()[:6] + damage if damage else b"")
    shutil.rmtree(site / "feeds")
    build(site)
    assert outputs(site) == first


def test_an_edited_template_is_compiled_again(site: Path) -> None:
    build(site)
    template = site / "templates" / "email" / "digest.txt"
    template.write_text(template.read_text(encoding="utf-8") + "Edited footer line.\n",
                        encoding="utf-8")
    age(site / "templates")
    build(site)
    texts = [data for path, data in outputs(site).items()
             if path.startswith("digests/") and path.endswith(".txt")]
    assert texts and all(b"Edited footer line." in text for text in texts)


def test_a_cache_folder_that_cannot_hold_compiled_templates_costs_only_time(
        site: Path) -> None:
    build(site)
    first = outputs(site)
    folder = site / ".sfb-cache" / JINJA_FOLDER
    shutil.rmtree(folder)
    folder.write_text("a file where the folder should be", encoding="utf-8")
    shutil.rmtree(site / "feeds")
    build(site)
    assert outputs(site) == first
