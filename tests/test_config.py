"""Site config: defaults, relative paths, and every mistake named with its line."""

from __future__ import annotations

import email
import io
import json
import re
from pathlib import Path

import pytest
from cli_run import run
from conftest import SITE_CONFIG, SiteMaker, snapshot

from sfb_feeds.cli import main
from sfb_feeds.config import load_settings
from sfb_feeds.errors import ConfigError, display_path

MINIMAL = "site:\n  title: T\n  url: https://example.org/\n"


def test_defaults_and_paths_relative_to_the_config(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "sfb-feeds.yaml").write_text(MINIMAL)
    settings = load_settings(folder / "sfb-feeds.yaml")
    assert settings.statements_dir == folder / "statements"
    assert settings.output_dir == folder / "feeds"
    assert settings.cache_dir == folder / ".sfb-cache"
    assert settings.templates_dir is None
    assert settings.site.timezone == "UTC"
    assert settings.site.feeds_url == "https://example.org/feeds/"
    assert settings.site.author == "T"
    assert settings.feeds.entries == 50
    assert settings.digests.week_starts == "monday"


def test_every_key_is_read(tmp_path: Path) -> None:
    (tmp_path / "my-templates" / "email").mkdir(parents=True)
    (tmp_path / "c.yaml").write_text(SITE_CONFIG + """\
statements: records
output: public/feeds
templates: my-templates
feeds:
  entries: 20
digests:
  week_starts: Sunday
  from: Digest <d@example.org>
  lists: {pl: pl@lists.example.org, PT-br: br@lists.example.org}
  unsubscribe: mailto:leave@example.org
  list_id: statements.example.org
smtp: {host: mail.example.org, port: 587, username: u, password_env: SMTP_PASS, starttls: true}
""")
    s = load_settings(tmp_path / "c.yaml")
    assert s.statements_dir == tmp_path / "records"
    assert s.output_dir == tmp_path / "public" / "feeds"
    assert s.templates_dir == tmp_path / "my-templates"
    assert s.site.timezone == "Europe/London"
    assert s.feeds.entries == 20
    assert s.digests.week_starts == "sunday"
    assert s.digests.sender == "Digest <d@example.org>"
    assert dict(s.digests.lists) == {"pl": "pl@lists.example.org", "pt-BR": "br@lists.example.org"}
    assert s.smtp.port == 587
    assert s.smtp.security == "starttls"  # the deprecated starttls: true


