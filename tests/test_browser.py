"""Digests in a real browser: headless Chromium at 600px and 320px, light and dark.

Each digest is shown in an iframe of the wanted width (a headless window cannot be made
narrower than 500px, an iframe can), and a script in the page writes what it measured
into the DOM, which ``--dump-dom`` prints: horizontal overflow, the text direction and
where right-to-left text sits, and the contrast of every piece of text with what is
behind it.
"""

# The pages are in a dozen scripts on purpose (Cyrillic and Greek letters look Latin).
# ruff: noqa: RUF001

from __future__ import annotations

import email
import email.policy
import html
import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import html5lib
import pytest
from conftest import render_site
from test_digest_factory import refugee_statements, site, statement

CHROMIUM = os.environ.get("SFB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = (600, 320)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--window-size=1280,2000")

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)),
    reason=f"Chromium not found at {CHROMIUM} (install Debian's 'chromium' package, or set "
           "SFB_CHROMIUM to the browser)",
)

MEASURE = """
function channels(c) { return c.match(/[\\d.]+/g).map(Number); }
function luminance(c) {
  const v = channels(c).slice(0, 3).map(x => {
    x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
function background(el, win) {
  for (; el; el = el.parentElement) {
    const bg = win.getComputedStyle(el).backgroundColor, c = channels(bg);
    if (c.length < 4 || c[3] > 0) return bg;
  }
  return 'rgb(255, 255, 255)';
}
function measure(frame) {
  const d = frame.contentDocument, w = frame.contentWindow, all = [...d.body.querySelectorAll('*')];
  const out = {name: frame.dataset.name, width: w.innerWidth,
    scrollWidth: Math.max(d.documentElement.scrollWidth, d.body.scrollWidth),
    dark: w.matchMedia('(prefers-color-scheme: dark)').matches,
    direction: w.getComputedStyle(d.body).direction, pageBackground: background(d.body, w),
    overflowing: [], lowContrast: [], texts: 0, preheaderShown: false};
  for (const el of all) {
    const box = el.getBoundingClientRect();
    if (box.width && (box.right > w.innerWidth + 0.5 || box.left < -0.5))
      out.overflowing.push(el.className || el.tagName);
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!text || !el.getClientRects().length) continue;
    if (el.closest('.preheader')) { out.preheaderShown = true; continue; }
    const style = w.getComputedStyle(el);
    const ratio = contrast(style.color, background(el, w));
    out.texts += 1;
    if (ratio < 4.5) out.lowContrast.push([el.className || el.tagName, style.color,
                                           background(el, w), ratio]);
  }
  const title = d.querySelector('.title'), cell = d.querySelector('.statement');
  if (title && cell) {
    [out.titleDirection, out.titleGaps] = gaps(title, cell, d, w);
  }
  out.sections = {};
  for (const section of d.querySelectorAll('section[lang]')) {
    out.sections[section.lang] = gaps(section.querySelector('h2'), section, d, w);
  }
  out.missingGlyphs = missingGlyphs(d, w);
  return out;
}
// [direction of the text, [gap on its left, gap on its right] inside its box]
function gaps(text, box, d, w) {
  const range = d.createRange(); range.selectNodeContents(text);
  const t = range.getBoundingClientRect(), c = box.getBoundingClientRect();
  return [w.getComputedStyle(text).direction, [t.left - c.left, c.right - t.right]];
}
// The characters of the page drawn as the font's "missing glyph" box (tofu): each is
// drawn on a canvas in the font of its element and compared, pixel for pixel, with a
// code point no font has (U+10FFFD, private use), drawn the same way.
function missingGlyphs(d, w) {
  const canvas = d.createElement('canvas'); canvas.width = canvas.height = 96;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const draw = (ch, font) => {
    ctx.clearRect(0, 0, 96, 96); ctx.font = font; ctx.fillText(ch, 16, 64);
    return ctx.getImageData(0, 0, 96, 96).data.join(',');
  };
  const byFont = new Map(), walker = d.createTreeWalker(d.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const parent = node.parentElement;
    if (!parent || parent.closest('style, script')) continue;
    const s = w.getComputedStyle(parent);
    const font = `${s.fontStyle} ${s.fontWeight} 40px ${s.fontFamily}`;
    const chars = byFont.get(font) || new Set();
    for (const ch of node.textContent) if (ch.trim()) chars.add(ch);
    byFont.set(font, chars);
  }
  const missing = [];
  for (const [font, chars] of byFont) {
    const tofu = draw('\\u{10FFFD}', font);
    for (const ch of chars) if (draw(ch, font) === tofu) missing.push(ch);
  }
  return [...new Set(missing)].sort();
}
window.addEventListener('load', () => {
  const results = [...document.querySelectorAll('iframe')].map(measure);
  document.getElementById('result').textContent = JSON.stringify(results);
});
"""


