"""A statement's links in the digests are spelt as the feeds spell them."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

from cli_run import MINIMAL, run
from conftest import SiteMaker
from lxml import etree
from lxml import html as lxml_html

ATOM_NS = "{http://www.w3.org/2005/Atom}"


def test_a_digest_links_a_statement_as_the_feeds_do(make_site: SiteMaker) -> None:
    """One page, one spelling: a url written in another form (case, default port, %7E,
    a non-ASCII host) is linked in the digest's .html, .txt and .eml as in the feeds."""
    written = "HTTPS://WWW.IstEndency.NET:443/statements/%7euser/zażółć"
    other = "https://bücher.example/statement"
    records = {
        "a.yaml": f"title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\nurl: {written}\n"
                  "translation_key: k\n",
        "b.yaml": f"title: B\ndate: 2015-09-04\nlanguage: pl\nexcerpt: hej\nurl: {other}\n"
                  "translation_key: k\n",
    }
    config = make_site(records, config=MINIMAL)
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    feeds = config.parent / "feeds"
    entry = etree.parse(feeds / "en" / "atom.xml").find(f"{ATOM_NS}entry")
    links = {link.get("rel"): link.get("href") for link in entry.iter(f"{ATOM_NS}link")}
    own, translation = links["alternate"], links["related"]
    assert (own, translation) == (
        "https://www.istendency.net/statements/~user/za%C5%BC%C3%B3%C5%82%C4%87",
        "https://xn--bcher-kva.example/statement")
    page = lxml_html.parse(str(feeds / "digests" / "en" / "2015-W36.html")).getroot()
    hrefs = {a.get("href") for a in page.iter("a")}
    assert {own, translation} <= hrefs and written not in hrefs and other not in hrefs
    text = (feeds / "digests" / "en" / "2015-W36.txt").read_text("utf-8")
    assert own in text and translation in text and written not in text
    message = message_from_bytes((feeds / "digests" / "en" / "2015-W36.eml").read_bytes(),
                                 policy=default)
    plain = message.get_body(("plain",))
    assert plain is not None and own in plain.get_content()


def test_a_digest_links_the_site_as_the_feeds_do(make_site: SiteMaker) -> None:
    """The site's own link (the title at the top of a digest and of the digest archive)
    takes the feeds' spelling too: site.url written with an international host and an
    upper-case scheme was linked as written (``HTTPS://Bücher.example``), where the feeds
    link the site as ``https://xn--bcher-kva.example/``."""
    config = make_site({"a.yaml": "title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\n"
                                  "id: urn:sfb:a\n"},
                       config="site:\n  title: T\n  url: HTTPS://Bücher.example\n")
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    feeds = config.parent / "feeds"
    atom = etree.parse(feeds / "en" / "atom.xml").getroot()
    site = next(link.get("href") for link in atom.findall(f"{ATOM_NS}link")
                if link.get("rel") == "alternate")
    assert site == "https://xn--bcher-kva.example/"
    for page in ("2015-W36.html", "index.html"):
        root = lxml_html.parse(str(feeds / "digests" / "en" / page)).getroot()
        assert [a.get("href") for a in root.find_class("site-link")] == [site], page
