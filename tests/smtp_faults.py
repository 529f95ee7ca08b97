"""SMTP servers on loopback that misbehave on cue, and what they received.

``FaultyHandler`` is an aiosmtpd handler: ``faults[(step, n)]`` says what to do at the
n-th ``MAIL``, ``RCPT`` or ``DATA`` (1-based, counted over every connection): reply with
that line (``"451 4.3.0 try later"``), ``"drop"`` the connection there, or, for ``DATA``,
``"drop-after"``: keep the message (it was delivered) and drop the connection before the
reply. ``RawServer`` speaks just enough SMTP by hand to drop a connection in the middle of
the message data, which aiosmtpd cannot (it reads the whole message first).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP
from pathlib import Path
from types import MappingProxyType
from typing import Any

from aiosmtpd.controller import Controller
from conftest import SITE_CONFIG

from sfb_feeds.cli import main
from sfb_feeds.model import DigestSettings, Output, Settings, SiteSettings, SmtpSettings

UNSUBSCRIBE = "https://example.org/unsubscribe?lang={lang}&address={address}&token={token}"
SUBSCRIBERS = [f"u{n}@example.org" for n in range(1, 31)]
RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang) for lang in ("pl", "tr")}  # 2015-W36
# Two weeks of them (a statement a language and week), and a moment after each week.
_DATED = "id: urn:sfb:{l}-{d}\ntitle: T {l} {d}\ndate: {d}\nlanguage: {l}\nexcerpt: x\n"
W36, W37 = "2015-09-04", "2015-09-10"  # a day of each week
TWO_WEEKS = {f"{lang}-{day}.yaml": _DATED.format(l=lang, d=day)
             for lang in ("pl", "tr") for day in (W36, W37)}
TR = "tr@lists.example.org"
AFTER_W36 = "2015-09-07T07:30:00+00:00"  # the last complete week: 2015-W36
AFTER_W37 = "2015-09-14T07:30:00+00:00"  # a week later: 2015-W37


def send_week(config: str, *more: str) -> tuple[int, str, str]:
    """``sfb-feeds send`` for 2015-W36 in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--week", "2015-W36", *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def per_address(handler: FaultyHandler) -> Counter[str]:
    """How many copies the server took for each recipient."""
    return Counter(address for _, address in handler.received.copies)


def subscribers_config(make_site: Any, port: int, statements: Mapping[str, str | bytes],
                       lists: str) -> str:
    """A site whose pl digests go to the 30 SUBSCRIBERS of pl.txt and ``lists`` (YAML
    flow entries) to lists, through the relay on ``port``; its config's path."""
    config = make_site(dict(statements), config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        f'  unsubscribe: "{UNSUBSCRIBE}"\n'
        f"  recipients: {{pl: pl.txt}}\n  lists: {{{lists}}}\n"
        f"smtp: {{host: 127.0.0.1, port: {port}}}\nstate: state\n"))
    (config.parent / "pl.txt").write_text("".join(f"{a}\n" for a in SUBSCRIBERS))
    return str(config)

Step = tuple[str, int]


def list_settings(tmp_path: Path, port: int, lists: Mapping[str, str]) -> Settings:
    """Settings sending to ``lists`` through loopback ``port``, all folders in ``tmp_path``."""
    return Settings(
        config_path=tmp_path / "sfb-feeds.yaml",
        site=SiteSettings(title="S", description="", url="https://example.org/",
                          feeds_url="https://example.org/feeds/", author="A"),
        statements_dir=tmp_path / "statements", output_dir=tmp_path / "feeds",
        state_dir=tmp_path / "state",
        digests=DigestSettings(sender="Digest <digest@example.org>",
                               lists=MappingProxyType(dict(lists))),
        smtp=SmtpSettings(host="127.0.0.1", port=port),
    )


