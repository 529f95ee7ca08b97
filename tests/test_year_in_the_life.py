"""A year of cron on a small site: the README's promises, checked after every run.

The real CLI runs in subprocesses, `build --quiet` at every tick and `send --quiet` at the
hourly ones, with `--now` moving through 2016 (Europe/London, both clock changes and the
year's end included) week by week, and hour by hour around some weeks' ends. Between ticks
an editor adds statements (one scheduled for a week's last hour), fixes typos (with and
without moving `updated`), adds a translation of an old statement, deletes statements (a
language's only one too), renames the site, adds a language, edits a site template and
deletes the cache; pl subscribers join, unsubscribe and are taken off the file. The output
folder is served by a real nginx when it is installed. After each tick:

- every run exits 0 and prints nothing (`--quiet`);
- each language's entries (its feed and archives) are exactly its published statements,
  each under the id it always had; an entry's `updated` moves only when its record's
  `updated` does, and its text changes only when an edit touched it; a feed's `updated`
  (RSS `lastBuildDate`) is its newest entry's;
- a file whose bytes did not change keeps its modification time (and nginx answers 304 to
  its old ETag); a tick with no edit changes no file; an edit in one language leaves the
  other languages' files alone;
- the relay gets each week's digest once per list and per subscriber (while subscribed,
  addressed to them with their own link), in the language, with that week's statements, at
  the first hourly run after the week ends, and never again.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import REPO
from lxml import etree
from smtp_faults import FaultyHandler, aiosmtpd_server

LONDON = ZoneInfo("Europe/London")
ATOM = "{http://www.w3.org/2005/Atom}"
START = date(2016, 1, 4)  # a Monday: 2016-W01
NEVER = datetime.min.replace(tzinfo=LONDON)
MANIFEST = ".sfb-feeds-manifest.json"
LISTS = {"en": "en@lists.example.org", "pl": "pl@lists.example.org",
         "tr": "tr@lists.example.org"}
CONFIG = """\
site:
  title: {title}
  url: https://example.org/
  timezone: Europe/London
statements: statements
output: feeds
templates: templates
state: state
feeds:
  entries: 3
digests:
  from: Digest <digest@example.org>
  lists: {{{lists}}}
  recipients: {{pl: pl.txt}}
  unsubscribe: "https://example.org/unsubscribe?lang={{lang}}&address={{address}}&token={{token}}"
smtp: {{host: 127.0.0.1, port: {port}}}
"""


@dataclass(frozen=True)
class Statement:
    number: int
    language: str
    date: str  # YYYY-MM-DD, or a date-time with its offset
    excerpt: str = "Text."
    translation_key: str = ""
    updated: str = ""

    @property
    def title(self) -> str:
        return f"Statement {self.number} {self.language}"

    @property
    def published(self) -> datetime:
        if "T" in self.date:
            return datetime.fromisoformat(self.date)
        return datetime.combine(date.fromisoformat(self.date), datetime.min.time(), LONDON)

    def record(self) -> str:
        extra = "".join(f"{key}: {value}\n" for key, value in (
            ("translation_key", self.translation_key), ("updated", self.updated)) if value)
        return (f"id: urn:sfb:s{self.number}\ntitle: {self.title}\ndate: {self.date}\n"
                f"language: {self.language}\nexcerpt: {self.excerpt}\n{extra}")


@dataclass
class Site:
    """The site on disk and what the editor has put in it."""

    root: Path
    port: int
    title: str = "Year Site"
    languages: tuple[str, ...] = ("en", "pl")
    statements: dict[int, Statement] = field(default_factory=dict)
    subscribers: tuple[str, ...] = ("ann@example.org", "bob@example.org")
    unsubscribed: set[str] = field(default_factory=set)

    @property
    def config(self) -> Path:
        return self.root / "sfb-feeds.yaml"

    def write_config(self) -> None:
        lists = ", ".join(f"{lang}: {LISTS[lang]}" for lang in self.languages)
        self.config.write_text(CONFIG.format(title=self.title, lists=lists, port=self.port))
        aged(self.config)

    def write_subscribers(self) -> None:
        """pl.txt, as the README asks: a new version renamed into place."""
        aged(self.root / "pl.txt.new", "".join(f"{a}\n" for a in self.subscribers))
        (self.root / "pl.txt.new").replace(self.root / "pl.txt")

    def recipients(self, language: str) -> set[str]:
        """Who is mailed a digest in ``language`` now: its list, and pl's subscribers."""
        mailed = {LISTS[language]}
        if language == "pl":
            mailed |= set(self.subscribers) - self.unsubscribed
        return mailed

    def put(self, statement: Statement) -> None:
        self.statements[statement.number] = statement
        aged(self.root / "statements" / f"s{statement.number}.yaml", statement.record())

    def delete(self, number: int) -> None:
        del self.statements[number]
        (self.root / "statements" / f"s{number}.yaml").unlink()

    def published(self, now: datetime, language: str) -> dict[str, Statement]:
        return {f"urn:sfb:s{s.number}": s for s in self.statements.values()
                if s.language == language and s.published <= now}


