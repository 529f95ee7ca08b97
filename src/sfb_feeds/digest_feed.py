"""``<lang>/digests.xml``: the weekly digests of one language as an Atom feed (docs/feeds.md).

It sits above the two siblings it is built from: the ``digest`` row's ``.html`` gives each
week's subject and body, the feeds package's Atom writer the document."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from itertools import groupby, islice

from lxml import etree
from lxml import html as lxml_html

from .digest.view import digest_feed_title, digest_weeks
from .feeds.document import Entry, base_feed, distinct_updated
from .feeds.feedgen_adapter import render_atom
from .i18n import Language, site_locales
from .model import Statement
from .moments import feed_moment, published_moment
from .plan import OutputFormat, Scope, Target
from .site import Site
from .urls import DIGEST_FEED, canonical_uri, digest_archive_url, digest_url, feed_path
from .weeks import Week, week_of

Page = Callable[[Site, Target], bytes]  # a digest's published .html

WEEKS = 10  # digests per feed: about a quarter; each entry carries a whole digest


# What the W3C Feed Validation Service accepts in an entry's HTML without a warning (its
# HTMLValidator's acceptable elements and attributes, those a digest uses): everything else
# is unwrapped or dropped. Inline styles go too: readers apply their own (and the validator
# warns on most email CSS properties); the entry links the digest's styled page.
_ELEMENTS = frozenset({"a", "b", "blockquote", "br", "div", "em", "h1", "h2", "h3", "h4",
                       "hr", "i", "img", "li", "ol", "p", "small", "span", "strong", "sub",
                       "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"})
_ATTRIBUTES = frozenset({"align", "alt", "dir", "height", "href", "hreflang", "lang", "src",
                         "title", "width"})


# What only a message needs (the built-in templates' classes): the hidden preheader (a
# reader would show it), "View in browser" and the footer (why you receive it, unsubscribe).
_EMAIL_ONLY = ("preheader", "topbar", "footer")


def _drop_email_only(body: lxml_html.HtmlElement) -> None:
    """Remove ``_EMAIL_ONLY`` (with its table row when it is the row's only cell) and
    Outlook's conditional comments."""
    for comment in list(body.iter(etree.Comment)):
        comment.drop_tree()
    for name in _EMAIL_ONLY:
        for element in body.find_class(name):
            row = element.getparent()
            (row if row is not None and row.tag == "tr" and len(row) == 1
             else element).drop_tree()


def _ascii_links(element: lxml_html.HtmlElement) -> None:
    """``element``'s non-ASCII link (an IRI: the page links ``site.url`` as written) in RFC
    3986 normal form, as the feeds give links: lxml's HTML writer would percent-encode an
    international host (``b%C3%BCcher.example``, which RFC 3986 section 3.2.2 asks
    producers not to write) where the feeds have its IDNA form (``xn--bcher-kva.example``)."""
    for name in ("href", "src"):
        value = element.get(name)
        if value is not None and not value.isascii():
            element.set(name, canonical_uri(value))


def _keep_only_feed_attributes(element: lxml_html.HtmlElement) -> None:
    """``element`` without the attributes feeds may not carry. All are cleared and the kept
    ones set again: one deleted by name fails when a site's template wrote a name lxml
    reads as a namespace (``{}x``)."""
    kept = [(name, value) for name, value in element.items() if name in _ATTRIBUTES]
    if len(kept) != len(element.keys()):
        element.attrib.clear()
        for name, value in kept:
            element.set(name, value)


def _feed_html(body: lxml_html.HtmlElement) -> str:
    """The digest page's body as an entry's content: without what only a message needs,
    with only the elements and attributes feeds may carry, links in ASCII."""
    _drop_email_only(body)
    for element in list(body.iterdescendants(etree.Element)):
        _keep_only_feed_attributes(element)
        _ascii_links(element)
        if element.tag not in _ELEMENTS:
            element.drop_tag()  # its text and children stay
    return (body.text or "") + "".join(
        lxml_html.tostring(child, encoding="unicode") for child in body)


def plan_digest_feeds(site: Site) -> Iterator[Target]:
    """Each language's feed as what it shows: the statements of its newest WEEKS weeks
    (so an edit to an older statement does not render the feed again). Statements are
    newest first, so the search stops at the first statement of an older week (grouping
    all of them cost a one-edit build of 10,000 ~0.07 s)."""
    for language in site.languages:
        weeks = groupby(site.by_language[language],
                        key=lambda statement: week_of(statement.date, site.settings))
        yield Target(language=language, period=None, statements=tuple(
            statement for _, group in islice(weeks, WEEKS) for statement in group))


def _document(html: bytes) -> lxml_html.HtmlElement:
    """A digest page parsed. A site's template may write one of no element at all (empty,
    or only a broken doctype, ``<!DOC``): an empty document then."""
    try:
        return lxml_html.document_fromstring(html)
    except etree.ParserError:
        return lxml_html.document_fromstring(b"<html></html>")


def _entry(page: Page, site: Site, language: str, week: Week,
           group: tuple[Statement, ...]) -> Entry:
    document = _document(page(site, Target(language=language, period=week, statements=group)))
    url = digest_url(site.settings, language, week.label)
    # Published with the week's newest statement, whatever is edited later (an edit moves
    # only ``updated``: a reader dating entries by ``published`` would put an old week first).
    published = max(published_moment(statement) for statement in group)
    # As its newest statement's entry is: weeks edited the same day stay distinct
    # (the validator's DuplicateUpdated).
    updated = max(distinct_updated(statement, site.settings) for statement in group)
    modified = max(feed_moment(statement.updated) for statement in group)
    return Entry(id=url, title=document.findtext(".//title") or week.label, url=url,
                 language=language, published=published, updated=updated, modified=modified,
                 content_html="" if document.body is None else _feed_html(document.body))


def render_digest_feed(page: Page, site: Site, target: Target) -> bytes:
    """``<lang>/digests.xml``, each week's entry made from ``page`` (a digest's published
    ``.html``, as the ``digest`` row writes it)."""
    language = target.language
    if language is None:
        raise ValueError("a digest feed belongs to a language")
    entries = tuple(_entry(page, site, language, week, group)
                    for week, group in digest_weeks(site, target.statements))
    feed = base_feed(site, language, feed_path(DIGEST_FEED, language), entries)
    # The label from the catalogs the digests (and the archive page's link) read.
    title = digest_feed_title(site, Language(language, site_locales(site.settings)))
    return render_atom(replace(feed, title=title,
                               site_url=digest_archive_url(site.settings, language)))


def formats(page: Page) -> tuple[OutputFormat, ...]:
    """The digest feed's row, each week's entry made from ``page``
    (``digest.Digests.render_page``)."""
    return (OutputFormat(name="digest-feed", media_type=DIGEST_FEED.media_type,
                         path=f"{{lang}}/{DIGEST_FEED.file}", scope=Scope.LANGUAGE,
                         render=partial(render_digest_feed, page),
                         targets=plan_digest_feeds),)
