"""The .eml digests: RFC 5322 / MIME structure and headers, read back with the email package."""

from __future__ import annotations

import binascii
import email
import email.policy
import quopri
import re
from datetime import UTC, date, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from conftest import render_site
from hypothesis import given
from hypothesis import strategies as st
from test_digest_factory import BASE, refugee_statements, settings, site, statement

from sfb_feeds import digest
from sfb_feeds.digest import eml
from sfb_feeds.site import Site


def outputs(s: Site) -> dict[str, bytes]:
    return {o.path: o.data for o in render_site(s, digest.formats(s.settings, s.languages))}


def read(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(scope="module")
def sample() -> dict[str, bytes]:
    return outputs(site(refugee_statements()))


def test_multipart_alternative_text_then_html(sample: dict[str, bytes]) -> None:
    message = read(sample["digests/pl/2015-W36.eml"])
    assert message.get_content_type() == "multipart/alternative"
    assert message["MIME-Version"] == "1.0"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    for part in (text, html):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part["MIME-Version"] is None
        assert not part.defects
    # The parts are exactly the .txt and .html outputs (with MIME's CRLF line ends).
    assert text.get_content() == sample["digests/pl/2015-W36.txt"].decode().replace("\n", "\r\n")
    assert html.get_content() == sample["digests/pl/2015-W36.html"].decode().replace("\n", "\r\n")
    assert not message.defects


def test_headers(sample: dict[str, bytes]) -> None:
    message = read(sample["digests/pl/2015-W36.eml"])
    assert getaddresses([str(message["From"])]) == [
        ("Socialism From Below", "digest@istendency.net")]
    assert message["To"] == "ist-pl@lists.istendency.net"
    assert message["Subject"] == (
        "Socialism From Below: stanowiska z tygodnia 31 sierpnia\u2009\u2013\u20096 września 2015")
    assert message["Content-Language"] == "pl"
    assert message["List-Id"] == "Socialism From Below <pl.digests.www.istendency.net>"
    assert message["List-Archive"] == f"<{BASE}feeds/digests/pl/index.html>"
    assert message["List-Unsubscribe"] == f"<{BASE}unsubscribe?list=pl>"
    # No RFC 8058 one-click: a per-list URL identifies no recipient.
    assert message["List-Unsubscribe-Post"] is None
    # Date: the end of the week in the site's timezone, never the clock.
    assert message["Date"] == "Mon, 07 Sep 2015 00:00:00 +0100"
    assert parsedate_to_datetime(message["Date"]) == datetime(
        2015, 9, 7, tzinfo=ZoneInfo("Europe/London"))
    assert re.fullmatch(r"<digest\.2015-W36\.pl\.[0-9a-f]{20}@www\.istendency\.net>",
                        message["Message-ID"])


def test_raw_message_is_seven_bit_with_crlf_and_encoded_words(sample: dict[str, bytes]) -> None:
    data = sample["digests/tr/2015-W36.eml"]
    data.decode("ascii")  # every byte is ASCII: safe through any SMTP server
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and all(b"\n" not in line for line in lines)
    assert max(len(line) for line in lines) <= 78
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject = re.search(r"^Subject: (.*(?:\r\n[ \t].*)*)", head, re.M)
    assert subject is not None and "=?utf-8?" in subject[1]  # RFC 2047
    assert read(data)["Subject"].startswith("Socialism From Below: 31 Ağustos")


def test_content_language_is_on_the_message_not_only_on_a_part(
    sample: dict[str, bytes],
) -> None:
    data = sample["digests/da/2015-W36.eml"]
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nContent-Language: da\r\n" in head + b"\r\n"


def test_no_list_address_no_to(sample: dict[str, bytes]) -> None:
    assert read(sample["digests/tr/2015-W36.eml"])["To"] is None
    assert read(sample["digests/en/2015-W36.eml"])["To"] == "ist-en@lists.istendency.net"


@pytest.mark.parametrize(
    ("options", "unsubscribe"),
    [
        ({"unsubscribe": "mailto:leave@istendency.net?subject={lang}"},
         "<mailto:leave@istendency.net?subject=pl>"),
        ({"unsubscribe": "https://www.istendency.net/leave?list={lang}"},
         "<https://www.istendency.net/leave?list=pl>"),
        ({"unsubscribe": ""}, None),
    ],
)
def test_unsubscribe_headers(options: dict[str, Any], unsubscribe: str | None) -> None:
    message = read(outputs(site(refugee_statements(), **options))["digests/pl/2015-W36.eml"])
    assert message["List-Unsubscribe"] == unsubscribe
    # Never List-Unsubscribe-Post: RFC 8058 one-click needs a URL naming the recipient,
    # and a message to a list names none (the list software adds its own headers).
    assert message["List-Unsubscribe-Post"] is None


def test_url_headers_are_one_line_never_encoded_words() -> None:
    """A list URL longer than a line is written as it is, on one line: RFC 2047 encoded
    words (the email package's way to fold a long word) are not allowed in a URL, and a
    mail client would find no link in them."""
    long = "https://www.istendency.net/unsubscribe-from-the-weekly-digests?list={lang}&x=" + (
        "y" * 60)
    data = outputs(site(refugee_statements(), unsubscribe=long))["digests/pl/2015-W36.eml"]
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert f"\r\nList-Unsubscribe: <{long.replace('{lang}', 'pl')}>\r\n" in head + "\r\n"
    assert "=?" not in head.split("\r\nList-Id:", 1)[1]
    assert read(data)["List-Unsubscribe"] == f"<{long.replace('{lang}', 'pl')}>"


def test_defaults_without_sender_and_with_a_list_id() -> None:
    data = outputs(site(refugee_statements(), sender="", list_id="lists.example.org"))
    message = read(data["digests/da/2015-W36.eml"])
    assert message["From"] is None  # never an invented address; `sendmail -t` adds one
    assert message["List-Id"] == "Socialism From Below <da.lists.example.org>"


def test_message_id_is_stable_and_distinct() -> None:
    first = outputs(site(refugee_statements()))
    changed = [statement("Another", lang="pl", day=date(2015, 9, 5)), *refugee_statements(),
               statement("Later", lang="pl", day=date(2015, 9, 15))]
    second = outputs(site(changed, now=datetime(2015, 10, 1, tzinfo=UTC)))
    ids = {path: read(data)["Message-ID"] for path, data in second.items()
           if path.endswith(".eml")}
    assert ids["digests/pl/2015-W36.eml"] == read(first["digests/pl/2015-W36.eml"])["Message-ID"]
    assert len(set(ids.values())) == len(ids)  # per language and week
    other_site = outputs(site(refugee_statements()))  # same site: same id
    assert read(other_site["digests/pl/2015-W36.eml"])["Message-ID"] == ids[
        "digests/pl/2015-W36.eml"]


def test_same_digest_same_bytes_and_boundary_from_content() -> None:
    first = outputs(site(refugee_statements()))["digests/en/2015-W36.eml"]
    again = outputs(site(refugee_statements()))["digests/en/2015-W36.eml"]
    assert first == again
    message = read(first)
    boundary = message.get_boundary()
    assert boundary is not None and boundary.startswith("=_sfb_")
    body = first.split(b"\r\n\r\n", 1)[1]
    assert body.count(b"--" + boundary.encode()) == 3  # two parts and the end
    other = read(outputs(site([statement("Different")]))["digests/en/2015-W36.eml"])
    assert other.get_boundary() != boundary


def test_right_to_left_message() -> None:
    data = outputs(site([statement("بيان", lang="ar")]))["digests/ar/2015-W36.eml"]
    message = read(data)
    assert message["Content-Language"] == "ar"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and 'dir="rtl"' in html.get_content()


def test_headers_but_subject_are_byte_for_byte_what_the_email_package_writes(
    sample: dict[str, bytes],
) -> None:
    for lang in ("pl", "tr", "en"):
        data = sample[f"digests/{lang}/2015-W36.eml"]
        head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        parsed = read(data)
        reference = EmailMessage(policy=email.policy.SMTP)
        for name, value in parsed.items():
            reference[name] = str(value)
        written = [email.policy.SMTP.fold_binary(name, value)
                   for name, value in reference.raw_items() if name != "Subject"]
        ours = re.sub(rb"Subject: .*\r\n(?:[ \t].*\r\n)*", b"", head)
        assert ours == b"".join(written)


SUBJECT_WORDS = [
    "Socialism", "From", "Below:", "statements", "=?utf-8?q?x?=", "\u2009\u2013\u2009", "Ağustos",
    "\u03b5\u03c1\u03b3\u03ac\u03c4\u03b5\u03c2", "\u0627\u0644\u0639\u0645\u0627\u0644",
    "\ub178\ub3d9\uc790", "\U0001f6a9", "x" * 90, "a\tb", "(quoted)", "\"q\"",
]


@hypothesis.settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(SUBJECT_WORDS), max_size=14),
       spaces=st.sampled_from([" ", "  "]))