def aged(path: Path, text: str | None = None) -> None:
    """Write ``text`` to ``path`` (if given) and date it an hour back: an editor's save is
    not in the very second of a build (test_ops_build.age says why that matters)."""
    if text is not None:
        path.write_text(text)
    moment = path.stat().st_mtime - 3600
    os.utime(path, (moment, moment))


def cli(site: Site, *command: str) -> None:
    """Run `sfb-feeds COMMAND --quiet` in a subprocess: exit 0, nothing said."""
    env = dict(os.environ, SFB_FEEDS_SEND_BACKOFF="0",
               SFB_FEEDS_UNSUBSCRIBE_SECRET="a year's secret")
    done = subprocess.run(
        [sys.executable, "-m", "sfb_feeds", *command, "--quiet", "--config", str(site.config)],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), command


# ---- what the output folder holds --------------------------------------------------------

Files = dict[str, tuple[bytes, int]]


def snapshot(folder: Path) -> Files:
    """Every file's bytes and mtime: the outputs and the manifest (not the lock, which
    each build that writes takes)."""
    return {path.relative_to(folder).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file() and path.name != ".sfb-feeds.lock"}


def served(files: Files) -> Files:
    return {path: stamp for path, stamp in files.items() if not path.startswith(".")}


Entries = dict[str, tuple[str, bytes]]  # id -> (updated, the entry without its updated)


def entries_of(document: Path) -> Entries:
    found: Entries = {}
    for entry in etree.parse(str(document)).getroot().iter(f"{ATOM}entry"):
        updated = entry.find(f"{ATOM}updated")
        assert updated is not None and updated.text
        stamp = updated.text
        entry.remove(updated)
        ident = entry.findtext(f"{ATOM}id")
        assert ident and ident not in found
        found[ident] = (stamp, etree.tostring(entry, method="c14n", exclusive=True))
    return found


def language_entries(feeds: Path, language: str) -> Entries:
    """A language's entries: its subscription feed and its archives, each entry once."""
    entries = entries_of(feeds / language / "atom.xml")
    for archive in sorted((feeds / language / "archive").glob("*.xml")):
        more = entries_of(archive)
        assert not more.keys() & entries.keys(), archive
        entries.update(more)
    return entries


