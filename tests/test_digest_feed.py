"""The weekly digest feed (``<lang>/digests.xml``): one Atom entry per digest week.

Checked against the digests ``build`` writes beside it: each entry is titled with the
.eml's Subject, links the digest's page, carries that page's body, and is dated by the
week's newest statement; the subscribe page lists and autodiscovers the feed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from conftest import SiteMaker, render_site
from lxml import etree
from lxml import html as lxml_html
from test_feeds_w3c import atom_problems

from sfb_feeds import digest
from sfb_feeds import site as sfb_site
from sfb_feeds.config import load_settings
from sfb_feeds.digest import Digests
from sfb_feeds.digest_feed import WEEKS
from sfb_feeds.loader import load_statements
from sfb_feeds.plan import plan_outputs
from sfb_feeds.site import make_site
from sfb_feeds.urls import digest_url, public_url

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2020, 1, 1, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def built() -> tuple[object, dict[str, bytes]]:
    config = REPO / "sfb-feeds.yaml"
    if not config.is_file():
        pytest.skip("the sample site (sfb-feeds.yaml, statements/) is not in the repository")
    settings = load_settings(config)
    site = make_site(settings, load_statements(settings).statements, NOW)
    return site, {output.path: output.data for output in render_site(site)}


def weeks_of(outputs: dict[str, bytes], lang: str) -> list[str]:
    prefix = f"digests/{lang}/"
    found = {path[len(prefix):-4] for path in outputs
             if path.startswith(prefix) and path.endswith(".eml")}
    return sorted(found, reverse=True)[:WEEKS]


def body_text(page: bytes) -> str:
    """The page's text but what only a message needs: the hidden preheader, "View in
    browser" and the footer (why you receive it, how to unsubscribe)."""
    body = lxml_html.document_fromstring(page).body
    for name in ("preheader", "topbar", "footer"):
        for element in body.find_class(name):
            element.getparent().remove(element)
    return " ".join(body.text_content().split())


def test_every_language_has_a_digest_feed_with_one_entry_per_week(built) -> None:  # type: ignore[no-untyped-def]
    site, outputs = built
    for lang in site.languages:
        feed = feedparser.parse(outputs[f"{lang}/digests.xml"])
        assert not feed.bozo, feed.get("bozo_exception")
        weeks = weeks_of(outputs, lang)
        assert [entry.link for entry in feed.entries] == [
            digest_url(site.settings, lang, week) for week in weeks]


def test_each_entry_is_the_digest_of_its_week(built) -> None:  # type: ignore[no-untyped-def]
    site, outputs = built
    for lang in site.languages:
        root = etree.fromstring(outputs[f"{lang}/digests.xml"])
        for entry, week in zip(root.iter(f"{ATOM}entry"), weeks_of(outputs, lang), strict=True):
            eml = message_from_bytes(outputs[f"digests/{lang}/{week}.eml"], policy=default)
            assert entry.findtext(f"{ATOM}title") == eml["Subject"]
            content = entry.find(f"{ATOM}content")
            assert content.get("type") == "html"
            shown = lxml_html.fragment_fromstring(content.text, create_parent="body")
            assert " ".join(shown.text_content().split()) == body_text(
                outputs[f"digests/{lang}/{week}.html"])
            assert not shown.find_class("preheader"), "the hidden preheader would show"
            assert not [c for c in shown.iter(etree.Comment)], "Outlook's comments are email's"
            assert "unsubscribe" not in content.text.lower()
            page = lxml_html.document_fromstring(outputs[f"digests/{lang}/{week}.html"])
            titles = [" ".join(h2.text_content().split()) for h2 in page.iter("h2")]
            text = " ".join(shown.text_content().split())
            assert titles and all(title in text for title in titles)
            assert not [e for e in shown.iter() if e.get("style") is not None]


