"""A record's id cannot publish a script or local-file link.

An entry without a ``url`` has no link of its own, and feed readers then take its Atom id
for one: feedparser, under many readers and mail gateways, gave ``entry.link ==
"javascript:alert(1)"`` for ``id: "javascript:alert(1)"``. Before, any URI scheme was
accepted as an id, so a record could hand every reader a ``javascript:``, ``data:``,
``vbscript:`` or ``file:`` link. Ids are now ``http(s)``, ``tag:`` or ``urn:`` URIs."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from cli_run import MINIMAL, run
from conftest import SiteMaker

NOW = "2015-09-07T00:00:00+00:00"


def _record(identifier: str) -> str:
    return (f"title: A\ndate: 2015-09-04\nlanguage: en\nexcerpt: hi\n"
            f"id: '{identifier}'\n")


@pytest.mark.parametrize("identifier", [
    "javascript:alert(1)", "JavaScript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>", "file:///etc/passwd", "jar:http://x.org/!/a",
])
def test_an_id_of_another_scheme_is_refused(make_site: SiteMaker, identifier: str) -> None:
    config = make_site({"a.yaml": _record(identifier)}, config=MINIMAL)
    for command in ("check", "build"):
        code, _, err = run([command, "--config", str(config), "--now", NOW])
        assert code == 1, err
        assert "a.yaml:5" in err and "id:" in err and "http(s), tag: or urn:" in err
    assert not (config.parent / "feeds").exists()


@pytest.mark.parametrize("identifier", [
    "https://example.org/s/1", "HTTP://Example.org/s/2", "tag:example.org,2015:a",
    "urn:ist:a", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
])
def test_the_readers_link_is_never_a_script(make_site: SiteMaker, identifier: str) -> None:
    config = make_site({"a.yaml": _record(identifier)}, config=MINIMAL)
    code, _, err = run(["build", "--config", str(config), "--now", NOW])
    assert code == 0, err
    for name in ("atom.xml", "rss.xml"):
        (entry,) = feedparser.parse(Path(config.parent / "feeds" / "en" / name)).entries
        link = entry.get("link") or "https:"
        assert link.split(":")[0] in {"http", "https", "tag", "urn"}


def test_an_id_with_a_password_is_refused_as_a_url_is(make_site: SiteMaker) -> None:
    """Before, ``id: https://ann:secret@example.org/x`` was published in every feed's
    Atom id and RSS guid (and so as the readers' link), where a ``url`` holding the same
    was refused."""
    config = make_site({"a.yaml": _record("https://ann:secret@example.org/x")},
                       config=MINIMAL)
    code, _, err = run(["build", "--config", str(config), "--now", NOW])
    assert code == 1 and "a.yaml:5" in err and "user name or password" in err
    assert "secret" not in err
    assert not (config.parent / "feeds").exists()
