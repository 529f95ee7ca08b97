"""Config paths that would publish private files or clobber the user's, and header text."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker


@pytest.mark.parametrize(("paths", "key", "says"), [
    ("output: /\n", "output", "is /;"),
    ("output: statements\n", "output", "overlaps the statements folder"),
    ("output: .\n", "output", "overlaps the statements folder"),
    ("output: ..\n", "output", "overlaps the statements folder"),
    ("output: statements/out\n", "output", "overlaps the statements folder"),
    ("output: ~\n", "output", "is the home folder;"),
    ("statements: /\n", "statements", "is /; give statements a folder of its own"),
    ("statements: ~\n", "statements", "is the home folder;"),
    ("cache: feeds/cache\n", "cache", "lies inside the output folder"),
    ("state: feeds\n", "state", "lies inside the output folder"),
    ("state: .sfb-cache/state\n", "state", "overlaps cache"),
    ("cache: x\nstate: x\n", "state", "overlaps cache"),
    ("output: out\ncache: .\n", "cache", "overlaps the statements folder"),
])
@pytest.mark.parametrize("command", ["check", "build"])
def test_overlapping_or_public_folders_are_refused_naming_the_key(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        paths: str, key: str, says: str, command: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + paths)
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run([command, "--config", str(config)])
    assert code == 1
    assert "site/sfb-feeds.yaml:" in err and f": {key}: " in err and says in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_a_tilde_is_the_home_folder(make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "output: ~/public\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    assert (tmp_path / "home" / "public" / "en" / "atom.xml").is_file()
    assert not (config.parent / "~").exists()


@pytest.mark.parametrize("written", ["$HOME/public", "${HOME}/public"])
def test_home_in_a_path_is_expanded(make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch,
                                    tmp_path: Path, written: str) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"output: {written}\n")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    assert (tmp_path / "home" / "public" / "en" / "atom.xml").is_file()
    assert not (config.parent / "$HOME").exists() and not (config.parent / "${HOME}").exists()


def test_an_unset_variable_in_a_path_is_refused_naming_the_key(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SFB_NOT_SET", raising=False)
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "state: $SFB_NOT_SET/state\n")
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1
    assert "sfb-feeds.yaml:4: state: uses $SFB_NOT_SET, which is not set" in err, err
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("title", ['"A\\r\\nBcc: x@example.org"', '"A\\u2028B"', '"A\\u2029B"',
                                   '"A\\nB"'])
@pytest.mark.parametrize("key", ["title", "author"])
def test_header_bound_site_text_is_on_one_line(make_site: SiteMaker, title: str,
                                               key: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"  {key}: {title}\n"
                       if key == "author" else MINIMAL.replace("title: T", f"title: {title}"))
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert f"site.{key}: must be on one line" in err


def test_an_unset_variable_in_a_recipients_file_is_refused_at_its_line(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SFB_NOT_SET", raising=False)
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        "digests:\n  from: D <d@example.org>\n"
        '  unsubscribe: "https://example.org/u?lang={lang}&address={address}&token={token}"\n'
        "  recipients:\n    en: en.txt\n    pl: $SFB_NOT_SET/pl.txt\n"))
    before = sorted(tmp_path.rglob("*"))
    for command in ("check", "build", "send"):
        code, out, err = run([command, "--config", str(config), "--now", "2015-09-10"])
        assert (code, out) == (1, "")
        assert err == (f"error: {config.relative_to(tmp_path)}:9: digests.recipients.pl: uses "
                       "$SFB_NOT_SET, which is not set in the environment\n")
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("link", "code"), [
    ("http://example.org/leave?lang={lang}", 1),  # an address readers cannot trust
    ("ftp://example.org/leave", 1),
    ("https://example.org/leave?lang={lang}", 0),
    ("mailto:leave@example.org", 0),
])
def test_the_unsubscribe_link_is_https_or_mailto(make_site: SiteMaker, tmp_path: Path,
                                                 link: str, code: int) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f'digests:\n  from: D <d@example.org>\n  unsubscribe: "{link}"\n'))
    before = sorted(tmp_path.rglob("*"))
    result = run(["build", "--config", str(config), "--now", "2015-09-10"])
    if code:
        assert result == (1, "", f"error: {config.relative_to(tmp_path)}:6: "
                                 f"digests.unsubscribe: '{link}' must be an https:// or "
                                 "mailto: URL\n")
        assert sorted(tmp_path.rglob("*")) == before
    else:
        assert result[::2] == (0, "")


DRAFT = "title: D\ndate: 2015-09-04\nlanguage: en\nexcerpt: secret draft text\ndraft: true\n"


@pytest.mark.parametrize(("links", "paths", "key", "says"), [
    # (link name, its target), what the config says, the key refused, what is said of it
    (("cachelink", "feeds/c"), "cache: cachelink\n", "cache",
     "{config}/cachelink (which resolves to {config}/feeds/c) lies inside the output folder "
     "{config}/feeds, which is published (it would expose the text of drafts and scheduled "
     "statements); move it outside"),
    (("cachelink", "feeds"), "cache: cachelink/not-yet\n", "cache",
     "{config}/cachelink/not-yet (which resolves to {config}/feeds/not-yet) lies inside the "
     "output folder {config}/feeds, which is published"),
    (("outlink", "statements"), "output: outlink\n", "output",
     "{config}/outlink (which resolves to {config}/statements) overlaps the statements folder "
     "{config}/statements (drafts and scheduled statements would be exposed or mixed up); keep "
     "them apart"),
    (("statelink", "feeds/s"), "state: statelink\n", "state",
     "{config}/statelink (which resolves to {config}/feeds/s) lies inside the output folder "
     "{config}/feeds, which is published"),
    (("publink", "."), "output: publink/feeds\ncache: feeds/c\n", "cache",
     "{config}/feeds/c lies inside the output folder {config}/publink/feeds (which resolves to "
     "{config}/feeds), which is published"),
    (("homelink", "home"), "output: homelink\n", "output",
     "is the home folder; give output a folder of its own"),
])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_symbolic_link_does_not_bypass_the_folder_checks(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        links: tuple[str, str], paths: str, key: str, says: str, command: str) -> None:
    """The folders are compared as the links resolve too: a cache or state reached through a
    link into the output would publish the drafts' text, an output linked into the statements
    would write the feeds among them."""
    monkeypatch.setenv("HOME", str(tmp_path / "site" / "home"))
    config = make_site({"a.yaml": RECORD, "draft.yaml": DRAFT}, config=MINIMAL + paths)
    for folder in ("feeds/c", "feeds/s", "home"):
        (config.parent / folder).mkdir(parents=True)
    name, target = links
    (config.parent / name).symlink_to(target)
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert (code, out) == (1, "")
    line = 4 + [written.split(":")[0] for written in paths.splitlines()].index(key)
    assert err.startswith(f"error: {config.relative_to(tmp_path)}:{line}: {key}: "
                          + says.format(config=config.parent)), err
    assert len(err.splitlines()) == 1
    assert sorted(tmp_path.rglob("*")) == before


def test_an_output_folder_linked_elsewhere_still_builds(
        make_site: SiteMaker, tmp_path: Path) -> None:
    """A link that keeps the folders apart is fine (e.g. feeds -> /srv/www/feeds)."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "output: public\n")
    (tmp_path / "www").mkdir()
    (config.parent / "public").symlink_to(tmp_path / "www")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    assert (tmp_path / "www" / "en" / "atom.xml").is_file()


