"""What the unsubscribe page shows from its query: an address only when the link is signed.

Anyone can write a link to the endpoint with any ``address`` in its query; before, the
page printed that text, unsigned, on the site's own origin ("Stop sending these digests to
Your_account_is_locked_call_+1-555-0100@example.org?"), and with bidi controls or
invisible characters in it too. The page now names the address only when the link's
token is the one send made for it, and says "this address" otherwise."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import html5lib
import pytest

from sfb_feeds.unsubscribe import make_app, token

SECRET = b"spoof test secret, not a real one"
XHTML = "{http://www.w3.org/1999/xhtml}"


def _shown(tmp_path: Path, query: dict[str, str]) -> str:
    """The text of the GET page's question, as a browser's parser reads it."""
    environ: dict[str, object] = {"REQUEST_METHOD": "GET", "QUERY_STRING": urlencode(query),
                                  "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    answers: list[str] = []
    body = b"".join(make_app(tmp_path / "state", SECRET)(
        environ, lambda status, headers, exc_info=None: answers.append(status)))
    assert answers == ["200 OK"]
    page = html5lib.parse(body, transport_encoding="utf-8")
    return "".join(page.find(f".//{XHTML}p").itertext())


@pytest.mark.parametrize("address", [
    "Your_account_is_locked._Call_+1-555-0100_now@example.org",
    "ann@example.org\u202egro.live",
    "ann\u2800\u2800\u2800\u2800Your_bank_says_hi@example.org",
])
def test_an_unsigned_address_is_not_shown(tmp_path: Path, address: str) -> None:
    for forged in ("", "x" * 43, token(SECRET, "en", "ann@example.org")):
        shown = _shown(tmp_path, {"lang": "en", "address": address, "token": forged})
        assert shown == "Stop sending these digests to this address?"


def test_a_signed_address_is_shown(tmp_path: Path) -> None:
    link = {"lang": "en", "address": "ann@example.org",
            "token": token(SECRET, "en", "ann@example.org")}
    assert _shown(tmp_path, link) == "Stop sending these digests to ann@example.org?"
