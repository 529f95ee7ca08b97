"""The only SMTP client: connect, and hand one ready message to one recipient.

A delivery is the explicit SMTP steps (``MAIL``, ``RCPT``, ``DATA``, the message, the
final reply), so that every failure (the exceptions below) says what is known.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Callable, Iterator

from .model import SmtpSettings


class NotSent(Exception):
    """The message was certainly not delivered (as such, a ``4xx`` reply: try again later, on
    the same connection); ``handed_over`` if its data had been sent."""

    def __init__(self, reason: str, *, handed_over: bool = False) -> None:
        super().__init__(reason)
        self.handed_over = handed_over


class Refused(NotSent):
    """A ``5xx`` reply: the server will not take this message; ``code`` is the reply's, and
    ``after_recipient`` says the recipient had been accepted (it came at ``DATA`` or the
    message's end: about the message, perhaps, rather than the recipient)."""

    code = 0
    after_recipient = False


class SenderRefused(NotSent):
    """A ``5xx`` reply to ``MAIL FROM``: the server turns down the sender (not authenticated,
    not allowed, over a quota), not this message's recipient."""


class TooLarge(SenderRefused):
    """A ``552`` to ``MAIL FROM`` that declared the message's size (RFC 1870), or a ``5xx``
    with the enhanced code ``5.3.4`` (RFC 3463: message too big for system) at ``DATA`` or
    the message's end: the relay takes no message this large, whoever it is for."""


class Dropped(NotSent):
    """A ``421`` reply, a lost connection before the server had the message, or a ``4xx`` to
    ``MAIL FROM`` (the connection is closed: a new one is tried); ``session`` when it came
    before the recipient was named (the session failed, not this message)."""

    session = False


class Unknown(Exception):
    """The connection broke after the message was handed over: it may have been delivered."""


class ConnectFailed(Exception):
    """No usable connection; ``permanent`` when trying again cannot help (a refused login)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


def connect(settings: SmtpSettings, password: str | None, timeout: float = 30.0) -> smtplib.SMTP:
    """A connection ready for ``MAIL`` (TLS as ``settings.security`` says, logged in when
    ``password`` is given); raises ConnectFailed."""
    where = f"{settings.host}:{settings.port}"
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    except smtplib.SMTPResponseException as exc:  # the greeting was not 220
        raise ConnectFailed(f"cannot connect to {where}: "
                            f"{_text(exc.smtp_code, exc.smtp_error)}") from None
    except ssl.SSLCertVerificationError as exc:
        raise _untrusted(where, exc) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise ConnectFailed(f"cannot connect to {where}: {exc}") from None
    try:
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if password is not None:
            client.login(settings.username, password)
        client.ehlo_or_helo_if_needed()
    except smtplib.SMTPAuthenticationError as exc:
        close(client)
        raise _login_failed(where, settings.username, exc) from None
    except ssl.SSLCertVerificationError as exc:
        client.close()
        raise _untrusted(where, exc) from None
    except (OSError, smtplib.SMTPException) as exc:
        close(client)
        raise ConnectFailed(f"cannot set up the session with {where}: {exc}") from None
    return client


def _untrusted(where: str, exc: ssl.SSLCertVerificationError) -> ConnectFailed:
    """A certificate that does not verify (its issuer unknown here, or made for another
    name) will not on the next try either: the run stops, saying how to trust it."""
    return ConnectFailed(
        f"{where}'s certificate does not verify ({exc}); to trust a relay's own certificate "
        "(self-signed, or from a private CA), set SSL_CERT_FILE to it or its CA's (PEM), "
        "and make smtp.host a name it was made for", permanent=True)


def _login_failed(where: str, username: str, exc: smtplib.SMTPResponseException) -> ConnectFailed:
    """A ``5xx`` to the login turns it down (trying again cannot help); a ``4xx`` (RFC 4954:
    ``454`` temporary failure) only for now, so a new connection is tried."""
    reply = _text(exc.smtp_code, exc.smtp_error)
    if 400 <= exc.smtp_code < 500:
        return ConnectFailed(f"{where} turned the login of {username!r} away for now: {reply}")
    return ConnectFailed(f"{where} refused the login of {username!r}: {reply}", permanent=True)


def is_open(client: smtplib.SMTP) -> bool:
    """Whether ``client`` can carry another message (no failure has closed it)."""
    return client.sock is not None


def close(client: smtplib.SMTP) -> None:
    """Say goodbye if the connection still works; close it in any case."""
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()
    client.close()


def deliver(client: smtplib.SMTP, sender: str, recipient: str, data: bytes,
            handing_over: Callable[[], None]) -> None:
    """Deliver one message from ``sender`` to ``recipient``.

    ``handing_over`` runs once the server has accepted ``DATA``, just before the message
    is sent; if it raises, the connection is closed without the final dot (so the server
    discards the message) and the exception propagates.
    """
    payload = _payload(data)
    with _before_the_message(client, session=True):
        _mail_from(client, sender, _size(data))
    with _before_the_message(client, session=False):
        _expect(client, client.rcpt(recipient), "RCPT TO", 250, 251)
        with _about_the_message(client, _size(data)):
            _expect(client, client.docmd("DATA"), "DATA", 354)
    try:
        handing_over()
    except BaseException:
        client.close()
        raise
    try:
        client.send(payload)
    except (OSError, smtplib.SMTPException) as exc:  # its end never left: no transaction
        client.close()
        raise Dropped(f"the connection broke while the message was being sent, before its "
                      f"end ({exc})", handed_over=True) from None
    try:
        reply = _final_reply(client)
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        raise Unknown(f"the connection broke after the message was handed over, before the "
                      f"server's reply ({exc})") from None
    with _about_the_message(client, _size(data)):
        _final(client, reply)


def _mail_from(client: smtplib.SMTP, sender: str, size: int) -> None:
    """``MAIL FROM``, declaring the message's ``size`` when the server takes SIZE (RFC
    1870), so a relay with a size limit refuses the message before any recipient, not
    each copy after it."""
    client.ehlo_or_helo_if_needed()
    sized = client.has_extn("size")
    try:
        _expect(client, client.mail(sender, [f"SIZE={size}"] if sized else []), "MAIL FROM", 250)
    except Refused as exc:
        if sized and exc.code == 552:
            raise TooLarge(_too_large(client, str(exc), size)) from None
        raise SenderRefused(str(exc)) from None
    except Dropped:
        raise
    except NotSent as exc:  # a 4xx to the sender: this session's, often a limit of it
        close(client)
        raise Dropped(str(exc)) from None


def _too_large(client: smtplib.SMTP, reason: str, size: int, *, received: bool = False) -> str:
    """What a ``552`` to a sized ``MAIL FROM`` says (``received``: a too big at the end): the
    message's size, the relay's limit when its EHLO gave one, and what to do."""
    limit = client.esmtp_features.get("size", "").strip()
    most = (f" and the relay takes at most {int(limit):,} (SIZE in its EHLO)"
            if limit.isdigit() and int(limit) else "")
    added = " before the relay adds its own headers" if received else ""
    return (f"{reason}: the message is {size:,} bytes{added}{most}; shrink the digest or "
            "raise the relay's size limit (Postfix: message_size_limit)")


# A reply's enhanced status code X.3.4 (RFC 3463): the message is too big for the system.
_TOO_BIG = re.compile(r"\d{3} 5\.3\.4(?![.\d])")


@contextlib.contextmanager
def _about_the_message(client: smtplib.SMTP, size: int) -> Iterator[None]:
    """A refusal inside came after the recipient was accepted; one saying the message is
    too big (Postfix, once its own headers take it over its limit) raises TooLarge."""
    try:
        yield
    except Refused as exc:
        if _TOO_BIG.match(str(exc)):
            reason = _too_large(client, str(exc), size, received=True)
            raise TooLarge(reason, handed_over=exc.handed_over) from None
        exc.after_recipient = True
        raise


# How long to wait for the reply to the final dot: RFC 5321 4.5.3.2.6 asks for 10 minutes,
# as the server may check the message first (a content filter) and a client that gives up
# sooner cannot know whether it was taken ("may have gone out" for every copy).
FINAL_REPLY_WAIT = 600.0


def _final_reply(client: smtplib.SMTP) -> tuple[int, bytes]:
    """The reply to the final dot, waiting at least ``FINAL_REPLY_WAIT`` seconds for it."""
    sock = client.sock
    before = sock.gettimeout() if sock is not None else None
    if sock is not None and before is not None and before < FINAL_REPLY_WAIT:
        sock.settimeout(FINAL_REPLY_WAIT)
    try:
        return client.getreply()
    finally:
        if sock is not None and client.sock is sock:
            sock.settimeout(before)


def _final(client: smtplib.SMTP, reply: tuple[int, bytes]) -> None:
    """The server's reply to the final dot: any ``2xx`` took the message (RFC 5321 4.2.1);
    only a ``4xx`` or ``5xx`` says it did not; anything else (no code, a ``3xx``) leaves
    it unknown, so the message is never handed over again."""
    code, text = reply
    if 200 <= code < 300:
        return
    if code < 400 or code >= 600:
        client.close()
        answer = repr(_text(code, text)) if code > 0 else "a line without a reply code"
        raise Unknown(f"the server answered the message with {answer}, which says neither "
                      "that it took it nor that it did not")
    _expect(client, reply, "the end of the message", handed_over=True)


@contextlib.contextmanager
def _before_the_message(client: smtplib.SMTP, *, session: bool) -> Iterator[None]:
    """A ``421`` or a lost connection inside raises Dropped (``session``: so marked)."""
    try:
        yield
    except Dropped as exc:
        exc.session = session
        raise
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        dropped = Dropped(f"the connection broke before the message was sent: {exc}")
        dropped.session = session
        raise dropped from None


def _expect(client: smtplib.SMTP, reply: tuple[int, bytes], step: str, *ok: int,
            handed_over: bool = False) -> None:
    """Return if ``reply``'s code is one of ``ok``; else raise what it means."""
    code, text = reply
    if code in ok:
        return
    reason = f"{_text(code, text)} at {step}"
    if code == 421 or code < 400:  # closing, or a reply SMTP does not allow here
        client.close()
        raise Dropped(reason, handed_over=handed_over)
    try:
        reset = client.rset()[0]
    except (OSError, smtplib.SMTPException):
        reset = 0
    if reset != 250:  # gone, closing (421), or in a state not known: a new one is needed
        client.close()
    if code < 500:
        raise NotSent(reason, handed_over=handed_over)
    refused = Refused(reason, handed_over=handed_over)
    refused.code = code
    raise refused


def _text(code: int, text: bytes | str) -> str:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(shown.split())}"


_LINE_START_DOT = re.compile(rb"(?m)^\.")


def _size(data: bytes) -> int:
    """The message's size as SIZE declares it (RFC 1870 5): its bytes with the CRLF that
    ends it, without the doubled dots and the final dot of DATA."""
    return len(data) + (0 if data.endswith(b"\r\n") else 2)


def _payload(data: bytes) -> bytes:
    """The message as DATA carries it: dots at line starts doubled, ending in CRLF.CRLF."""
    quoted = _LINE_START_DOT.sub(b"..", data)
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    return quoted + b".\r\n"
