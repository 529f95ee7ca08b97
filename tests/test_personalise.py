"""Subscribers' copies of a digest (sfb_feeds.personalise), read back with the email package."""

from __future__ import annotations

import email
import email.policy
import html
from dataclasses import replace
from email.message import EmailMessage

import pytest
from conftest import render_site
from test_digest_factory import NOW, settings, site, statement

from sfb_feeds import digest
from sfb_feeds.personalise import Personaliser
from sfb_feeds.site import make_site
from sfb_feeds.unsubscribe import unsubscribe_url

TEMPLATE = "https://www.istendency.net/u?list={lang}&a={address}&t={token}"
LIST_LINK = "https://www.istendency.net/u?list=en&a={address}&t={token}"
SECRET = b"secret"
ADDRESS = "ann@example.org"


def read(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body_lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    """A digest whose text and HTML hold lines starting "From " and a line ending in a
    space (binascii made its HTML line 77 characters long)."""
    excerpt = ("From the river to the sea, the workers' answer to the war.",
               f"{'x' * 70}\nFrom below: a line of its own in the text and the HTML",
               f"{'a' * 30} \nthe next line...")
    s = site([statement("From Below", excerpt=excerpt)], unsubscribe=TEMPLATE)
    return {o.path: o.data for o in render_site(s, digest.formats(s.settings, s.languages))}


def test_a_copy_has_no_line_starting_from_and_reads_back_exactly(
        built: dict[str, bytes]) -> None:
    """The parts a copy encodes again are written as the build writes them: no line starts
    "From " (an mbox-writing MTA would rewrite it ">From "), none is longer than 76
    characters (RFC 2045; the email package's encoder wrote 77), the text exact."""
    data = built["digests/en/2015-W36.eml"]
    copy = Personaliser.parse(data, TEMPLATE, SECRET, "en").build(ADDRESS)
    assert not [line for line in body_lines(copy) if line.startswith(b"From ")]
    assert max(len(line) for line in body_lines(copy)) <= 76
    link = unsubscribe_url(TEMPLATE, SECRET, "en", ADDRESS)
    built_text, built_page = (str(part.get_content()) for part in read(data).iter_parts())
    text, page = read(copy).iter_parts()
    assert LIST_LINK in built_text and "\r\nFrom the river" in built_text
    assert text.get_content() == built_text.replace(LIST_LINK, link)
    assert html.escape(LIST_LINK) in built_page and "\r\nFrom below" in built_page
    assert page.get_content() == built_page.replace(html.escape(LIST_LINK), html.escape(link))
    for part in (text, page):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8" and not part.defects
    assert not read(copy).defects


def _header_lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_a_copy_keeps_the_builds_header_lines_as_they_are() -> None:
    """Every header line of the build but To, Message-ID and List-Unsubscribe reaches the
    copy unchanged, however long: before, the email package folded a List-Archive longer
    than 78 characters (a long feeds_url) into RFC 2047 encoded words, which RFC 2047
    forbids in a URL and in which a mail reader finds no link
    ('List-Archive: =?utf-8?q?=3Chttps=3A//www=2Einternational...?=')."""
    feeds = "https://www.internationalsocialisttendency.example.org/resources/weekly-feeds/"
    options = settings(unsubscribe=TEMPLATE)
    options = replace(options, site=replace(options.site, feeds_url=feeds))
    built = make_site(options, [statement("A title")], NOW)
    data = {o.path: o.data for o in render_site(built, digest.formats(
        built.settings, built.languages))}["digests/en/2015-W36.eml"]
    copy = Personaliser.parse(data, TEMPLATE, SECRET, "en").build(ADDRESS)
    archive = f"List-Archive: <{feeds}digests/en/index.html>".encode()
    assert archive in _header_lines(data) and len(archive) > 78
    own = (b"To:", b"Message-ID:", b"List-Unsubscribe:", b"List-Unsubscribe-Post:")
    assert ([line for line in _header_lines(copy) if not line.startswith(own)]
            == [line for line in _header_lines(data) if not line.startswith(own)])
    assert read(copy)["List-Archive"] == f"<{feeds}digests/en/index.html>"
