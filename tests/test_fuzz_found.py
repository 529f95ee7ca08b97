"""Inputs a user can write that a mutation fuzzer found ending in an internal error (exit
70), or passing `check` yet refused by `build`: each must be a clear error naming the file,
the line and the key or field, with no output written."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker, snapshot

TOO_LONG = "n" * 300  # one name longer than any filesystem here takes (255 bytes)


@pytest.mark.parametrize("key", ["statements", "output", "cache", "state", "templates"])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_folder_name_too_long_for_the_system_is_a_config_error(
        make_site: SiteMaker, tmp_path: Path, key: str, command: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"{key}: {TOO_LONG}\n")
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert f"site/sfb-feeds.yaml:4: {key}: " in err and "too long" in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_a_recipients_file_name_too_long_is_a_config_error(
        make_site: SiteMaker, tmp_path: Path) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        "digests:\n  from: a@example.org\n  unsubscribe: "
        "'https://example.org/u?lang={lang}&address={address}&token={token}'\n"
        f"  recipients:\n    en: {TOO_LONG}.csv\n"))
    code, _, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert "digests.recipients.en: " in err and "too long" in err, err


@pytest.mark.parametrize("key", ["statements", "output", "templates"])
def test_a_folder_that_is_a_loop_of_symbolic_links_is_a_config_error(
        make_site: SiteMaker, tmp_path: Path, key: str) -> None:
    """`output: loop` where loop links to itself passed `check`, and `build` ended in an
    internal error."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"{key}: loop\n")
    (config.parent / "loop").symlink_to("loop")
    for command in ("check", "build"):
        before = sorted(tmp_path.rglob("*"))
        code, _, err = run([command, "--config", str(config), "--now", "2015-09-10"])
        assert code == 1, err
        assert f"site/sfb-feeds.yaml:4: {key}: " in err and "symbolic links" in err, err
        assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("home", "command"), [
    ("", "check"),  # (not build: were it to pass, it would write /public)
    ("relative/home", "check"), ("relative/home", "build")])
def test_a_tilde_path_with_home_empty_or_relative_is_a_config_error(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        home: str, command: str) -> None:
    """With HOME set but empty, `output: ~/public` was taken for /public (and with a
    relative HOME, for a folder beside the config), as `$EMPTY/public` would be, which
    is refused."""
    monkeypatch.setenv("HOME", home)
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "output: ~/public\n")
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert "site/sfb-feeds.yaml:4: output: " in err and "$HOME" in err, err
    assert sorted(tmp_path.rglob("*")) == before


TEMPLATE_RECORDS = {f"s{n}.yaml": f"title: S{n}\ndate: 2015-09-0{n + 1}\nlanguage: en\n"
                                  f"excerpt: Text {n}.\nid: urn:sfb:s{n}\n" for n in range(3)}
BASE = (Path(__file__).parent.parent / "templates" / "email" / "base.html").read_text("utf-8")


