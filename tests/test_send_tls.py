"""``send`` over TLS (``smtp.security: starttls`` or ``ssl``): a real aiosmtpd relay on
loopback with a certificate made for the test (openssl), trusted through ``SSL_CERT_FILE``
(which the default context reads), or not trusted; and a relay without STARTTLS."""

from __future__ import annotations

import contextlib
import io
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from aiosmtpd.controller import Controller
from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler, free_port

from sfb_feeds.cli import main

RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang) for lang in ("pl", "tr")}
PL, TR = "pl@lists.example.org", "tr@lists.example.org"
NOW = "2015-09-07T07:30:00+00:00"  # the last complete week: 2015-W36


class TlsSeen(FaultyHandler):
    """Also keeps, for each message, whether it came over TLS."""

    def __init__(self) -> None:
        super().__init__()
        self.tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.tls.append(server.transport.get_extra_info("ssl_object") is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFB_FEEDS_SEND_BACKOFF", "0")


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@contextlib.contextmanager
def relay(handler: FaultyHandler, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def send(make_site: Any, port: int, security: str) -> tuple[int, str, str]:
    config = make_site(STATEMENTS, config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        f"  lists: {{pl: {PL}, tr: {TR}}}\nstate: state\n"
        f"smtp: {{host: 127.0.0.1, port: {port}, security: {security}}}\n"))
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", str(config), "--now", NOW], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_starttls_sends_over_tls(make_site: Any, certificate: tuple[Path, Path],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    handler = TlsSeen()
    with relay(handler, tls_context=server_context(certificate), require_starttls=True) as port:
        assert send(make_site, port, "starttls") == (0, "2 sent, 0 already sent\n", "")
    assert (sorted(address for _, address in handler.received.copies), handler.tls) == (
        [PL, TR], [True, True])


def test_ssl_sends_over_tls_from_the_start(make_site: Any, certificate: tuple[Path, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    handler = TlsSeen()
    with relay(handler, ssl_context=server_context(certificate)) as port:
        assert send(make_site, port, "ssl") == (0, "2 sent, 0 already sent\n", "")
    assert (sorted(address for _, address in handler.received.copies), handler.tls) == (
        [PL, TR], [True, True])


def left_for_the_next_run(err: str, reason: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 2, err
    for line, address in zip(lines, (PL, TR), strict=True):
        assert line.startswith(f"error: {address[:2]} 2015-W36 to {address}: not sent ("), line
        assert reason in line and line.endswith("); it is left for the next run"), line


def test_a_certificate_that_does_not_verify_sends_nothing(
    make_site: Any, certificate: tuple[Path, Path],
) -> None:
    # The relay's certificate is not one the system trusts: nothing goes in clear text or
    # to a relay that may not be the one configured; exit 4, each digest left for the
    # next run, the reason named.
    handler = TlsSeen()
    with relay(handler, tls_context=server_context(certificate), require_starttls=True) as port:
        code, out, err = send(make_site, port, "starttls")
    assert (code, out, handler.received.copies) == (4, "", [])
    left_for_the_next_run(err, f"127.0.0.1:{port}'s certificate does not verify ([SSL: "
                          "CERTIFICATE_VERIFY_FAILED]")


def test_a_certificate_that_does_not_verify_from_the_start_sends_nothing(
    make_site: Any, certificate: tuple[Path, Path],
) -> None:
    # smtp.security: ssl (TLS from the first byte) fails the same way, saying the same.
    handler = TlsSeen()
    with relay(handler, ssl_context=server_context(certificate)) as port:
        code, out, err = send(make_site, port, "ssl")
    assert (code, out, handler.received.copies) == (4, "", [])
    left_for_the_next_run(err, f"127.0.0.1:{port}'s certificate does not verify ([SSL: "
                          "CERTIFICATE_VERIFY_FAILED]")
    left_for_the_next_run(err, "set SSL_CERT_FILE to it or its CA's (PEM)")


def test_starttls_to_a_relay_without_it_sends_nothing(make_site: Any) -> None:
    handler = TlsSeen()
    with relay(handler) as port:
        code, out, err = send(make_site, port, "starttls")
    assert (code, out, handler.received.copies) == (4, "", [])
    left_for_the_next_run(err, f"cannot set up the session with 127.0.0.1:{port}: STARTTLS "
                          "extension not supported by server")


class EhloCounted(TlsSeen):
    """Also counts the sessions opened (each says EHLO before STARTTLS)."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        if server.transport.get_extra_info("ssl_object") is None:
            self.sessions += 1
        session.host_name = hostname
        return responses


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_certificate_not_trusted_says_how_to_trust_it_and_is_not_tried_again(
    make_site: Any, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
    host: str,
) -> None:
    # Seen with Postfix on loopback and its own self-signed certificate (Debian's default
    # is one): each run knocked 3 times, then printed OpenSSL's words alone, and README
    # said nothing of how to trust such a certificate. A certificate that does not verify
    # will not verify on the next try: one session, and the reason says what to do, for
    # an unknown issuer and for a name the certificate was not made for ('localhost',
    # with the certificate trusted, is such a name: it holds 127.0.0.1 only). Fails on
    # the old code: 3 sessions, no hint.
    if host == "localhost":
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    handler = EhloCounted()
    with relay(handler, tls_context=server_context(certificate), require_starttls=True) as port:
        config = make_site(STATEMENTS, config=SITE_CONFIG + (
            "digests:\n  from: Digest <digest@example.org>\n"
            f"  lists: {{pl: {PL}, tr: {TR}}}\nstate: state\n"
            f"smtp: {{host: {host}, port: {port}, security: starttls}}\n"))
        out, err = io.StringIO(), io.StringIO()
        code = main(["send", "--config", str(config), "--now", NOW], out=out, err=err)
    assert (code, out.getvalue(), handler.received.copies) == (4, "", [])
    assert handler.sessions == 1
    left_for_the_next_run(err.getvalue(), f"{host}:{port}'s certificate does not verify")
    left_for_the_next_run(err.getvalue(), "CERTIFICATE_VERIFY_FAILED")
    left_for_the_next_run(err.getvalue(), (
        "to trust a relay's own certificate (self-signed, or from a private CA), set "
        "SSL_CERT_FILE to it or its CA's (PEM), and make smtp.host a name it was made for"))
