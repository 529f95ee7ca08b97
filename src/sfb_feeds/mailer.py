"""The only SMTP client: deliver one ready message to one list address."""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass

from .model import SmtpSettings


class Refused(Exception):
    """The server refused the message: it was certainly not delivered."""


class Unknown(Exception):
    """The connection broke while delivering: the message may have been delivered."""


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str
    recipient: str
    data: bytes


def _password(settings: SmtpSettings) -> str:
    if not settings.password_env:
        return ""
    return os.environ.get(settings.password_env, "")


def open_connection(settings: SmtpSettings, timeout: float = 30.0) -> smtplib.SMTP:
    """Connect (STARTTLS and login when configured); raises Refused when that fails."""
    try:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        if settings.starttls:
            client.starttls(context=ssl.create_default_context())
        if settings.username:
            client.login(settings.username, _password(settings))
    except (OSError, smtplib.SMTPException) as exc:
        raise Refused(f"cannot connect to {settings.host}:{settings.port}: {exc}") from None
    return client


def deliver(client: smtplib.SMTP, envelope: Envelope) -> None:
    """Hand one message over; Refused if the server said no, Unknown if the line dropped."""
    try:
        client.sendmail(envelope.sender, [envelope.recipient], envelope.data)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError) as exc:
        raise Refused(str(exc)) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise Unknown(str(exc)) from None
