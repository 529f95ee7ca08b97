"""Readers for single fields of a record: each returns a value or raises FieldError."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from email.utils import getaddresses, parseaddr
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import yaml

from . import urls
from .language import canonical_tag
from .weeks import FIRST_YEAR, LAST_YEAR, YEARS
from .yamlio import BOOL_TAG, STR_TAG, foreign_tag, is_null

# Characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF),
# plus C1 controls, which are never meant in a statement and which validators flag.
_NOT_XML = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
# Unicode's other noncharacters (U+FDD0-U+FDEF, the last two of each plane): XML allows
# them, but an HTML parser reports each as an error, and so does the W3C feed validator.
NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17))
_REFUSED = re.compile(f"[{_NOT_XML}{NONCHARACTERS}]")  # (one pass over a value)
# The same, for text without a character beyond U+FFFF (most): a class of BMP ranges only
# is a table look-up for sre. A 2,600-character excerpt: 13 µs for both against 85 µs.
_REFUSED_BMP = re.compile(f"[{_NOT_XML}\ufdd0-\ufdef]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_NONCHARACTER = re.compile(f"[{NONCHARACTERS}]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A calendar date, then a time and perhaps an offset, in the forms the README gives (those
# --now takes): ISO 8601's others that Python would read (an hour alone, basic 1000 or +0100,
# an hour-only offset, a comma or empty fraction, 7+ fraction digits) are refused.
_CLOCK = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
_DATE_TIME = re.compile(_CLOCK + r"(?:[Zz]|[+-]\d{2}:\d{2})?")
_OFFSET_SECONDS = re.compile(_CLOCK + r"[+-]\d{2}:\d{2}:\d{2}(?:\.\d+)?")  # (Python reads it)
_DATE_TIME_FORMS = "YYYY-MM-DDTHH:MM[:SS[.ffffff]] with Z or ±HH:MM"
# A line break as YAML reads one (\r\n, \r, U+2028, U+2029 too: a double-quoted excerpt may
# escape any of them); two, with only spaces or tabs between them, end a paragraph.
_LINE_BREAK = "(?:\r\n|\r(?!\n)|[\n\u2028\u2029])"
_PARAGRAPH_BREAK = re.compile(f"{_LINE_BREAK}[ \t]*{_LINE_BREAK}\\s*")
_KINDS: dict[type[yaml.Node], str] = {yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}


class FieldError(ValueError):
    """A field's value is wrong; the message says how to fix it."""


class EmptyField(FieldError):
    """A field (or a list's item) that is empty or null."""


def refusal(exc: FieldError, *, needed: bool) -> str:
    """What is said of a refused value: an empty one that is ``needed`` is asked for, never
    said to be removable (removing it only turns the error into 'is missing')."""
    return "is empty; give it a value" if needed and isinstance(exc, EmptyField) else str(exc)


def tag_problem(node: yaml.Node) -> str | None:
    """What is wrong with the node's explicit YAML tag (``!!binary``, ``!x``: values are read
    as the text written, so it would be ignored), or None (none, or ``!!str``)."""
    if (tag := foreign_tag(node)) is None:
        return None
    remedy = "write the value as plain text" if isinstance(node, yaml.ScalarNode) else "remove it"
    return f"has the YAML tag {tag}, which is not allowed here; {remedy}"


def text(node: yaml.Node) -> str:
    """A scalar as the text written in the file (``no`` stays ``no``, ``1984`` stays ``1984``)."""
    if not isinstance(node, yaml.ScalarNode):
        raise FieldError(f"must be text, not a {_KINDS.get(type(node), 'value')}")
    if node.tag != STR_TAG and (problem := tag_problem(node)):  # (most values: one compare)
        raise FieldError(problem)
    value = str(node.value)
    if bad := (_REFUSED if _ASTRAL.search(value) else _REFUSED_BMP).search(value):
        kind = "noncharacter" if _NONCHARACTER.match(bad.group()) else "control character"
        raise FieldError(f"contains the {kind} U+{ord(bad.group()):04X}, which feeds cannot "
                         "carry; remove it")
    if (is_null(node) and not node.style) or not value.strip():  # (libyaml: style "")
        raise EmptyField("is empty; give it a value or remove the field")
    return value.strip()


def shows_nothing(value: str) -> bool:
    """Whether ``value`` shows nothing: only whitespace and format characters (Unicode
    category Cf: zero-width spaces, the BOM, bidi controls, the soft hyphen...). It stops
    at the first visible character, so ordinary text costs a look-up or two."""
    return all(char.isspace() or unicodedata.category(char) == "Cf" for char in value)


