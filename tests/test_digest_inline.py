"""Inline-once against premailer per document: the same styles, text and links.

The shipped templates take the inline-once path (premailer runs once per template file and
direction, when the renderer is prepared); a template or stylesheet for which that would
not be exact is detected and inlined by premailer after each render.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import html5lib
import pytest
from conftest import render_site
from test_digest_factory import refugee_statements, settings, site

from sfb_feeds import digest
from sfb_feeds.config import load_settings
from sfb_feeds.digest.inline import inline_document
from sfb_feeds.digest.render import Digests
from sfb_feeds.loader import load_statements
from sfb_feeds.plan import OutputFormat, Scope, plan_outputs
from sfb_feeds.site import Site, make_site
from sfb_feeds.urls import DIGEST_ARCHIVE_PATH, DIGEST_PATH

REPO = Path(__file__).resolve().parents[1]
SHIPPED_CSS = REPO / "templates" / "email" / "digest.css"


def pages(s: Site, *, inline_once: bool) -> dict[str, bytes]:
    """Every digest page and archive page of ``s``, rendered one way or the other."""
    digests = Digests(s.settings, s.languages, inline_once=inline_once)
    rows = (
        OutputFormat(name="html", path=DIGEST_PATH, files=((".html", "text/html"),),
                     scope=Scope.LANGUAGE_WEEK, render=digests.render),
        OutputFormat(name="archive", media_type="text/html", path=DIGEST_ARCHIVE_PATH,
                     scope=Scope.LANGUAGE, render=digests.render_archive),
    )
    return {o.path: o.data for o in render_site(s, rows)}


def facts(page: bytes) -> list[tuple[str, dict[str, str], str]]:
    """Each element in document order: tag, attributes (inline style included), text."""
    root = html5lib.HTMLParser(namespaceHTMLElements=False).parse(page.decode("utf-8"))
    return [(str(el.tag), dict(el.attrib), (el.text or "") + (el.tail or ""))
            for el in root.iter() if isinstance(el.tag, str)]


def assert_same_documents(once: dict[str, bytes], each: dict[str, bytes]) -> None:
    assert sorted(once) == sorted(each)
    for path in once:
        assert facts(once[path]) == facts(each[path]), path


def test_shipped_templates_are_inlined_once() -> None:
    s = site(refugee_statements())
    digests = Digests(s.settings, s.languages)
    assert all(digests.languages[lang].digest.inlined for lang in s.languages)


def test_sample_site_inlined_once_matches_premailer_per_document() -> None:
    config = REPO / "sfb-feeds.yaml"
    if not config.is_file() or not (REPO / "statements").is_dir():
        pytest.skip("the sample site (sfb-feeds.yaml, statements/) is not in the repository")
    s_settings = dataclasses.replace(load_settings(config), cache_dir=None)
    s = make_site(s_settings, load_statements(s_settings).statements,
                  datetime(2020, 1, 1, tzinfo=UTC))
    once = pages(s, inline_once=True)
    assert len(once) > 5
    assert_same_documents(once, pages(s, inline_once=False))


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("generate", REPO / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_corpus_inlined_once_matches_premailer_per_document(tmp_path: Path) -> None:
    generate = _generator()
    generate.generate(tmp_path / "site", 300, 10)  # type: ignore[attr-defined]
    s_settings = load_settings(tmp_path / "site" / "sfb-feeds.yaml")
    statements = load_statements(s_settings).statements
    now = datetime.fromisoformat(generate.NOW)  # type: ignore[attr-defined]
    s = make_site(s_settings, statements, now)
    assert "ar" in s.languages and len(s.languages) >= 5  # right to left among them
    once = pages(s, inline_once=True)
    assert len(once) > 60
    assert_same_documents(once, pages(s, inline_once=False))


def own_templates(tmp_path: Path, css: str = "", html: str | None = None) -> Path:
    folder = tmp_path / "templates" / "email"
    folder.mkdir(parents=True)
    shutil.copy(SHIPPED_CSS, folder / "digest.css")
    with (folder / "digest.css").open("a", encoding="utf-8") as out:
        out.write(css)
    if html is not None:
        (folder / "digest.html").write_text(html, encoding="utf-8")
    return tmp_path / "templates"


@pytest.mark.parametrize(("css", "html"), [
    (".title:first-child { color: #123456; }\n", None),
    (".excerpt + .excerpt { color: #123456; }\n", None),
    ("td[class=statement] { color: #123456; }\n", None),
    ("", (REPO / "templates" / "email" / "digest.html").read_text("utf-8").replace(
        '<p class="excerpt">', '<p class="excerpt{{ " first" if loop.first else "" }}">')),
])
def test_a_template_inline_once_would_get_wrong_is_inlined_per_document(
        tmp_path: Path, css: str, html: str | None) -> None:
    own = dataclasses.replace(settings(), templates_dir=own_templates(tmp_path, css, html))
    s = dataclasses.replace(site(refugee_statements()), settings=own)
    digests = Digests(own, s.languages)
    assert not any(digests.languages[lang].digest.inlined for lang in s.languages)
    each = pages(s, inline_once=False)
    assert pages(s, inline_once=True) == each
    if css.startswith(".title:first-child"):  # premailer applied the positional rule
        page = facts(each["digests/en/2015-W36.html"])
        assert any(tag == "h2" and "#123456" in attrs.get("style", "")
                   for tag, attrs, _ in page)


def test_premailer_per_document_is_premailer_s_own_transform() -> None:
    from premailer import Premailer

    html = ('<!DOCTYPE html><html><head><style>.a { color: red } .a:first-child { margin: 0 }'
            '</style></head><body><p class="a">x</p><p class="a">y</p></body></html>')
    expected = Premailer(html, allow_network=False, strip_important=False).transform()
    ours, theirs = facts(inline_document(html).encode()), facts(expected.encode())
    # (premailer's own serialiser pretty-prints: white space between elements differs)
    assert [(tag, attrs, text.strip()) for tag, attrs, text in ours] == \
        [(tag, attrs, text.strip()) for tag, attrs, text in theirs]
    styles = [attrs["style"] for tag, attrs, _ in ours if tag == "p"]
    assert "margin:0" in styles[0] and "margin" not in styles[1]  # first child only


def test_cssutils_messages_stay_off_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    inline_document('<html><head><style>.a { colr: red; width: 10qq }</style></head>'
                    '<body><p class="a">x</p></body></html>')
    assert capfd.readouterr().err == ""


def test_inlined_templates_kept_in_a_store_give_the_same_pages() -> None:
    s = site(refugee_statements())
    store: dict[str, str] = {}
    first = Digests(s.settings, s.languages, store=store)
    assert len(store) == 2 and all(store.values())  # digest and archive page (all ltr)
    again = Digests(s.settings, s.languages, store=store)
    target = next(p.target for p in plan_outputs(s, digest.formats(s.settings, s.languages))
                  if p.target.period)
    assert again.render(s, target) == first.render(s, target)