def _page(documents: dict[str, bytes]) -> str:
    frames = "\n".join(
        f'<iframe data-name="{html.escape(name)}:{width}" width="{width}" height="1500" '
        f'srcdoc="{html.escape(data.decode("utf-8"), quote=True)}"></iframe>'
        for name, data in documents.items() for width in WIDTHS
    )
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>body { margin: 0 } "
            "iframe { display: block; border: 0 }</style></head><body>"
            f"{frames}<pre id='result'></pre><script>{MEASURE}</script></body></html>")


def _measure(tmp_path: Path, documents: dict[str, bytes], *, dark: bool) -> dict[str, Any]:
    page = tmp_path / f"page-{'dark' if dark else 'light'}.html"
    page.write_text(_page(documents), encoding="utf-8")
    profile = tmp_path / f"profile-{'dark' if dark else 'light'}"
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
               *(["--force-dark-mode"] if dark else []), "--dump-dom", page.as_uri()]
    done = subprocess.run(command, capture_output=True, timeout=180, check=False,
                          env={**os.environ, "HOME": str(tmp_path)})
    dom = html5lib.parse(done.stdout, treebuilder="lxml", namespaceHTMLElements=False)
    result = dom.getroot().find(".//pre[@id='result']")
    if result is None or not (result.text or "").strip():
        pytest.fail(f"Chromium measured nothing (exit {done.returncode}): "
                    f"{done.stderr.decode(errors='replace')[-2000:]}")
    return {item["name"]: item for item in json.loads(result.text)}


RTL = ("ar", "he", "fa", "ur")
KEY = "ist-refugee-crisis-2015"
# One translation per script the IST's sections write in (title, first paragraph).
SCRIPTS = {
    "ar": ("بيان حول أزمة اللاجئين", "تواجه أوروبا أكبر أزمة لاجئين منذ عقود."),
    "he": ("הצהרה על משבר הפליטים", "אירופה ניצבת בפני משבר הפליטים הגדול ביותר מזה עשורים."),
    "fa": ("بیانیه دربارهٔ بحران پناهجویان",
           "اروپا با بزرگ‌ترین بحران پناهجویان در چند دهه گذشته روبه‌رو است."),
    "ur": ("پناہ گزینوں کے بحران پر بیان",
           "یورپ کئی دہائیوں کے سب سے بڑے پناہ گزین بحران کا سامنا کر رہا ہے۔"),
    "ru": ("Заявление о кризисе беженцев",
           "Европа переживает крупнейший за десятилетия кризис беженцев."),
    "sr": ("Изјава о избегличкој кризи", "Европа се суочава са највећом избегличком кризом."),
    "el": ("Δήλωση για την προσφυγική κρίση",
           "Η Ευρώπη αντιμετωπίζει τη μεγαλύτερη προσφυγική κρίση εδώ και δεκαετίες."),
    "hi": ("शरणार्थी संकट पर वक्तव्य", "यूरोप दशकों के सबसे बड़े शरणार्थी संकट का सामना कर रहा है।"),
    "ja": ("難民危機に関する声明", "ヨーロッパは数十年で最大の難民危機に直面している。"),
    "zh": ("关于难民危机的声明", "欧洲正面临数十年来最严重的难民危机。"),
    "ko": ("주간 성명", "난민 위기에 대한 성명입니다."),
}
DIGESTS = ("en", "pl", "de", *SCRIPTS)


# What Yahoo Mail drops of the wrapping rules (caniemail: word-break and overflow-wrap not
# supported, word-wrap supported on its webmail), the long word's digest shown that way.
YAHOO_DROPS = re.compile(r"(?<![-\w])(?:word-break|overflow-wrap)\s*:[^;\"]*;?\s*")


def as_yahoo_shows(page: bytes) -> bytes:
    """``page`` with the declarations Yahoo drops taken out of its style attributes."""
    return re.sub(rb'style="([^"]*)"', lambda found: b'style="%s"' % YAHOO_DROPS.sub(
        "", found[1].decode()).encode(), page)


