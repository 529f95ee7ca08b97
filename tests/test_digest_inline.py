"""The fast inliner gives what premailer gives on each document, calling premailer rarely."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from premailer import Premailer
from test_digest_factory import refugee_statements, site, statement

from sfb_feeds import digest
from sfb_feeds.digest import inline
from sfb_feeds.digest.inline import inline_css
from sfb_feeds.digest.templates import gettext_functions, template
from sfb_feeds.digest.view import digest_view
from sfb_feeds.pipeline import render_site
from sfb_feeds.site import Site


class _Counting(Premailer):  # type: ignore[misc]
    calls = 0

    def transform(self, *args: Any, **kwargs: Any) -> Any:
        _Counting.calls += 1
        return super().transform(*args, **kwargs)


@pytest.fixture
def premailer_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Counting]]:
    """Count premailer runs, starting from an empty memory of shapes."""
    monkeypatch.setattr(inline, "Premailer", _Counting)
    monkeypatch.setattr(inline, "_inliners", {})
    monkeypatch.setattr(inline, "_style_results", {})
    _Counting.calls = 0
    yield _Counting


def reference(html: str) -> str:
    """premailer applied to the whole rendered document, with the inliner's options."""
    return str(Premailer(allow_network=False, strip_important=False).transform(html))


def elements(html: str) -> list[tuple[str, dict[str, str], str | None]]:
    root = etree.fromstring(html.strip(), etree.HTMLParser())
    return [(el.tag, dict(el.attrib), el.text if el.tag == "style" else None)
            for el in root.iter() if isinstance(el.tag, str)]


def assert_same_as_premailer(html: str) -> None:
    fast, slow = elements(inline_css(html)), elements(reference(html))
    assert [tag for tag, _, _ in fast] == [tag for tag, _, _ in slow]
    for index, (mine, theirs) in enumerate(zip(fast, slow, strict=True)):
        assert mine == theirs, f"element {index}: <{mine[0]}>"


def rendered(s: Site, lang: str, period: str, name: str = "digest.html") -> str:
    """A digest rendered by its template, before any inlining."""
    view = digest_view(s, lang, period, tuple(
        st for st in s.by_language[lang]
        if st.date.astimezone(s.settings.site.tz).isocalendar()[1] == int(period[-2:])))
    variables = {f: getattr(view, f) for f in view.__dataclass_fields__}
    variables.update(gettext_functions(lang), subject="Subject")
    return template(None, name, lang).render(variables)


def many_weeks() -> list[Any]:
    """Forty weeks of statements in two languages, one to four a week, some translated."""
    statements = []
    for week in range(40):
        day = date(2016, 1, 4) + timedelta(weeks=week)
        for n in range(1 + week % 4):
            key = f"k{week}-{n}" if n % 2 else None
            authors = ("DSIP",) * (week % 3 == 0)
            statements.append(statement(f"Week {week} no. {n}", day=day + timedelta(days=n),
                                        key=key, authors=authors))
            if key:
                statements.append(statement(f"Tydzień {week} nr {n}", lang="pl",
                                            day=day + timedelta(days=n), key=key))
    statements.append(statement("عربي", lang="ar", day=date(2016, 1, 5)))
    return statements


def test_digests_are_styled_exactly_as_premailer_styles_them() -> None:
    s = site([*refugee_statements(), statement("عربي", lang="ar", day=date(2015, 9, 3),
                                                 authors=("A", "B"))])
    for lang in ("en", "pl", "tr", "da", "ar"):
        assert_same_as_premailer(rendered(s, lang, "2015-W36"))


def test_every_digest_of_a_big_site_matches_premailer(premailer_calls: type[_Counting]) -> None:
    s = site(many_weeks(), now=site([]).now.replace(year=2017))
    result = render_site(s, digest.FORMATS)
    html = {o.path: o.data.decode() for o in result if o.path.endswith(".html")}
    assert len(html) > 60
    calls = premailer_calls.calls
    # Few premailer runs for 60+ digests: each new element shape is learnt once.
    assert calls <= 12, calls
    for lang, period in {(p.split("/")[1], p.split("/")[2][:-5]) for p in html}:
        if period == "index":
            continue
        document = rendered(s, lang, period)
        assert elements(inline_css(document)) == elements(reference(document))
        assert elements(html[f"digests/{lang}/{period}.html"]) == elements(reference(document))


