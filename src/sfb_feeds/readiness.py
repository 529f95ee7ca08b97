"""What ``send`` needs from the config and the environment (the SMTP password, the
unsubscribe secret, somewhere to send, readable recipients files), checked before anything
is sent; and what ``check`` says about it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from email.utils import parseaddr

from .errors import ConfigError, Problem, display_path
from .folders import unreadable_recipients
from .model import Settings
from .recipients import read_recipients
from .subscribers import Mailing
from .unsubscribe import SecretMissing, secret_from_env


def _config_problem(settings: Settings, message: str) -> ConfigError:
    return ConfigError([Problem(str(settings.config_path), message)])


def password(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The SMTP password from the environment; None without ``smtp.password_env``.

    ConfigError naming the variable when it is not set (or empty).
    """
    name = settings.smtp.password_env
    if not name:
        return None
    value = environ.get(name, "")
    if not value:
        raise _config_problem(settings, f"smtp.password_env: the environment variable {name} "
                              f"is not set; send needs it to log in to {settings.smtp.host}")
    return value


def unsubscribe_secret(settings: Settings, environ: Mapping[str, str]) -> bytes:
    """The secret that signs subscribers' unsubscribe links; ConfigError naming its
    variable when it is not set."""
    try:
        return secret_from_env(settings.digests.unsubscribe_secret_env, environ)
    except SecretMissing as exc:
        raise _config_problem(settings, f"digests.unsubscribe_secret_env: {exc}; send needs it "
                              "to sign each subscriber's unsubscribe link") from None


def readiness_warnings(settings: Settings, languages: Iterable[str],
                       environ: Mapping[str, str]) -> list[str]:
    """What ``check`` says about sending: languages without a destination, a missing
    password or unsubscribe secret, bad lines of the recipients files."""
    warnings = setup_warnings(settings, languages, environ)
    for lang, path in sorted(settings.digests.recipients.items()):
        try:
            warnings.extend(str(item) for item in read_recipients(path, display_path(path))
                            if isinstance(item, Problem))
        except OSError as exc:
            message = f"cannot read {display_path(path)}: {exc.strerror or exc}"
            warnings.append(str(Problem(display_path(settings.config_path), message,
                                        field=f"digests.recipients.{lang}")))
    return warnings


def setup_warnings(settings: Settings, languages: Iterable[str],
                   environ: Mapping[str, str]) -> list[str]:
    """Languages with no address to send to, a missing password, and a missing unsubscribe
    secret if recipients files need one."""
    lists, recipients = settings.digests.lists, settings.digests.recipients
    if not lists and not recipients:
        return []
    where = "digests.lists" if not recipients else "digests.lists or digests.recipients"
    warnings = [f"{lang}: no address in {where}, so its digests are not sent "
                f"(add digests.lists.{lang})" for lang in sorted(languages)
                if lang not in lists and lang not in recipients]
    for check in [password, unsubscribe_secret] if recipients else [password]:
        try:
            check(settings, environ)
        except ConfigError as exc:
            warnings.extend(exc.messages())
    return warnings


def require_destinations(settings: Settings, to: str | None) -> None:
    digests = settings.digests
    if not digests.lists and not digests.recipients and to is None:
        raise _config_problem(settings, "digests.lists and digests.recipients are not set, so "
                              "send has nowhere to send the digests (map each language to its "
                              "list's address, or to a file of its subscribers)")
    if not parseaddr(digests.sender)[1]:
        raise _config_problem(settings, "digests.from is not set; send needs it as the "
                              "sender of the digests")


def require_files(settings: Settings, mailings: list[Mailing]) -> None:
    """The recipients files must open (``load_settings(recipients=True)`` checked them, with
    their config lines; this is for one gone since, or a caller that did not ask)."""
    found = unreadable_recipients({mailing.lang: mailing.recipients for mailing in mailings})
    if found:
        raise ConfigError([Problem(display_path(settings.config_path), message, field=key)
                           for key, message in found])