def test_subject_reads_back_exactly_in_lines_of_78(words: list[str], spaces: str) -> None:
    subject = spaces.join(words)
    header = eml.subject_header(subject)
    lines = header.decode("ascii").split("\r\n")
    assert lines[-1] == "" and lines[0].startswith("Subject:")
    assert all(line.startswith((" ", "\t")) for line in lines[1:-1])  # folded, not broken
    # Only a printable-ASCII word longer than a line may make one longer (as in the email
    # package); encoded words never do.
    assert all(len(line) <= 78 or "=?" not in line for line in lines)
    message = email.message_from_bytes(header + b"\r\nbody", policy=email.policy.default)
    assert message["Subject"] == subject and not message["Subject"].defects
    # The older decoder (email.header), which many mail tools still use, agrees.
    unfolded = header.decode("ascii")[len("Subject: "):].removesuffix("\r\n")
    assert str(make_header(decode_header(unfolded.replace("\r\n", "")))) == subject


def test_every_digest_message_parses_without_defects() -> None:
    statements = [*refugee_statements(), statement("بيان", lang="ar"),
                  statement("주간 성명", lang="ko", authors=("노동자",))]
    for path, data in outputs(site(statements)).items():
        if path.endswith(".eml"):
            message = read(data)
            assert not message.defects, path
            assert all(not part.defects for part in message.walk()), path