@pytest.mark.parametrize(("name", "source", "said"), [
    # Jinja's lexer gives this error the file name as the template's name, none as its file.
    ("email/archive.html", "{#- the archive, a comment never closed\n",
     "email/archive.html:1: the site's template failed: TemplateSyntaxError: Missing end of "
     "comment tag"),
    ("email/digest.html", '{% extends "base.html" %}\n{% raw %}never closed\n',
     "email/digest.html:2: the site's template failed: TemplateSyntaxError: Missing end of "
     "raw directive"),
    # The site's base.html under the built-in digest.html, run as one inlined copy.
    ("email/base.html", BASE.replace('lang="{{ lang }}"', 'lang="{{ nosuch }}"', 1),
     "email/base.html:7: the site's template failed: UndefinedError: 'nosuch' is undefined"),
    ("email/base.html", BASE.replace('lang="{{ lang }}"', 'lang="{{ x | int }}"', 1),
     "email/base.html:7: the site's template failed: UndefinedError: 'x' is undefined"),
    # A print tag left open swallows markup up to the next one's end: the copy made to
    # inline once compiled, the page put back together from it did not.
    ("email/base.html", BASE.replace('{{ _("Atom feed") }}</a> · <a ', "{{", 1),
     "email/base.html:39: the site's template failed: TemplateSyntaxError: expected token "
     "'end of print statement', got '='"),
    ("email/digest.txt", "{{ site_title }} \udcb7\n",
     "email/digest.txt: is not UTF-8 text (byte 0xb7 at 17); save it as UTF-8"),
    ("email/digest.txt", "{{ site_title }} {{ '\\udfff' }}\n",
     "email/digest.txt: the site's template failed: it wrote '\\udfff', a lone surrogate "
     "that no UTF-8 file can hold"),
    # The subject is the digest page's <title>, which the digest feed's entry carries.
    ("email/subject.txt", "{{ site_title }}{{ '\\x0c' }}\n",
     "email/subject.txt: the site's template failed: it wrote '\\x0c', a control "
     "character that HTML and XML cannot carry"),
    ("email/digest.html", '{% extends "base.html" %}\n{% block content %}'
     "<tr><td>{{ '\\x01' }}</td></tr>{% endblock %}\n",
     "email/digest.html: the site's template failed: it wrote '\\x01', a control "
     "character that HTML and XML cannot carry"),
    ("pages/index.html", "<p>{{ title }} {{ '\\ud800' }}</p>\n",
     "pages/index.html: the site's template failed: it wrote '\\ud800', a lone surrogate "
     "that no UTF-8 file can hold"),
])
@pytest.mark.parametrize("command", ["build", "digest"])
def test_a_broken_site_template_the_fuzzer_wrote_is_named(
        make_site: SiteMaker, tmp_path: Path, name: str, source: str, said: str,
        command: str) -> None:
    if command == "digest" and name.startswith("pages/"):
        pytest.skip("digest reads no page template")
    config = make_site(TEMPLATE_RECORDS, config=MINIMAL + "templates: templates\n")
    template = config.parent / "templates" / name
    template.parent.mkdir(parents=True)
    assert run(["build", "--config", str(config), "--now", "2016-01-01"])[0] == 0
    before = snapshot(config.parent / "feeds")
    template.write_bytes(source.encode("utf-8", "surrogateescape"))
    argv = [command, "--config", str(config), "--now", "2016-01-01"]
    code, out, err = run(argv + (["--week", "2015-W36", "--lang", "en"]
                                 if command == "digest" else []))
    assert (code, out) == (1, ""), err
    assert err.startswith(f"error: site/templates/{said}"), err
    assert err.count("\n") == 1, err
    assert snapshot(config.parent / "feeds") == before


@pytest.mark.parametrize("source", [
    "<!doctype html>\n<html><head><title>{{ site_title }}</title>\n<meta name=\"viewport\" conte",
    "",
    "<!DOC\n",  # (no element at all: lxml finds the document empty)
])
def test_a_site_base_page_without_a_body_still_builds(
        make_site: SiteMaker, source: str) -> None:
    """A site's base.html cut short in its <head> (so no <body>), or empty: the build ended
    in an internal error making the digest feed's entries from the page."""
    config = make_site(TEMPLATE_RECORDS, config=MINIMAL + "templates: templates\n")
    (config.parent / "templates" / "email").mkdir(parents=True)
    (config.parent / "templates" / "email" / "base.html").write_text(source, "utf-8")
    code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, err) == (0, "")
    feed = (config.parent / "feeds" / "en" / "digests.xml").read_bytes()
    assert b"<entry" in feed


SHIPPED_PL = (Path(__file__).parent.parent / "src" / "sfb_feeds" / "locale" / "pl"
              / "LC_MESSAGES" / "sfb_feeds.po").read_text("utf-8")
PL_PLURAL = ("nplurals=3; plural=n == 1 ? 0 : n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 "
             "|| n % 100 > 14) ? 1 : 2;")