@pytest.fixture(scope="module")
def documents() -> dict[str, bytes]:
    long_word = "Arbeiterinnen" * 8  # a 104-letter word: must wrap, not widen the page
    statements = [
        *refugee_statements(),
        *(statement(title, lang=lang, key=None if lang == "ko" else KEY,
                    excerpt=(text, "...") if lang in RTL else (text,), day=date(2015, 9, 5))
          for lang, (title, text) in SCRIPTS.items()),
        statement(f"Long {long_word} title", lang="de",
                  excerpt=(f"See https://example.org/{'path/' * 30}end and {long_word}.",)),
    ]
    built = site(statements)
    result = {o.path: o.data for o in render_site(built)}
    chosen = {lang: result[f"digests/{lang}/2015-W36.html"] for lang in DIGESTS}
    chosen["de-yahoo"] = as_yahoo_shows(chosen["de"])
    chosen["archive"] = result["digests/en/index.html"]
    # A site title that is one long word (a domain name): it must wrap in the masthead
    # on a phone, not widen the page (it overflowed 320px by 59px).
    named = {o.path: o.data for o in render_site(site(refugee_statements(),
                                                      title="InternationalSocialistTendency.org"))}
    chosen["long-site-title"] = named["digests/en/2015-W36.html"]
    chosen["long-site-title-archive"] = named["digests/en/index.html"]
    chosen["subscribe"] = result["index.html"]
    # A page that fails every check, so the checks are seen to catch what they look for
    # (U+10FFFC: a private-use code point no font draws).
    chosen["control"] = ("<!DOCTYPE html><html><body><table style='width:700px'><tr>"
                         "<td style='color:#bbb'>pale text \U0010fffc</td></tr></table>"
                         "</body></html>").encode()
    return chosen


@pytest.fixture(scope="module")
def light(documents: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Any]:
    return _measure(tmp_path_factory.mktemp("light"), documents, dark=False)


@pytest.fixture(scope="module")
def dark(documents: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, Any]:
    return _measure(tmp_path_factory.mktemp("dark"), documents, dark=True)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", [*DIGESTS, "de-yahoo", "archive", "subscribe",
                                  "long-site-title", "long-site-title-archive"])
def test_no_horizontal_overflow(light: dict[str, Any], name: str, width: int) -> None:
    found = light[f"{name}:{width}"]
    assert found["width"] == width
    assert found["scrollWidth"] <= width, found["overflowing"]
    assert found["overflowing"] == []
    assert not found["preheaderShown"]


def test_the_yahoo_page_lacks_what_yahoo_drops(documents: dict[str, bytes]) -> None:
    page, shown = documents["de"], documents["de-yahoo"]
    assert b"word-break:" in page and b"overflow-wrap:" in page
    assert b"word-break:" not in shown and b"overflow-wrap:" not in shown
    assert shown.count(b"word-wrap:break-word") == page.count(b"word-wrap:break-word") > 0


def test_the_checks_catch_a_bad_page(light: dict[str, Any]) -> None:
    found = light["control:320"]
    assert found["scrollWidth"] > 320 and "TABLE" in found["overflowing"]
    assert [item[0] for item in found["lowContrast"]] == ["TD"]
    assert found["missingGlyphs"] == ["\U0010fffc"]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", RTL)
def test_right_to_left_digests(light: dict[str, Any], lang: str, width: int) -> None:
    rtl, english = light[f"{lang}:{width}"], light[f"en:{width}"]
    assert rtl["direction"] == rtl["titleDirection"] == "rtl"
    assert english["direction"] == english["titleDirection"] == "ltr"
    # Mirrored: the short title hugs the right edge of its cell, the English one the left.
    left, right = rtl["titleGaps"]
    assert right < left and right <= 33
    left, right = english["titleGaps"]
    assert left < right and left <= 33


@pytest.mark.parametrize("width", WIDTHS)
def test_right_to_left_sections_of_the_subscribe_page(light: dict[str, Any], width: int
                                                      ) -> None:
    sections = light[f"subscribe:{width}"]["sections"]
    assert set(sections) >= {"en", "pl", *SCRIPTS}
    for lang, (direction, (left, right)) in sections.items():
        if lang in RTL:  # the heading, the language's own name, sits on the right
            assert (direction, right < left, right <= 1) == ("rtl", True, True), lang
        else:
            assert (direction, left < right, left <= 1) == ("ltr", True, True), lang


@pytest.mark.parametrize("name", [*DIGESTS, "archive", "subscribe"])
def test_every_script_has_its_glyphs(light: dict[str, Any], name: str) -> None:
    # Cyrillic, Greek, Hebrew, Arabic, Devanagari, CJK: from the system's fonts (on
    # Debian: fonts-dejavu-core, fonts-noto-core, fonts-noto-cjk; see .ci/run).
    for width in WIDTHS:
        assert light[f"{name}:{width}"]["missingGlyphs"] == [], (
            f"{name}: drawn as empty boxes (install the fonts .ci/run installs)")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", ["en", "ar", "he", "archive"])
