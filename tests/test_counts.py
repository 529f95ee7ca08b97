"""The CLI's English count messages agree with their count: `1 statement`, `2 statements`.

(The digests' own translated plurals go through i18n.py and CLDR: test_i18n.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker
from test_ops_build import age

from sfb_feeds.errors import counted

DRAFT = RECORD.replace("urn:sfb:a", "urn:sfb:d") + "draft: yes\n"


def test_counted_agrees_with_its_count() -> None:
    assert [counted(n, "record") for n in (0, 1, 2)] == ["0 records", "1 record", "2 records"]
    assert counted(1, "test copy", "test copies") == "1 test copy"
    assert counted(3, "test copy", "test copies") == "3 test copies"


def test_check_counts_one_statement_one_language_one_draft(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    code, out, _ = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert (code, out) == (0, "1 statement OK in 1 language (0 scheduled, 0 drafts)\n  en: 1\n")
    config = make_site({"a.yaml": RECORD, "d.yaml": DRAFT}, config=MINIMAL, folder="two")
    code, out, _ = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert out.splitlines()[0] == "2 statements OK in 1 language (0 scheduled, 1 draft)"


def test_verbose_build_counts_one_statement_file(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    age(config.parent)  # files modified this very second are not trusted by the caches
    code, _, err = run(["build", "--verbose", "--config", str(config), "--now", "2015-09-10"])
    assert code == 0
    assert "1 statement, 1 file parsed, 0 from the cache" in err.splitlines()
    code, _, err = run(["build", "--verbose", "--config", str(config), "--now", "2015-09-10"])
    assert code == 0
    assert "nothing changed since the last build (1 statement file, " in err


def test_one_foreign_file_at_an_output_path(make_site: SiteMaker) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    (config.parent / "feeds").mkdir()
    (config.parent / "feeds" / "index.html").write_text("my own page")
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert code == 1
    assert " already holds 1 file at output paths that sfb-feeds did not write" in err


@pytest.mark.parametrize(("limit", "message"), [
    ("file_bytes", "error: site/statements/a.yaml: is larger than 1 byte ("),
    ("excerpt_bytes", "error: site/statements/a.yaml:4: record 1: excerpt: is longer than "
                      "1 byte (limits.excerpt_bytes); "),
])
def test_a_limit_of_one_byte(make_site: SiteMaker, limit: str, message: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL + f"limits: {{{limit}: 1}}\n")
    code, _, err = run(["check", "--config", str(config)])
    assert code == 1
    assert err.startswith(message)


def test_import_counts_one_record_written(tmp_path: Path) -> None:
    listing = tmp_path / "one.txt"
    listing.write_text("A title\n\nTuesday 1st April 2014\n\nThe text ...\n\nFull statement\n",
                       encoding="utf-8")
    argv = ["import", str(listing), "--out", "records", "--base-url", "https://example.org"]
    code, out, _ = run(argv)
    assert (code, out.splitlines()[0]) == (
        0, "1 record written, 0 already present (left unchanged), 1 to review")


pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from test_send_recipients import _secret, make_config  # noqa: E402, F401 - a fixture


def test_a_dry_run_counts_one_subscriber(make_site: Any, server: tuple[Any, int]) -> None:
    config = make_config(make_site, server[1], "ann@example.org\n")
    code, out, _ = run(["send", "--config", config, "--week", "2015-W36", "--dry-run"])
    assert code == 0
    assert "would send pl 2015-W36 to 1 subscriber (0 already sent, 0 unsubscribed skipped)" \
        in out.splitlines()


@pytest.mark.parametrize(("subscribers", "left"), [(1, "1 subscriber"), (2, "2 subscribers")])
def test_subscribers_left_by_a_server_that_cannot_be_reached(
        make_site: Any, monkeypatch: pytest.MonkeyPatch, subscribers: int, left: str) -> None:
    monkeypatch.setenv("SFB_FEEDS_SEND_BACKOFF", "0")
    addresses = "".join(f"s{n}@example.org\n" for n in range(subscribers))
    config = make_config(make_site, 9, addresses)  # nothing listens on port 9
    code, _, err = run(["send", "--config", config, "--week", "2015-W36"])
    assert code == 4
    assert f"error: pl 2015-W36: {left} not sent (cannot connect to 127.0.0.1:9" in err
