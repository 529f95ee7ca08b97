"""Frozen records that flow through the pipeline: settings, statements, outputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

FileStatus = tuple[str, int, int, int]  # a file as last seen: path, size, mtime (ns), inode
# A statement file as scanned: path, size, mtime (ns), inode, ctime (ns). The change time,
# which no program can set, tells an edit in place whose mtime was put back (cp -p).
StatementFile = tuple[str, int, int, int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteSettings:
    title: str
    description: str
    url: str
    feeds_url: str
    author: str
    timezone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        """The site's host name, for tag URIs, Message-IDs and List-Ids: ASCII, an
        international name in its IDNA form (``xn--``), as the feeds' links have it."""
        host = urlsplit(self.url).hostname or "localhost"
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError:  # (not a DNS name: an empty or too long label) escaped instead
            return quote(host, safe=".-")


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSettings:
    entries: int = 50
    websub_hub: str = ""  # a WebSub hub's URL: feeds link it, builds notify it of changes


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitSettings:
    """The largest statement file and excerpt read (``limits:`` in the config), in bytes."""

    file_bytes: int = 10 * 1024 * 1024
    excerpt_bytes: int = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSettings:
    week_starts: str = "monday"
    sender: str = ""  # the `from` key; "Name <address>"
    # language -> list address
    lists: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    unsubscribe: str = ""  # https:// or mailto: URL; "{lang}" is replaced by the language
    list_id: str = ""  # RFC 2919 List-Id domain part; default derived from site.url
    # language -> recipients file (absolute): `send` mails each subscriber a copy of its own
    recipients: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    unsubscribe_secret_env: str = "SFB_FEEDS_UNSUBSCRIBE_SECRET"  # holds the HMAC secret


SECURITY = ("starttls", "ssl", "none")  # smtp.security: STARTTLS, TLS from the start, plain


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    username: str = ""
    password_env: str = ""  # the environment variable holding the password
    security: str = "none"  # one of SECURITY
    rate: float | None = None  # at most this many messages a second; None: no pacing


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The whole site configuration, with every path made absolute."""

    config_path: Path
    site: SiteSettings
    statements_dir: Path
    output_dir: Path
    templates_dir: Path | None = None
    cache_dir: Path | None = None
    state_dir: Path | None = None  # the send ledger lives here; never delete it
    feeds: FeedSettings = field(default_factory=FeedSettings)
    digests: DigestSettings = field(default_factory=DigestSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)

    @property
    def state_folder(self) -> Path:
        """Where the send ledger, its lock, the suppression list and the hub's pending
        announcements live: ``state_dir``, else ``.sfb-state/`` beside the config."""
        return self.state_dir or self.config_path.parent / ".sfb-state"


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a record came from: file (as given to the user), line, 1-based record number."""

    path: str
    line: int
    record: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    """One statement in one language, validated.

    ``date`` and ``updated`` are timezone-aware. ``excerpt`` holds the paragraphs in order;
    ``truncated`` is true when the excerpt ended with ``...`` or ``…`` (the marker is kept
    in the last paragraph). ``fingerprint`` changes whenever any field changes.
    """

    id: str
    title: str
    date: datetime
    language: str
    excerpt: tuple[str, ...]
    truncated: bool = False
    url: str | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    translation_key: str | None = None
    updated: datetime
    draft: bool = False
    id_generated: bool = False
    source: Source
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class Output:
    """One file the build produces: a POSIX path relative to the output folder, and its bytes.

    ``key``, when known, is its render key (kept in the manifest; see ``incremental``)."""

    path: str
    data: bytes
    key: str = ""
