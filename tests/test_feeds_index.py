"""index.html: valid HTML5, every language in its own name, feed autodiscovery, digests."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import html5lib
import pytest
from test_feeds_fixtures import (
    NOW,
    build,
    make_settings,
    public,
    sample_site,
    sample_statements,
    url,
)

from sfb_feeds.site import make_site

HTML_NS = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def page() -> object:
    data = build(sample_site())["index.html"]
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document = parser.parse(data)  # raises on any HTML5 parse error
    assert data.startswith(b"<!DOCTYPE html>")
    return document


def test_head_has_viewport_charset_and_title(page: object) -> None:
    head = page.find("head")
    assert head.find("meta[@charset]").get("charset") == "utf-8"
    viewport = [m for m in head.findall("meta") if m.get("name") == "viewport"]
    assert viewport and "width=device-width" in viewport[0].get("content")
    assert head.findtext("title") == "Socialism From Below: feeds"
    assert page.get("lang") == "en"


def test_autodiscovery_links_every_feed(page: object) -> None:
    site = sample_site()
    found = [(link.get("type"), link.get("href"), link.get("hreflang"), link.get("title"))
             for link in page.find("head").findall("link") if link.get("rel") == "alternate"]
    kinds = [("application/atom+xml", "atom.xml", "Atom"),
             ("application/rss+xml", "rss.xml", "RSS"),
             ("application/feed+json", "feed.json", "JSON Feed")]
    expected = [(media, public(name), None, f"Socialism From Below — all languages ({label})")
                for media, name, label in kinds]
    names = {"ar": "العربية", "en": "English", "pl": "Polski", "pt-BR": "Português (Brasil)",
             "tr": "Türkçe"}
    digests = {"ar": "النشرات الأسبوعية", "en": "weekly digests", "pl": "przeglądy tygodnia",
               "pt-BR": "resumos semanais", "tr": "haftalık bültenler"}  # noqa: RUF001
    for language in site.languages:
        digest_feed = [("application/atom+xml", "digests.xml", digests[language])]
        expected += [(media, public(f"{language}/{name}"), language,
                      f"Socialism From Below — {names[language]} ({label})")
                     for media, name, label in kinds + digest_feed]
    assert found == expected


def test_a_section_per_language_in_its_own_name(page: object) -> None:
    sections = page.find("body/main").findall("section")
    assert [s.get("id") for s in sections] == [
        "all-languages", "lang-ar", "lang-en", "lang-pl", "lang-pt-BR", "lang-tr"]
    arabic = sections[1]
    assert (arabic.get("lang"), arabic.get("dir"), arabic.findtext("h2")) == (
        "ar", "rtl", "العربية")
    polish = sections[3]
    assert (polish.get("lang"), polish.get("dir"), polish.findtext("h2")) == (
        "pl", "ltr", "Polski")
    hrefs = [a.get("href") for a in polish.find("ul").iter("a")]
    assert hrefs == [public("pl/atom.xml"), public("pl/rss.xml"), public("pl/feed.json"),
                     public("pl/digests.xml"), public("digests/pl/index.html")]


def test_newest_titles_with_localised_dates(page: object) -> None:
    site = sample_site()
    for section, language in zip(page.find("body/main").findall("section")[1:],
                                 site.languages, strict=True):
        items = section.find("ol").findall("li")
        newest = site.by_language[language][:5]
        assert ["".join(li.find("a").itertext()) if li.find("a") is not None
                else li.find("bdi").text for li in items] == [s.title for s in newest]
        assert [li.find("time").get("datetime") for li in items] == [
            s.date.date().isoformat() for s in newest]
    polish = page.find("body/main").findall("section")[3]
    assert polish.find("ol/li/time").text == "4 września 2015"
    assert polish.find("ol/li/a").get("href") == url("refugees-pl")


WRAPPER = """<!DOCTYPE html><html><body>
<iframe id="phone" src="index.html" style="width:320px;height:640px;border:0"></iframe>
<script>
window.addEventListener("load", function () {
  var page = document.getElementById("phone").contentDocument.documentElement;
  document.body.setAttribute("data-widths", page.scrollWidth + "/" + page.clientWidth);
});
</script></body></html>
"""


def test_nothing_overflows_a_phone_screen(tmp_path: Path) -> None:
    """In a real browser, the page fits a 320 px wide screen without sideways scrolling."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed")
    (tmp_path / "index.html").write_bytes(build(sample_site())["index.html"])
    (tmp_path / "phone.html").write_text(WRAPPER, encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "phone.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'data-widths="(\d+)/(\d+)"', done.stdout)
    assert match, done.stderr[-2000:]
    scroll_width, client_width = map(int, match.groups())
    assert 0 < client_width <= 320
    assert scroll_width <= client_width


# Where the first and the last character of each of the header's texts are drawn.
ENDS = """<!DOCTYPE html><html><body>
<iframe id="page" src="index.html" style="width:600px;height:640px;border:0"></iframe>
<script>
window.addEventListener("load", function () {
  var d = document.getElementById("page").contentDocument, found = [];
  d.querySelectorAll("header h1, header p:first-of-type").forEach(function (element) {
    var node = element.firstChild, at = function (i) {
      var range = d.createRange(); range.setStart(node, i); range.setEnd(node, i + 1);
      return range.getBoundingClientRect().left; };
    found.push([at(0), at(node.textContent.length - 1)]);
  });
  document.body.setAttribute("data-ends", JSON.stringify(found));
});
</script></body></html>
"""


@pytest.mark.parametrize(("title", "description", "direction"), [
    ("الاشتراكية من أسفل (IST)", "بيانات التيار الاشتراكي الأممي (IST).", "rtl"),
    ("Socialism From Below (IST)", "Statements of the tendency (IST).", "ltr"),
], ids=["rtl", "ltr"])
def test_the_site_title_and_description_read_in_their_own_direction(
        tmp_path: Path, title: str, description: str, direction: str) -> None:
    """A right-to-left site title and description read right to left: their first letter
    drawn right of their last character. Before, the page (lang="en") laid them out left
    to right: an Arabic title's '(IST)' and the description's final full stop were drawn
    at the right end, where an Arabic reader begins."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed")
    settings = make_settings()
    settings = replace(settings, site=replace(settings.site, title=title,
                                              description=description))
    page = build(make_site(settings, sample_statements(), NOW))["index.html"]
    (tmp_path / "index.html").write_bytes(page)
    (tmp_path / "ends.html").write_text(ENDS, encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
         "--dump-dom", (tmp_path / "ends.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r"data-ends=\"([^\"]*)\"", done.stdout)
    assert match, done.stderr[-2000:]
    ends = json.loads(html.unescape(match.group(1)))
    assert len(ends) == 2
    for first, last in ends:
        assert (first > last if direction == "rtl" else first < last), ends


def test_a_site_can_bring_its_own_subscribe_page(tmp_path: Path) -> None:
    """``<templates>/pages/index.html`` replaces the shipped page, with the same variables;
    without it (or with only digest templates) the shipped page is used."""
    import dataclasses

    from sfb_feeds.feeds.index_page import PAGES_FOLDER

    shipped = build(sample_site())["index.html"]
    (tmp_path / "email").mkdir()
    site = sample_site()
    own_site = dataclasses.replace(
        site, settings=dataclasses.replace(site.settings, templates_dir=tmp_path))
    assert build(own_site)["index.html"] == shipped
    (tmp_path / PAGES_FOLDER).mkdir()
    (tmp_path / PAGES_FOLDER / "index.html").write_text(
        "<!DOCTYPE html><title>{{ heading }}</title><ul>{% for s in sections %}"
        "<li lang=\"{{ s.language }}\">{{ s.name }}</li>{% endfor %}</ul>\n", "utf-8")
    page = build(own_site)["index.html"].decode()
    assert page.startswith("<!DOCTYPE html><title>Socialism From Below</title>")
    document = html5lib.HTMLParser(namespaceHTMLElements=False).parse(page)
    names = {li.get("lang"): li.text for li in document.iter("li")}
    assert names["pl"] == "Polski" and names["ar"] == "العربية"


def test_a_site_without_english_labels_its_combined_feeds_in_english() -> None:
    """The combined feeds' labels are English; the page is prepared for the site's
    languages only, so English is made when the page is rendered."""
    from test_feeds_fixtures import NOW, make_settings, sample_statements

    from sfb_feeds.site import make_site

    polish = tuple(s for s in sample_statements() if s.language == "pl")
    site = make_site(make_settings(), polish, NOW)
    assert site.languages == ("pl",)
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document = parser.parse(build(site)["index.html"])
    sections = document.find("body/main").findall("section")
    everything = sections[0]
    assert everything.get("id") == "all-languages"
    labels = [a.text for a in everything.iter("a")]
    reference = parser.parse(build(sample_site())["index.html"])
    assert labels == [a.text for a in reference.find("body/main/section").iter("a")]
    assert labels[0] and all(label.isascii() for label in labels)