def test_the_result_does_not_depend_on_what_was_inlined_before(
    premailer_calls: type[_Counting], monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = site(many_weeks(), now=site([]).now.replace(year=2017))
    documents = [rendered(s, "en", f"2016-W{week:02d}") for week in range(1, 9)]
    forward = [inline_css(d) for d in documents]
    monkeypatch.setattr(inline, "_inliners", {})
    monkeypatch.setattr(inline, "_style_results", {})
    backward = [inline_css(d) for d in reversed(documents)]
    assert forward == list(reversed(backward))


STRUCTURAL_CSS = """
body { margin: 0; background-color: #eee }
.list td { padding: 4px }
td:first-child { color: #a00 }
p:last-child { margin-bottom: 0 }
a[href] { color: #00a }
a[title="x"] { font-weight: bold }
.cell > p { font-size: 14px; text-align: right }
table.wide { width: 600px }
p { color: #333 !important }
.note { color: #111 }
a:hover { color: #0a0 }
@media (max-width: 600px) { .list { width: 100% } }
"""


def structural_document(rows: int, css: str = STRUCTURAL_CSS, words: str = "q") -> str:
    body = "".join(
        f"<tr><td>a{i}</td><td class='cell'><p>p</p><p class='note' style='color:#444'>{words} "
        f"<a href='u{i}' title='{'x' if i % 2 else 'y'}'>l</a><a>n</a></p>"
        f"{'<p>extra</p>' * (i % 3)}</td></tr>"
        for i in range(rows)
    )
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{css}</style></head>"
            f"<body><!-- a comment --><table class='list wide'>{body}</table></body></html>")


@pytest.mark.parametrize("rows", [1, 4, 2, 7, 3])
def test_positions_attributes_importance_and_inline_styles(rows: int) -> None:
    assert_same_as_premailer(structural_document(rows))


def test_sibling_combinators_fall_back_to_premailer_on_each_document(
    premailer_calls: type[_Counting],
) -> None:
    css = "p + p { color: #a00 } td ~ td { color: #0a0 } p { font-size: 12px }"
    for rows in (1, 3, 3, 2):
        assert_same_as_premailer(structural_document(rows, css))
    assert premailer_calls.calls == 4  # one per document


def test_known_shapes_skip_premailer(premailer_calls: type[_Counting]) -> None:
    inline_css(structural_document(5))
    assert premailer_calls.calls == 1
    for words in ("other words", "&amp; more", "x"):  # text never matters
        assert_same_as_premailer(structural_document(5, words=words))
    assert premailer_calls.calls == 1
    # The last row of three looks like no row of five to :last-child and a[title="x"].
    assert_same_as_premailer(structural_document(3))
    assert premailer_calls.calls == 2


def test_styles_without_leftovers_are_removed_and_head_is_created() -> None:
    html = "<html><body><style>p{color:red}</style><p>x</p></body></html>"
    assert_same_as_premailer(html)
    result = etree.fromstring(inline_css(html), etree.HTMLParser())
    assert result.find(".//style") is None and result.find("head") is not None


def test_cssutils_messages_stay_off_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    inline_css("<html><head><style>p { mso-hide: all; colour: red; color: nonsense }</style>"
               "</head><body><p>x</p></body></html>")
    assert capfd.readouterr().err == ""