def invisible_codes(value: str) -> str:
    """The format characters in ``value``, as ``U+200B, U+FEFF`` (the first five)."""
    codes = sorted({f"U+{ord(c):04X}" for c in value if unicodedata.category(c) == "Cf"})
    return ", ".join(codes[:5]) + (", ..." if len(codes) > 5 else "")


def line(node: yaml.Node) -> str:
    """Text shown on one line (a title, a name): runs of whitespace become one space."""
    return " ".join(text(node).split())  # str.split() splits where \s matches


def header_value(node: yaml.Node) -> str:
    """Text that goes into an email header: no line breaks, which would forge headers
    (U+2028/U+2029 too: a mail client or header folder may treat them as breaks)."""
    value = text(node)
    if any(brk in value for brk in ("\n", "\r", "\u2028", "\u2029")):
        raise FieldError("must be on one line (it goes into an email header)")
    return value


def mailbox(node: yaml.Node) -> str:
    """An address, optionally with a display name: ``Name <list@example.org>``; the address
    in ASCII, as ``send``'s SMTP client (no SMTPUTF8) gives it to the server."""
    value = header_value(node)
    if len(getaddresses([value])) > 1:  # the header would name them all, send mail one
        raise FieldError(f"{value!r} is several addresses; give one address (e.g. Name "
                         "<list@example.org>)")
    _, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain:
        raise FieldError(f"{value!r} is not an email address (e.g. Name <list@example.org>)")
    if not address.isascii():
        raise FieldError(f"{value!r} has characters outside ASCII in its address (write the "
                         "domain in its xn-- form; a display name may have any)")
    if (longest := max(map(len, value.split()))) > _LONGEST_HEADER_WORD:
        raise FieldError(f"has a word of {longest} characters, which no mail header line "
                         "can hold (RFC 5322: at most 998 characters a line); shorten it")
    return value


# The longest word a header written by the email package may hold: a line is at most 998
# characters (RFC 5322), and the package does not fold inside a word.
_LONGEST_HEADER_WORD = 998 - len("From: ")


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
# A URN (RFC 2141), a UUID URN and a tag URI (RFC 4151) as the W3C feed validator checks
# them in an Atom id (any other is an error there), in the form feeds publish.
_URN = re.compile(r"urn:[a-z0-9][a-z0-9-]{1,31}:(?:[a-z0-9()+,.:=@;$_!*'-]|%[0-9a-f]{2})+", re.I)
_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.I)
_TAG_PART = r"[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*"
_TAG = re.compile(rf"tag:(?:[a-z0-9._-]+@)?[a-z0-9.-]+,[0-9]{{4}}(?:-[0-9]{{2}}){{0,2}}:"
                  rf"{_TAG_PART}(?:#{_TAG_PART})?")
# Feed readers (feedparser...) take the id for an entry's link when it has none: no
# javascript:, data:, vbscript: or file: link through it.
_ID_SCHEMES = frozenset({"http", "https", "tag", "urn"})
_SYNTAX = {
    "urn:uuid:": (_UUID, "is not a UUID URN: write urn:uuid: and 32 hexadecimal digits as "
                  "8-4-4-4-12 (e.g. urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66)"),
    "urn:": (_URN, "is not a URN: write urn:<namespace>:<name> (e.g. urn:ist:2015-refugees), "
             "the namespace 2 to 32 letters, digits and hyphens, the name letters, digits, "
             "%XX escapes and ( ) + , - . : = @ ; $ _ ! * '"),
    "tag:": (_TAG, "is not a tag URI: write tag:<domain>,<YYYY, YYYY-MM or YYYY-MM-DD>:<name>,"
             " the domain in lowercase (e.g. tag:example.org,2015:refugee-statement)"),
}


def identifier(node: yaml.Node) -> str:
    """A stable entry id: a URI (``https://…``, ``tag:…``, ``urn:…``), as feeds require."""
    value = text(node)
    advice = ("use the statement's URL or a tag URI such as tag:example.org,2015:refugee-statement"
              " (feeds publish it in RFC 3986 normal form)")
    if not _SCHEME.match(value):
        raise FieldError(f"{value!r} is not a URI; {advice}")
    published = _canonical(value, advice)
    if published.partition(":")[0].lower() not in _ID_SCHEMES:
        raise FieldError(f"{value!r} is not an http(s), tag: or urn: URI (a reader takes the "
                         f"id for the entry's link when it has no url); {advice}")
    if published.lower().startswith("http"):
        _without_credentials(value)
    for start, (syntax, problem) in _SYNTAX.items():
        if published.lower().startswith(start):
            if not syntax.fullmatch(published):
                raise FieldError(f"{value!r} {problem}")
            break
    return value