def test_text_contrast_in_light_and_dark_mode(
    light: dict[str, Any], dark: dict[str, Any], scheme: str, name: str,
) -> None:
    found = (light if scheme == "light" else dark)[f"{name}:600"]
    assert found["dark"] is (scheme == "dark")
    assert found["texts"] > 5
    assert found["lowContrast"] == []  # WCAG AA: 4.5:1 for every piece of text
    page = [int(float(c)) for c in found["pageBackground"][4:-1].split(",")[:3]]
    assert (max(page) < 60) is (scheme == "dark")  # the dark palette did apply


WHERE = """
function where(d, needle) {
  const walker = d.createTreeWalker(d.querySelector('.meta'), NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const at = node.textContent.indexOf(needle);
    if (at < 0) continue;
    const range = d.createRange(); range.setStart(node, at); range.setEnd(node, at + needle.length);
    const box = range.getBoundingClientRect();
    return [box.left, box.right];
  }
  return null;
}
window.addEventListener('load', () => {
  const frame = document.querySelector('iframe'), d = frame.contentDocument;
  const needles = JSON.parse(frame.dataset.needles);
  document.getElementById('result').textContent = JSON.stringify(needles.map(n => where(d, n)));
});
"""


def _where(tmp_path: Path, page: bytes, needles: list[str]) -> list[list[float]]:
    """Where (left, right) each of ``needles`` is drawn in the page's first .meta line."""
    shown = tmp_path / "where.html"
    shown.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"<iframe data-needles='{html.escape(json.dumps(needles), quote=True)}' width='600' "
        f"height='800' srcdoc=\"{html.escape(page.decode('utf-8'), quote=True)}\"></iframe>"
        f"<pre id='result'></pre><script>{WHERE}</script></body></html>", encoding="utf-8")
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
               shown.as_uri()]
    done = subprocess.run(command, capture_output=True, timeout=180, check=False,
                          env={**os.environ, "HOME": str(tmp_path)})
    dom = html5lib.parse(done.stdout, treebuilder="lxml", namespaceHTMLElements=False)
    result = dom.getroot().find(".//pre[@id='result']")
    assert result is not None and (result.text or "").strip(), done.stderr[-2000:]
    found: list[list[float]] = json.loads(result.text or "")
    return found


LATIN_NAME, ARABIC_NAME = "Revolutionary Socialists", "الاشتراكيون الثوريون"


@pytest.mark.parametrize(("lang", "authors"), [
    ("ar", (LATIN_NAME, ARABIC_NAME)), ("ar", (ARABIC_NAME, LATIN_NAME)),
    ("en", (ARABIC_NAME, LATIN_NAME)), ("en", (LATIN_NAME, ARABIC_NAME)),
])
def test_authors_read_in_the_digests_direction(tmp_path: Path, lang: str,
                                               authors: tuple[str, str]) -> None:
    """Two authors in two scripts are read first to second in the page's direction: the
    first on the right in Arabic, on the left in English. Before, the list was isolated
    as a whole, taking its direction from its first name: an Arabic digest showed
    'Revolutionary Socialists والاشتراكيون الثوريون' left to right, the second author
    (with its 'and') read before the first."""
    built = site([statement("عنوان" if lang == "ar" else "Title", lang=lang, authors=authors)])
    page = {o.path: o.data for o in render_site(built)}[f"digests/{lang}/2015-W36.html"]
    first, second = _where(tmp_path, page, list(authors))
    if lang == "ar":
        assert first[0] > second[1]  # the first name right of the second
    else:
        assert first[1] < second[0]


TRAILING = """
window.addEventListener('load', () => {
  const pre = document.querySelector('pre.text'), node = pre.firstChild, text = node.textContent;
  const box = (at) => { const r = document.createRange(); r.setStart(node, at);
    r.setEnd(node, at + 1); return r.getBoundingClientRect(); };
  const found = JSON.parse(pre.dataset.needles).map(needle => {
    const at = text.indexOf(needle), end = at + needle.length - 1;
    return [needle, box(end - 1).right, box(end).left];
  });
  document.getElementById('result').textContent = JSON.stringify(found);
});
"""