@pytest.mark.parametrize(("link", "unknown"), [
    ("https://x.org/u?l={language}", "{language}"),
    ("https://x.org/u?l={lang}&a={Address}", "{Address}"),
    ("mailto:leave@x.org?subject={}", "{}"),
])
@pytest.mark.parametrize("command", ["check", "build"])
def test_an_unknown_placeholder_in_the_unsubscribe_link_is_refused(
        make_site: SiteMaker, tmp_path: Path, link: str, unknown: str, command: str) -> None:
    """Only {lang}, {address} and {token} are filled in: any other would be published as
    written, in a link that cannot work."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f'digests:\n  from: D <d@example.org>\n  unsubscribe: "{link}"\n'))
    before = sorted(tmp_path.rglob("*"))
    assert run([command, "--config", str(config), "--now", "2015-09-10"]) == (
        1, "", f"error: {config.relative_to(tmp_path)}:6: digests.unsubscribe: '{link}' has "
        f"the placeholder {unknown}, which nothing fills in; use {{lang}}, {{address}} or "
        "{token}\n")
    assert sorted(tmp_path.rglob("*")) == before


def test_a_refused_personal_link_is_reported_once(make_site: SiteMaker, tmp_path: Path) -> None:
    link = "https://x.org/u?l={language}&a={address}&t={token}"
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f'digests:\n  from: D <d@example.org>\n  unsubscribe: "{link}"\n'
        "  recipients: {en: en.txt}\n"))
    assert run(["check", "--config", str(config)]) == (
        1, "", f"error: {config.relative_to(tmp_path)}:6: digests.unsubscribe: '{link}' has "
        "the placeholder {language}, which nothing fills in; use {lang}, {address} or {token}\n")


@pytest.mark.parametrize("list_id", ["not a domain!", "localhost", "example..org", ".example.org",
                                     "example.org.", "-x.example.org", "x-.example.org",
                                     "ex_ample.org", "<example.org>", "żółw.example.org"])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_list_id_that_is_not_a_domain_is_refused(
        make_site: SiteMaker, tmp_path: Path, list_id: str, command: str) -> None:
    """RFC 2919: List-Id is <label.namespace>, a dot-atom; anything else is a malformed header."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f'digests:\n  from: D <d@example.org>\n  list_id: "{list_id}"\n'))
    before = sorted(tmp_path.rglob("*"))
    assert run([command, "--config", str(config), "--now", "2015-09-10"]) == (
        1, "", f"error: {config.relative_to(tmp_path)}:6: digests.list_id: {list_id!r} is not a "
        "domain-like name (letters, digits and hyphens in labels joined by dots, at least two "
        "labels, e.g. digests.example.org); List-Id needs one\n")
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("list_id", ["digests.example.org", "Lists.IST-tendency.net", "a.b"])
def test_a_domain_like_list_id_is_published(make_site: SiteMaker, list_id: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f"digests:\n  from: D <d@example.org>\n  list_id: {list_id}\n"))
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[::2] == (0, "")
    eml = (config.parent / "feeds" / "digests" / "en" / "2015-W36.eml").read_text()
    assert f"List-Id: T <en.{list_id}>" in eml


