"""A send ledger that is not one: a file at ``<state>/sent.jsonl`` of which no line is a
record sfb-feeds writes (another program's file, bytes a crash zeroed, a file copied from
somewhere else). Read as "nothing was sent", it mailed every copy again; `send` now stops
before sending anything, naming it. Lines of a real ledger that a crash tore stay what they
were: skipped. Through the CLI, with a real SMTP server on loopback (aiosmtpd).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler, aiosmtpd_server

from sfb_feeds.cli import main

RECORD = "id: urn:sfb:pl\ntitle: T pl\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\n"
LIST = "pl@lists.example.org"
AFTER_W36 = "2015-09-08T10:00:00+00:00"
NOT_A_LEDGER = [
    b"\0" * 4096,  # what a crash can leave of a file's blocks
    b"message_id,recipient,state\n<x@example.org>,pl@lists.example.org,sent\n",
    b'{"id": 1, "ok": true}\n{"id": 2, "ok": true}\n',  # another program's JSON lines
]


def config_in(make_site: Any, port: int) -> Path:
    return make_site({"pl.yaml": RECORD}, config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        f"  lists: {{pl: {LIST}}}\n"
        f"smtp: {{host: 127.0.0.1, port: {port}}}\nstate: state\n"))


def send(config: Path, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", str(config), "--now", AFTER_W36, *more], out=out,
                err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("content", NOT_A_LEDGER, ids=["zeroed", "csv", "other-json"])
def test_a_file_of_which_no_line_is_a_record_stops_send(make_site: Any,
                                                        content: bytes) -> None:
    # Failed before: the run read no record, so it took the week for not sent and mailed
    # the list again ('1 sent', exit 0).
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = config_in(make_site, port)
        ledger = config.parent / "state" / "sent.jsonl"
        ledger.parent.mkdir()
        ledger.write_bytes(content)
        for more in ((), ("--dry-run",)):
            code, out, err = send(config, *more)
            assert (code, out) == (1, "")
            assert err.startswith("error: site/state/sent.jsonl: not a send ledger: line 1 ")
            assert "nothing was sent" in err
    assert handler.received.copies == []
    assert ledger.read_bytes() == content


def test_a_ledger_whose_only_lines_were_torn_is_still_read(make_site: Any) -> None:
    # Two runs killed while writing their first line: each torn line was ended by the next
    # append; neither copy was handed over, so the week goes out, once.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = config_in(make_site, port)
        ledger = config.parent / "state" / "sent.jsonl"
        ledger.parent.mkdir()
        ledger.write_bytes(b'{"at": "2015-09-08T09:00:00+00:00", "dig\n{"message_id": "<x@\n')
        assert send(config) == (0, "1 sent, 0 already sent\n", "")
        assert send(config, "--week", "2015-W36") == (0, "", "")
    assert [address for _, address in handler.received.copies] == [LIST]


def test_a_ledger_with_a_damaged_line_among_records_is_read_as_before(
    make_site: Any,
) -> None:
    # A line no program wrote, among records: the records still count.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = config_in(make_site, port)
        assert send(config) == (0, "1 sent, 0 already sent\n", "")
        ledger = config.parent / "state" / "sent.jsonl"
        ledger.write_bytes(b"\0" * 64 + b"\n" + ledger.read_bytes())
        assert send(config, "--week", "2015-W36") == (0, "", "")
    assert [address for _, address in handler.received.copies] == [LIST]
    assert json.loads(ledger.read_bytes().splitlines()[-1])["state"] == "finished"


def test_a_ledger_whose_only_record_waits_for_its_newline_is_still_read(
    make_site: Any,
) -> None:
    # A full disk cut the first `sending` line just before its newline: a whole record that
    # does not count yet (the copy was never handed over), not another program's line. The
    # next run sends the copy, once, instead of refusing the ledger as foreign.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = config_in(make_site, port)
        ledger = config.parent / "state" / "sent.jsonl"
        ledger.parent.mkdir()
        row = {"at": "2015-09-08T09:00:00+00:00", "digest": "digests/pl/2015-W36.eml",
               "message_id": "<x@example.org>", "recipient": LIST, "state": "sending"}
        ledger.write_bytes(json.dumps(row).encode())
        assert send(config) == (0, "1 sent, 0 already sent\n", "")
        assert send(config, "--week", "2015-W36") == (0, "", "")
    assert [address for _, address in handler.received.copies] == [LIST]