BAD_CONFIGS = [
    ("unknown top key", MINIMAL + "outptu: x\n", "c.yaml:4: outptu: unknown key "
     "(did you mean 'output'?)"),
    ("unknown site key", MINIMAL + "  titel: x\n", "c.yaml:4: site.titel: unknown key "
     "(did you mean 'title'?)"),
    ("missing url", "site:\n  title: T\n", "c.yaml:1: site.url: is missing; the site needs it"),
    ("bad timezone", MINIMAL + "  timezone: Mars/Olympus\n", "c.yaml:4: site.timezone: "
     "'Mars/Olympus' is not an IANA timezone (e.g. UTC, Europe/London)"),
    ("relative url", "site:\n  title: T\n  url: example.org\n", "c.yaml:3: site.url: "
     "'example.org' is not an absolute http(s) URL (e.g. https://example.org/x)"),
    ("entries zero", MINIMAL + "feeds:\n  entries: 0\n", "c.yaml:5: feeds.entries: '0' must be "
     "a whole number of at least 1"),
    *[(f"entries {written}", MINIMAL + f"feeds:\n  entries: {written}\n", "c.yaml:5: "
       f"feeds.entries: '{written}' must be a whole number of at least 1")
      # (digits to str.isdigit(), but not to int(), or not the digits written: fullwidth 10)
      for written in ("²", "٣", "\uff11\uff10")],
    ("smtp port in superscript", MINIMAL + "smtp:\n  port: ²⁵\n",
     "c.yaml:5: smtp.port: '²⁵' must be a whole number of at least 1"),
    ("limit of 5,000 digits", MINIMAL + "limits:\n  file_bytes: " + "9" * 5000 + "\n",
     "c.yaml:5: limits.file_bytes: " + "9" * 20 + "... has 5000 digits; give a whole number "
     "of at most 18"),
    ("weekday", MINIMAL + "digests:\n  week_starts: funday\n", "c.yaml:5: digests.week_starts: "
     "'funday' must be a day of the week (e.g. monday)"),
    ("list language", MINIMAL + "digests:\n  lists: {'../x': a@b}\n", "c.yaml:5: digests.lists: "
     "'../x' is not a BCP 47 language tag"),
    ("repeated key", MINIMAL + "  title: U\n", "c.yaml:4: site.title: appears twice; keep one"),
    ("header injection", MINIMAL + "digests:\n  list_id: \"a\\nBcc: x@evil.example\"\n",
     "c.yaml:5: digests.list_id: must be on one line (it goes into an email header)"),
    ("not an address", MINIMAL + "digests:\n  from: Socialism From Below\n",
     "c.yaml:5: digests.from: 'Socialism From Below' is not an email address "
     "(e.g. Name <list@example.org>)"),
    ("list not an address", MINIMAL + "digests:\n  lists: {pl: polish-list}\n",
     "c.yaml:5: digests.lists.pl: 'polish-list' is not an email address "
     "(e.g. Name <list@example.org>)"),
    ("author with an address (the W3C validator's ContainsEmail)",
     MINIMAL + "  author: Editors <editors@example.org>\n", "c.yaml:4: site.author: 'Editors "
     "<editors@example.org>' holds an email address (<editors@example.org>); give the name "
     "alone (feeds publish names only)"),
    ("yaml syntax", "site: [\n", "c.yaml:2: YAML syntax error: did not find expected node "
     "content"),
    ("not a mapping", "- a\n", "c.yaml:1: config: must be a mapping (site: ..., feeds: ...)"),
    ("control character", MINIMAL + "  description: a\x01\n",
     "c.yaml:4: contains the control character U+0001, which YAML files cannot carry; "
     "remove it"),
    ("list as a key", MINIMAL + "[a]: x\n", "c.yaml:4: [a]: unknown key"),
    ("alias", "site: &s\n  title: T\n  url: https://example.org/\nfeeds: *s\n",
     "c.yaml:4: YAML aliases (*name) are not allowed; write the value out in full"),
    ("binary title", "site:\n  title: !!binary aGVsbG8=\n  url: https://example.org/\n",
     "c.yaml:2: site.title: has the YAML tag !!binary, which is not allowed here; write the "
     "value as plain text"),
    ("custom tag", MINIMAL + "  timezone: !foo UTC\n", "c.yaml:4: site.timezone: has the "
     "YAML tag !foo, which is not allowed here; write the value as plain text"),
    ("int tag", MINIMAL + "feeds:\n  entries: !!int '5'\n", "c.yaml:5: feeds.entries: has "
     "the YAML tag !!int, which is not allowed here; write the value as plain text"),
    ("tag on a home folder", MINIMAL + "cache: !x ~\n", "c.yaml:4: cache: has the YAML tag "
     "!x, which is not allowed here; write the value as plain text"),
    ("tag on a section", "site: !x\n  title: T\n  url: https://example.org/\n", "c.yaml:1: "
     "site: has the YAML tag !x, which is not allowed here; remove it"),
    ("tag on the config", "!x\n" + MINIMAL, "c.yaml:1: config: has the YAML tag !x, which is "
     "not allowed here; remove it"),
    ("tag on a language mapping", MINIMAL + "digests:\n  from: d@example.org\n"
     "  lists: !!omap {pl: l@example.org}\n", "c.yaml:6: digests.lists: has the YAML tag "
     "!!omap, which is not allowed here; remove it"),
    ("tag on a list address", MINIMAL + "digests:\n  from: d@example.org\n"
     "  lists: {pl: !x l@example.org}\n", "c.yaml:6: digests.lists.pl: has the YAML tag "
     "!x, which is not allowed here; write the value as plain text"),
]


@pytest.mark.parametrize(("text", "message"), [pytest.param(t, m, id=i) for i, t, m in BAD_CONFIGS])
def test_bad_config(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "c.yaml")
    assert message in caught.value.messages()