RECIPIENTS = (MINIMAL + "digests:\n  from: D <d@example.org>\n"
              '  unsubscribe: "https://example.org/u?lang={lang}&address={address}&token={token}"\n'
              "  recipients:\n    en: en.txt\n    pl: {pl}\n")


@pytest.mark.parametrize(("name", "why"), [("nofile.csv", "No such file or directory"),
                                           ("a-folder", "Is a directory")])
def test_check_refuses_a_recipients_file_it_cannot_read_as_send_does(
        make_site: SiteMaker, tmp_path: Path, name: str, why: str) -> None:
    """README: invalid input is exit 1, and check validates what send needs; check only
    warned while send --dry-run refused. build does not read the recipients files."""
    config = make_site({"a.yaml": RECORD.replace("language: en", "language: pl")},
                       config=RECIPIENTS.replace("{pl}", name))
    (config.parent / "en.txt").write_text("ann@example.org\nnot an address\n")
    (config.parent / "a-folder").mkdir()
    before = sorted(tmp_path.rglob("*"))
    assert run(["check", "--config", str(config), "--now", "2015-09-10"]) == (
        1, "", f"error: site/sfb-feeds.yaml:9: digests.recipients.pl: cannot read "
        f"site/{name}: {why} (send mails the language's subscribers from it; correct the "
        "path or create the file)\n")
    assert sorted(tmp_path.rglob("*")) == before
    code, _, err = run(["send", "--dry-run", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1 and f"cannot read site/{name}: {why}" in err
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")


def test_check_still_warns_about_bad_lines_of_a_readable_recipients_file(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "s" * 32)
    config = make_site({"a.yaml": RECORD}, config=RECIPIENTS.replace("{pl}", "en.txt"))
    (config.parent / "en.txt").write_text("ann@example.org\nnot an address\n")
    code, _, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert code == 0
    assert err.splitlines() == ["warning: site/en.txt:2: 'not an address' must be a bare address "
                                "(local@domain), without spaces; line skipped"] * 2


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "LocalTime",
                                  "posix/Europe/London", "right/UTC"])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_timezone_that_is_the_machine_s_own_or_no_place_is_refused(
        make_site: SiteMaker, tmp_path: Path, zone: str, command: str) -> None:
    """``localtime`` (and ``posixrules``) is whatever zone the machine is set to, so the same
    records would give other feeds elsewhere; ``Factory`` names no zone; ``posix/`` and
    ``right/`` are builds not every machine has (``right/`` counts leap seconds)."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"  timezone: {zone}\n")
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run([command, "--config", str(config)])
    assert (code, out) == (1, "")
    assert err.startswith(f"error: site/sfb-feeds.yaml:4: site.timezone: '{zone}' "), err
    assert "is not an IANA timezone" not in err  # (why each is refused: test_readme_operator)
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC", "GMT", "Europe/London", "EST5EDT",
                                  "America/Argentina/Buenos_Aires"])
def test_iana_timezones_are_accepted(make_site: SiteMaker, zone: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"  timezone: {zone}\n")
    code, _, err = run(["check", "--config", str(config)])
    assert (code, err) == (0, ""), err


@pytest.mark.parametrize(("link", "header"), [
    ("mailto:leave@bücher.example?subject={lang}",
     "<mailto:leave@xn--bcher-kva.example?subject=en>"),
    ("mailto:leave@b%C3%BCcher.example", "<mailto:leave@xn--bcher-kva.example>"),
    ("mailto:Leave-{lang}@Bücher.example,list@Example.org?body=ä",
     "<mailto:Leave-en@xn--bcher-kva.example,list@Example.org?body=%C3%A4>"),
    ("mailto:leave@example.org", "<mailto:leave@example.org>"),  # ASCII: as written
])
def test_a_mailto_unsubscribe_link_has_an_idna_domain(
        make_site: SiteMaker, link: str, header: str) -> None:
    """List-Unsubscribe carries a mailto: address's international domain in its xn-- form
    (RFC 6068 section 2), as it does an https:// URL's host; the local part as written."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f'digests:\n  from: D <d@example.org>\n  unsubscribe: "{link}"\n'))
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[::2] == (0, "")
    data = (config.parent / "feeds" / "digests" / "en" / "2015-W36.eml").read_bytes()
    data.decode("ascii")
    message = message_from_bytes(data, policy=default)
    assert message["List-Unsubscribe"] == header