def test_an_entry_is_dated_by_the_newest_statement_of_its_week(built) -> None:  # type: ignore[no-untyped-def]
    site, outputs = built
    feed = feedparser.parse(outputs["pl/digests.xml"])
    newest = max(s.updated for s in site.by_language["pl"])
    assert datetime(*feed.entries[0].updated_parsed[:6], tzinfo=UTC).date() == newest.date()
    assert feed.feed.updated == feed.entries[0].updated


def test_the_digest_feeds_pass_the_validator_rules(built) -> None:  # type: ignore[no-untyped-def]
    site, outputs = built
    for lang in site.languages:
        path = f"{lang}/digests.xml"
        assert atom_problems(outputs[path], public_url(site.settings, path)) == []


def test_the_subscribe_page_lists_and_autodiscovers_each_digest_feed(built) -> None:  # type: ignore[no-untyped-def]
    site, outputs = built
    page = lxml_html.document_fromstring(outputs["index.html"])
    discovered = {link.get("href") for link in page.head.iter("link")
                  if link.get("rel") == "alternate"
                  and link.get("type") == "application/atom+xml"}
    listed = {a.get("href") for a in page.body.iter("a")}
    for lang in site.languages:
        url = public_url(site.settings, f"{lang}/digests.xml")
        assert url in discovered and url in listed


def test_each_digest_archive_page_autodiscovers_its_digest_feed(built) -> None:  # type: ignore[no-untyped-def]
    """digests/<lang>/index.html names its language's digest feed in its <head> as feed
    readers discover feeds: rel alternate, the Atom type, the feed's title and the absolute
    address the feed gives as its own (its self link)."""
    site, outputs = built
    for lang in site.languages:
        page = lxml_html.document_fromstring(outputs[f"digests/{lang}/index.html"])
        found = [(link.get("rel").split(), link.get("type"), link.get("title"), link.get("href"))
                 for link in page.head.iter("link")]
        feed = feedparser.parse(outputs[f"{lang}/digests.xml"]).feed
        self_link = next(link.href for link in feed.links if link.rel == "self")
        assert self_link == public_url(site.settings, f"{lang}/digests.xml")
        assert found == [(["alternate"], "application/atom+xml", feed.title, self_link)], lang


PERSONAL_SITE = """\
site:
  title: T
  url: https://example.org/
digests:
  unsubscribe: "{unsubscribe}"
"""


@pytest.mark.parametrize("unsubscribe", [
    "https://example.org/unsubscribe?list={lang}",
    "https://example.org/unsubscribe?lang={lang}&address={address}&token={token}",
])
def test_the_feed_reads_each_digest_page_as_it_is_published(
        make_site: SiteMaker, unsubscribe: str) -> None:
    """``Digests.render_page``, which the digest feed reads, gives exactly the ``.html``
    a digest's rendering publishes: with a subscriber's own unsubscribe link too, which
    the page leaves out (the .eml alone keeps it, for ``send``)."""
    record = "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\nid: urn:sfb:a\n"
    config = make_site({"a.yaml": record}, config=PERSONAL_SITE.format(unsubscribe=unsubscribe))
    settings = load_settings(config)
    site = sfb_site.make_site(settings, load_statements(settings).statements,
                        datetime(2015, 9, 10, tzinfo=UTC))
    digests = Digests(settings, site.languages)
    planned = [p for p in plan_outputs(site, digest.rows(digests)) if p.format.name == "digest"]
    assert planned
    for item in planned:
        published = digests.render(site, item.target)[".html"]
        assert digests.render_page(site, item.target) == published