def test_cssutils_stays_off_stderr_when_first_imported_by_premailer() -> None:
    """In a fresh process whose first premailer call happens inside the capture (a helper
    learning one new shape, everything else learnt already), cssutils' import-time
    handler must not print either."""
    script = (
        "from sfb_feeds.digest import inline\n"
        "doc = '<html><head><style>p { mso-hide: all; colour: red }</style></head>'"
        " '<body><p>x</p></body></html>'\n"
        "tree = inline._run_premailer(inline._parse(doc))\n"
        "assert 'mso-hide' in inline._serialise(tree)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_a_shape_that_misses_something_is_caught_and_premailer_takes_over(
    premailer_calls: type[_Counting], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Pretend the analysis overlooked :first-child: two cells of one shape then get
    # different styles from premailer, which the learning step notices.
    overlooked = inline._Needs(values=(), presence=(), positions=False, exact=False)
    monkeypatch.setattr(inline, "_needs_of", lambda css: overlooked)
    document = ("<html><head><style>td:first-child { color: #a00 } td { padding: 2px }"
                "</style></head><body><table><tr><td>x</td><td>y</td></tr></table></body></html>")
    assert_same_as_premailer(document)
    assert_same_as_premailer(document.replace(">y<", ">z<"))
    assert "styled two <td> of one shape differently" in caplog.text
    assert [i.exact for i in inline._inliners.values()] == [True]


def _forget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new process: nothing learnt in memory."""
    monkeypatch.setattr(inline, "_inliners", {})
    monkeypatch.setattr(inline, "_style_results", {})


def test_what_was_learnt_is_kept_in_the_cache_folder(
    premailer_calls: type[_Counting], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    s = site(many_weeks(), now=site([]).now.replace(year=2017))
    documents = [rendered(s, "en", f"2016-W{week:02d}") for week in range(1, 9)]
    first = [inline_css(d, tmp_path) for d in documents]
    assert premailer_calls.calls >= 1
    assert len(list((tmp_path / "inliner").glob("*.json"))) == 1
    _forget(monkeypatch)
    premailer_calls.calls = 0
    # A later build: every shape is known from the cache, premailer is never called.
    again = [inline_css(d, tmp_path) for d in reversed(documents)]
    assert premailer_calls.calls == 0
    assert again == list(reversed(first))
    assert [elements(d) for d in again[:2]] == [elements(reference(d))
                                                 for d in reversed(documents[-2:])]


def test_a_new_shape_after_loading_the_cache_is_learnt_and_kept(
    premailer_calls: type[_Counting], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    inline_css(structural_document(5), tmp_path)
    _forget(monkeypatch)
    assert_same_as_premailer_with(structural_document(3), tmp_path)  # new shapes
    assert premailer_calls.calls == 2
    _forget(monkeypatch)
    for rows in (5, 3):
        assert_same_as_premailer_with(structural_document(rows), tmp_path)
    assert premailer_calls.calls == 2


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],  # torn
    lambda text: "not json",
    lambda text: text.replace('"shapes": [', '"shapes": [[[-1, ["x", []]], 999], ', 1),
    lambda text: text.replace('"versions": "', '"versions": "0', 1),  # other versions
])
def test_a_damaged_or_stale_cache_file_is_ignored(
    premailer_calls: type[_Counting], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    damage: Any,
) -> None:
    inline_css(structural_document(4), tmp_path)
    [path] = (tmp_path / "inliner").glob("*.json")
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    _forget(monkeypatch)
    assert_same_as_premailer_with(structural_document(4), tmp_path)
    assert premailer_calls.calls == 2  # learnt afresh
    json.loads(path.read_text(encoding="utf-8"))  # and the file is whole again


def assert_same_as_premailer_with(html: str, cache_dir: Path) -> None:
    assert elements(inline_css(html, cache_dir)) == elements(reference(html))


# --- the fast path: start tags rewritten in the text ------------------------------------

OWN_CSS = """
.a { color: #a00; font-size: 14px }
td.cell { padding: 4px; width: 50% }
#top { background-color: #eeeeee }
table.wide { width: 600px }
.b { text-align: right !important }
a:hover { color: #0a0 }
@media (max-width: 600px) { .a { color: #000 } }
"""


def own_document(body: str, head: str = "", css: str = OWN_CSS) -> str:
    return (f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<title>T</title>{head}\n<style>{css}</style>\n</head>\n<body class='a'>\n"
            f"{body}\n</body>\n</html>\n")


Tree = list[tuple[str, dict[str, str], str | None, str | None]]


def full_tree(html: str) -> Tree:
    """Every element with its attributes, text and tail: what a reader's parser sees."""
    return _walk(etree.fromstring(html.strip(), etree.HTMLParser()))


def premailer_tree(html: str) -> Tree:
    """What premailer makes of ``html``'s tree (its text output is pretty-printed: white
    space between tags differs, so the tree is compared, not its serialisation)."""
    root = etree.fromstring(html.strip(), etree.HTMLParser())
    Premailer(allow_network=False, strip_important=False).transform(root)
    return _walk(root)


def _walk(root: etree._Element) -> Tree:
    return [(el.tag, dict(el.attrib), el.text, el.tail) for el in root.iter()
            if isinstance(el.tag, str)]


@pytest.fixture
def fast_path(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each inline_css call's result came from the fast path."""
    taken: list[bool] = []
    original = inline._rewrite_tags

    def spy(*args: Any, **kwargs: Any) -> str | None:
        result = original(*args, **kwargs)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(inline, "_rewrite_tags", spy)
    monkeypatch.setattr(inline, "_inliners", {})
    monkeypatch.setattr(inline, "_style_results", {})
    return taken


PLAIN_BODIES = [
    "<p class='a'>x</p>",
    # comments, Outlook's conditional ones with tags inside, stay comments
    "<!--[if mso]><table class='wide' width='600'><tr><td class='cell'><![endif]-->"
    "<p class=\"a\" title='1 > 0'>x &amp; y</p><!--[if mso]></td></tr></table><![endif]-->",
    "<TABLE CLASS='wide'><TR><TD Class=cell>one</TD><td class='cell' style='color: red'>"
    "two</td></TR></TABLE>",
    "<div id='top'\n  class=\"a b\">multi-line tag</div><br/><img class='a' src='x.png' alt=''>"
    "<img class='a' src='y.png' alt='' /><img class=a src=z.png style='border: 0'/>",
    "<p class='b' style='text-align: left'>important wins</p><a class='a' href='?a=1'>l</a>",
]


@pytest.mark.parametrize("body", PLAIN_BODIES)
def test_plain_documents_take_the_fast_path_and_read_as_premailer_writes(
    body: str, fast_path: list[bool],
) -> None:
    document = own_document(body)
    first = inline_css(document)  # learns (tree path), then rewrites the text
    again = inline_css(document)  # known: straight to the fast path
    assert fast_path[-1] is True and first == again
    assert full_tree(again) == premailer_tree(document)
    # Only start tags and <style> change: the rest of the text is as the template wrote it.
    start_tag = re.compile(r"<[a-zA-Z](?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
    assert start_tag.sub("", again.split("</style>")[1]) == start_tag.sub(
        "", document.strip().split("</style>")[1])


@pytest.mark.parametrize(("body", "head"), [
    ("<p class='a&#32;b'>an entity in an attribute a selector sees</p>", ""),
    ("<p class='a' class='b'>a repeated attribute</p>", ""),
    ("<p class='a'>x</p><script>var a = '<p class=\"a\">';</script>", ""),
    ("<p class='a'>x</p><textarea><p class='a'></textarea>", ""),
    ("<p class='a'>x</p>", "<title>a <b>bold</b> title</title>"),
    ("<p class='a'>x</p><!--> odd comment <p class='a'>y</p> -->", ""),
    ("<body class='b'><p class='a'>a second body tag</p>", ""),
])
def test_markup_the_scanner_is_unsure_of_takes_the_tree_path(
    body: str, head: str, fast_path: list[bool],
) -> None:
    document = own_document(body, head)
    inline_css(document)
    result = inline_css(document)
    assert not any(fast_path)
    assert full_tree(result) == premailer_tree(document)


def test_a_document_without_head_takes_the_tree_path(fast_path: list[bool]) -> None:
    document = f"<html><body><style>{OWN_CSS}</style><p class='a'>x</p></body></html>"
    inline_css(document)
    assert full_tree(inline_css(document)) == premailer_tree(document)
    assert not any(fast_path)


def test_digests_take_the_fast_path_with_every_text_as_premailer_leaves_it(
    fast_path: list[bool],
) -> None:
    s = site([*refugee_statements(), statement("عربي", lang="ar", day=date(2015, 9, 3),
                                                 authors=("A & B",))])
    for lang in ("en", "pl", "tr", "da", "ar"):
        document = rendered(s, lang, "2015-W36")
        inline_css(document)
        assert full_tree(inline_css(document)) == premailer_tree(document), lang
    assert fast_path and fast_path[-1] is True


def test_a_selector_that_looks_at_ancestors_keeps_the_tree_path(fast_path: list[bool]) -> None:
    for css in (".x .a { color: red }", "td > p { color: red }", "p:first-child { color: red }",
                "p[title] { color: red }", "p { color: red }"):
        document = own_document("<table><tr><td><p class='a' title='t'>x</p></td></tr></table>",
                                css=css)
        inline_css(document)
        assert full_tree(inline_css(document)) == premailer_tree(document)
    assert not any(fast_path)


def test_a_style_with_nothing_left_goes_with_its_tail_on_the_fast_path(
    fast_path: list[bool],
) -> None:
    document = own_document("<p class='a'>x</p>", css=".a { color: #a00 }")
    inline_css(document)
    result = inline_css(document)
    assert fast_path[-1] is True and "<style" not in result
    assert full_tree(result) == premailer_tree(document)


def test_a_full_tag_cache_starts_again_so_later_template_tags_are_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Start tags are remembered by their text; links make many that are met once. When
    the memory is full it starts again, so a tag of the template met only after it filled
    is remembered too (and every document still comes out as premailer's)."""
    monkeypatch.setattr(inline, "_inliners", {})
    monkeypatch.setattr(inline, "_MOST_TAGS", 6)
    page = ("<html><head><style>.x {{ color: red }} .y {{ color: blue }}</style></head>"
            "<body><p class=\"x\">{links}</p>{extra}</body></html>")
    for number in range(4):
        links = "".join(f'<a class="y" href="https://x.org/{number}/{n}">l</a>'
                        for n in range(4))
        assert_same_as_premailer(page.format(links=links, extra=""))
    late = page.format(links="", extra='<b class="y">late</b>')
    assert_same_as_premailer(late)
    (inliner,) = inline._inliners.values()
    assert '<b class="y">' in inliner.tags
    assert len(inliner.tags) <= 6


def test_links_are_rewritten_by_their_shape_whatever_their_address(
        fast_path: list[bool]) -> None:
    """A link's tag differs from document to document only by its address; what premailer
    adds to it is remembered once per shape (the tag without the address), and each new
    address still comes out as premailer writes it, including ones that shape cannot
    cover (an entity, a character lxml escapes, a style to merge into)."""
    addresses = ["https://x.org/1", "https://x.org/2?a=b", "https://x.org/3#c",
                 "https://x.org/4?a=1&amp;b=2", "https://x.org/5/<b>", ""]
    for number, address in enumerate(addresses):
        body = (f'<p class="a"><a class="a" href="{address}">one</a> '
                f'<a class="a" style="font-weight: bold" href="{address}">two</a> '
                f'<a href="{address}" class="a" id="top">three</a></p>'
                f"<p class='a'><a class='a' href='{address}'>four</a></p>")
        document = own_document(body)
        inline_css(document)  # (the first document of a stylesheet takes the tree path)
        result = inline_css(document)
        assert full_tree(result) == premailer_tree(document), address
        if number > 0 and "&" not in address:
            assert fast_path[-1] is True, address
    (inliner,) = inline._inliners.values()
    by_text = [text for text in inliner.tags if "x.org" in text]  # the rest: by shape
    assert by_text and all("'" in text or "&" in text or "<b>" in text for text in by_text)
    assert 1 <= len(inliner.link_tails) <= 3
    assert all("x.org" not in shape for shape in inliner.link_tails)
