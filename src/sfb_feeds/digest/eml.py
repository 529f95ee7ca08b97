"""The digest as a complete RFC 5322 message, ready to hand to a mailing list.

``multipart/alternative`` with the plain text first and the HTML second (mail readers
show the last part they can), both UTF-8 in quoted-printable, so the message passes any
SMTP hop. Every header is derived from the settings and the digest, never from the clock:
Date is the end of the digest's week, the Message-ID depends only on site, language and
week, and the MIME boundary is a hash of the content. The same digest always gives the
same bytes.
"""

from __future__ import annotations

import hashlib
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache

from ..site import Site
from ..weeks import week_bounds
from .render import RenderedDigest
from .view import host_of, site_hash

ONE_CLICK = "List-Unsubscribe=One-Click"


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, building each header class once.

    The stock registry creates a new class with type() for every header it parses, which
    is most of the cost of composing a message; the classes are the same each time.
    """

    @lru_cache(maxsize=256)  # noqa: B019 - one registry lives as long as the process
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


POLICY = SMTP.clone(header_factory=_HeaderClasses())


def default_sender(site: Site) -> str:
    """``From`` when ``digests.from`` is not set: the site title at its own domain."""
    host = host_of(site).removeprefix("www.")
    return f"{site.settings.site.title} <digests@{host}>"


def message_id(site: Site, lang: str, period: str) -> str:
    """A Message-ID that stays the same for a site, language and week across builds."""
    host = host_of(site)
    return f"<digest.{period}.{lang.lower()}.{site_hash(site, lang, period)}@{host}>"


def list_id(site: Site, lang: str) -> str:
    """RFC 2919 List-Id: the site title as the phrase, ``<lang>.<list_id or digests.host>``."""
    domain = site.settings.digests.list_id or f"digests.{host_of(site)}"
    return f"{site.settings.site.title} <{lang.lower()}.{domain}>"


def _boundary(digest: RenderedDigest) -> str:
    # "=_" never occurs in quoted-printable text, so the boundary cannot clash with it.
    content = hashlib.sha256(digest.text + b"\0" + digest.html).hexdigest()[:32]
    return f"=_sfb_{content}"


def _add_list_headers(message: EmailMessage, site: Site, lang: str) -> None:
    message["List-Id"] = list_id(site, lang)
    archive = f"{site.settings.site.feeds_url}digests/{lang}/index.html"
    message["List-Archive"] = f"<{archive}>"
    unsubscribe = site.settings.digests.unsubscribe
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe.replace('{lang}', lang)}>"
        if unsubscribe.startswith("https://"):
            # RFC 8058 one-click unsubscription needs an HTTPS address to POST to.
            message["List-Unsubscribe-Post"] = ONE_CLICK


def build_message(site: Site, digest: RenderedDigest) -> EmailMessage:
    """The digest as an EmailMessage (use ``render_eml`` for its bytes)."""
    view = digest.view
    lang, period = view.lang, view.week.label
    message = EmailMessage(policy=POLICY)
    message["From"] = site.settings.digests.sender or default_sender(site)
    to = site.settings.digests.lists.get(lang)
    if to:
        message["To"] = to
    message["Subject"] = digest.subject
    message["Date"] = format_datetime(week_bounds(view.week, site.settings)[1])
    message["Message-ID"] = message_id(site, lang, period)
    _add_list_headers(message, site, lang)
    message.set_content(digest.text.decode("utf-8"), subtype="plain", charset="utf-8",
                        cte="quoted-printable")
    message.add_alternative(digest.html.decode("utf-8"), subtype="html", charset="utf-8",
                            cte="quoted-printable")
    for part in message.iter_parts():
        del part["MIME-Version"]  # belongs on the message only
    # After add_alternative, which moves Content-* headers down into the first part.
    message["Content-Language"] = lang
    message.set_boundary(_boundary(digest))
    return message


def render_eml(site: Site, digest: RenderedDigest) -> bytes:
    """The message's bytes, CRLF line ends, as sent over SMTP."""
    return build_message(site, digest).as_bytes(policy=POLICY)
