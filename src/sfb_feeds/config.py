"""Read ``sfb-feeds.yaml`` into Settings; unknown keys are errors with a did-you-mean."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, TypeGuard
from urllib.parse import urlsplit

import yaml

from . import fields
from .errors import ConfigError, Problem, counted, display_path
from .folders import expand, folders, path_problems, unreadable_recipients
from .language import canonical_tag
from .loader import TooLarge, read_regular
from .model import (
    SECURITY,
    DigestSettings,
    FeedSettings,
    LimitSettings,
    Settings,
    SiteSettings,
    SmtpSettings,
)
from .urls import MAX_FIELDS, unreadable_fields
from .validate import suggest
from .weeks import WEEKDAYS
from .yamlio import YamlProblem, compose, decode, is_null, line_of, mapping_items
from .zones import zone_problem

DEFAULT_CONFIG = "sfb-feeds.yaml"

Reader = Callable[[yaml.Node], Any]


def _positive_int(node: yaml.Node) -> int:
    value = fields.text(node)
    # ASCII digits only: str.isdigit() holds for '²' and '٣' too, which int() refuses or
    # reads as another number than written; and int() refuses more than 4,300 digits.
    digits = value.lstrip("0") if value.isascii() and value.isdigit() else ""
    if not digits:
        raise fields.FieldError(f"{value!r} must be a whole number of at least 1")
    if len(digits) > 18:
        raise fields.FieldError(f"{value[:20]}... has {len(digits)} digits; give a whole "
                                "number of at most 18")
    return int(digits)


_NEEDED = frozenset({"site.title", "site.url", "digests.from"})  # (from: once digests mail)


def _timezone(node: yaml.Node) -> str:
    value = fields.text(node)
    if problem := zone_problem(value):
        raise fields.FieldError(problem)
    return value


def _one_of(options: tuple[str, ...], what: str) -> Reader:
    def read(node: yaml.Node) -> str:
        value = fields.text(node).lower()
        if value not in options:
            raise fields.FieldError(f"{value!r} must be {what}")
        return value
    return read


class _ByLanguage(NamedTuple):
    """A mapping of BCP 47 language tags to values that ``read`` reads (``digests.lists``)."""

    read: Reader
    example: str


def _variable(node: yaml.Node) -> str:
    value = fields.text(node)
    if not value.isidentifier() or not value.isascii():
        raise fields.FieldError(f"{value!r} is not an environment variable name "
                                "(letters, digits and _, e.g. SFB_FEEDS_UNSUBSCRIBE_SECRET)")
    return value


def _rate(node: yaml.Node) -> float:
    value = fields.text(node)
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0 < rate < float("inf"):
        raise fields.FieldError(f"{value!r} must be a number of messages a second above 0")
    return rate


# RFC 2919's list-id-namespace as a domain: dot-atom labels of letters, digits and inner
# hyphens, at least two of them (the language tag is put before it as the list-label).
_LIST_ID = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


def _list_id(node: yaml.Node) -> str:
    value = fields.header_value(node)
    if not _LIST_ID.fullmatch(value):
        raise fields.FieldError(f"{value!r} is not a domain-like name (letters, digits and "
                                "hyphens in labels joined by dots, at least two labels, e.g. "
                                "digests.example.org); List-Id needs one")
    return value


def _path(node: yaml.Node) -> str:
    """A file or folder: a bare ``~`` is the home folder (YAML would read it as null)."""
    if is_null(node) and node.value == "~":
        return "~"
    return fields.text(node)


def _port(node: yaml.Node) -> int:
    value = _positive_int(node)
    if value > 65535:
        raise fields.FieldError(f"{value} is not a TCP port (1-65535)")
    return value


SCHEMA: dict[str, Reader | dict[str, Reader | _ByLanguage]] = {
    "statements": _path, "output": _path, "templates": _path, "cache": _path, "state": _path,
    "site": {
        "title": fields.header_value, "description": fields.text, "url": fields.public_url,
        "feeds_url": fields.folder_url, "author": fields.author, "timezone": _timezone,
    },
    "feeds": {"entries": _positive_int, "websub_hub": fields.public_url},
    "digests": {
        "week_starts": _one_of(WEEKDAYS, "a day of the week (e.g. monday)"),
        "from": fields.mailbox,
        "lists": _ByLanguage(fields.mailbox, "list addresses (pl: list@example.org)"),
        "unsubscribe": fields.unsubscribe_url, "list_id": _list_id,
        "recipients": _ByLanguage(_path, "recipients files (pl: pl.csv)"),
        "unsubscribe_secret_env": _variable,
    },
    "smtp": {
        "host": fields.text, "port": _port, "username": fields.text, "password_env": fields.text,
        "security": _one_of(SECURITY, f"one of {', '.join(SECURITY)}"),
        "starttls": fields.boolean,  # deprecated: security: starttls / none
        "rate": _rate,
    },
    "limits": {"file_bytes": _positive_int, "excerpt_bytes": _positive_int},
}


class _Collector:
    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}  # key ("smtp", "smtp.host") -> its line

    def add(self, line: int | str, field: str, message: str) -> None:
        """A problem on ``line``: a number, or the key whose line it is (1 if not written)."""
        line = self.lines.get(line, 1) if isinstance(line, str) else line
        self.problems.append(Problem(self.shown, message, line, None, field))

    def extend(self, found: list[tuple[str, str]]) -> None:
        """Problems (key, message), each at its key's line."""
        for key, message in found:
            self.add(key, key, message)