@pytest.mark.parametrize(("catalog", "said"), [
    (SHIPPED_PL.replace(PL_PLURAL, "nplurals=3; plural=(n;"),
     ":14: Plural-Forms: unbalanced parenthesis in plural form"),
    (SHIPPED_PL.replace(PL_PLURAL, "nplurals=3; plural=n % (n - 7) > 0;"),
     ":14: Plural-Forms: fails for n = 7 (ZeroDivisionError: integer modulo by "
     "zero)"),
    (SHIPPED_PL.replace(PL_PLURAL, "nplurals=3; plural=n > 1 ? 5 : 0;"),
     ":14: Plural-Forms: gives form 5 for n = 2, but there are 3 (nplurals)"),
    (SHIPPED_PL.replace('msgid_plural "{count} statements"\n',
                        'msgid_plural "{count} statements"\nmsgid_plural "x"\n', 1),
     ":24: '{count} statement' has 2 msgid_plural lines; give it one"),
])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_site_catalog_gettext_cannot_use_is_named(
        make_site: SiteMaker, catalog: str, said: str, command: str) -> None:
    """Each passed `check` and ended `build` in an internal error (or, for a form out of
    range, fell back to English without a word)."""
    pl = RECORD.replace("language: en", "language: pl")
    config = make_site({"a.yaml": pl})
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    before = snapshot(config.parent / "feeds")
    folder = config.parent / "locales" / "pl" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "sfb_feeds.po").write_text(catalog, "utf-8")
    code, _, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert f"error: site/locales/pl/LC_MESSAGES/sfb_feeds.po{said}" in err, err
    assert snapshot(config.parent / "feeds") == before


def test_a_lone_surrogate_in_a_site_stylesheet_is_no_internal_error(
        make_site: SiteMaker) -> None:
    """The stylesheet is rendered for real when a page is inlined once, and that text is
    hashed for the inlining store: a lone surrogate there ended the build in exit 70
    (UnicodeEncodeError). The CSS parser drops the character, as any it cannot read."""
    config = make_site(TEMPLATE_RECORDS, config=MINIMAL + "templates: templates\n")
    (config.parent / "templates" / "email").mkdir(parents=True)
    (config.parent / "templates" / "email" / "digest.css").write_text(
        ".footer-text { color: #545454; }{{ '\\ud800' }}\n", "utf-8")
    code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, err) == (0, "")
    page = config.parent / "feeds" / "digests" / "en" / "2015-W36.html"
    assert page.read_bytes().decode("utf-8").rstrip().endswith("</html>")


