"""The W3C Feed Validation Service's rules, checked offline on every feed we write.

The service cannot be reached from the tests, so the checks below restate the warnings and
errors it documents (https://validator.w3.org/feed/docs/) and implements (its source:
github.com/w3c/feedvalidator, ``src/feedvalidator``), each named after the validator's
message class. Each checker is also run on a broken document to show that it catches the
problem it names.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.entities import name2codepoint
from pathlib import Path
from typing import Any

import html5lib
import langcodes
import pytest
from html5lib.html5parser import ParseError
from test_feeds_fixtures import (
    ATOM,
    NOW,
    NS,
    XML_LANG,
    build,
    make_settings,
    public,
    sample_statements,
    xml,
)

from sfb_feeds.language import canonical_tag
from sfb_feeds.site import make_site
from sfb_feeds.urls import canonical_uri

# validators.py: rfc2396_full, the URI syntax accepted in links, ids and guids (ASCII only).
FULL_URI = re.compile(r"^[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+$")
# validators.py rfc2396.urn_re and uuid_re (RFC 2141; an Atom id that fails is an error)
URN = re.compile(r"^[Uu][Rr][Nn]:[a-zA-Z0-9][a-zA-Z0-9-]{1,31}:"
                 r"([a-zA-Z0-9()+,.:=@;$_!*'\-]|%[0-9A-Fa-f]{2})+$")
UUID_URN = re.compile(r"^[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-"
                      r"[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$")
TAG_URI = re.compile(r"^tag:([a-z0-9\-._]+?@)?[a-z0-9.\-]+?,\d{4}(-\d{2}(-\d{2})?)?:"
                     r"[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*(#[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*)?$")
RFC3339 = re.compile(r"^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*)?(Z|[+-]\d\d:\d\d)$")
RFC2822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d? (Jan|Feb|Mar|Apr|May|Jun|Jul|"
                     r"Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d(:\d\d)? ([+-]?\d\d[03]0|GMT)$")
MIME = re.compile(r'^[^\s()<>,;:\\"/\[\]?=]+/[^\s()<>,;:\\"/\[\]?=]+'
                  r'(\s*;\s*[^\s()<>,;:\\"/\[\]?=]+=("(\\"|[^"])*"|[^\s()<>,;:\\"/\[\]?=]+))*$')
# link.py: registered relations; the RFC 5005 ones must not appear on entries.
RELATIONS = {"alternate", "current", "describedby", "edit", "edit-media", "enclosure",
             "first", "hub", "last", "license", "next", "next-archive", "payment",
             "prev-archive", "previous", "related", "replies", "search", "self", "service",
             "up", "via"}
HISTORY_RELATIONS = {"current", "first", "last", "next", "next-archive", "prev-archive",
                     "previous"}
# validators.py HTMLValidator.acceptable_elements / acceptable_attributes (what an entry's
# HTML may hold without SecurityRisk / SecurityRiskAttr); any inline style is treated as
# DangerousStyleAttr here (stricter than the validator, which accepts a few properties).
SAFE_HTML = {"a", "abbr", "acronym", "address", "area", "b", "big", "blockquote", "br",
             "button", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del",
             "dfn", "dir", "div", "dl", "dt", "em", "fieldset", "font", "form", "h1", "h2",
             "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "label",
             "legend", "li", "map", "menu", "ol", "optgroup", "option", "p", "pre", "q", "s",
             "samp", "select", "small", "span", "strike", "strong", "sub", "sup", "table",
             "tbody", "td", "textarea", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
             "noscript"}
SAFE_ATTRIBUTES = {"abbr", "align", "alt", "border", "cellpadding", "cellspacing", "class",
                   "colspan", "datetime", "dir", "height", "href", "hreflang", "id", "lang",
                   "name", "rel", "rowspan", "src", "title", "type", "valign", "width"}
# opml.py: text it reads as HTML (safeHtml): a title, ownerName, an outline's text...
OPML_HTML = ("title", "ownerName", "text", "description")
# opml.py: the head elements it knows (not OPML 2.0's <docs>: an UndefinedElement error).
OPML_HEAD = {"title", "dateCreated", "dateModified", "ownerName", "ownerEmail", "ownerId",
             "expansionState", "vertScrollState", "windowTop", "windowLeft", "windowBottom",
             "windowRight"}
ATOM_METADATA = {"author", "category", "contributor", "generator", "icon", "id", "link",
                 "logo", "rights", "subtitle", "title", "updated"}
RSS_PROFILE_DOCS = "http://www.rssboard.org/rss-specification"
END_TAG = re.compile(r"</(\w+)>")
ENTITY = re.compile(r"&(#?\w+)")


def _local(tag: str) -> str:
    return tag.split("}")[-1]


def _uri_problems(value: str, where: str) -> list[str]:
    if value.lower().startswith("tag:"):
        return [] if TAG_URI.match(value) else [f"InvalidTAG: {where}: {value}"]
    if value.lower().startswith("urn:uuid:"):
        return [] if UUID_URN.match(value) else [f"InvalidUUID: {where}: {value}"]
    if value.lower().startswith("urn:"):
        return [] if URN.match(value) else [f"InvalidURN: {where}: {value}"]
    return [] if FULL_URI.match(value) else [f"InvalidFullLink: {where}: {value}"]


def _date_problems(value: str, where: str) -> list[str]:
    if not RFC3339.match(value):
        return [f"InvalidRFC3339Date: {where}: {value}"]
    moment = datetime.fromisoformat(value)
    if moment.year < 1990 or moment.timestamp() > time.time() + 600:
        return [f"ImplausibleDate: {where}: {value}"]
    return []


def _rfc822_problems(value: str, where: str) -> list[str]:
    if not RFC2822.match(value):
        return [f"ProblematicalRFC822Date or InvalidRFC2822Date: {where}: {value}"]
    moment = parsedate_to_datetime(value)
    if moment.strftime("%a") != value[:3]:
        return [f"IncorrectDOW: {where}: {value}"]
    if moment.year < 1990 or moment.timestamp() > time.time() + 600:
        return [f"ImplausibleDate: {where}: {value}"]
    return []


def _html_problems(fragment: str, where: str) -> list[str]:
    """validators.py HTMLValidator: strict HTML5 parse, only safe elements."""
    try:
        tree = html5lib.HTMLParser(strict=True).parseFragment(fragment)
    except ParseError as error:
        return [f"NotHtml: {where}: {error}"]
    elements = [e for e in tree.iter() if isinstance(e.tag, str)]
    unsafe = {_local(e.tag) for e in elements} - SAFE_HTML - {"DOCUMENT_FRAGMENT"}
    names = {_local(name) for e in elements for name in e.attrib}
    problems = [f"SecurityRisk: {where}: {sorted(unsafe)}"] if unsafe else []
    if "style" in names:
        problems.append(f"DangerousStyleAttr: {where}")
    if names - SAFE_ATTRIBUTES - {"style"}:
        problems.append(f"SecurityRiskAttr: {where}: {sorted(names - SAFE_ATTRIBUTES)}")
    return problems


def _plain_text_problems(value: str, where: str, message: str) -> list[str]:
    """validators.py nonhtml: HTML end tags or entity-like text in a plain-text element."""
    if any(tag.lower() in name2codepoint or tag.lower() in {"p", "b", "i", "a", "div", "span"}
           for tag in END_TAG.findall(value)):
        return [f"{message}: {where}: {value}"]
    for name in ENTITY.findall(value):
        if name in name2codepoint or name == "apos" or not name.isalpha():
            return [f"{message}: {where}: {value}"]
    return []


EMAIL_IN_NAME = re.compile(r"<[A-Z0-9_\-+.']+@[A-Z0-9.\-]+>", re.IGNORECASE)


def _author_problems(element: Any, where: str) -> list[str]:
    """author.py: a name is plain text, never blank, without an e-mail address."""
    problems: list[str] = []
    for author in element.findall("a:author", NS):
        name = author.findtext("a:name", namespaces=NS) or ""
        if not name.strip():
            problems.append(f"NotBlank: {where} author name")
        if EMAIL_IN_NAME.search(name):
            problems.append(f"ContainsEmail: {where}: {name}")
        problems += _plain_text_problems(name, f"{where} author", "ContainsHTML")
    return problems


# validators.py iso639_validate: a tag's first subtag must be in the validator's list of
# ISO 639-1 and ISO 639-2 codes (iso639codes.py), whatever BCP 47 allows (``ckb``, ``yue``:
# ISO 639-3 only, an error). Two letters are ISO 639-1; these are the three-letter ISO 639-2
# codes the tests' sites use.
ISO_639_2 = frozenset({"ast", "fil", "gsw", "haw", "min"})


def _language_problems(value: str, where: str) -> list[str]:
    primary = value.partition("-")[0].lower()
    known = len(primary) == 2 or primary in ISO_639_2
    valid = langcodes.tag_is_valid(value) and canonical_tag(value) is not None
    return [] if known and valid else [f"InvalidLanguage: {where}: {value}"]


def _link_problems(link: Any, where: str) -> list[str]:
    rel = link.get("rel", "alternate")
    problems = [] if rel in RELATIONS else [f"UnregisteredAtomLinkRel: {where}: {rel}"]
    if where.startswith("entry") and rel in HISTORY_RELATIONS:
        problems.append(f"FeedHistoryRelInEntry: {where}: {rel}")
    if link.get("type") and not MIME.match(link.get("type")):
        problems.append(f"InvalidMIMEType: {where}: {link.get('type')}")
    if link.get("hreflang"):
        problems += _language_problems(link.get("hreflang"), where)
    if link.get("title") is not None:
        problems += _plain_text_problems(link.get("title"), where, "ContainsHTML")
    return problems + _uri_problems(link.get("href", ""), where)


def _duplicate_alternates(link_elements: list[Any], where: str) -> list[str]:
    pairs = Counter((link.get("type"), link.get("hreflang")) for link in link_elements
                    if link.get("rel", "alternate") == "alternate")
    return [f"DuplicateAtomLink: {where}: {pair}" for pair, n in pairs.items() if n > 1]


def _text_construct_problems(element: Any, where: str) -> list[str]:
    if element is None:
        return []
    kind = element.get("type", "text")
    if kind == "html":
        return _html_problems(element.text or "", where)
    return _plain_text_problems(element.text or "", where, "ContainsUndeclaredHTML")


def _entry_content_problems(entry: Any, where: str) -> list[str]:
    problems: list[str] = []
    entry_links = entry.findall("a:link", NS)
    for link in entry_links:
        problems += _link_problems(link, where)
    problems += _duplicate_alternates(entry_links, where)
    if entry.find("a:content", NS) is None:
        if entry.find("a:summary", NS) is None:
            problems.append(f"MissingTextualContent: {where}")
        if not any(link.get("rel", "alternate") == "alternate" for link in entry_links):
            problems.append(f"MissingContentOrAlternate: {where}")
    for name in ("title", "summary", "content"):
        problems += _text_construct_problems(entry.find(f"a:{name}", NS), f"{where} {name}")
    return problems


def _entry_problems(entry: Any, feed_has_author: bool, index: int) -> list[str]:
    where = f"entry {index}"
    required = ("id", "title", "updated") + (() if feed_has_author else ("author",))
    problems = [f"MissingElement: {where}: {name}" for name in required
                if entry.find(f"a:{name}", NS) is None]
    entry_id = entry.findtext("a:id", namespaces=NS) or ""
    problems += _uri_problems(entry_id, f"{where} id")
    if canonical_uri(entry_id) != entry_id:
        problems.append(f"NonCanonicalURI: {where}: {entry_id}")
    for name in ("updated", "published"):
        if entry.find(f"a:{name}", NS) is not None:
            problems += _date_problems(entry.findtext(f"a:{name}", namespaces=NS), where)
    if entry.get(XML_LANG):
        problems += _language_problems(entry.get(XML_LANG), where)
    problems += _author_problems(entry, where)
    return problems + _entry_content_problems(entry, where)


def _feed_metadata_problems(root: Any, self_url: str) -> list[str]:
    problems: list[str] = []
    for name in ("id", "title", "updated"):
        if root.find(f"a:{name}", NS) is None:
            problems.append(f"MissingElement: feed: {name}")
    feed_id = root.findtext("a:id", namespaces=NS) or ""
    if canonical_uri(feed_id) != feed_id:
        problems.append(f"NonCanonicalURI: feed: {feed_id}")
    problems += _date_problems(root.findtext("a:updated", namespaces=NS) or "", "feed")
    feed_links = root.findall("a:link", NS)
    selves = [link for link in feed_links if link.get("rel") == "self"]
    if not selves:
        problems.append("MissingSelf")
    elif selves[0].get("href") != self_url:
        problems.append(f"SelfDoesntMatchLocation: {selves[0].get('href')}")
    for link in feed_links:
        problems += _link_problems(link, "feed")
    problems += _duplicate_alternates(feed_links, "feed")
    for name in ("title", "subtitle"):
        problems += _text_construct_problems(root.find(f"a:{name}", NS), f"feed {name}")
    if root.get(XML_LANG):
        problems += _language_problems(root.get(XML_LANG), "feed")
    return problems + _author_problems(root, "feed")


def _history_problems(root: Any, self_url: str) -> list[str]:
    """feed.py: RFC 5005 markers, read (like the validator) only before the first entry."""
    children = [_local(child.tag) for child in root]
    first_entry = children.index("entry") if "entry" in children else len(children)
    marked = {_local(child.tag) for child in list(root)[:first_entry]
              if child.tag.startswith("{http://purl.org/syndication/history/1.0}")}
    late = [child for child in list(root)[first_entry:]
            if child.tag.startswith("{http://purl.org/syndication/history/1.0}")]
    problems = ["history marker after the entries (the validator would miss it)"] if late else []
    links = root.findall("a:link", NS)
    rels = {link.get("rel") for link in links}
    if "complete" in marked:
        for link in links:
            if link.get("rel") == "current" and link.get("href") != self_url:
                problems.append("CurrentNotSelfInCompleteFeed")
            elif link.get("rel") in HISTORY_RELATIONS - {"current"}:
                problems.append(f"FeedRelInCompleteFeed: {link.get('rel')}")
    elif "archive" in marked:
        if not rels & {"prev-archive", "next-archive"}:
            problems.append("ArchiveIncomplete")
        if "current" not in rels:
            problems.append("MissingCurrentInArchive")
    return problems


def atom_problems(data: bytes, self_url: str) -> list[str]:
    """What the W3C validator would report (errors and warnings) for an Atom document."""
    root = xml(data)
    if root.tag != f"{{{ATOM}}}feed":
        return ["not an Atom feed"]
    problems = _feed_metadata_problems(root, self_url)
    children = [_local(child.tag) for child in root]
    if "entry" in children:
        first = children.index("entry")
        misplaced = [name for name in children[first:] if name in ATOM_METADATA]
        problems += [f"MisplacedMetadata: {name}" for name in misplaced]
    entries = root.findall("a:entry", NS)
    has_author = root.find("a:author", NS) is not None
    for index, entry in enumerate(entries):
        problems += _entry_problems(entry, has_author, index)
    for kind, message in (("id", "DuplicateEntries"), ("updated", "DuplicateUpdated")):
        values = Counter(e.findtext(f"a:{kind}", namespaces=NS) for e in entries)
        problems += [f"{message}: {value}" for value, n in values.items() if n > 1]
    return problems + _history_problems(root, self_url)


def _guid_problems(guid: Any, where: str) -> list[str]:
    if guid is None:
        return [f"MissingGuid: {where}"]
    permalink = guid.get("isPermaLink", "true") == "true"
    value = guid.text or ""
    problems = _uri_problems(value, f"{where} guid")
    if permalink and (not value.startswith(("http://", "https://"))
                      or value.lower().startswith(("tag:", "urn:uuid:"))):
        problems.append(f"InvalidPermalink: {where}: {value}")
    if not permalink and len(value) < 9 and value.isdigit():
        problems.append(f"NotSufficientlyUnique: {where}: {value}")
    return problems


def _rss_item_problems(item: Any, index: int) -> list[str]:
    where = f"item {index}"
    problems = _guid_problems(item.find("guid"), where)
    if item.find("title") is None and item.find("description") is None:
        problems.append(f"ItemMustContainTitleOrDescription: {where}")
    if item.find("author") is not None:
        problems.append(f"author needs an e-mail address (use dc:creator): {where}")
    if item.find("link") is not None:
        problems += _uri_problems(item.findtext("link"), f"{where} link")
    if item.find("pubDate") is not None:
        problems += _rfc822_problems(item.findtext("pubDate"), where)
    if item.find("description") is not None:
        problems += _html_problems(item.findtext("description"), f"{where} description")
    for element in [item.find("title"), *item.findall("category"),
                    *item.findall("dc:creator", NS)]:
        if element is not None:
            problems += _plain_text_problems(element.text or "", where, "ContainsHTML")
    return problems


def _channel_problems(channel: Any, self_url: str) -> list[str]:
    problems = [f"MissingElement: channel: {name}" for name in ("title", "link", "description")
                if channel.find(name) is None]
    selves = [link for link in channel.findall("atom:link", NS) if link.get("rel") == "self"]
    if not selves:
        problems.append("MissingAtomSelfLink")
    elif selves[0].get("href") != self_url:
        problems.append("SelfDoesntMatchLocation")
    for link in channel.findall("atom:link", NS):
        problems += _link_problems(link, "channel")
    if channel.findtext("docs") != RSS_PROFILE_DOCS:
        problems.append("docs: not the RSS Advisory Board specification")
    for language in channel.iter("language", "{http://purl.org/dc/elements/1.1/}language"):
        problems += _language_problems(language.text or "", "channel")
    for name in ("lastBuildDate", "pubDate"):
        if channel.find(name) is not None:
            problems += _rfc822_problems(channel.findtext(name), f"channel {name}")
    return problems


def rss_problems(data: bytes, self_url: str) -> list[str]:
    """What the W3C validator would report for an RSS 2.0 document (RSS profile included)."""
    root = xml(data)
    channel = root.find("channel")
    problems = [] if root.get("version") == "2.0" else ["InvalidRSSVersion"]
    problems += _channel_problems(channel, self_url)
    children = [_local(child.tag) for child in channel]
    if "item" in children and any(name != "item" for name in
                                  children[children.index("item"):]):
        problems.append("MisplacedItem")
    guids = Counter(item.findtext("guid") for item in channel.findall("item"))
    problems += [f"DuplicateValue: guid {g}" for g, n in guids.items() if n > 1]
    for index, item in enumerate(channel.findall("item")):
        problems += _rss_item_problems(item, index)
    # RSS profile: '&' and '<' in text as hexadecimal references (CharacterData). The
    # validator applies it to attribute values too (an atom:link's title that holds '<b',
    # '&#' or '&amp;' is warned of unless its line has a '&#x' reference), so no named
    # escape may appear anywhere.
    return problems + [f"CharacterData: {entity.decode()}"
                       for entity in (b"&amp;", b"&lt;", b"&gt;") if entity in data]


def _outline_problems(outline: Any) -> list[str]:
    problems = [] if outline.get("text") is not None else ["MissingAttribute: outline text"]
    kind = outline.get("type")
    if kind == "rss":
        problems += [message for name, message in (("xmlUrl", "MissingXmlURL"),
                                                   ("title", "MissingTitleAttr"))
                     if outline.get(name) is None]
    extra = {"description", "htmlUrl", "language", "title", "version", "xmlUrl"}
    if kind is None and extra & set(outline.attrib):
        problems.append("MissingOutlineType")
    if outline.get("version") not in (None, "RSS", "RSS1", "RSS2", "scriptingNews"):
        problems.append("InvalidOutlineVersion")
    if outline.get("language"):
        problems += _language_problems(outline.get("language"), "outline")
    for name in ("xmlUrl", "htmlUrl"):
        if outline.get(name):
            problems += _uri_problems(outline.get(name), f"outline {name}")
    for name in OPML_HTML:  # opml.py: safeHtml, as the head's title and ownerName
        if outline.get(name) is not None:
            problems += _html_problems(outline.get(name), f"outline {name}")
    return problems


def opml_problems(data: bytes) -> list[str]:
    root = xml(data)
    problems = [] if root.get("version") in {"1.0", "1.1", "2.0"} else ["InvalidOPMLVersion"]
    head = root.find("head")
    problems += [f"UndefinedElement: head {child.tag}" for child in
                 (head if head is not None else ()) if child.tag not in OPML_HEAD]
    problems += [problem for child in (head if head is not None else ())
                 if child.tag in OPML_HTML for problem in
                 _html_problems(child.text or "", f"head {child.tag}")]
    for outline in root.iter("outline"):
        problems += _outline_problems(outline)
    return problems


def bad_characters(data: bytes) -> list[str]:
    """eater/textConstruct: C1 control characters or U+FFFD anywhere (BadCharacters)."""
    text = data.decode("utf-8")
    return ["BadCharacters"] if re.search("[\x80-\x9f\ufffd]", text) else []


def document_problems(outputs: dict[str, bytes], path: str) -> list[str]:
    data = outputs[path]
    problems = bad_characters(data)
    if not data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>"):
        problems.append("XML declaration must name UTF-8")
    if path.endswith("rss.xml"):
        return problems + rss_problems(data, public(path))
    if path.endswith(".opml"):
        return problems + opml_problems(data)
    return problems + atom_problems(data, public(path))


XML_OUTPUTS = ("atom.xml", "rss.xml", ".opml")


@pytest.mark.parametrize(("entries", "hub"), [(1, ""), (3, ""), (50, ""),
                                             (3, "https://hub.example.org/")])
def test_every_document_passes_the_validator_rules(entries: int, hub: str) -> None:
    settings = make_settings(entries=entries, websub_hub=hub)
    outputs = build(make_site(settings, sample_statements(), NOW))
    paths = [p for p in outputs if p.endswith(XML_OUTPUTS) or "/archive/" in p]
    assert len(paths) > 10
    for path in paths:
        assert document_problems(outputs, path) == [], path


def test_a_site_title_with_markup_like_text_passes_the_rss_rules() -> None:
    # The RSS channel's atom:link elements to the other languages' feeds are titled with
    # the site's title: the validator's CharacterData rule reads their attributes too.
    settings = make_settings(entries=50)
    site_settings = replace(settings.site, title="Workers <Unite> & Co", author="A & <B>")
    outputs = build(make_site(replace(settings, site=site_settings), sample_statements(), NOW))
    paths = [path for path in outputs if path.endswith("rss.xml")]
    titles = []
    for path in paths:
        assert document_problems(outputs, path) == [], path
        channel = xml(outputs[path]).find("channel")
        titles += [link.get("title") for link in channel.iterfind("a:link", NS)
                   if link.get("rel") == "related"]
    assert len(titles) > 3
    assert all(title.startswith("Workers <Unite> & Co — ") for title in titles), titles


@pytest.mark.parametrize("feeds_url", [
    "https://www.istendency.net/feeds", "https://WWW.IStendency.net:443/feeds/"])
def test_self_links_match_where_the_feeds_are_served(feeds_url: str) -> None:
    settings = make_settings(feeds_url=feeds_url, entries=1)
    outputs = build(make_site(settings, sample_statements(), NOW))
    for path in ("atom.xml", "pl/atom.xml", "rss.xml", "en/archive/2015.xml"):
        assert document_problems(outputs, path) == [], path


# --- each checker catches the problem it names ------------------------------------------

FEED_HEAD = (f'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="{ATOM}">'
             '<id>https://x.org/f</id><title>T</title><updated>2015-01-01T00:00:00Z</updated>'
             '<author><name>A</name></author><link rel="self" href="https://x.org/f"/>')


def entry(updated: str = "2015-01-01T00:00:00Z", ident: str = "https://x.org/1",
          extra: str = "") -> str:
    return (f'<entry><id>{ident}</id><title>t</title><updated>{updated}</updated>'
            f'<link href="https://x.org/1"/><summary>s</summary>{extra}</entry>')


@pytest.mark.parametrize(("body", "message"), [
    (entry() + entry(ident="https://x.org/2"), "DuplicateUpdated"),
    (entry() + entry(updated="2015-01-02T00:00:00Z"), "DuplicateEntries"),
    (entry(ident="HTTPS://x.org/1"), "NonCanonicalURI"),
    (entry(ident="https://x.org/ü"), "InvalidFullLink"),
    (entry(ident="urn:ist-2015"), "InvalidURN"),
    (entry(ident="urn:uuid:2015"), "InvalidUUID"),
    (entry(ident="tag:x.org:1"), "InvalidTAG"),
    (entry(extra='<link rel="alternate" hreflang="en" href="https://x.org/en"/>'
                 '<link rel="alternate" hreflang="en" href="https://x.org/en2"/>'),
     "DuplicateAtomLink"),
    (entry(extra='<link rel="prev-archive" href="https://x.org/a"/>'), "FeedHistoryRelInEntry"),
    (entry(updated="2015-01-01 00:00:00"), "InvalidRFC3339Date"),
    (entry(updated="1989-12-31T00:00:00Z"), "ImplausibleDate"),
    (entry(extra="<rights>Why &lt;/b&gt; matters</rights>").replace(
        "<title>t</title>", "<title>Why &lt;/b&gt; matters</title>"), "ContainsUndeclaredHTML"),
    (entry().replace("<summary>s</summary>",
                     '<summary type="html">&lt;p&gt;a&lt;/b&gt;</summary>'),
     "NotHtml"),
    (entry() + "<generator>g</generator>", "MisplacedMetadata"),
    (entry(extra="<author><name>Jan &lt;jan@example.org&gt;</name></author>"), "ContainsEmail"),
    (entry().replace("<entry>", '<entry xml:lang="ckb">'), "InvalidLanguage"),
    (entry(extra='<link rel="related" hreflang="yue" href="https://x.org/y"/>'),
     "InvalidLanguage"),
])
def test_atom_checker_catches(body: str, message: str) -> None:
    data = (FEED_HEAD + body + "</feed>").encode()
    assert any(p.startswith(message) for p in atom_problems(data, "https://x.org/f"))


def test_atom_checker_catches_feed_level_problems() -> None:
    data = FEED_HEAD.replace('<link rel="self" href="https://x.org/f"/>', "") + "</feed>"
    assert atom_problems(data.encode(), "https://x.org/f") == ["MissingSelf"]
    assert atom_problems((FEED_HEAD + "</feed>").encode(), "https://x.org/g") == [
        "SelfDoesntMatchLocation: https://x.org/f"]
    archive = FEED_HEAD + '<fh:archive xmlns:fh="http://purl.org/syndication/history/1.0"/></feed>'
    assert atom_problems(archive.encode(), "https://x.org/f") == [
        "ArchiveIncomplete", "MissingCurrentInArchive"]
    complete = (FEED_HEAD + '<link rel="prev-archive" href="https://x.org/a"/>'
                '<link rel="current" href="https://x.org/g"/>'
                '<fh:complete xmlns:fh="http://purl.org/syndication/history/1.0"/></feed>')
    assert atom_problems(complete.encode(), "https://x.org/f") == [
        "FeedRelInCompleteFeed: prev-archive", "CurrentNotSelfInCompleteFeed"]
    late = (FEED_HEAD + entry() + '<fh:archive xmlns:fh="http://purl.org/syndication/'
            'history/1.0"/><link rel="current" href="https://x.org/c"/></feed>')
    assert "history marker after the entries (the validator would miss it)" in atom_problems(
        late.encode(), "https://x.org/f")


RSS_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T</title>'
            '<link>https://x.org/</link><description>D</description>'
            '<atom:link rel="self" href="https://x.org/r" type="application/rss+xml"/>'
            f"<docs>{RSS_PROFILE_DOCS}</docs>")


@pytest.mark.parametrize(("item", "message"), [
    ("<item><title>t</title></item>", "MissingGuid"),
    ('<item><title>t</title><guid>tag:x.org,2015:1</guid></item>', "InvalidPermalink"),
    ('<item><title>t</title><guid isPermaLink="false">42</guid></item>', "NotSufficientlyUnique"),
    ('<item><title>a &amp; b</title><guid isPermaLink="false">tag:x.org,2015:1</guid></item>',
     "CharacterData"),
    ('<item><title>t</title><guid isPermaLink="false">tag:x.org,2015:1</guid>'
     "<pubDate>Fri, 04 Sep 2015 00:00:00 +0545</pubDate></item>", "ProblematicalRFC822Date"),
    ('<item><title>t</title><guid isPermaLink="false">tag:x.org,2015:1</guid>'
     "<pubDate>Sat, 04 Sep 2015 00:00:00 +0100</pubDate></item>", "IncorrectDOW"),
    ('<item><title>t</title><guid isPermaLink="false">tag:x.org,2015:1</guid>'
     "<author>DSIP</author></item>", "author needs"),
    ('<item><title>t</title><guid isPermaLink="false">tag:x.org,2015:1</guid></item>'
     "<language>en</language>", "MisplacedItem"),
    ('<item><title>t</title><guid isPermaLink="false">tag:x.org,2015:1</guid>'
     '<dc:language xmlns:dc="http://purl.org/dc/elements/1.1/">ckb</dc:language></item>',
     "InvalidLanguage"),
])
def test_rss_checker_catches(item: str, message: str) -> None:
    data = (RSS_HEAD + item + "</channel></rss>").encode()
    assert any(p.startswith(message) for p in rss_problems(data, "https://x.org/r"))


def test_opml_checker_catches_an_unknown_head_element() -> None:
    data = (b'<opml version="2.0"><head><title>t</title><docs>http://opml.org/spec2.opml'
            b'</docs></head><body/></opml>')
    assert opml_problems(data) == ["UndefinedElement: head docs"]


def test_opml_checker_reads_titles_as_html() -> None:
    # What the validator reports on such an OPML (NotHtml, "Invalid HTML": "<Site>" opens
    # no well-formed tag, nor does "< 6"), where the feeds draw no warning: OPML text is HTML.
    data = (b'<opml version="2.0"><head><title>Test &amp; &lt;Site&gt;: feeds</title>'
            b'<ownerName>A &amp; B</ownerName></head><body><outline type="rss" '
            b'text="Test &amp; &lt;Site&gt;" title="5 &lt; 6" xmlUrl="https://x.org/a"/>'
            b'</body></opml>')
    assert [problem.split(":")[:2] for problem in opml_problems(data)] == [
        ["NotHtml", " head title"], ["NotHtml", " outline title"], ["NotHtml", " outline text"]]


def test_rss_checker_catches_a_missing_self_link() -> None:
    data = RSS_HEAD.replace('<atom:link rel="self" href="https://x.org/r" '
                            'type="application/rss+xml"/>', "") + "</channel></rss>"
    assert rss_problems(data.encode(), "https://x.org/r") == ["MissingAtomSelfLink"]


@pytest.mark.parametrize("entries", range(1, 8))
def test_no_archive_stands_alone(entries: int) -> None:
    """No ArchiveIncomplete: every archive links a neighbour, whatever the feed size (a
    lone archive, e.g. Turkish at 3 entries, links the subscription feed as its next)."""
    outputs = build(make_site(make_settings(entries=entries), sample_statements(), NOW))
    archives = [p for p in outputs if "/archive/" in p]
    assert archives
    for path in archives:
        root = xml(outputs[path])
        rels = {link.get("rel") for link in root.findall("a:link", NS)}
        assert rels & {"prev-archive", "next-archive"}, path
        assert document_problems(outputs, path) == [], path


@pytest.mark.parametrize("site", ["test-site", "test-site-one-entry", "sample-site"])
def test_golden_documents_pass_the_validator_rules(site: str) -> None:
    folder = Path(__file__).parent / "golden" / "feeds" / site
    if not folder.is_dir():
        pytest.skip(f"no golden files for {site}")
    outputs = {p.relative_to(folder).as_posix(): p.read_bytes()
               for p in folder.rglob("*") if p.is_file()}
    paths = [p for p in outputs if p.endswith(XML_OUTPUTS) or "/archive/" in p]
    assert paths
    for path in paths:
        assert document_problems(outputs, path) == [], path