def _digest_feed_dates(make_site: SiteMaker, older_updated: str) -> list[tuple[str, str, str]]:
    """(link, published, updated) of each entry of en/digests.xml as feedparser reads it,
    for a week of one statement (``updated`` as given) and the week after it."""
    older = ("title: Older\ndate: 2015-09-01\nlanguage: en\nexcerpt: hi\n"
             f"url: https://example.org/older\nupdated: {older_updated}\n")
    newer = "title: Newer\ndate: 2015-09-09\nlanguage: en\nexcerpt: hi\nurl: https://example.org/newer\n"
    config = make_site({"a.yaml": older, "b.yaml": newer}, folder=older_updated)
    settings = load_settings(config)
    site = sfb_site.make_site(settings, load_statements(settings).statements, NOW)
    outputs = {output.path: output.data for output in render_site(site)}
    feed = feedparser.parse(outputs["en/digests.xml"])
    assert not feed.bozo, feed.get("bozo_exception")
    return [(entry.link, entry.published, entry.updated) for entry in feed.entries]


def test_an_edit_moves_a_digests_updated_but_never_when_it_was_published(
        make_site: SiteMaker) -> None:
    """A statement edited long after its week (its ``updated`` moved) changes its digest:
    the entry's ``updated`` moves, its ``published`` stays when the week's statements were
    published, so a reader does not show last week's digest as newer than this week's."""
    before = _digest_feed_dates(make_site, "2015-09-01")
    after = _digest_feed_dates(make_site, "2016-02-01")
    assert [link.rsplit("/", 1)[1] for link, _, _ in after] == ["2015-W37.html", "2015-W36.html"]
    assert after[0] == before[0]
    (_, published_before, updated_before), (_, published, updated) = before[1], after[1]
    assert published == published_before == "2015-09-01T12:00:00+01:00"
    assert updated != updated_before and updated.startswith("2016-02-01T12:00:00")
    assert published < after[0][1]  # the older week's digest was published first


def test_weeks_edited_the_same_day_pass_the_validator_rules(make_site: SiteMaker) -> None:
    """Statements of two weeks edited on one day (``updated: 2016-02-01`` on both) give
    two digest entries of that day: still each its own ``updated`` (the validator's
    DuplicateUpdated), and both dated that day."""
    records = {f"{name}.yaml": f"title: {name}\ndate: {day}\nupdated: 2016-02-01\nlanguage: en\n"
               f"excerpt: hi\nurl: https://example.org/{name}\n"
               for name, day in (("a", "2015-09-01"), ("b", "2015-09-09"))}
    settings = load_settings(make_site(records))
    site = sfb_site.make_site(settings, load_statements(settings).statements, NOW)
    outputs = {output.path: output.data for output in render_site(site)}
    path = "en/digests.xml"
    assert atom_problems(outputs[path], public_url(settings, path)) == []
    feed = feedparser.parse(outputs[path])
    assert [entry.updated[:19] for entry in feed.entries] == ["2016-02-01T12:00:00"] * 2


IDN_SITE = """\
site:
  title: T
  url: https://bücher.example/home?x=1&y=2
  feeds_url: https://bücher.example/feeds/
"""


def test_links_in_an_entry_keep_an_international_host_in_idna_form(
        make_site: SiteMaker) -> None:
    """With an international site.url and statement url (``https://bücher.example/…``),
    the entry carries every link as the feeds do, in RFC 3986 normal form with the host in IDNA
    (``xn--bcher-kva.example``), not with its UTF-8 percent-encoded
    (``b%C3%BCcher.example``, which RFC 3986 section 3.2.2 asks producers not to write)."""
    record = ("title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\n"
              "url: https://bücher.example/ställning\n")
    settings = load_settings(make_site({"a.yaml": record}, config=IDN_SITE))
    site = sfb_site.make_site(settings, load_statements(settings).statements, NOW)
    outputs = {output.path: output.data for output in render_site(site)}
    content = etree.fromstring(outputs["en/digests.xml"]).findtext(f"{ATOM}entry/{ATOM}content")
    links = [element.get("href") for element in
             lxml_html.fragment_fromstring(content, create_parent="div").iter("a")]
    assert "https://xn--bcher-kva.example/home?x=1&y=2" in links
    assert "https://xn--bcher-kva.example/st%C3%A4llning" in links
    assert [link for link in links if "%" in urlsplit(link).netloc] == []
