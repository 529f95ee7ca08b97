"""Where every output lives and its public URL, in the canonical form feed validators expect.

Both ``feeds`` and ``digest`` link to each other's outputs; the paths and URL helpers
they share live here, below both, so neither package imports the other.

The W3C Feed Validation Service accepts only ASCII URIs in links, ids and guids and warns
(NonCanonicalURI) when an ``atom:id`` is not in the normal form of RFC 3986 section 6
(lowercase scheme and host, no default port, no dot segments, percent-encoding only
where needed, in uppercase hex). RFC 4287 section 4.2.6.1 asks publishers for the same
normalisation, so every URL and id we write goes through :func:`canonical_uri`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote, unquote_plus, unquote_to_bytes, urlsplit

from .model import Settings

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_SUB_DELIMS = "!$&'()*+,;="
_PCHAR = "-._~" + _SUB_DELIMS + ":@"
_RESERVED = ":/?#[]@" + _SUB_DELIMS
# Most URLs are already canonical: lowercase http(s) host, no port, plain path characters
# (measured: 1 µs a URL taking this path, against 42 µs normalised in full).
_PLAIN = re.compile(r"^https?://[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$")


@functools.cache  # 13 µs a URL less than re.compile's own cache
def _kept(safe: str) -> re.Pattern[str]:
    """The reserved characters of ``safe``, bare or escaped: these keep the form they were
    written in (a reserved character means something different escaped and bare)."""
    kept = [char for char in _RESERVED if char in safe]
    escapes = "|".join(f"%{ord(char):02X}" for char in kept)
    return re.compile(f"([{re.escape(''.join(kept))}]|(?i:{escapes}))")


def _requote(part: str, safe: str) -> str:
    """Decode and re-encode ``part`` (NFC, escapes in uppercase hex), but for the reserved
    characters of ``safe``, which are kept as written."""
    pieces = _kept(safe).split(part)
    for index in range(0, len(pieces), 2):  # odd indexes: the kept characters
        octets = unquote_to_bytes(pieces[index].encode("utf-8", "surrogatepass"))
        try:
            pieces[index] = quote(unicodedata.normalize("NFC", octets.decode("utf-8")), safe)
        except UnicodeDecodeError:
            pieces[index] = quote(octets, safe)
    return "".join(pieces)


def _remove_dot_segments(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(segments) > 1:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    if path.rpartition("/")[2] in (".", ".."):
        segments.append("")  # a path ending in a dot segment ends in "/"
    return "/".join(segments)


def ascii_host(host: str) -> str:
    """A host as URIs and mail headers carry it: lowercase, an international name in IDNA
    A-labels (``bücher.example`` -> ``xn--bcher-kva.example``), else percent-encoded."""
    if host.startswith("["):
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return quote(host.lower(), safe=_SUB_DELIMS)


def _authority(netloc: str, scheme: str) -> str:
    userinfo, _, hostport = netloc.rpartition("@")
    match = re.match(r"^(.*):(\d*)$", hostport)
    host, port = match.groups() if match else (hostport, "")
    result = ascii_host(host) + (f":{port}" if port not in ("", _DEFAULT_PORTS.get(scheme)) else "")
    return f"{_requote(userinfo, _PCHAR)}@{result}" if userinfo else result


_MAILTO = "mailto:"


def mailto_addresses(url: str) -> list[tuple[str, str]]:
    """The (local part, domain) of each address of a ``mailto:`` URL, percent-decoded
    (RFC 6068: ``mailto:a@x.org,b@y.org?subject=…``); none for another URL."""
    if not url.lower().startswith(_MAILTO):
        return []
    to = url[len(_MAILTO):].partition("?")[0]
    return [(unquote(local), unquote(domain)) for local, _, domain
            in (address.rpartition("@") for address in to.split(",") if address)]


def _ascii_mailto(url: str) -> str:
    # Each international domain in IDNA form, percent-encoded UTF-8 or not (RFC 6068
    # section 2): what any mail system resolves; the local parts (ASCII: config) as written.
    to, mark, rest = url[len(_MAILTO):].partition("?")
    addresses = (address.rpartition("@") for address in to.split(","))
    return url[:len(_MAILTO)] + ",".join(
        local + at + (domain if unquote(domain).isascii() else ascii_host(unquote(domain)))
        for local, at, domain in addresses) + mark + rest


def ascii_host_uri(url: str) -> str:
    """``url`` with an international host in IDNA form (RFC 3987 section 3.1:
    ``https://bücher.example/`` -> ``https://xn--bcher-kva.example/``; a ``mailto:``
    address's domain too), the rest as written: for a mail header, which percent-encodes
    whatever else is not ASCII."""
    if url.lower().startswith(_MAILTO):
        return _ascii_mailto(url)
    netloc = urlsplit(url).netloc
    start = url.find("//") + 2
    if netloc.isascii() or url[start:start + len(netloc)] != netloc:
        return url
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":") if re.search(r":\d*$", hostport) \
        else (hostport, "", "")
    return f"{url[:start]}{userinfo}{at}{ascii_host(host)}{colon}{port}" \
           f"{url[start + len(netloc):]}"


def canonical_uri(value: str) -> str:
    """The RFC 3986 normal form of an absolute URI or IRI (non-ASCII becomes UTF-8 escapes)."""
    if _PLAIN.match(value) and "/." not in value:
        return value
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    text = f"{scheme}:"
    if parts.netloc or scheme in _DEFAULT_PORTS:
        text += "//" + _authority(parts.netloc, scheme)
        path = _remove_dot_segments(parts.path) or "/"
        text += "/".join(_requote(segment, _PCHAR) for segment in path.split("/"))
    else:
        text += _requote(parts.path, _PCHAR + "/")
    for mark, part in (("?", parts.query), ("#", parts.fragment)):
        if part:
            text += mark + _requote(part, _PCHAR + "/?")
    return text


def feeds_base(settings: Settings) -> str:
    """``site.feeds_url`` as a canonical URI that ends with exactly one ``/``."""
    return canonical_uri(settings.site.feeds_url.rstrip("/") + "/")


def public_url(settings: Settings, path: str) -> str:
    """The public URL of an output: ``feeds_url`` joined with its relative ``path``."""
    return canonical_uri(feeds_base(settings) + path.lstrip("/"))


def site_url(settings: Settings) -> str:
    return canonical_uri(settings.site.url)


def entry_id(statement_id: str, date: datetime, settings: Settings) -> str:
    """The Atom id / RSS guid / JSON id of a statement: its id, as a canonical URI.

    An id without a URI scheme (``ist-2015-refugees``) becomes a tag URI (RFC 4151) on the
    site's domain, dated with the statement's day, so that it is still a valid Atom id.
    """
    if _SCHEME.match(statement_id):
        return canonical_uri(statement_id)
    domain = settings.site.domain  # (ASCII: IDNA)
    specific = quote(statement_id, safe=_PCHAR + "/?")
    return f"tag:{domain},{date.date().isoformat()}:{specific}"


@dataclass(frozen=True, slots=True)
class FeedKind:
    """One subscription format: its file name in each folder and its media type."""

    file: str
    media_type: str
    label: str


ATOM = FeedKind("atom.xml", "application/atom+xml", "Atom")
RSS = FeedKind("rss.xml", "application/rss+xml", "RSS")
JSON_FEED = FeedKind("feed.json", "application/feed+json", "JSON Feed")
KINDS = (ATOM, RSS, JSON_FEED)
# per language; its label is also a label of i18n.MESSAGES (the subscribe page translates it)
DIGEST_FEED = FeedKind("digests.xml", "application/atom+xml", "weekly digests")
FEED_ARCHIVE_PATH = "{lang}/archive/{period}.xml"  # RFC 5005 archives: a language and a year
DIGEST_PATH = "digests/{lang}/{period}"  # + ".html", ".txt" or ".eml"
DIGEST_ARCHIVE_PATH = "digests/{lang}/index.html"


def feed_path(kind: FeedKind, language: str | None) -> str:
    return f"{language}/{kind.file}" if language else kind.file


def archive_path(language: str, year: str) -> str:
    return FEED_ARCHIVE_PATH.format(lang=language, period=year)


def list_unsubscribe_url(template: str, lang: str) -> str:
    """``digests.unsubscribe`` as a list's messages and pages carry it: ``{lang}`` filled in,
    ``{address}`` and ``{token}`` left for ``send`` (which finds the link by this text)."""
    return template.replace("{lang}", lang)


# What the unsubscribe endpoint (sfb_feeds.unsubscribe) reads of a link, and what config
# checks digests.unsubscribe against: here, below both, so neither imports the other.
QUERY = ("lang", "address", "token")  # all that the endpoint reads of a link, from its query
MAX_FIELDS = 10  # the query fields it parses, at most


def unreadable_fields(template: str) -> tuple[int, list[str]]:
    """What of a link template the endpoint could not read: its number of query fields (it
    parses MAX_FIELDS at most), and which of QUERY are not there once, as a query field
    whose whole value is their placeholder, with the placeholder nowhere else."""
    pieces = [piece.partition("=") for piece in urlsplit(template).query.split("&")]
    wrong = [name for name in QUERY
             if template.count(f"{{{name}}}") != 1
             or [value for key, _, value in pieces if unquote_plus(key) == name]
             != [f"{{{name}}}"]]
    return len(pieces), wrong


def digest_archive_url(settings: Settings, lang: str) -> str:
    return public_url(settings, DIGEST_ARCHIVE_PATH.format(lang=lang))


def digest_url(settings: Settings, lang: str, period: str) -> str:
    return public_url(settings, DIGEST_PATH.format(lang=lang, period=period) + ".html")
