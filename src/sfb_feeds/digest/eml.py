"""The digest as a complete RFC 5322 message, ready to hand to a mailing list.

``multipart/alternative``, the plain text first and the HTML second (mail readers show the
last part they can), both UTF-8 in quoted-printable, or base64 where that is shorter (text
mostly outside Latin): 7-bit ASCII with CRLF line ends, for any SMTP hop. No header comes
from the clock (Date is the end of the week; the Message-ID hashes site, language and
week; the MIME boundary, the content): the same digest always gives the same bytes.

The email package (SMTP policy) writes the settings' headers, once per language, but for
the URL headers and a List-Id whose title is not printable ASCII (see their functions).
The Subject, the fixed-format ASCII headers and the bodies (``binascii``, ``base64``) are
written here: the email package's folder took a third of a digest's time (a Subject:
93-204 µs against 7-11 µs here; 2,491 digests at 10,000 statements), and its generator
encodes bodies line by line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.policy import SMTP
from email.utils import format_datetime, quote
from urllib.parse import quote as percent_encoded

from ..model import Settings
from ..urls import ascii_host_uri, digest_archive_url, list_unsubscribe_url
from ..weeks import week_bounds
from .view import DigestView

CRLF = b"\r\n"


def header_block(headers: Iterable[tuple[str, str]]) -> bytes:
    """``headers`` as the email package writes them: folded, encoded, each ending in CRLF
    (parsed as ``EmailMessage`` stores a header, folded as ``BytesGenerator`` writes it)."""
    return b"".join(SMTP.fold_binary(*SMTP.header_store_parse(name, value))
                    for name, value in headers)


_URL_SAFE = "".join(map(chr, range(33, 127)))  # printable ASCII; the rest percent-encoded
_MOST_LINE = 998  # RFC 5322: a line MUST be at most 998 characters


def url_header(name: str, url: str) -> bytes:
    """``name: <url>`` (RFC 2369) as it is, on one line: the email package would fold a long
    URL into RFC 2047 encoded words, which RFC 2047 forbids there and in which a mail
    provider finds no link. An international host is written in IDNA form (``xn--``), what
    else is not printable ASCII percent-encoded (UTF-8); past 998 characters the line is
    folded inside the brackets (RFC 2369: whitespace there is ignored)."""
    line = f"{name}: <{percent_encoded(ascii_host_uri(url), safe=_URL_SAFE)}>"
    step = _MOST_LINE - 1  # (each continuation line starts with a space)
    return ("\r\n ".join(line[at:at + step] for at in range(0, len(line), step))
            + "\r\n").encode("ascii")


def message_id(settings: Settings, lang: str, period: str) -> str:
    """A Message-ID that stays the same for a site, language and week across builds."""
    text = "\n".join((settings.site.url, lang, period))
    stable = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    return f"<digest.{period}.{lang.lower()}.{stable}@{settings.site.domain}>"


LINE_LENGTH = 78  # RFC 5322: lines SHOULD be at most 78 characters
_PLAIN_WORD = re.compile(r"[!-~]+")  # printable ASCII: stays as it is in a header
_WORD_FRAME = len("=?utf-8?b??=")
_MOST_ENCODED = 75  # RFC 2047: an encoded word is at most 75 characters
# RFC 5322: a line is at most 998 characters. A plain word longer than fits on one after
# "List-Id: " (a site title of 1,500 letters without a space) goes in encoded words.
_LONGEST_PLAIN = _MOST_LINE - len("List-Id: ")


def subject_header(subject: str) -> bytes:
    """``Subject: <subject>`` folded at 78 columns, ending in CRLF.

    Words of printable ASCII stay as they are; each run of other words becomes UTF-8 base64
    encoded words (RFC 2047), the spaces inside the run encoded with it, split where the
    line is full (never inside a character). Decoders drop the white space between two
    encoded words and keep it elsewhere, so the subject reads back exactly.
    """
    return _folded("Subject", _atoms(subject, _PLAIN_WORD))


_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")  # RFC 5322 atext: a phrase's word
_PRINTABLE = re.compile(r"[ -~]*")
_SPECIALS = frozenset('()<>@,;:\\".[]')  # RFC 5322: a phrase holding one is quoted


def list_id_header(title: str, list_id: str) -> bytes:
    """``List-Id: <title> <list_id>`` (RFC 2919), ending in CRLF.

    A printable ASCII title is folded by the email package. Any other goes as
    :func:`subject_header` writes a subject, with only atoms plain: the email package put
    encoded words inside the quotes, where RFC 2047 (section 5) forbids them and readers
    showed the quotes, and dropped the space between two encoded words it folded apart.
    """
    if _PRINTABLE.fullmatch(title) and "=?" not in title:
        phrase = f'"{quote(title)}"' if any(char in _SPECIALS for char in title) else title
        return header_block([("List-Id", f"{phrase} <{list_id}>")])
    return _folded("List-Id", [*_atoms(title, _ATOM), (f"<{list_id}>", True)])


def _folded(name: str, atoms: list[tuple[str, bool]]) -> bytes:
    """``name: `` and the ``atoms`` (plain, or to encode) folded at 78 columns."""
    first = line = f"{name}:"
    lines: list[str] = []
    for atom, plain in atoms:
        # (an encoded word always fits after "Subject:" or "List-Id:": see _room_bytes)
        for word in [atom] if plain else _encoded_words(atom, LINE_LENGTH - len(line) - 1):
            if len(line) + 1 + len(word) > LINE_LENGTH and line != first:
                lines.append(line)
                line = ""
            line += " " + word
    lines.append(line)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _atoms(text: str, plain_word: re.Pattern[str]) -> list[tuple[str, bool]]:
    """The text as plain words and runs of words to encode, in order."""
    if not text:
        return [("", True)]
    if "  " in text or text[0] == " " or text[-1] == " ":
        return [(text, False)]  # spaces that only an encoded word keeps as they are
    atoms: list[tuple[str, bool]] = []
    for word in text.split(" "):
        plain = _plain(word, plain_word)
        if not plain and atoms and not atoms[-1][1]:
            atoms[-1] = (f"{atoms[-1][0]} {word}", False)
        else:
            atoms.append((word, plain))
    return atoms


def _plain(word: str, plain_word: re.Pattern[str]) -> bool:
    """Whether ``word`` may stay as it is in a header."""
    return (plain_word.fullmatch(word) is not None and "=?" not in word
            and len(word) <= _LONGEST_PLAIN)


def _encoded_words(text: str, room: int) -> list[str]:
    """``text`` as encoded words: the first fits in ``room`` if it can, each in a line."""
    words: list[str] = []
    chunk, size, limit = "", 0, _room_bytes(room)
    for char in text:
        width = len(char.encode("utf-8"))
        if chunk and size + width > limit:
            words.append(_encoded(chunk))
            chunk, size, limit = "", 0, _room_bytes(LINE_LENGTH - 1)
        chunk += char
        size += width
    words.append(_encoded(chunk))
    return words


def _room_bytes(room: int) -> int:
    """How many bytes an encoded word of at most ``room`` characters holds; where that is
    less than a character's (4 bytes), a whole line's: the word goes on the next line."""
    characters = min(room, _MOST_ENCODED) - _WORD_FRAME
    return (characters if characters >= 8 else _MOST_ENCODED - _WORD_FRAME) // 4 * 3


def _encoded(text: str) -> str:
    data = binascii.b2a_base64(text.encode("utf-8"), newline=False).decode("ascii")
    return f"=?utf-8?b?{data}?="


_ASCII = bytes(range(128))
_MOST_QUOTED = 76  # RFC 2045, 6.7 (5): an encoded line is at most 76 characters


def quoted_printable(body: bytes) -> bytes:
    """``body`` (UTF-8 text, LF line ends) in quoted-printable, LF line ends: binascii's,
    repaired where it needs it. No line starts ``From ``: its F is written ``=46`` (it
    decodes the same), since an MTA writing mbox files rewrites such a line ``>From ``,
    changing the text. No line is longer than 76 characters (RFC 2045): binascii encodes a
    space or tab that ends a line (``=20``, ``=09``) after measuring the line, and so wrote
    lines of 77 and 78; those are cut again by soft line breaks."""
    encoded = binascii.b2a_qp(body, istext=True)
    lines = encoded.split(b"\n")
    if (max(map(len, lines)) <= _MOST_QUOTED and b"\nFrom " not in encoded
            and not encoded.startswith(b"From ")):
        return encoded  # (most parts: the repair's loop would double the encoding's time)
    return b"\n".join(piece for line in lines for piece in _repaired(line))


def _repaired(line: bytes) -> list[bytes]:
    """One encoded line as lines of at most 76 characters, cut by soft line breaks (``=``)
    never inside an ``=XX``, none starting with ``From ``."""
    pieces = []
    line = _from_escaped(line)
    while len(line) > _MOST_QUOTED:
        cut = _MOST_QUOTED - 1  # (and the "=" of the soft line break)
        escape = line.rfind(b"=", cut - 2, cut)  # an "=XX" the cut would split
        cut = escape if escape != -1 else cut
        pieces.append(line[:cut] + b"=")
        line = _from_escaped(line[cut:])
    return [*pieces, line]


def _from_escaped(line: bytes) -> bytes:
    return b"=46" + line[1:] if line.startswith(b"From ") else line


def _part(subtype: str, body: bytes) -> bytes:
    """A ``text/<subtype>`` part of ``body`` (UTF-8 text, LF line ends), lines ending in CRLF.
    Quoted-printable triples every byte outside ASCII, base64 adds a third to all: base64
    when more than a sixth of the bytes are not ASCII."""
    if not body.endswith(b"\n"):
        body += b"\n"
    if len(body.translate(None, _ASCII)) * 6 > len(body):  # (lines of 76: RFC 2045)
        encoding, encoded = "base64", base64.encodebytes(body.replace(b"\n", CRLF))
    else:
        encoding, encoded = "quoted-printable", quoted_printable(body)
    head = (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n")
    return head.encode("ascii") + encoded.replace(b"\n", CRLF)


@dataclass(frozen=True, slots=True)
class ListHeads:
    """The headers of a language's messages that come from the settings alone (the
    addresses, then the list headers), written by the email package once per language."""

    addresses: bytes
    lists: bytes

    @classmethod
    def of(cls, settings: Settings, lang: str) -> ListHeads:
        digests = settings.digests
        # No invented From: without digests.from (allowed only while no list is configured),
        # whoever sends the file supplies it (`sendmail -t` adds the user's own address).
        addresses = [("From", digests.sender), ("To", digests.lists.get(lang, ""))]
        domain = digests.list_id or f"digests.{settings.site.domain}"
        links = list_id_header(settings.site.title, f"{lang.lower()}.{domain}")
        links += url_header("List-Archive", digest_archive_url(settings, lang))
        if digests.unsubscribe:
            link = list_unsubscribe_url(digests.unsubscribe, lang)
            links += url_header("List-Unsubscribe", link)
            # No List-Unsubscribe-Post: RFC 8058 one-click needs a URL that identifies the
            # recipient, which a per-list address cannot; the list software adds its own.
        return cls(header_block((name, value) for name, value in addresses if value),
                   header_block([("Content-Language", lang)]) + links)


def date_header(moment: datetime) -> str:
    """``moment`` as RFC 5322 writes a date, its zone ``±HHMM``: a moment whose offset has
    seconds (a zone's local mean time, Paris's +00:09:21 until 1891) is written in UTC, the
    same moment (``+000921`` is no date: Python's parser reads it as +09:21)."""
    offset = moment.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        moment = moment.astimezone(UTC)
    return format_datetime(moment)


def render_eml(settings: Settings, heads: ListHeads, view: DigestView, subject: str, *,
               text: bytes, html: bytes) -> bytes:
    """The digest's message: headers, then the ``text`` and ``html`` alternatives (the UTF-8
    bytes of the .txt and .html outputs). ``heads``: the language's :class:`ListHeads`."""
    # "=_" never occurs in quoted-printable text, so the boundary cannot clash with it.
    boundary = "=_sfb_" + hashlib.sha256(text + b"\0" + html).hexdigest()[:32]
    # The other headers of this digest are short ASCII in fixed formats.
    own = subject_header(subject) + "".join((
        f"Date: {date_header(week_bounds(view.week, settings)[1])}\r\n",
        f"Message-ID: {message_id(settings, view.lang, view.week.label)}\r\n",
        "MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
    )).encode("ascii")
    delimiter = f"--{boundary}".encode("ascii")
    body = b"".join(delimiter + CRLF + part + CRLF
                    for part in (_part("plain", text), _part("html", html)))
    return heads.addresses + own + heads.lists + CRLF + body + delimiter + b"--" + CRLF
