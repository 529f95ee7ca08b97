"""One message per subscriber, made from the digest's ``.eml`` with the email package.

The build's list-level link (``{lang}`` filled in, ``{address}`` and ``{token}`` not) is the
marker each copy replaces with its own signed link: docs/digests.md, "Subscribers' copies".
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP

from markupsafe import escape

from .delivery import Digest
from .digest.eml import quoted_printable, url_header
from .unsubscribe import ONE_CLICK, unsubscribe_url
from .urls import list_unsubscribe_url

# The build's header lines written back as they are: SMTP's default folds again any line
# over 78 characters, and wrote a long List-Archive <URL> (the build keeps such a line
# whole: eml.url_header) as RFC 2047 encoded words, where a mail reader finds no link.
_AS_BUILT = SMTP.clone(refold_source="none")
_UNFILLED = ("{token}", "%7btoken%7d", "{address}", "%7baddress%7d")


class PersonaliseError(ValueError):
    """The digest cannot carry per-recipient links (the marker is garbled somewhere)."""


def _replaced(text: str, url: str, subtype: str, new: str) -> str:
    """``text`` with ``new`` for each way ``url`` can appear in a decoded part: as written
    (both HTML-escaped in HTML), and with its braces percent-encoded (as an HTML serialiser
    may write an ``href``)."""
    if subtype == "html":
        url, new = str(escape(url)), str(escape(new))
    return text.replace(url, new).replace(url.replace("{", "%7B").replace("}", "%7D"), new)


def _text_parts(message: EmailMessage) -> Iterator[tuple[str, EmailMessage]]:
    for part in message.walk():
        if part.get_content_maintype() == "text" and isinstance(part, EmailMessage):
            yield part.get_content_subtype(), part


def _encode_again(part: EmailMessage, subtype: str, text: str) -> None:
    """``part`` holding ``text`` (LF line ends), in the transfer encoding and headers it
    had; quoted-printable as the build writes it (the email package's encoder leaves lines
    starting "From " and of 77 characters: see eml.quoted_printable)."""
    encoding = str(part.get("Content-Transfer-Encoding", "quoted-printable")).lower()
    if encoding == "quoted-printable":
        part.set_payload(quoted_printable(text.encode("utf-8")).decode("ascii"))
    else:
        part.set_content(text, subtype=subtype, charset="utf-8", cte=encoding)


@dataclass(frozen=True, slots=True)
class Personaliser:
    """Builds the subscribers' copies of one digest; parses the ``.eml`` once."""

    message: EmailMessage
    template: str
    secret: bytes
    lang: str
    marker: str  # the build's list-level link

    @classmethod
    def parse(cls, data: bytes, template: str, secret: bytes, lang: str) -> Personaliser:
        """PersonaliseError when a part holds a placeholder outside the marker link."""
        message = BytesParser(_class=EmailMessage, policy=SMTP).parsebytes(data)
        marker = list_unsubscribe_url(template, lang)
        for subtype, part in _text_parts(message):
            rest = _replaced(str(part.get_content()), marker, subtype, "")
            if any(unfilled in rest.lower() for unfilled in _UNFILLED):
                raise PersonaliseError(
                    f"its text/{subtype} part has an {{address}} or {{token}} placeholder "
                    f"outside the unsubscribe link {marker}, so it cannot be made personal")
        return cls(message, template, secret, lang, marker)

    def message_id(self, address: str) -> str:
        """``<left.HASH@right>`` from the digest's ``<left@right>`` and ``address``."""
        own = str(self.message["Message-ID"] or "").strip().strip("<>")
        left, _, right = own.rpartition("@")
        mark = hashlib.sha256(f"{own}\0{address}".encode()).hexdigest()[:20]
        return f"<{left}.{mark}@{right}>"

    def build(self, address: str) -> bytes:
        """The message for ``address``, as bytes ready for ``DATA``."""
        url = unsubscribe_url(self.template, self.secret, self.lang, address)
        copied = copy.deepcopy(self.message)
        for name, value in (("To", address), ("Message-ID", self.message_id(address))):
            if name in copied:
                copied.replace_header(name, value)
            else:
                copied[name] = value
        del copied["List-Unsubscribe"], copied["List-Unsubscribe-Post"]  # (added below)
        for subtype, part in _text_parts(copied):
            original = str(part.get_content())
            text = _replaced(original, self.marker, subtype, url)
            if text != original:
                _encode_again(part, subtype, text.replace("\r\n", "\n"))
        # The link as it is, on one line (eml.url_header), after the other headers.
        head, _, body = copied.as_bytes(policy=_AS_BUILT).partition(b"\r\n\r\n")
        return b"".join((head, b"\r\n", url_header("List-Unsubscribe", url),
                         f"List-Unsubscribe-Post: {'='.join(ONE_CLICK)}\r\n\r\n".encode(), body))

    def copy_for(self, digest: Digest) -> Digest:
        """``digest`` made personal for its recipient: its own message and Message-ID."""
        return replace(digest, data=self.build(digest.recipient),
                       message_id=self.message_id(digest.recipient))
