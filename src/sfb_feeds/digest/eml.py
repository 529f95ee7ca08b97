"""The digest as a complete RFC 5322 message, ready to hand to a mailing list.

``multipart/alternative`` with the plain text first and the HTML second (mail readers
show the last part they can), both UTF-8 in quoted-printable, so the message is 7-bit
ASCII with CRLF line ends and passes any SMTP hop. Every header is derived from the
settings and the digest, never from the clock: Date is the end of the digest's week, the
Message-ID depends only on site, language and week, and the MIME boundary is a hash of the
content. The same digest always gives the same bytes.

The email package (``EmailMessage``, SMTP policy) writes the headers that carry text (it
folds them and encodes non-ASCII text as RFC 2047 encoded words); the ASCII headers of a
fixed format unique to each digest (Date, Message-ID, MIME-Version, Content-Type) are
written out directly. The two bodies are encoded with ``binascii.b2a_qp`` and put between
the boundaries here, because the email package's generator writes a body line by line in
Python and quoted-printable-encodes it the same way, which made it most of the cost of a
digest. Header blocks that are the same for every digest of a language are built once.
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Sequence
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache

from ..site import Site
from ..weeks import week_bounds
from .paths import archive_url
from .render import RenderedDigest
from .view import host_of, site_hash

ONE_CLICK = "List-Unsubscribe=One-Click"
CRLF = b"\r\n"
Headers = tuple[tuple[str, str], ...]


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, building each header class once.

    The stock registry creates a new class with type() for every header it parses; the
    classes are the same each time.
    """

    @lru_cache(maxsize=256)  # noqa: B019 - one registry lives as long as the process
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


POLICY = SMTP.clone(header_factory=_HeaderClasses())


@lru_cache(maxsize=1024)
def header_block(headers: Headers) -> bytes:
    """``headers`` as the email package writes them: folded, encoded, each ending in CRLF."""
    message = EmailMessage(policy=POLICY)
    for name, value in headers:
        message[name] = value
    # As the email package's BytesGenerator writes a message's headers.
    return b"".join(POLICY.fold_binary(name, value) for name, value in message.raw_items())


def default_sender(site: Site) -> str:
    """``From`` when ``digests.from`` is not set: the site title at its own domain."""
    host = host_of(site).removeprefix("www.")
    # Address quotes the name where it must ("Socialism, From Below" <...>).
    return str(Address(site.settings.site.title, "digests", host))


def message_id(site: Site, lang: str, period: str) -> str:
    """A Message-ID that stays the same for a site, language and week across builds."""
    host = host_of(site)
    return f"<digest.{period}.{lang.lower()}.{site_hash(site, lang, period)}@{host}>"


def list_id(site: Site, lang: str) -> str:
    """RFC 2919 List-Id: the site title as the phrase, ``<lang>.<list_id or digests.host>``."""
    domain = site.settings.digests.list_id or f"digests.{host_of(site)}"
    return f"{_phrase(site.settings.site.title)} <{lang.lower()}.{domain}>"


_SPECIALS = frozenset('()<>@,;:\\".[]')


def _phrase(text: str) -> str:
    """``text`` as an RFC 5322 phrase: quoted if it holds characters a phrase cannot."""
    if not any(char in _SPECIALS for char in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _addresses(site: Site, lang: str) -> Headers:
    sender = site.settings.digests.sender or default_sender(site)
    to = site.settings.digests.lists.get(lang)
    return (("From", sender),) + ((("To", to),) if to else ())


def _list_headers(site: Site, lang: str) -> Headers:
    headers = [("Content-Language", lang), ("List-Id", list_id(site, lang)),
               ("List-Archive", f"<{archive_url(site.settings, lang)}>")]
    unsubscribe = site.settings.digests.unsubscribe
    if unsubscribe:
        headers.append(("List-Unsubscribe", f"<{unsubscribe.replace('{lang}', lang)}>"))
        if unsubscribe.startswith("https://"):
            # RFC 8058 one-click unsubscription needs an HTTPS address to POST to.
            headers.append(("List-Unsubscribe-Post", ONE_CLICK))
    return tuple(headers)


def _boundary(digest: RenderedDigest) -> str:
    # "=_" never occurs in quoted-printable text, so the boundary cannot clash with it.
    content = hashlib.sha256(digest.text + b"\0" + digest.html).hexdigest()[:32]
    return f"=_sfb_{content}"


def _quoted_printable(body: bytes) -> bytes:
    """``body`` (UTF-8 text, LF line ends) in quoted-printable with CRLF line ends."""
    if not body.endswith(b"\n"):
        body += b"\n"
    return binascii.b2a_qp(body, istext=True).replace(b"\n", CRLF)


def _part(subtype: str, body: bytes) -> bytes:
    head = header_block((("Content-Type", f'text/{subtype}; charset="utf-8"'),
                         ("Content-Transfer-Encoding", "quoted-printable")))
    return head + CRLF + _quoted_printable(body)


def _multipart(boundary: str, parts: Sequence[bytes]) -> bytes:
    delimiter = f"--{boundary}".encode("ascii")
    body = b"".join(delimiter + CRLF + part + CRLF for part in parts)
    return body + delimiter + b"--" + CRLF


def render_eml(site: Site, digest: RenderedDigest) -> bytes:
    """The digest's message: headers, then the text and HTML alternatives."""
    view = digest.view
    lang, period = view.lang, view.week.label
    boundary = _boundary(digest)
    # Subject may need RFC 2047 and folding: the email package writes it. The other
    # headers of this digest are short ASCII in fixed formats, written out directly.
    own = header_block.__wrapped__((("Subject", digest.subject),)) + "".join((
        f"Date: {format_datetime(week_bounds(view.week, site.settings)[1])}\r\n",
        f"Message-ID: {message_id(site, lang, period)}\r\n",
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
    )).encode("ascii")
    head = header_block(_addresses(site, lang)) + own + header_block(_list_headers(site, lang))
    parts = (_part("plain", digest.text), _part("html", digest.html))
    return head + CRLF + _multipart(boundary, parts)