def digest_eml(lang: str, week: str, body: str) -> Output:
    """A digest message of ``lang`` and ``week``, as ``digests/<lang>/<week>.eml``, with the
    Message-ID ``<week.lang@example.org>``."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = f"Digest {week}"
    message["From"] = "Digest <digest@example.org>"
    message["Message-ID"] = f"<{week}.{lang}@example.org>"
    message.set_content(body)
    return Output(f"digests/{lang}/{week}.eml", message.as_bytes())


def message_id(data: bytes) -> str:
    return str(BytesHeaderParser().parsebytes(data)["Message-ID"]).strip()


class Received:
    """What a server accepted: one (Message-ID, recipient) per delivered copy; with
    ``keep``, also each message's envelope recipients and bytes."""

    def __init__(self, keep: bool = False) -> None:
        self.copies: list[tuple[str, str]] = []
        self.messages: list[tuple[list[str], bytes]] = []
        self.keep = keep
        self.lock = threading.Lock()

    def add(self, data: bytes, recipients: list[str]) -> None:
        with self.lock:
            self.copies.extend((message_id(data), r) for r in recipients)
            if self.keep:
                self.messages.append((list(recipients), data))

    def counts(self) -> Counter[tuple[str, str]]:
        with self.lock:
            return Counter(self.copies)


class FaultyHandler:
    def __init__(self, faults: dict[Step, str] | None = None, delay: float = 0.0,
                 keep: bool = False) -> None:
        self.faults = dict(faults or {})
        self.calls: Counter[str] = Counter()
        self.received = Received(keep)
        self.peers: set[Any] = set()  # one per connection that sent a message
        self.delay = delay  # seconds before each final reply: makes runs overlap

    def _fault(self, server: Any, step: str) -> str | None:
        self.calls[step] += 1
        fault = self.faults.get((step, self.calls[step]))
        if fault == "drop":
            server.transport.close()
            return "421 4.4.2 dropped"  # never reaches the client: the connection is gone
        return fault

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        fault = self._fault(server, "MAIL")
        if fault:
            return fault
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        fault = self._fault(server, "RCPT")
        if fault:
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self._fault(server, "DATA")
        self.peers.add(session.peer)
        if self.delay:
            await asyncio.sleep(self.delay)
        if fault == "drop-after":
            self.received.add(envelope.content, list(envelope.rcpt_tos))
            server.transport.close()
            return "250 never read"
        if fault:
            return fault
        self.received.add(envelope.content, list(envelope.rcpt_tos))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def aiosmtpd_server(handler: object, port: int | None = None,
                    size_limit: int | None = None) -> Iterator[int]:
    """Serve ``handler`` (a ``FaultyHandler`` or any aiosmtpd handler) on loopback; yields
    the port. ``size_limit``: the largest message taken (advertised as ``SIZE`` in EHLO,
    a larger one refused with ``552``); None: aiosmtpd's default (32 MiB)."""
    port = port or free_port()
    limit = {} if size_limit is None else {"data_size_limit": size_limit}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **limit)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class RawServer:
    """A hand-written SMTP server; ``cut_data`` drops the n-th DATA halfway through."""

    def __init__(self, cut_data: int) -> None:
        self.cut_data = cut_data
        self.datas = 0
        self.received = Received()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):  # wakes accept(), which close() alone does not
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader, contextlib.suppress(OSError):
                self._session(conn, reader)

    def _session(self, conn: socket.socket, reader: Any) -> None:
        conn.sendall(b"220 raw ESMTP\r\n")
        recipients: list[str] = []
        while line := reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 raw\r\n")
            elif verb == b"RCPT":
                recipients.append(line.split(b":", 1)[1].strip().strip(b"<>").decode())
                conn.sendall(b"250 OK\r\n")
            elif verb == b"DATA":
                self.datas += 1
                conn.sendall(b"354 go on\r\n")
                if self.datas == self.cut_data:
                    reader.readline()  # a line of the message, then the connection drops
                    return
                self.received.add(self._message(reader), recipients)
                recipients = []
                conn.sendall(b"250 OK\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:  # MAIL, RSET, NOOP
                recipients = [] if verb == b"RSET" else recipients
                conn.sendall(b"250 OK\r\n")

    @staticmethod
    def _message(reader: Any) -> bytes:
        lines = []
        while (line := reader.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)