def test_a_tag_that_changes_nothing_is_read_as_the_text(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("site:\n  title: !!str 1984\n  url: !!str "
                                     "https://example.org/\nfeeds: !!map\n  entries: !!int 5\n")
    settings = load_settings(tmp_path / "c.yaml")
    assert (settings.site.title, settings.feeds.entries) == ("1984", 5)


@pytest.mark.parametrize(("made", "problem"), [
    ((), "is not a folder"),
    (("notes",), "holds neither an email/ nor a pages/ folder of templates, so it would "
                 "override nothing"),
])
def test_a_templates_folder_that_overrides_nothing_is_refused(
        make_site: SiteMaker, made: tuple[str, ...], problem: str) -> None:
    """A misspelt ``templates:`` would leave the built-in templates in use without a word:
    every command refuses it, by line, and nothing is built."""
    config = make_site(config=MINIMAL + "templates: my-templats\n")
    for name in made:
        (config.parent / "my-templats" / name).mkdir(parents=True)
    for command in ("check", "build"):
        err = io.StringIO()
        assert main([command, "--config", str(config)], out=io.StringIO(), err=err) == 1
        folder = config.parent / "my-templats"
        assert err.getvalue().splitlines() == [
            f"error: {display_path(config)}:4: templates: {folder} {problem}"]
    assert not (config.parent / "feeds").exists()
    from sfb_feeds.digest.templates import FOLDER
    from sfb_feeds.feeds.index_page import PAGES_FOLDER
    from sfb_feeds.folders import TEMPLATE_FOLDERS

    assert TEMPLATE_FOLDERS == (FOLDER, PAGES_FOLDER)  # the folders the renderers read
    (config.parent / "my-templats" / "pages").mkdir(parents=True, exist_ok=True)
    assert main(["build", "--config", str(config)], out=io.StringIO(), err=io.StringIO()) == 0


def test_a_required_key_given_wrongly_is_not_also_called_missing(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("site:\n  title: [a]\n  url: https://example.org/\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "c.yaml")
    assert caught.value.messages() == ["c.yaml:2: site.title: must be text, not a list"]


def test_missing_config_exits_1_with_a_hint(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main(["check"], out=io.StringIO(), err=err) == 1
    assert err.getvalue().startswith("error: sfb-feeds.yaml: cannot read the config: No such file")
    assert "--config PATH" in err.getvalue()


def test_config_errors_exit_1_and_list_all(make_site: SiteMaker) -> None:
    config = make_site(config=MINIMAL + "  titel: x\nfeeds:\n  entrys: 3\n")
    err = io.StringIO()
    assert main(["build", "--config", str(config)], out=io.StringIO(), err=err) == 1
    assert len(err.getvalue().splitlines()) == 2


@pytest.mark.parametrize(("text", "messages"), [
    ("site:\n  title: [a]\n  title: U\n  url: https://example.org/\n",
     ["c.yaml:2: site.title: must be text, not a list",
      "c.yaml:3: site.title: appears twice; keep one"]),
    (MINIMAL + "feeds:\n  entries: 0\n  entries: x\n",
     ["c.yaml:5: feeds.entries: '0' must be a whole number of at least 1",
      "c.yaml:6: feeds.entries: appears twice; keep one"]),
    (MINIMAL + "digests: {lists: [a], lists: {pl: pl@example.org}}\n",
     ["c.yaml:4: digests.lists: must map language tags to list addresses "
      "(pl: list@example.org)", "c.yaml:4: digests.lists: appears twice; keep one"]),
])
def test_a_key_repeated_after_an_invalid_copy_is_reported(
        make_site: SiteMaker, tmp_path: Path, text: str, messages: list[str]) -> None:
    """Every problem at once: the repeat is named even when the first copy was refused."""
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "c.yaml")
    assert caught.value.messages() == messages
    config = make_site(config=text)
    before = sorted(config.parent.rglob("*"))
    err = io.StringIO()
    assert main(["build", "--config", str(config)], out=io.StringIO(), err=err) == 1
    shown = display_path(config)
    assert err.getvalue() == "".join(f"error: {m.replace('c.yaml', shown)}\n" for m in messages)
    assert sorted(config.parent.rglob("*")) == before


@pytest.mark.parametrize("second", ["pl", "PL"])
def test_a_language_given_twice_is_reported(tmp_path: Path, second: str) -> None:
    """``pl`` twice (or ``pl`` and ``PL``, one tag): the last address was taken silently."""
    (tmp_path / "c.yaml").write_text(MINIMAL + "digests:\n  from: D <d@example.org>\n  lists:\n"
                                     f"    pl: a@example.org\n    {second}: b@example.org\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "c.yaml")
    assert caught.value.messages() == ["c.yaml:8: digests.lists.pl: appears twice; keep one"]


def test_a_refused_from_is_not_also_called_missing(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(MINIMAL + "digests:\n  from: nobody\n"
                                     "  lists: {pl: pl@example.org}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "c.yaml")
    assert caught.value.messages() == ["c.yaml:5: digests.from: 'nobody' is not an email "
                                       "address (e.g. Name <list@example.org>)"]


@pytest.mark.parametrize(("text", "key", "line"), [
    (MINIMAL + "statements: null\n", "statements", 4),
    (MINIMAL + "output: Null\n", "output", 4),
    (MINIMAL + "cache: NULL\n", "cache", 4),
    (MINIMAL + "templates: null\n", "templates", 4),
    (MINIMAL + "digests:\n  recipients: {pl: null}\n", "digests.recipients.pl", 5),
    (MINIMAL + "digests:\n  recipients:\n    en: en.txt\n    pl: null\n",
     "digests.recipients.pl", 7),
    (MINIMAL + "digests:\n  lists:\n    en: en@example.org\n    pl: ~\n", "digests.lists.pl", 7),
    ("site:\n  title: null\n  url: https://example.org/\n", "site.title", 2),
    (MINIMAL + "smtp:\n  host: ~\n", "smtp.host", 5),
])
def test_a_null_value_is_refused_at_its_line(make_site: SiteMaker, tmp_path: Path, text: str,
                                             key: str, line: int) -> None:
    """YAML's null (``null``, ``~``) is no value: it was read as the text "null" (a folder
    of that name; the statements one "not found" with no line)."""
    config = make_site(config=text)
    before = sorted(tmp_path.rglob("*"))
    remedy = "give it a value" + ("" if key == "site.title" else " or remove the field")
    for command in ("check", "build"):
        assert run([command, "--config", str(config)]) == (
            1, "", f"error: site/sfb-feeds.yaml:{line}: {key}: is empty; {remedy}\n")
    assert sorted(tmp_path.rglob("*")) == before


def test_a_null_record_field_is_refused_too(make_site: SiteMaker) -> None:
    """The same text reader reads records: ``title: null`` was published as "null"."""
    config = make_site({"a.yaml": "title: null\ndate: 2015-09-04\nlanguage: en\nexcerpt: x\n"},
                       config=MINIMAL)
    assert run(["check", "--config", str(config)]) == (
        1, "", "error: site/statements/a.yaml:1: record 1: title: is empty; give it a value\n")


FOLDER_URL = ("has a query or a fragment ('?' or '#'): the feeds' addresses add their "
              "paths to it (e.g. pl/atom.xml), which would fall into the query or the fragment; "
              "leave it out")
QUERY_URLS = [
    ("  feeds_url: https://example.org/feeds/?x=1\n",
     f"4: site.feeds_url: 'https://example.org/feeds/?x=1' {FOLDER_URL}"),
    ("  feeds_url: https://example.org/feeds#top\n",
     f"4: site.feeds_url: 'https://example.org/feeds#top' {FOLDER_URL}"),
]


@pytest.mark.parametrize(("config", "message"), [
    *[(MINIMAL + line, message) for line, message in QUERY_URLS],
    ("site:\n  title: T\n  url: https://example.org/?p=home\n", "3: site.url: "
     "'https://example.org/?p=home' has a query or a fragment ('?' or '#'), so the default "
     "site.feeds_url (site.url with feeds/ added) would be no folder; set site.feeds_url "
     "(e.g. https://example.org/feeds/)"),
])
def test_a_feeds_url_with_a_query_or_a_fragment_is_refused(
        make_site: SiteMaker, config: str, message: str) -> None:
    """Feed addresses are ``site.feeds_url`` (by default ``site.url`` + ``feeds/``) with a
    path added: after a ``?`` or ``#`` that path fell into the query or the fragment, so every
    self link, JSON Feed ``feed_url``, OPML ``xmlUrl`` and autodiscovery link named one page
    (``https://example.org/feeds/?x=1/en/feed.json``). Refused by line; nothing changes."""
    site = make_site()
    assert run(["build", "--config", str(site)])[0] == 0
    before = snapshot(site.parent / "feeds")
    site.write_text(config, encoding="utf-8")
    for command in ("check", "build"):
        assert run([command, "--config", str(site)]) == (
            1, "", f"error: site/sfb-feeds.yaml:{message}\n")
    assert snapshot(site.parent / "feeds") == before


def test_a_site_url_with_a_query_is_fine_with_its_own_feeds_url(make_site: SiteMaker) -> None:
    site = make_site(config="site:\n  title: T\n  url: https://example.org/?p=home\n"
                            "  feeds_url: https://example.org/feeds/\n")
    assert run(["build", "--config", str(site)])[0] == 0
    feed = json.loads((site.parent / "feeds" / "en" / "feed.json").read_bytes())
    assert (feed["home_page_url"], feed["feed_url"]) == (
        "https://example.org/?p=home", "https://example.org/feeds/en/feed.json")


def test_a_site_url_with_an_international_domain_is_published_in_its_ascii_form(
        make_site: SiteMaker) -> None:
    """``https://bücher.example/``: the site's domain goes into tag ids, Message-IDs and
    List-Ids, which are ASCII; build stopped at the first digest with an internal error
    (exit 70, UnicodeEncodeError) after check had passed. It is the IDNA (``xn--``) form
    everywhere, as in the feeds' links."""
    record = "title: T\ndate: 2015-09-04\nlanguage: en\nexcerpt: e\n"
    site = make_site({"a.yaml": record}, config="site:\n  title: T\n  url: https://Bücher"
                     ".example/\n  feeds_url: https://example.org/feeds/\n")
    tag = "tag:xn--bcher-kva.example,2015-09-04:en/t"
    warning = (f"warning: site/statements/a.yaml:1: record 1: id: not set; using '{tag}', which "
               "changes if the title, date or language is edited or a url is added (add an "
               "id: to keep it stable)\n")
    assert run(["check", "--config", str(site)]) == (
        0, "1 statement OK in 1 language (0 scheduled, 0 drafts)\n  en: 1\n", warning)
    assert run(["build", "--config", str(site)]) == (
        0, "13 written, 0 unchanged, 0 removed\n", "")
    feeds = site.parent / "feeds"
    feed = json.loads((feeds / "en" / "feed.json").read_bytes())
    assert (feed["home_page_url"], [item["id"] for item in feed["items"]]) == (
        "https://xn--bcher-kva.example/", [tag])
    message = email.message_from_bytes((feeds / "digests" / "en" / "2015-W36.eml").read_bytes())
    assert re.fullmatch(r"<digest\.2015-W36\.en\.[0-9a-f]+@xn--bcher-kva\.example>",
                        message["Message-ID"])
    assert message["List-Id"] == "T <en.digests.xn--bcher-kva.example>"


def _credentials(shown: str, bare: str) -> str:
    return (f"{shown!r} holds a user name or password before its host (not shown here), "
            "which every feed, page and mail header would publish; remove it (e.g. "
            f"{bare}) and give the server its credentials some other way")


CREDENTIALS = [
    ("site:\n  title: T\n  url: https://ann:secret@example.org/\n",
     "3: site.url: " + _credentials("https://…@example.org/", "https://example.org/")),
    ("site:\n  title: T\n  url: https://ann@example.org/\n",
     "3: site.url: " + _credentials("https://…@example.org/", "https://example.org/")),
    (MINIMAL + "  feeds_url: https://ann:secret@example.org/feeds/\n",
     "4: site.feeds_url: " + _credentials("https://…@example.org/feeds/",
                                          "https://example.org/feeds/")),
    (MINIMAL + "feeds:\n  websub_hub: http://ann:s%40cret@hub.example:8080/\n",
     "5: feeds.websub_hub: " + _credentials("http://…@hub.example:8080/",
                                            "http://hub.example:8080/")),
    (MINIMAL + "digests:\n  unsubscribe: https://ann:secret@example.org/leave?lang={lang}\n",
     "5: digests.unsubscribe: " + _credentials("https://…@example.org/leave?lang={lang}",
                                               "https://example.org/leave?lang={lang}")),
]


@pytest.mark.parametrize(("config", "message"), CREDENTIALS)
def test_a_url_with_a_user_name_or_password_is_refused(
        make_site: SiteMaker, config: str, message: str) -> None:
    """``https://user:password@host/`` as site.url, site.feeds_url, feeds.websub_hub or
    digests.unsubscribe was accepted, and the credentials published in every feed's links,
    the subscribe page and the mails' headers. Refused by line, without repeating them;
    nothing changes."""
    site = make_site()
    assert run(["build", "--config", str(site)])[0] == 0
    before = snapshot(site.parent / "feeds")
    site.write_text(config, encoding="utf-8")
    for command in ("check", "build"):
        code, out, err = run([command, "--config", str(site)])
        assert (code, out, err) == (1, "", f"error: site/sfb-feeds.yaml:{message}\n")
        assert "secret" not in err and "ann" not in err
    assert snapshot(site.parent / "feeds") == before


def test_an_at_sign_in_a_path_or_a_mailto_address_is_no_user_name(make_site: SiteMaker) -> None:
    site = make_site(config="site:\n  title: T\n  url: https://example.org/@ann/\n"
                            "digests:\n  unsubscribe: mailto:leave@example.org\n")
    assert run(["check", "--config", str(site)])[0] == 0