def check_feed_dates(feeds: Path, language: str) -> None:
    """A feed's `updated` and RSS `lastBuildDate` are its newest entry's."""
    root = etree.parse(str(feeds / language / "atom.xml")).getroot()
    newest = max(datetime.fromisoformat(e.findtext(f"{ATOM}updated") or "")
                 for e in root.iter(f"{ATOM}entry"))
    assert datetime.fromisoformat(root.findtext(f"{ATOM}updated") or "") == newest
    built = etree.parse(str(feeds / language / "rss.xml")).getroot().findtext(
        "channel/lastBuildDate")
    assert parsedate_to_datetime(built or "") == newest.replace(microsecond=0)
    atom_ids = [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")]
    rss = feedparser.parse((feeds / language / "rss.xml").read_bytes())
    assert not rss.bozo and [e.id for e in rss.entries] == atom_ids
    items = json.loads((feeds / language / "feed.json").read_bytes())["items"]
    assert [i["id"] for i in items] == atom_ids
    assert [datetime.fromisoformat(i["date_modified"]) for i in items] == [  # to the second:
        datetime.fromisoformat(e.findtext(f"{ATOM}updated") or "").replace(microsecond=0)
        for e in root.iter(f"{ATOM}entry")]  # Atom's fraction is only against DuplicateUpdated


# ---- the week's digests ------------------------------------------------------------------

def week_of(moment: datetime) -> str:
    year, week, _ = moment.astimezone(LONDON).isocalendar()
    return f"{year}-W{week:02d}"


def week_end(week: str) -> datetime:
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    return datetime.combine(monday + timedelta(days=7), datetime.min.time(), LONDON)


Copy = tuple[str, str, str]  # language, week, recipient


def due_copies(site: Site, since: datetime, now: datetime) -> set[Copy]:
    """(language, week, recipient) of each copy of a digest whose week ended after
    ``since``, up to ``now``, to each of its recipients now."""
    return {(s.language, week_of(s.published), recipient)
            for s in site.statements.values()
            if s.language in site.languages and since < week_end(week_of(s.published)) <= now
            for recipient in site.recipients(s.language)}


def check_digest(site: Site, message: email.message.EmailMessage, recipients: list[str],
                 now: datetime) -> Copy:
    """The copy's (language, week, recipient), having checked its language, its
    statements, and that a subscriber's copy is addressed to them, with their own link."""
    week, language = re.findall(r"<digest\.(\d{4}-W\d\d)\.([a-z]+)\.", message["Message-ID"])[0]
    assert len(recipients) == 1 and message["Content-Language"] == language
    if recipients[0] != LISTS[language]:
        assert message["To"] == recipients[0]
        assert f"address={recipients[0].replace('@', '%40')}" in message["List-Unsubscribe"]
    text = message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    shown = set(re.findall(r"Statement \d+ [a-z]+", body))
    expected = {s.title for s in site.published(now, language).values()
                if week_of(s.published) == week}
    assert shown == expected, (week, language)
    return language, week, recipients[0]


# ---- nginx, if installed -----------------------------------------------------------------

@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[str | None]:
    """The base URL of the site's output folder served by nginx, or None without one."""
    from served_promises import free_port, wait_for
    from test_ops_nginx import NGINX, nginx_conf
    if NGINX is None:
        yield None
        return
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    (prefix / "nginx.conf").write_text(nginx_conf(prefix, tmp_path / "site", port))
    server = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                               "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        wait_for(server, port, lambda: "nginx stopped")
        yield f"http://127.0.0.1:{port}/feeds/"
    finally:
        server.terminate()
        server.wait()


def etags(base: str | None, files: Files) -> dict[str, str]:
    from served_promises import fetch
    if base is None:
        return {}
    tags = {}
    for path, (data, _) in files.items():
        status, headers, body = fetch(base + path)
        assert (status, body) == (200, data), path
        tags[path] = headers["ETag"]
    return tags


def check_revalidation(base: str, before: dict[str, str], unchanged: set[str]) -> None:
    """Each unchanged file answers its old ETag with 304 Not Modified."""
    from served_promises import fetch
    for path in sorted(unchanged & before.keys()):
        status, _, _ = fetch(base + path, **{"If-None-Match": before[path]})
        assert status == 304, path


# ---- the year ----------------------------------------------------------------------------

def at(week: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Local time in London: ``day`` 0 is the Monday of week ``week`` (0: 2016-W01)."""
    moment = datetime.combine(START + timedelta(weeks=week, days=day), datetime.min.time())
    return moment.replace(hour=hour, minute=minute, tzinfo=LONDON)


def day(week: int, weekday: int) -> str:
    return (START + timedelta(weeks=week, days=weekday)).isoformat()


EVERYTHING = ("",)


@dataclass(frozen=True)
class Edit:
    """What an editor did, and what it may change: files under the path prefixes ``files``,
    the text of the entries ``texts`` (ids) and the ``updated`` of ``bumps``."""

    name: str
    files: tuple[str, ...] = EVERYTHING
    texts: frozenset[str] = frozenset()
    bumps: frozenset[str] = frozenset()


def languages_only(*languages: str) -> tuple[str, ...]:
    """Prefixes of every file but other languages' own (theirs: `<l>/`, `digests/<l>/`)."""
    own = ("atom.xml", "rss.xml", "feed.json", "feeds.opml", "index.html")
    return own + tuple(f"{p}{lang}/" for lang in languages for p in ("", "digests/"))


def ids(*numbers: int) -> frozenset[str]:
    return frozenset(f"urn:sfb:s{n}" for n in numbers)


class Editor:
    """The site's editor: ``week<N>`` is the edit of week N (made on its Thursday morning)."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def edits(self) -> dict[int, Callable[[], Edit]]:
        return {int(name[4:]): getattr(self, name) for name in dir(self)
                if re.fullmatch(r"week\d+", name)}
    def week0(self) -> Edit:
        site = self.site
        site.put(Statement(1, "en", day(0, 2), excerpt="Teh text."))
        site.put(Statement(2, "en", day(0, 3)))
        site.put(Statement(3, "pl", day(0, 2), excerpt="Tekts."))
        return Edit("first statements")

    def week1(self) -> Edit:
        site = self.site
        site.put(Statement(4, "en", day(1, 1)))
        site.put(Statement(5, "en", "2016-01-28T10:00:00+00:00"))  # 2016-W04's Thursday
        return Edit("a statement, and one scheduled", languages_only("en"))

    def week5(self) -> Edit:
        site = self.site
        site.put(replace(site.statements[1], excerpt="The text."))
        return Edit("a typo fixed, updated left", languages_only("en"), texts=ids(1))

    def week6(self) -> Edit:
        site = self.site
        site.put(replace(site.statements[1], translation_key="k1"))
        site.put(Statement(6, "pl", day(6, 2), translation_key="k1"))
        return Edit("a translation of an old statement", languages_only("en", "pl"),
                    texts=ids(1))

    def week8(self) -> Edit:
        site = self.site
        site.delete(2)
        return Edit("a statement deleted", languages_only("en"))

    def week9(self) -> Edit:
        self.site.subscribers = (*self.site.subscribers, "cat@example.org")
        self.site.write_subscribers()
        return Edit("a subscriber joins", files=())

    def week15(self) -> Edit:
        cli(self.site, "unsubscribe", "bob@example.org", "--lang", "pl")
        self.site.unsubscribed.add("bob@example.org")
        return Edit("a subscriber leaves", files=())

    def week40(self) -> Edit:
        self.site.subscribers = self.site.subscribers[1:]
        self.site.write_subscribers()
        return Edit("a subscriber taken off the file", files=())

    def week10(self) -> Edit:
        site = self.site
        site.title = "Year Site Renamed"
        site.write_config()
        return Edit("the site renamed", texts=ids(*site.statements))

    def week11(self) -> Edit:
        site = self.site
        site.put(Statement(12, "en", day(11, 2)))
        return Edit("a statement in the week the clocks go forward", languages_only("en"))

    def week13(self) -> Edit:
        site = self.site
        site.languages = (*site.languages, "tr")
        site.write_config()
        site.put(Statement(7, "tr", day(13, 2)))
        # every feed links the other languages' feeds (rel="related"): theirs change too
        related = tuple(f"{lang}/{name}" for lang in ("en", "pl")
                        for name in ("atom.xml", "rss.xml"))
        return Edit("a language added", languages_only("tr") + related)

    def week16(self) -> Edit:
        site = self.site
        template = site.root / "templates" / "email" / "digest.txt"
        aged(template, template.read_text() + "{{ '-- edited by hand' }}\n")
        return Edit("a site template edited",
                    ("digests/", *(f"{lang}/digests.xml" for lang in site.languages)))

    def week20(self) -> Edit:
        site = self.site
        site.put(replace(site.statements[3], excerpt="Tekst.", updated=day(20, 2)))
        return Edit("a typo fixed, updated moved", languages_only("pl"), ids(3), ids(3))

    def week30(self) -> Edit:
        site = self.site
        site.put(Statement(8, "en", day(30, 1)))
        site.put(Statement(9, "en", day(30, 2)))
        # scheduled for the week's last hour in London (BST), 22:30 in UTC
        site.put(Statement(13, "en", "2016-08-07T23:30:00+01:00"))
        return Edit("statements: older ones move to the archive", languages_only("en"))

    def week45(self) -> Edit:
        self.site.delete(7)
        related = tuple(f"{lang}/{name}" for lang in ("en", "pl")
                        for name in ("atom.xml", "rss.xml"))
        return Edit("a language's only statement deleted", languages_only("tr") + related)

    def week47(self) -> Edit:
        shutil.rmtree(self.site.root / ".sfb-cache")
        return Edit("the cache deleted (README: safe to delete)", files=())

    def week42(self) -> Edit:
        site = self.site
        site.put(Statement(10, "pl", day(42, 2)))
        return Edit("a statement in the week the clocks go back", languages_only("pl"))

    def week51(self) -> Edit:
        site = self.site
        site.put(Statement(11, "en", day(51, 2)))
        return Edit("a statement in the year's last week (2016-W52)", languages_only("en"))


HOURLY = {0, 11, 30, 42, 51}  # weeks whose end is watched hour by hour (clock changes: 11, 42)
QUIET = {24, 36, 46}  # weeks with no edit, but a tick: nothing may change


def ticks(edits: dict[int, Callable[[], Edit]]) -> Iterator[tuple[datetime, bool, int | None]]:
    """(clock, whether `send` runs too, the week whose edit comes first) of each tick."""
    for week in range(52):
        if week in edits:
            yield at(week, 3, 9, 5), False, week
        if week == 3:  # before and after a scheduled statement's time
            yield at(3, 3, 9, 55), False, None
            yield at(3, 3, 10, 5), False, None
        if week in HOURLY:
            yield at(week, 6, 22, 30), True, None
            yield at(week, 6, 23, 30), True, None
        if week in edits or week in HOURLY or week in QUIET or week == 3:
            yield at(week + 1, 0, 0, 30), True, None
        if week in HOURLY:
            yield at(week + 1, 0, 1, 30), True, None


@dataclass
class Year:
    site: Site
    handler: FaultyHandler
    base: str | None
    files: Files = field(default_factory=dict)
    entries: dict[str, Entries] = field(default_factory=dict)
    last_send: datetime = NEVER
    last_tick: datetime = NEVER
    received: int = 0
    sent: Counter[Copy] = field(default_factory=Counter)

    @property
    def feeds(self) -> Path:
        return self.site.root / "feeds"

    def tick(self, now: datetime, send: bool, edit: Edit | None) -> None:
        tags = etags(self.base, served(self.files))
        cli(self.site, "build", "--now", now.isoformat())
        if send:
            cli(self.site, "send", "--now", now.isoformat())
        files = snapshot(self.feeds)
        self.check_files(files, now, edit)
        self.check_entries(now, edit)
        if self.base is not None:
            check_revalidation(self.base, tags, {p for p in served(files) if p in self.files
                                                 and files[p] == self.files[p]})
        if send:
            self.check_mail(now)
        self.files, self.last_tick = files, now

    def check_files(self, files: Files, now: datetime, edit: Edit | None) -> None:
        same_bytes = {p for p in files.keys() & self.files.keys()
                      if files[p][0] == self.files[p][0]}
        touched = sorted(p for p in same_bytes if files[p][1] != self.files[p][1])
        assert touched == [], f"{now}: {touched}"
        changed = set(files.keys() ^ self.files.keys()) | (files.keys() - same_bytes)
        appeared = any(self.last_tick < s.published <= now
                       for s in self.site.statements.values())
        allowed = edit.files if edit else EVERYTHING if appeared else ()
        if changed - {MANIFEST}:  # it records each file's hash and mtime
            allowed = (*allowed, MANIFEST)
        assert {p for p in changed if not p.startswith(allowed)} == set(), (now, edit)
        assert changed or not edit or not edit.files, f"{edit} changed nothing"

    def check_entries(self, now: datetime, edit: Edit | None) -> None:
        published = {s.language for s in self.site.statements.values() if s.published <= now}
        assert published == {p.name for p in self.feeds.iterdir() if p.is_dir()} - {"digests"}
        for language in sorted(published):
            entries = language_entries(self.feeds, language)
            assert entries.keys() == self.site.published(now, language).keys(), now
            before = self.entries.get(language, {})
            for ident in entries.keys() & before.keys():
                (stamp, text), (old_stamp, old_text) = entries[ident], before[ident]
                assert stamp == old_stamp or (edit and ident in edit.bumps), (ident, now)
                assert text == old_text or (edit and ident in edit.texts), (ident, now)
            check_feed_dates(self.feeds, language)
            self.entries[language] = entries
        check_feed_dates(self.feeds, ".")  # every language together

    def check_mail(self, now: datetime) -> None:
        with self.handler.received.lock:
            messages = self.handler.received.messages[self.received:]
        self.received += len(messages)
        got = []
        for recipients, data in messages:
            message = email.message_from_bytes(data, policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            got.append(check_digest(self.site, message, recipients, now))
        assert sorted(got) == sorted(due_copies(self.site, self.last_send, now)), now
        self.sent.update(got)
        self.last_send = now


def test_a_year_of_cron_keeps_the_promises(tmp_path: Path, nginx: str | None) -> None:
    handler = FaultyHandler(keep=True)
    with aiosmtpd_server(handler) as port:
        site = Site(tmp_path / "site", port)
        (site.root / "statements").mkdir(parents=True)
        shutil.copytree(REPO / "templates" / "email", site.root / "templates" / "email")
        site.write_config()
        site.write_subscribers()
        year = Year(site, handler, nginx)
        edits = Editor(site).edits()
        for now, send, edited in ticks(edits):
            year.tick(now, send, edits[edited]() if edited is not None else None)
    assert set(year.sent.values()) == {1}
    # the lists' 10; ann's and bob's W01 and W07 (bob leaves, ann is taken off the file,
    # before W43); cat's W43 (she joins after W07 went out)
    assert len(year.sent) == 10 + 5
