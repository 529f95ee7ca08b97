"""One-click unsubscribe (RFC 8058): signed links, and the WSGI endpoint ``app`` that honours them.

Every ``POST`` gets the same answer, so it tells no one who is subscribed; only a valid
token suppresses. A ``GET`` only shows the button: prefetchers unsubscribe no one. Tokens
and answers: docs/digests.md; deployment (``$SFB_FEEDS_CONFIG``, gunicorn): README.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import html
import os
import re
import socket
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from .errors import EXIT_INVALID, SfbError, UsageError
from .suppression import SuppressionError, normalise_address, normalise_lang, suppress
from .unsubscribe_page import (
    ASK,
    ASK_NO_ADDRESS,
    DONE,
    INCOMPLETE,
    NOT_ONE_CLICK,
    NOT_RECORDED,
    ONE_CLICK,
    Query,
    ask_page,
    label,
    page,
)
from .urls import MAX_FIELDS, QUERY

__all__ = ["ASK", "ASK_NO_ADDRESS", "DONE", "NOT_ONE_CLICK", "ONE_CLICK", "Endpoint",
           "SecretMissing", "app", "app_from_environment", "make_app", "secret_from_env",
           "token", "unsubscribe_url", "verify"]

CONFIG_ENV = "SFB_FEEDS_CONFIG"
MAX_BODY = 8192  # a one-click body is 26 bytes; a multipart one a few hundred
READ_TIMEOUT = 30.0  # seconds the quick-start server waits for a silent client's next bytes
_TOKEN_DOMAIN = b"sfb-feeds unsubscribe v1"  # separates these MACs from any other use of the key
_PLACEHOLDER = re.compile(r"\{(lang|address|token)\}")


class SecretMissing(SfbError):
    """The environment variable that should hold the unsubscribe secret is unset or empty."""


# --- tokens and links ----------------------------------------------------------------------


def _field(value: str) -> bytes:
    data = value.encode("utf-8")
    return str(len(data)).encode("ascii") + b":" + data  # length-prefixed: no separator games


def token(secret: bytes, lang: str, address: str) -> str:
    """The unsubscribe token of ``address`` for ``lang``'s digests (43 URL-safe characters):
    HMAC-SHA256 under ``secret`` over a fixed domain string and the length-prefixed UTF-8 of
    the canonical language tag and the normalised address, URL-safe base64 without padding.
    ValueError for an empty secret, a bad language tag or a bad address."""
    if not secret:
        raise ValueError("the unsubscribe secret is empty")
    message = _TOKEN_DOMAIN + b"\0" + _field(normalise_lang(lang)) + _field(
        normalise_address(address))
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(secret: bytes, lang: str, address: str, candidate: str) -> bool:
    """True if ``candidate`` is the token of ``(lang, address)``; compared in constant time."""
    try:
        expected = token(secret, lang, address)
    except ValueError:
        return False
    return hmac.compare_digest(expected.encode("ascii"),
                               candidate.encode("utf-8", "surrogatepass"))


def unsubscribe_url(template: str, secret: bytes, lang: str, address: str) -> str:
    """``template`` with ``{lang}``, ``{address}`` (normalised, as the token signs it) and
    ``{token}`` filled in, each URL-encoded; other braces are left alone."""
    values = {"lang": normalise_lang(lang), "address": normalise_address(address)}
    values["token"] = token(secret, values["lang"], values["address"])
    return _PLACEHOLDER.sub(lambda match: quote(values[match.group(1)], safe=""), template)


def secret_from_env(name: str, environ: Mapping[str, str]) -> bytes:
    """The UTF-8 bytes of the environment variable ``name``; SecretMissing, naming it, when
    it is unset or empty."""
    value = environ.get(name, "")
    if not value.strip():
        raise SecretMissing(
            f"the environment variable {name} is not set or empty: it must hold the "
            "unsubscribe secret (e.g. the output of `openssl rand -base64 32`)")
    return value.encode("utf-8")


# --- requests ------------------------------------------------------------------------------


def _query(environ: WSGIEnvironment) -> Query:
    # PEP 3333 hands the query over as latin-1; undo that before reading UTF-8.
    raw = str(environ.get("QUERY_STRING", "")).encode("latin-1", "replace")
    try:
        pairs = parse_qsl(raw.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
    except ValueError:
        pairs = []
    fields = dict(reversed(pairs))  # the first of repeated fields wins
    return Query(*(fields.get(name, "") for name in QUERY))


def _body(environ: WSGIEnvironment) -> bytes | None:
    """The request body, None when it is larger than MAX_BODY, empty when its length is
    not a number."""
    stream = environ["wsgi.input"]
    if not environ.get("CONTENT_LENGTH"):
        if environ.get("wsgi.input_terminated"):  # chunked, behind gunicorn
            data: bytes = stream.read(MAX_BODY + 1)
            return data if len(data) <= MAX_BODY else None
        chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
        return _unchunked(stream) if chunked else b""  # wsgiref: as the client sent it
    length = str(environ["CONTENT_LENGTH"]).strip()
    if not length.isdecimal():
        return b""  # (-1, 0x1a...): no one-click body, a 400; not "too large"
    if int(length) > MAX_BODY:
        return None
    return bytes(stream.read(int(length))) if int(length) else b""


def _unchunked(stream: Any) -> bytes | None:
    """A chunked body (RFC 9112, 7.1): None past MAX_BODY, empty when malformed; trailers
    stay unread (the connection closes after the answer)."""
    data = b""
    while True:
        try:
            size = int(bytes(stream.readline(80)).split(b";")[0].strip(), 16)
        except ValueError:
            return b""
        if size == 0:
            return data
        if not 0 < size <= MAX_BODY - len(data):
            return None if size > 0 else b""
        chunk = bytes(stream.read(size))
        if len(chunk) < size or stream.readline(3) != b"\r\n":
            return b""
        data += chunk


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a form body, ``application/x-www-form-urlencoded`` or multipart."""
    kind = content_type.split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        try:
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True,
                              max_num_fields=20)
        except ValueError:
            return {}
        # (a line break or space around a value is not part of it, as in a multipart body)
        return {name: value.strip() for name, value in reversed(pairs)}
    header = "Content-Type: " + re.sub(r"[\r\n]", " ", content_type) + "\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(header.encode("latin-1", "replace") + body)
    fields: dict[str, str] = {}
    if message.is_multipart():
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields.setdefault(name, payload.decode("utf-8", "replace").strip())
    return fields


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The WSGI application: one-click ``POST``, a one-button ``GET`` page, 405 otherwise."""

    state_dir: Path
    secret: bytes
    locales: Path | None = None  # a site's own catalogs, overriding the shipped ones

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if method in ("GET", "HEAD"):
            query = _query(environ)
            signed = verify(self.secret, query.lang, query.address, query.token)
            status, body = "200 OK", ask_page(query, self.locales, signed=signed)
            headers = _headers(body, html_page=True)
        elif method == "POST":
            status, body, headers = self._post(environ)
        else:
            status, body = "405 Method Not Allowed", b"Use POST (or GET for the page).\n"
            headers = [*_headers(body, html_page=False), ("Allow", "GET, HEAD, POST")]
        start_response(status, headers)
        return [] if method == "HEAD" else [body]

    def _post(self, environ: WSGIEnvironment) -> tuple[str, bytes, list[tuple[str, str]]]:
        query = _query(environ)
        try:
            body = _body(environ)
        except TimeoutError:  # a client that stalled mid-body: logged without the query
            environ["wsgi.errors"].write(
                "sfb-feeds unsubscribe: the request's body stopped arriving before its "
                f"Content-Length ({environ.get('CONTENT_LENGTH')} bytes): the read timed "
                "out; answered 408 Request Timeout\n")
            return "408 Request Timeout", INCOMPLETE, _headers(INCOMPLETE, html_page=False)
        lang = query.shown_lang(self.locales)
        if body is None:
            return self._answer("413 Content Too Large", lang, NOT_ONE_CLICK)
        fields = _form_fields(str(environ.get("CONTENT_TYPE", "")), body)
        if fields.get(ONE_CLICK[0]) != ONE_CLICK[1]:
            return self._answer("400 Bad Request", lang, NOT_ONE_CLICK)
        if verify(self.secret, query.lang, query.address, query.token):
            source = "page" if fields.get("source") == "page" else "one-click"
            try:
                suppress(self.state_dir, query.lang, query.address, source)
            except SuppressionError as exc:  # a full disk...: logged without the query
                environ["wsgi.errors"].write(f"sfb-feeds unsubscribe: {exc}\n")
                return ("503 Service Unavailable", NOT_RECORDED,
                        [*_headers(NOT_RECORDED, html_page=False), ("Retry-After", "300")])
        return self._answer("200 OK", lang, DONE)

    def _answer(self, status: str, lang: str, msgid: str
                ) -> tuple[str, bytes, list[tuple[str, str]]]:
        body = page(lang, self.locales, html.escape(label(lang, self.locales, msgid)))
        return status, body, _headers(body, html_page=True)


def _headers(body: bytes, *, html_page: bool) -> list[tuple[str, str]]:
    kind = "text/html; charset=utf-8" if html_page else "text/plain; charset=utf-8"
    return [("Content-Type", kind), ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"), ("X-Robots-Tag", "noindex"),
            ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; "
             "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")]


def make_app(state_dir: Path, secret: bytes, locales: Path | None = None) -> Endpoint:
    """The endpoint writing to ``<state_dir>/suppressed.jsonl`` and checking with ``secret``;
    its page's labels come from ``locales`` (a site's catalogs) over the shipped ones."""
    if not secret:
        raise ValueError("the unsubscribe secret is empty")
    return Endpoint(state_dir, secret, locales)


def app_from_environment(env: Mapping[str, str]) -> Endpoint:
    """The endpoint of the site config ``$SFB_FEEDS_CONFIG`` (default ``./sfb-feeds.yaml``):
    its state folder, its ``locales/``, and the secret in the variable its
    ``digests.unsubscribe_secret_env`` names. ConfigError or SecretMissing when wrong."""
    from .config import load_settings
    from .i18n import site_locales

    config = env.get(CONFIG_ENV)
    settings = load_settings(Path(config) if config else None)
    return make_app(settings.state_folder,
                    secret_from_env(settings.digests.unsubscribe_secret_env, env),
                    site_locales(settings))


_configured: list[Endpoint] = []
_configuring = threading.Lock()


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """``sfb_feeds.unsubscribe:app``: configured from the environment on its first request."""
    with _configuring:
        if not _configured:
            try:
                _configured.append(app_from_environment(os.environ))
            except SfbError as exc:
                for message in exc.messages():
                    environ["wsgi.errors"].write(f"sfb-feeds unsubscribe: {message}\n")
                body = b"The unsubscribe service is not configured; see the server's log.\n"
                start_response("500 Internal Server Error", _headers(body, html_page=False))
                return [body]
    return _configured[0](environ, start_response)


# --- python -m sfb_feeds.unsubscribe -------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of one-click requests must not be refused


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(READ_TIMEOUT)  # on every read of the request (rfile's too)

    def handle(self) -> None:
        """Handle one request; a client that sends nothing for READ_TIMEOUT seconds is
        let go (its connection closed), so it cannot hold a thread forever."""
        try:
            super().handle()
        except TimeoutError:
            self.close_connection = True
            self.log_error("request timed out (nothing read for %s s); connection closed",
                           READ_TIMEOUT)

    def log_message(self, format: str, *args: Any) -> None:
        """Log method, path and status only: no query (addresses, tokens), no client IP."""
        if args and isinstance(args[0], str) and " " in args[0]:
            method, _, rest = args[0].partition(" ")
            args = (f"{method} {rest.split('?')[0].split(' ')[0]}", *args[1:])
        sys.stderr.write((format % args) + "\n")


def _port(text: str) -> int:
    if not text.isdecimal() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return int(text)


def _family(host: str, port: int) -> socket.AddressFamily:
    """The address family to listen on ``host`` with: IPv4 if it has an IPv4 address (as
    ``localhost`` does), else IPv6 (``::1``, ``::``); UsageError naming ``--host`` when it
    does not resolve."""
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host}: {getattr(exc, 'strerror', None) or exc}") from None
    families = {entry[0] for entry in found}
    return socket.AF_INET if socket.AF_INET in families else found[0][0]


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the endpoint with wsgiref (a quick start; use a real WSGI server in production)."""
    parser = argparse.ArgumentParser(prog="python -m sfb_feeds.unsubscribe",
                                     description="Serve the one-click unsubscribe endpoint.")
    parser.add_argument("--host", default="127.0.0.1", help="an IPv4 or IPv6 address, or a name")
    parser.add_argument("--port", type=_port, default=8025, help="0 picks a free port")
    parser.add_argument("--config", help=f"site config (default ${CONFIG_ENV} or ./sfb-feeds.yaml)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.config:
        env[CONFIG_ENV] = args.config
    try:
        endpoint = app_from_environment(env)
        server_class = type("_Listening", (_Server,),
                            {"address_family": _family(args.host, args.port)})
        server: WSGIServer = make_server(args.host, args.port, endpoint, server_class, _Handler)
    except SfbError as exc:
        for message in exc.messages():
            print(f"error: {message}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the port is taken, the address is not this machine's...
        print(f"error: cannot listen on {args.host} port {args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_INVALID
    shown = f"[{args.host}]" if ":" in args.host else args.host
    with server:
        print(f"serving one-click unsubscribe on http://{shown}:{server.server_port}/ "
              f"(suppression list in {endpoint.state_dir})", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


if __name__ == "__main__":
    from .streams import prepare

    prepare()  # a closed standard error: the log goes to the null device, not a traceback
    raise SystemExit(main())