def _canonical(value: str, advice: str) -> str:
    """``value`` in the normal form feeds publish (:func:`urls.canonical_uri`), else
    FieldError (``urlsplit`` refuses some, e.g. an unclosed IPv6 host ``http://[::1``; a
    port that is no number from 0 to 65535, ``:abc`` or ``:99999``, it only splits off)."""
    try:
        published = urls.canonical_uri(value)
    except ValueError as exc:
        raise FieldError(f"{value!r} is not a URI: {exc}; {advice}") from None
    try:  # (checked only when read: ``https://e.org:abc/`` splits without a complaint)
        urlsplit(value).port  # noqa: B018
    except ValueError:
        port = urlsplit(value).netloc.rpartition(":")[2]
        raise FieldError(f"{value!r} is not a URI: its port {port!r} is not a number from 0 "
                         f"to 65535; {advice}") from None
    return published


def text_list(node: yaml.Node) -> tuple[str, ...]:
    if problem := tag_problem(node):  # (first: a !!set is a mapping, and the tag its cause)
        raise FieldError(problem)
    if not isinstance(node, yaml.SequenceNode):
        raise FieldError("must be a list (e.g. [First, Second]), "
                         f"not a {_KINDS.get(type(node), 'value')}")
    items = []
    for number, item in enumerate(node.value, start=1):
        try:
            items.append(line(item))  # (``null``, ``~`` or nothing: EmptyField, not a name)
        except EmptyField:
            raise FieldError(f"item {number} is empty; give it a value or remove the item"
                             ) from None
        except FieldError as exc:
            raise FieldError(f"item {number} {exc}") from None
    return tuple(items)


def tag_list(node: yaml.Node) -> tuple[str, ...]:
    """A record's tags, each once (readers showed "a, a"), in the order first written."""
    return tuple(dict.fromkeys(text_list(node)))


# An address in angle brackets, as the W3C validator finds one in an Atom author's name
# (ContainsEmail, a warning): feeds publish names only.
_ADDRESS_IN_NAME = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


def _no_address(value: str) -> str:
    if found := _ADDRESS_IN_NAME.search(value):
        raise FieldError(f"{value!r} holds an email address ({found.group()}); give the name "
                         "alone (feeds publish names only)")
    return value


def author(node: yaml.Node) -> str:
    """The feeds' author: a name on one line, without an email address."""
    return _no_address(header_value(node))


def names(node: yaml.Node) -> tuple[str, ...]:
    """A list of authors' names, none with an email address."""
    found = text_list(node)
    for number, name in enumerate(found, start=1):
        try:
            _no_address(name)
        except FieldError as exc:
            raise FieldError(f"item {number} {exc}") from None
    return tuple(dict.fromkeys(found))  # each once, as tags are (checked as written: numbers)


def boolean(node: yaml.Node) -> bool:
    if problem := tag_problem(node):  # (``!!bool maybe``)
        raise FieldError(problem)
    if not isinstance(node, yaml.ScalarNode) or node.tag != BOOL_TAG:
        raise FieldError("must be true or false")
    return str(node.value).lower() in {"true", "yes", "on", "y"}


def moment(node: yaml.Node, tz: ZoneInfo) -> datetime:
    """A date (that day's midnight in ``tz``) or an ISO 8601 date-time with an offset,
    in the years :data:`weeks.YEARS` (a week around it must still be a date)."""
    value = text(node)
    found = _calendar_moment(value, tz)
    if not FIRST_YEAR <= found.year <= LAST_YEAR:
        raise FieldError(f"{value} is outside the years {YEARS} that feeds and digests cover")
    if found.tzinfo is None:
        raise FieldError(f"{value} has no UTC offset (add one, e.g. {value}+00:00)")
    return found


def _calendar_moment(value: str, tz: ZoneInfo) -> datetime:
    """``value`` as a ``YYYY-MM-DD`` date, or as a date-time in :data:`_DATE_TIME`'s forms,
    naive if it has no offset (else FieldError: week dates, basic ``20150910``, ``+0100``
    and the like are refused, not advised to take an offset)."""
    if _DATE.match(value):
        try:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=tz)
        except ValueError:
            raise FieldError(f"{value} is not a date (use YYYY-MM-DD)") from None
    if _OFFSET_SECONDS.fullmatch(value):  # RFC 3339 has only ±HH:MM
        raise FieldError(f"{value}: its UTC offset has seconds; write it as ±HH:MM (e.g. +01:00)")
    try:
        if not _DATE_TIME.fullmatch(value):
            raise ValueError(value)
        return datetime.fromisoformat(value.upper())  # RFC 3339 5.6: "t", "z" may be lowercase
    except ValueError:
        raise FieldError(f"{value} is not a date (use YYYY-MM-DD, or "
                         f"{_DATE_TIME_FORMS})") from None