def test_a_site_title_with_special_characters_is_quoted() -> None:
    title = 'Socialism, From "Below": Lodz'
    data = outputs(site(refugee_statements(), title=title, sender=""))["digests/pl/2015-W36.eml"]
    message = read(data)
    assert message["From"] is None  # no digests.from: no From, never one made of the title
    assert message["List-Id"] == (
        '"Socialism, From \\"Below\\": Lodz" <pl.digests.www.istendency.net>')
    assert message["Subject"].startswith(title)
    assert not message.defects


def test_parts_mostly_outside_latin_are_base64_and_read_back_exactly() -> None:
    greek = "Εργάτες όλου του κόσμου, ενωθείτε ενάντια στον πόλεμο. " * 12
    result = outputs(site([statement("Δήλωση", lang="el", excerpt=(greek, greek))]))
    message = read(result["digests/el/2015-W36.eml"])
    text, html = message.iter_parts()
    assert text["Content-Transfer-Encoding"] == "base64"
    assert text.get_content() == result["digests/el/2015-W36.txt"].decode().replace("\n", "\r\n")
    assert html.get_content() == result["digests/el/2015-W36.html"].decode().replace("\n", "\r\n")
    raw = result["digests/el/2015-W36.eml"]
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    # quoted-printable would have been longer: every Greek byte takes three characters
    body = result["digests/el/2015-W36.txt"]
    assert len(text.get_payload()) < len(quopri.encodestring(body))
    assert not message.defects and not text.defects


PHRASE_WORD = r"=\?utf-8\?b\?[A-Za-z0-9+/]*=*\?=|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"


