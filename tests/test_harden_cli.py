"""The command line's own promises: --quiet never silences what a command was asked to
print, URLs with a space are named as such, and --now takes only the forms it documents."""

from __future__ import annotations

import pytest
from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker

from sfb_feeds import environment

PATHS = "digests/en/2015-W36.html\ndigests/en/2015-W36.txt\ndigests/en/2015-W36.eml\n"


@pytest.mark.parametrize("noise", [[], ["--quiet"]])
def test_quiet_still_prints_the_paths_digest_was_asked_for(make_site: SiteMaker,
                                                           noise: list[str]) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    code, out, err = run(["digest", "--config", str(config), "--now", "2015-09-10",
                          "--part", "paths", *noise])
    assert (code, out, err) == (0, PATHS, "")


def test_quiet_still_silences_the_note_that_there_is_no_digest(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    argv = ["digest", "--config", str(config), "--week", "2015-W40", "--part", "paths"]
    assert run(argv)[1] == "no digest: no published statements in 2015-W40\n"
    assert run([*argv, "--quiet"]) == (0, "", "")


@pytest.mark.parametrize(("written", "message"), [
    ('"https://example.org/a b"', "'https://example.org/a b' contains a space, which a URL "
                                  "cannot hold; write it as %20 (https://example.org/a%20b)"),
    ('"https://example.org/a\\tb"', "'https://example.org/a\\tb' contains a space character "
                                     "(U+0009), which a URL cannot hold; write it as %09 "
                                     "(https://example.org/a%09b)"),
    ('"https://example.org/a\\u00a0b"', "'https://example.org/a\\xa0b' contains a space "
                                         "character (U+00A0), which a URL cannot hold; write it "
                                         "as %C2%A0 (https://example.org/a%C2%A0b)"),
])
def test_a_url_with_a_space_is_named_as_such(make_site: SiteMaker, written: str,
                                             message: str) -> None:
    config = make_site({"a.yaml": RECORD + f"url: {written}\n"}, config=MINIMAL)
    code, out, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert (code, out, err) == (1, "", f"error: site/statements/a.yaml:6: record 1: url: "
                                       f"{message}\n")


def test_a_config_url_with_a_space_is_named_as_such(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL.replace(
        "https://example.org/", "https://example.org/my site/"))
    code, out, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert (code, out, err) == (1, "", (
        "error: site/sfb-feeds.yaml:3: site.url: 'https://example.org/my site/' contains a "
        "space, which a URL cannot hold; write it as %20 (https://example.org/my%20site/)\n"))


def test_a_space_in_a_host_name_is_to_be_removed(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD + "url: https://exa mple.org/a\n"}, config=MINIMAL)
    code, _, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (1, "error: site/statements/a.yaml:6: record 1: url: "
                              "'https://exa mple.org/a' contains a space in its host name; "
                              "remove it\n")


def test_a_url_that_is_not_http_is_still_told_so(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD + "url: ftp://example.org/a\n"}, config=MINIMAL)
    code, _, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (1, "error: site/statements/a.yaml:6: record 1: url: "
                              "'ftp://example.org/a' is not an absolute http(s) URL "
                              "(e.g. https://example.org/x)\n")


@pytest.mark.parametrize("value", ["65", "100000"])
def test_too_many_workers_are_refused_before_anything_is_read(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    monkeypatch.setenv("SFB_FEEDS_WORKERS", value)
    code, out, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, out, err) == (2, "", f"error: $SFB_FEEDS_WORKERS={value!r} must be a whole "
                                       "number of worker processes from 1 to 64\n")
    assert sorted(p.name for p in config.parent.iterdir()) == ["sfb-feeds.yaml", "statements"]


def test_64_workers_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFB_FEEDS_WORKERS", "64")
    assert environment.workers() == 64