def _is_mapping(node: yaml.Node, name: str, out: _Collector) -> TypeGuard[yaml.MappingNode]:
    """Whether section ``name`` ("": the config) is a mapping whose keys can be read (a tag
    on it is a problem, but its keys are read all the same)."""
    if problem := fields.tag_problem(node):  # (first: a tag may be why it is no mapping)
        out.add(line_of(node), name or "config", problem)
    if not isinstance(node, yaml.MappingNode):
        out.add(line_of(node), name, "must be a mapping of keys")
        return False
    return True


def _read(node: yaml.Node, schema: dict[str, Any], name: str, out: _Collector) -> dict[str, Any]:
    """The keys of one mapping (``name`` is its section, "" at the top), read by ``schema``."""
    if not _is_mapping(node, name, out):
        return {}
    values: dict[str, Any] = {}
    seen: set[str] = set()  # every key met, valid or not: a repeat is a problem either way
    for key, value, line in mapping_items(node):
        field = f"{name}.{key}" if name else key
        out.lines.setdefault(field, line)
        reader = schema.get(key)
        if key in seen:
            out.add(line, field, "appears twice; keep one")
        elif reader is None:
            out.add(line, field, f"unknown key{suggest(key, tuple(schema))}")
        elif isinstance(reader, dict):
            values[key] = _read(value, reader, key, out)
        elif isinstance(reader, _ByLanguage):
            if (entries := _read_by_language(value, reader, field, line, out)) is not None:
                values[key] = entries
        else:
            try:
                values[key] = reader(value)
            except fields.FieldError as exc:
                out.add(line, field, fields.refusal(exc, needed=field in _NEEDED))
        seen.add(key)
    return values


def _read_by_language(node: yaml.Node, by: _ByLanguage, field: str, line: int,
                      out: _Collector) -> MappingProxyType[str, Any] | None:
    """The entries of ``field``, or None when one is refused (a value at its own line,
    ``digests.recipients.pl``); once all are read, a language given twice (``pl`` and
    ``PL`` are one) is a problem, as a repeated key is."""
    if problem := fields.tag_problem(node):
        out.add(line, field, problem)
        return None
    if not isinstance(node, yaml.MappingNode):
        out.add(line, field, f"must map language tags to {by.example}")
        return None
    result: dict[str, Any] = {}
    repeated: list[tuple[int, str]] = []
    for key, value, at in mapping_items(node):
        if (tag := canonical_tag(key)) is None:
            out.add(line, field, f"{key!r} is not a BCP 47 language tag")
            return None
        if tag in result:
            repeated.append((at, f"{field}.{tag}"))
        try:
            result[tag] = by.read(value)
        except fields.FieldError as exc:
            out.add(at, f"{field}.{tag}", str(exc))
            return None
        out.lines.setdefault(f"{field}.{tag}", at)
    for at, entry in repeated:
        out.add(at, entry, "appears twice; keep one")
    return MappingProxyType(result)


