"""Recipients files' lines that no other test reads: a CSV record too short to reach the
``email`` column. Through ``check`` and ``send``, with a real SMTP server on loopback."""

from __future__ import annotations

import io
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import FaultyHandler, subscribers_config

from sfb_feeds.cli import main

RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang) for lang in ("pl", "tr")}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_csv_record_without_its_email_cell_is_skipped_with_a_warning(
    make_site: Any, server: tuple[FaultyHandler, int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A spreadsheet row cut short (the email is the third column; this row has two cells):
    # `check` and `send` name its line and skip it; the rows around it are mailed.
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "a test secret")
    handler, port = server
    config = subscribers_config(make_site, port, STATEMENTS, "tr: tr@lists.example.org")
    table = "name,joined,email\nAnn,2014,ann@example.org\nBob,2015\nCy,2015,cy@example.org\n"
    pl = config.replace("sfb-feeds.yaml", "pl.txt")
    with open(pl, "w", encoding="utf-8") as file:
        file.write(table)
    warning = ("warning: site/pl.txt:3: 'Bob,2015' has no email column (column 3); line "
               "skipped\n")
    code, _, err = run("check", "--config", config)
    assert (code, err) == (0, warning)
    code, out, err = run("send", "--config", config, "--week", "2015-W36")
    assert (code, out, err) == (0, "3 sent, 0 already sent\n", warning)
    assert sorted(address for _, address in handler.received.copies) == [
        "ann@example.org", "cy@example.org", "tr@lists.example.org"]


def test_addresses_differing_only_in_letter_case_are_both_mailed_with_a_warning(
    make_site: Any, server: tuple[FaultyHandler, int], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # README: the local part's case may matter (RFC 5321), so 'Ann@' and 'ann@' are two
    # subscribers; but most mail servers deliver both to one mailbox, so the operator is
    # told on every check and send, naming the later line. The same address again (the
    # domain's case and spaces aside) is mailed once, silently. Fails on the old code:
    # no warning, two copies in one mailbox.
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "a test secret")
    handler, port = server
    config = subscribers_config(make_site, port, STATEMENTS, "tr: tr@lists.example.org")
    pl = config.replace("sfb-feeds.yaml", "pl.txt")
    with open(pl, "w", encoding="utf-8") as file:
        file.write("ann@example.org\n  ann@EXAMPLE.org \nAnn@Example.org\nbob@example.org\n")
    warning = ("warning: site/pl.txt:3: 'Ann@example.org' differs from an earlier line's "
               "address only in letter case: both are mailed (a mail server may tell them "
               "apart); if they are one subscriber, remove one line\n")
    code, _, err = run("check", "--config", config)
    assert (code, err) == (0, warning)
    code, out, err = run("send", "--config", config, "--week", "2015-W36")
    assert (code, out, err) == (0, "4 sent, 0 already sent\n", warning)
    assert sorted(address for _, address in handler.received.copies) == [
        "Ann@example.org", "ann@example.org", "bob@example.org", "tr@lists.example.org"]


@pytest.mark.parametrize("lines", [("ann@example.org", "Ann@example.org"),
                                   ("Ann@example.org", "ann@example.org"),
                                   ("ANN@example.org", "Ann@example.org")])
def test_either_order_of_two_addresses_differing_in_case_is_warned_about(
        tmp_path: Any, lines: tuple[str, str]) -> None:
    """The later of the two lines is named, whichever of them is in lower case (the warning
    came only when the later one had capitals)."""
    from sfb_feeds.recipients import Recipient, read_recipients

    path = tmp_path / "pl.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = list(read_recipients(path, "pl.txt"))
    assert [item.address for item in found if isinstance(item, Recipient)] == list(lines)
    problems = [str(item) for item in found if not isinstance(item, Recipient)]
    assert problems == [f"pl.txt:2: '{lines[1]}' differs from an earlier line's address only "
                        "in letter case: both are mailed (a mail server may tell them apart);"
                        " if they are one subscriber, remove one line"]