def language(node: yaml.Node) -> str:
    value = text(node)
    if (tag := canonical_tag(value)) is None:
        raise FieldError(f"{value!r} is not a BCP 47 language tag (e.g. en, pl, pt-BR)")
    return tag


def public_url(node: yaml.Node) -> str:
    """An absolute http(s) URL that outputs publish (``site.url``, ``feeds.websub_hub``, a
    statement's ``url``): without credentials."""
    return _without_credentials(absolute_url(text(node)))


def _without_credentials(value: str) -> str:
    """``value``, unless a user name or password comes before its host (``user:pw@host``):
    every feed, page and mail header carrying the URL would publish it."""
    parts = urlsplit(value)
    if "@" not in parts.netloc:
        return value
    host = parts.netloc.rpartition("@")[2]
    shown, bare = (urlunsplit(parts._replace(netloc=netloc)) for netloc in (f"…@{host}", host))
    raise FieldError(f"{shown!r} holds a user name or password before its host (not shown "
                     "here), which every feed, page and mail header would publish; remove it "
                     f"(e.g. {bare}) and give the server its credentials some other way")


def folder_url(node: yaml.Node) -> str:
    """An absolute http(s) URL that outputs' paths are added to (``site.feeds_url``)."""
    value = public_url(node)
    if "?" in value or "#" in value:
        raise FieldError(f"{value!r} has a query or a fragment ('?' or '#'): the feeds' "
                         "addresses add their paths to it (e.g. pl/atom.xml), which would fall "
                         "into the query or the fragment; leave it out")
    return value


def absolute_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL without whitespace, else FieldError."""
    _canonical(value, "give an absolute http(s) URL (e.g. https://example.org/x)")
    parts = urlsplit(value)
    if spaces := [char for char in value if char.isspace()]:
        raise _spaced(value, parts.netloc, spaces[0])
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise FieldError(f"{value!r} is not an absolute http(s) URL (e.g. https://example.org/x)")
    return value


def _spaced(value: str, host: str, space: str) -> FieldError:
    """The error for a URL holding ``space`` (the first whitespace character in it)."""
    what = "a space" if space == " " else f"a space character (U+{ord(space):04X})"
    if any(map(str.isspace, host)):
        return FieldError(f"{value!r} contains {what} in its host name; remove it")
    written = "".join(quote(char) if char.isspace() else char for char in value)
    return FieldError(f"{value!r} contains {what}, which a URL cannot hold; write it as "
                      f"{quote(space)} ({written})")


def paragraphs(value: str) -> tuple[tuple[str, ...], bool]:
    """An excerpt's paragraphs (blank-line separated, whichever YAML line break each is: a
    double-quoted excerpt may write ``\\r\\n``; single breaks become spaces; those
    that show nothing left out), and whether it ends with a cut marker (``...``/``…``)."""
    parts = tuple(" ".join(part.split()) for part in _PARAGRAPH_BREAK.split(value.strip()))
    kept = tuple(part for part in parts if not shows_nothing(part))
    return kept, bool(kept) and kept[-1].endswith(("...", "…"))


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_FILLED = tuple(f"{{{name}}}" for name in urls.QUERY)  # list_unsubscribe_url, personalise.py


def unsubscribe_url(node: yaml.Node) -> str:
    """``digests.unsubscribe``: an https:// or mailto: URL whose placeholders are filled."""
    value = header_value(node)
    if not value.startswith(("https://", "mailto:")):
        raise FieldError(f"{value!r} must be an https:// or mailto: URL")
    if value.startswith("https://"):
        _without_credentials(value)
    if wide := [local for local, _ in urls.mailto_addresses(value) if not local.isascii()]:
        raise FieldError(f"{value!r} has an address with characters outside ASCII before "
                         f"its @ ({wide[0]}), which only mail systems with SMTPUTF8 (RFC "
                         "6531) can deliver to; use an ASCII local part (an international "
                         "domain is fine)")
    if unknown := [name for name in _PLACEHOLDER.findall(value) if name not in _FILLED]:
        raise FieldError(f"{value!r} has the placeholder {unknown[0]}, which nothing fills "
                         "in; use {lang}, {address} or {token}")
    return value