def _read_top(root: yaml.Node, out: _Collector) -> dict[str, Any]:
    if not isinstance(root, yaml.MappingNode):
        out.add(line_of(root), "config", "must be a mapping (site: ..., feeds: ...)")
        return {}
    values = _read(root, SCHEMA, "", out)
    site = values.setdefault("site", {})
    for key in ("title", "url"):
        if key not in site and f"site.{key}" not in out.lines:  # (not there, not refused)
            out.add(line_of(root), f"site.{key}", "is missing; the site needs it")
    _check_default_feeds_url(site, out)
    _check_sending(values, out)
    return values


def _check_default_feeds_url(site: dict[str, Any], out: _Collector) -> None:
    """``site.feeds_url`` left out is ``site.url`` with ``feeds/`` added: no folder after a
    query or a fragment (where the feeds' paths would then fall)."""
    url = site.get("url", "")
    if "site.feeds_url" not in out.lines and ("?" in url or "#" in url):
        parts = urlsplit(url)
        out.add("site.url", "site.url", f"{url!r} has a query or a fragment ('?' or '#'), so "
                "the default site.feeds_url (site.url with feeds/ added) would be no folder; "
                f"set site.feeds_url (e.g. {parts.scheme}://{parts.netloc}/feeds/)")


def _is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (credentials sent to it never cross a network)."""
    try:
        return host.lower() == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_sending(values: dict[str, Any], out: _Collector) -> None:
    """What `send` needs, checked for every command once digests have destinations."""
    digests = values.get("digests", {})
    if ((digests.get("lists") or digests.get("recipients"))
            and "digests.from" not in out.lines):  # (not there, not refused)
        out.add("digests", "digests.from",
                "is missing; digests.lists or digests.recipients gives them destinations, so "
                "their From: is needed (e.g. from: Socialism From Below <digest@example.org>)")
    refused = "unsubscribe" not in digests and "digests.unsubscribe" in out.lines
    if digests.get("recipients") and not refused:  # (a refused one is reported once)
        _check_one_click(digests.get("unsubscribe", ""), out)
    _check_smtp(values.get("smtp", {}), out)


_EXAMPLE = "https://example.org/unsubscribe?lang={lang}&address={address}&token={token}"


def _check_one_click(template: str, out: _Collector) -> None:
    """Subscribers need a working one-click link (RFC 8058): https, naming them, signed, and
    read by the endpoint (sfb_feeds.unsubscribe), which alone can check its token."""
    key = "digests.unsubscribe" if "digests.unsubscribe" in out.lines else "digests"
    missing = [name for name in ("{address}", "{token}") if name not in template]
    count, wrong = unreadable_fields(template)
    if not template.startswith("https://") or missing:
        needs = f" (it lacks {' and '.join(missing)})" if missing else ""
        out.add(key, "digests.unsubscribe",
                f"must be an https:// URL with {{address}} and {{token}}{needs}, because "
                f"digests.recipients mails each subscriber a one-click unsubscribe link (e.g. "
                f"{_EXAMPLE})")
    elif count > MAX_FIELDS:
        out.add(key, "digests.unsubscribe", f"has {count} query parameters, but the unsubscribe "
                f"endpoint reads at most {MAX_FIELDS}; keep lang={{lang}}, address={{address}} "
                "and token={token} and drop the others")
    elif wrong:
        out.add(key, "digests.unsubscribe", "must carry lang={lang}, address={address} and "
                "token={token} as parameters of its query, each once and as the whole value "
                f"(wrong or missing: {', '.join(wrong)}), because digests.recipients mails each "
                "subscriber a link that only the unsubscribe endpoint can check, and it reads "
                f"only those three; other fixed parameters may stay (e.g. {_EXAMPLE})")


def _check_smtp(smtp: dict[str, Any], out: _Collector) -> None:
    if "starttls" in smtp:
        if "security" in smtp:
            out.add("smtp", "smtp.starttls", "is the old name of smtp.security; keep only security")
        smtp["security"] = "starttls" if smtp.pop("starttls") else "none"
    if bool(smtp.get("username")) != bool(smtp.get("password_env")):
        out.add("smtp", "smtp", "username and password_env go together: set both (the password "
                "is read from the environment variable password_env names) or neither")
    host = smtp.get("host", "localhost")
    if smtp.get("username") and smtp.get("security", "none") == "none" and not _is_loopback(host):
        out.add("smtp", "smtp.security", f"is none, so the password would cross the network to "
                f"{host} in clear text; use starttls or ssl")


def _settings(path: Path, v: dict[str, Any]) -> Settings:
    base = path.parent
    site = v["site"]
    url = site["url"]
    digests = dict(v.get("digests", {}))
    if "from" in digests:
        digests["sender"] = digests.pop("from")
    if "recipients" in digests:
        digests["recipients"] = MappingProxyType(
            {lang: expand(base, name) for lang, name in digests["recipients"].items()})
    return Settings(
        config_path=path,
        site=SiteSettings(
            # (RSS requires a description: a site without one is described by its title)
            title=site["title"], description=site.get("description", site["title"]), url=url,
            feeds_url=site.get("feeds_url", url.rstrip("/") + "/feeds/"),
            author=site.get("author", site["title"]), timezone=site.get("timezone", "UTC"),
        ),
        templates_dir=expand(base, v["templates"]) if "templates" in v else None,
        feeds=FeedSettings(**v.get("feeds", {})), digests=DigestSettings(**digests),
        smtp=SmtpSettings(**v.get("smtp", {})), limits=LimitSettings(**v.get("limits", {})),
        **{f"{key}_dir": folder for key, folder in folders(base, v).items()},
    )


def _config_root(path: Path, shown: str) -> yaml.Node | None:
    """The config's node tree (None if empty), or ConfigError saying why it is not read."""
    try:
        return compose(decode(read_regular(path, 1 << 20)))  # (the sample's: 900 bytes)
    except TooLarge as exc:
        raise ConfigError([Problem(shown, f"is larger than {counted(exc.limit, 'byte')}; is "
                                   "it the config?")]) from None
    except OSError as exc:
        hint = " (run in the site's folder or pass --config PATH)" \
            if path.name == DEFAULT_CONFIG and isinstance(exc, FileNotFoundError) else ""
        raise ConfigError([Problem(shown, f"cannot read the config: {exc.strerror}{hint}")]) \
            from None
    except YamlProblem as exc:
        raise ConfigError([Problem(shown, exc.message, exc.line)]) from None


def load_settings(path: Path | None = None, *, recipients: bool = False) -> Settings:
    """Read the config file (default ``./sfb-feeds.yaml``); ConfigError lists every problem.
    With ``recipients``, each recipients file must be readable too (``check``)."""
    path = (path or Path(DEFAULT_CONFIG)).absolute()
    shown = display_path(path)
    root = _config_root(path, shown)
    if root is None:
        raise ConfigError([Problem(shown, "is empty; it needs at least site.title and site.url")])
    out = _Collector(shown)
    values = _read_top(root, out)
    if not out.problems:
        out.extend(path_problems(path.parent, values))
    if out.problems:
        raise ConfigError(out.problems)
    settings = _settings(path, values)
    if recipients:
        out.extend(unreadable_recipients(settings.digests.recipients))
    if out.problems:
        raise ConfigError(out.problems)
    return settings