@pytest.mark.parametrize(("name", "value"), [
    ("SFB_FEEDS_WORKERS", "2_0"),  # int() reads 20
    ("SFB_FEEDS_WORKERS", "\u0662"),  # ARABIC-INDIC DIGIT TWO: int() reads 2
    ("SFB_FEEDS_LOCK_WAIT", "1_0"),
    ("SFB_FEEDS_SEND_BACKOFF", "\uff11"),  # FULLWIDTH DIGIT ONE
])
def test_a_number_in_the_environment_is_written_in_ascii_digits(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """Python's int() and float() also read digit groups and any script's digits, so
    these were taken (SFB_FEEDS_WORKERS=2_0 as 20 workers) where the README asks for a
    whole number or a number of seconds."""
    config = make_site({"a.yaml": RECORD})
    monkeypatch.setenv(name, value)
    code, _, err = run(["check", "--config", str(config)])
    assert code == 2, err
    assert err.startswith(f"error: ${name}={value!r} must be "), err


def test_a_long_unbroken_site_title_keeps_every_mail_line_within_998(
        make_site: SiteMaker) -> None:
    """A site title of 1,500 characters without a space (the config takes it) made a
    Subject line of 1,511 characters: RFC 5322 allows 998, and relays refuse longer."""
    title = "x" * 1500
    config = make_site({"a.yaml": RECORD}, config=MINIMAL.replace("title: T", f"title: {title}"))
    code, out, err = run(["digest", "--config", str(config), "--now", "2015-09-10",
                          "--week", "2015-W36", "--lang", "en", "--part", "eml"])
    assert (code, err) == (0, "")
    raw = out.encode("ascii")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    message = message_from_bytes(raw, policy=default)
    assert str(message["Subject"]).startswith(title)


def test_a_sender_name_too_long_for_a_mail_line_is_a_config_error(
        make_site: SiteMaker) -> None:
    """digests.from with a display name of one 1,500-letter word gave every .eml a From:
    line of 1,502 characters (RFC 5322: at most 998; the email package cannot fold it)."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f"digests:\n  from: {'y' * 1500} <digest@example.org>\n"
        "  lists:\n    en: list@example.org\n"))
    code, _, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1, err
    assert "site/sfb-feeds.yaml:5: digests.from: " in err and "998" in err, err


def test_an_import_base_url_with_a_password_is_a_usage_error(tmp_path: Path) -> None:
    """--base-url https://ann:secret@… passed, and then every statement was skipped with a
    warning (its url would publish the password), exit 0: a usage error like any other
    base URL that cannot be used, given before anything is read."""
    listing = next((Path(__file__).parent / "fixtures" / "listings").glob("*.txt"))
    out = tmp_path / "records"
    out.mkdir()
    code, _, err = run(["import", str(listing), "--out", str(out),
                        "--base-url", "https://ann:secret@www.example.org/"])
    assert code == 2, err
    assert err.startswith("error: base URL ") and "user name or password" in err, err
    assert "secret" not in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("command", ["build", "digest"])
def test_a_site_stylesheet_premailer_cannot_read_is_named(
        make_site: SiteMaker, command: str) -> None:
    """A CSS escape for a control character in a selector (`.more\\e-link`): premailer's
    selector parser failed while inlining the page, an internal error (exit 70). The page
    is the built-in digest.html, so the site's templates folder is named, with what
    failed."""
    config = make_site(TEMPLATE_RECORDS, config=MINIMAL + "templates: templates\n")
    (config.parent / "templates" / "email").mkdir(parents=True)
    assert run(["build", "--config", str(config), "--now", "2016-01-01"])[0] == 0
    before = snapshot(config.parent / "feeds")
    (config.parent / "templates" / "email" / "digest.css").write_text(
        ".more\\e-link { color: #9e1b23; }\n", "utf-8")
    week = ["--week", "2015-W36"] if command == "digest" else []
    code, out, err = run([command, "--config", str(config), "--now", "2016-01-01", *week])
    assert (code, out) == (1, ""), err
    assert err.startswith("error: site/templates: the site's template failed: its CSS could "
                          "not be inlined: SelectorSyntaxError: "), err
    assert snapshot(config.parent / "feeds") == before


def test_an_attribute_name_lxml_reads_as_a_namespace_is_dropped_from_the_digest_feed(
        make_site: SiteMaker) -> None:
    """A site's base.html writing an attribute named like Clark notation ('{}x'): the
    digest feed drops every attribute feeds may not carry, and deleting that one by name
    ended the build in exit 70 (lxml took the braces for a namespace)."""
    config = make_site(TEMPLATE_RECORDS, config=MINIMAL + "templates: templates\n")
    (config.parent / "templates" / "email").mkdir(parents=True)
    (config.parent / "templates" / "email" / "base.html").write_text(
        BASE.replace('<table role="presentation" class="wrapper"',
                     '<table {}x="1" role="presentation" class="wrapper"', 1), "utf-8")
    code, _, err = run(["build", "--config", str(config), "--now", "2016-01-01"])
    assert (code, err) == (0, "")
    feed = (config.parent / "feeds" / "en" / "digests.xml").read_bytes()
    assert b"<entry" in feed and b"{}x" not in feed


@pytest.mark.parametrize(("key", "written", "file"), [
    ("output", "feeds", "feeds"),  # a file where the folder goes
    ("cache", "junk/cache", "junk"),  # a file where a folder above it goes
    ("state", "state", "state"),
])
def test_check_names_a_file_standing_where_a_folder_must_be_made(
        make_site: SiteMaker, tmp_path: Path, key: str, written: str, file: str) -> None:
    # build stopped there (exit 1) after check had said everything was OK (exit 0).
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"{key}: {written}\n")
    (config.parent / file).write_text("not a folder\n", encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert (code, out) == (1, ""), err
    made = "" if file == written else f", so site/{written} cannot be made"
    assert err == (f"error: site/sfb-feeds.yaml: {key}: site/{file} is not a folder{made}; "
                   f"move it away or change {key} in the config\n"), err
    assert sorted(tmp_path.rglob("*")) == before
