"""A suppression list that is not one: a file at ``<state>/suppressed.jsonl`` of which no
line is an entry (zeroed by a crash, another program's file). Read as "nobody left", it
mailed every address that had unsubscribed; `send` now stops before sending anything,
naming it. Through the CLI, with a real SMTP server on loopback (aiosmtpd).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import (
    AFTER_W36,
    STATEMENTS,
    SUBSCRIBERS,
    FaultyHandler,
    aiosmtpd_server,
    subscribers_config,
)

from sfb_feeds.cli import main

pytestmark = pytest.mark.usefixtures("send_environment")

NOT_A_LIST = [
    b"\0" * 4096,  # what a crash can leave of a file's blocks
    b"email,unsubscribed\nu1@example.org,yes\n",
    b'{"id": 1}\n{"id": 2}\n',  # another program's JSON lines
]


def send(config: str, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--now", AFTER_W36, "--week", "2015-W36",
                 "--lang", "pl", *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("content", NOT_A_LIST, ids=["zeroed", "csv", "other-json"])
def test_a_file_of_which_no_line_is_an_entry_stops_send(make_site: Any,
                                                        content: bytes) -> None:
    # Failed before: no entry was read, so no one counted as unsubscribed ('30 sent').
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, "")
        listed = Path(config).parent / "state" / "suppressed.jsonl"
        listed.parent.mkdir()
        listed.write_bytes(content)
        for more in ((), ("--dry-run",)):
            code, out, err = send(config, *more)
            assert (code, out) == (1, "")
            assert err.startswith("error: site/state/suppressed.jsonl: not a suppression "
                                  "list: line 1 ")
            assert "nothing was sent" in err
    assert handler.received.copies == []
    assert listed.read_bytes() == content


def test_a_list_whose_only_lines_were_torn_is_still_read(make_site: Any) -> None:
    # An unsubscribe killed while writing the list's first line: nobody is suppressed.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, "")
        listed = Path(config).parent / "state" / "suppressed.jsonl"
        listed.parent.mkdir()
        listed.write_bytes(b'{"address": "u1@exa\n')
        assert send(config)[:2] == (0, f"{len(SUBSCRIBERS)} sent, 0 already sent\n")