@pytest.mark.parametrize("link", [
    "mailto:lév@example.org",
    "mailto:l%C3%A9v@bücher.example?subject={lang}",
    "mailto:leave@example.org,lév@example.org",
])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_mailto_unsubscribe_link_with_a_non_ascii_local_part_is_refused(
        make_site: SiteMaker, tmp_path: Path, link: str, command: str) -> None:
    """A local part outside ASCII reaches only mail systems with SMTPUTF8 (RFC 6531): a
    reader's mail program acting on List-Unsubscribe might not get it through."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + (
        f'digests:\n  from: D <d@example.org>\n  unsubscribe: "{link}"\n'))
    before = sorted(tmp_path.rglob("*"))
    assert run([command, "--config", str(config), "--now", "2015-09-10"]) == (
        1, "", f"error: {config.relative_to(tmp_path)}:6: digests.unsubscribe: '{link}' has "
        "an address with characters outside ASCII before its @ (lév), which only mail "
        "systems with SMTPUTF8 (RFC 6531) can deliver to; use an ASCII local part (an "
        "international domain is fine)\n")
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("command", ["check", "build"])
def test_a_number_in_other_digits_is_a_config_error_not_an_internal_one(
        make_site: SiteMaker, tmp_path: Path, command: str) -> None:
    """'²' passes str.isdigit() but not int(): it was exit 70, 'this is a bug'."""
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + "feeds:\n  entries: ²\n")
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert (code, out) == (1, "")
    assert err.endswith("sfb-feeds.yaml:5: feeds.entries: '²' must be a whole number of at "
                        "least 1\n"), err
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("written", "says"), [
    ("$SFB_EMPTY/feeds", "output: uses $SFB_EMPTY, which is set but empty (so "
     "'$SFB_EMPTY/feeds' would be '/feeds'); give it a value"),
    ("~sfb-no-such-user/feeds", "output: '~sfb-no-such-user' is no user's home folder on "
     "this machine"),
])
@pytest.mark.parametrize("command", ["check", "build"])
def test_a_path_that_cannot_be_expanded_as_meant_is_refused(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, written: str,
        says: str, command: str) -> None:
    """An empty variable made the output folder /feeds (check passed, build wrote there);
    an unknown ~user was an internal error (exit 70)."""
    monkeypatch.setenv("SFB_EMPTY", "")
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"output: {written}\n")
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run([command, "--config", str(config), "--now", "2015-09-10"])
    assert (code, out, err) == (1, "", f"error: site/sfb-feeds.yaml:4: {says}\n")
    assert sorted(tmp_path.rglob("*")) == before