def _list_id_field(data: bytes) -> str:
    """The List-Id field's body as written (unfolded), before any decoding."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    found = re.search(r"^List-Id:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.M)
    assert found is not None
    return found[1].replace("\r\n", "")


BELOW = "Aşağıdan"  # noqa: RUF001 (Turkish dotless i)
ARABIC = "الاشتراكية"


@pytest.mark.parametrize("title", [
    f"Sosyalizm {BELOW}",
    f"الاشتراكيون الثوريون: {ARABIC} من أسفل",
    f"Sosyalizm ({BELOW})",
    'Socialism, From "Below": Łódź',
    f"Devrimci Sosyalist İşçi Partisi — Sosyalizm {BELOW} Dergisi 🚩 {BELOW} {BELOW} 🚩",
])
def test_list_id_with_a_title_outside_ascii_reads_back_exactly(title: str) -> None:
    """RFC 2047 encoded words for the phrase, never inside a quoted string (section 5: a
    decoder leaves them as they are there); the email package's folder put them in quotes
    (so readers got the quotes and backslashes) and dropped spaces between encoded words."""
    data = outputs(site(refugee_statements(), title=title))["digests/tr/2015-W36.eml"]
    data.decode("ascii")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    message = read(data)
    assert message["List-Id"] == f"{title} <tr.digests.www.istendency.net>"
    assert not message["List-Id"].defects and not message.defects
    field = _list_id_field(data)
    phrase, _, list_id = field.rpartition(" ")
    assert list_id == "<tr.digests.www.istendency.net>"  # the identifier itself stays ASCII
    # An RFC 5322 phrase: atoms and encoded words (no quoted string, no comment).
    assert all(re.fullmatch(PHRASE_WORD, word) for word in phrase.split()), phrase
    # The older decoder (email.header), which many mail tools still use, agrees.
    assert str(make_header(decode_header(phrase))) == title


LIST_WORDS = ["Sosyalizm", BELOW, ARABIC, "(IST)", "a,b", '"q"', "x" * 40, "Łódź:",
              "=?utf-8?q?x?=", "\U0001f6a9", "Below", "İ.Ş."]


@hypothesis.settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(LIST_WORDS), min_size=1, max_size=9))
def test_list_id_phrase_reads_back_exactly_in_lines_of_78(words: list[str]) -> None:
    title = " ".join(words)
    hypothesis.assume(not title.isascii() or "=?" in title)  # (ASCII: the email package's)
    heads = eml.ListHeads.of(settings(title=title), "tr")
    lines = heads.lists.decode("ascii").split("\r\n")
    assert all(len(line) <= 78 for line in lines)
    message = read(heads.lists + b"\r\nbody")
    assert message["List-Id"] == f"{title} <tr.digests.www.istendency.net>"
    phrase = _list_id_field(heads.lists).rpartition(" ")[0]
    assert all(re.fullmatch(PHRASE_WORD, word) for word in phrase.split()), phrase
    assert str(make_header(decode_header(phrase))) == title


def _body_lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")


@pytest.mark.parametrize("length", range(26, 36))
def test_quoted_printable_lines_stay_within_76_before_a_space_at_a_line_end(
        length: int) -> None:
    """binascii.b2a_qp encodes a space or tab that ends a line (=20, =09) after it has
    measured the line: an excerpt line ending in a space made HTML lines of 77 and 78
    characters (RFC 2045, 6.7 (5): at most 76)."""
    excerpt = (f"{'a' * length} \nthe next line\t\nand \u0105 last ",)
    result = outputs(site([statement("Trailing", excerpt=excerpt)]))
    data = result["digests/en/2015-W36.eml"]
    assert max(len(line) for line in _body_lines(data)) <= 76
    text, html = read(data).iter_parts()
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content() == result["digests/en/2015-W36.txt"].decode().replace("\n", "\r\n")
    assert html.get_content() == result["digests/en/2015-W36.html"].decode().replace(
        "\n", "\r\n")


QP_PIECES = ["a", "\u0105", " ", "\t", "\n", "=", "From ", "F", ".", "x" * 70, "\U0001f6a9"]


@hypothesis.settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(QP_PIECES), max_size=60))
def test_quoted_printable_reads_back_exactly_in_lines_of_76(pieces: list[str]) -> None:
    body = "".join(pieces).encode("utf-8")
    encoded = eml.quoted_printable(body)
    encoded.decode("ascii")
    assert all(len(line) <= 76 for line in encoded.split(b"\n"))
    assert not [line for line in encoded.split(b"\n") if line.startswith(b"From ")]
    assert binascii.a2b_qp(encoded) == body
    part = (b'Content-Type: text/plain; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            + encoded.replace(b"\n", b"\r\n"))
    assert read(part).get_content() == body.decode("utf-8").replace("\n", "\r\n")


def test_no_body_line_starts_with_from_and_the_text_reads_back_exactly() -> None:
    """An mbox-writing MTA rewrites a line starting "From " as ">From ", changing the text:
    quoted-printable writes its F as =46, which decodes the same."""
    excerpt = ("From the river to the sea, the workers' answer to the war.",
               f"{'x' * 70}\nFrom below: a line of its own in the text and the HTML...")
    result = outputs(site([statement("From Below", excerpt=excerpt)]))
    data = result["digests/en/2015-W36.eml"]
    text_file = result["digests/en/2015-W36.txt"].decode()
    assert "\nFrom the river" in text_file and "\nFrom below" in text_file  # (the case)
    assert not [line for line in data.split(b"\r\n") if line.startswith(b"From ")]
    text, html = read(data).iter_parts()
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content() == text_file.replace("\n", "\r\n")
    assert html.get_content() == result["digests/en/2015-W36.html"].decode().replace(
        "\n", "\r\n")
    assert max(len(line) for line in _body_lines(data)) <= 76