def test_links_in_right_to_left_text_keep_their_last_character(tmp_path: Path) -> None:
    """A plain-text part shown as plain text is (UAX #9) a paragraph a line, each taking its
    first strong letter's direction (CSS unicode-bidi: plaintext). In an Arabic digest a
    link that ends in a slash, after a label or a Latin name, keeps the slash at its end:
    before, it showed at the line's far left, '/https://example.org/s/ar-1 :النص الكامل'."""
    urls = {"ar": "https://example.org/s/ar-1/", "en": "https://example.org/s/en-1/"}
    built = site([statement("عنوان", lang="ar", key="k", url=urls["ar"]),
                  statement("Title", lang="en", key="k", url=urls["en"])])
    text = {o.path: o.data for o in render_site(built)}["digests/ar/2015-W36.txt"].decode()
    needles = [line.split(": ", 1)[1].split(" ")[0] for line in text.splitlines()
               if any(url in line for url in urls.values()) and ": " in line]
    assert len(needles) == 2
    shown = tmp_path / "text.html"
    shown.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        "<pre class='text' style='unicode-bidi: plaintext; font-size: 14px' "
        f"data-needles='{html.escape(json.dumps(needles), quote=True)}'>{html.escape(text)}"
        f"</pre><pre id='result'></pre><script>{TRAILING}</script></body></html>",
        encoding="utf-8")
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
               shown.as_uri()]
    done = subprocess.run(command, capture_output=True, timeout=180, check=False,
                          env={**os.environ, "HOME": str(tmp_path)})
    dom = html5lib.parse(done.stdout, treebuilder="lxml", namespaceHTMLElements=False)
    result = dom.getroot().find(".//pre[@id='result']")
    assert result is not None and (result.text or "").strip(), done.stderr[-2000:]
    for needle, before_right, last_left in json.loads(result.text or ""):
        assert abs(last_left - before_right) < 1, needle  # the slash right after the "1"


SUBJECT_ORDER = """
window.addEventListener('load', () => {
  const found = [...document.querySelectorAll('div.subject')].map(el => {
    const node = el.firstChild, text = node.textContent;
    const box = (at, length) => { const r = document.createRange(); r.setStart(node, at);
      r.setEnd(node, at + length); return r.getBoundingClientRect(); };
    const site = box(text.indexOf(el.dataset.site), el.dataset.site.length);
    const word = box(text.indexOf(el.dataset.word), el.dataset.word.length);
    return [el.dataset.lang, site.left, site.right, word.left, word.right];
  });
  document.getElementById('result').textContent = JSON.stringify(found);
});
"""


@pytest.mark.parametrize(("lang", "title", "word"), [
    ("en", "الاشتراكية من تحت", "statements"),
    ("ar", "Socialism From Below (IST)", "بيانات"),
])
def test_a_subject_reads_in_its_digests_direction(tmp_path: Path, lang: str, title: str,
                                                 word: str) -> None:
    """A subject shown as a paragraph that takes its first strong letter's direction (UAX
    #9, P2 and P3; CSS unicode-bidi: plaintext) starts with the site's title in the
    digest's reading direction, the subject's own words after it. Before, a site title in
    the other script set the direction: an English subject read right to left, its
    words left of the Arabic title."""
    built = site([statement("Title" if lang == "en" else "عنوان", lang=lang)], title=title)
    eml = {o.path: o.data for o in render_site(built)}[f"digests/{lang}/2015-W36.eml"]
    subject = str(email.message_from_bytes(eml, policy=email.policy.default)["Subject"])
    shown = tmp_path / "subject.html"
    shown.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        "<div class='subject' style='unicode-bidi: plaintext; width: 900px' "
        f"data-lang='{lang}' data-site='{html.escape(title, quote=True)}' "
        f"data-word='{html.escape(word, quote=True)}'>{html.escape(subject)}</div>"
        f"<pre id='result'></pre><script>{SUBJECT_ORDER}</script></body></html>",
        encoding="utf-8")
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
               shown.as_uri()]
    done = subprocess.run(command, capture_output=True, timeout=180, check=False,
                          env={**os.environ, "HOME": str(tmp_path)})
    dom = html5lib.parse(done.stdout, treebuilder="lxml", namespaceHTMLElements=False)
    result = dom.getroot().find(".//pre[@id='result']")
    assert result is not None and (result.text or "").strip(), done.stderr[-2000:]
    [[_, site_left, site_right, word_left, word_right]] = json.loads(result.text or "")
    if lang == "en":
        assert site_right <= word_left  # the title first, on the left
    else:
        assert site_left >= word_right  # the title first, on the right
