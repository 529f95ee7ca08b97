"""A list's address written another way in the config between `send` runs: its display
name, the case of its domain, spaces. The ledger knows the list by its address, so the list
still gets each digest once. Through the CLI, with a real SMTP server on loopback (aiosmtpd)
that counts the copies each address received.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler, aiosmtpd_server

from sfb_feeds.cli import main

RECORD = "id: urn:sfb:pl\ntitle: T pl\ndate: 2015-09-04\nlanguage: pl\nexcerpt: x\n"
WRITINGS = ["pl@lists.example.org", "Polish digest <pl@lists.example.org>",
            "pl@Lists.Example.ORG", "'Lista polska' <pl@LISTS.example.org>"]


def config_with(make_site: Any, port: int, address: str) -> str:
    return str(make_site({"pl.yaml": RECORD}, config=SITE_CONFIG + (
        "digests:\n  from: Digest <digest@example.org>\n"
        f"  lists: {{pl: {json.dumps(address)}}}\n"
        f"smtp: {{host: 127.0.0.1, port: {port}}}\nstate: state\n")))


def send(config: str, now: str, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--now", now, *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_list_written_another_way_does_not_get_the_digest_again(make_site: Any) -> None:
    # Hourly runs in the week after 2015-W36 each select that week. Fails on the old code:
    # the ledger's key was the config's text, display name and all, so each new spelling
    # of the same list sent it the digest again ('1 sent', exit 0: four copies).
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        for hour, address in enumerate(WRITINGS):
            config = config_with(make_site, port, address)
            expected = "1 sent, 0 already sent\n" if hour == 0 else ""
            assert send(config, f"2015-09-08T1{hour}:00:00+00:00") == (0, expected, "")
        assert send(config, "2015-09-08T18:00:00+00:00", "--week", "2015-W36") == (0, "", "")
    assert Counter(address for _, address in handler.received.copies) == Counter(
        ["pl@lists.example.org"])


def test_a_ledger_written_before_keeps_the_list_it_names_with_a_display_name(
    make_site: Any, tmp_path: Path,
) -> None:
    # Versions before this one recorded a list's copy under the config's text (here with a
    # display name): a run of this version reads it as that list's, and sends nothing again.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = config_with(make_site, port, WRITINGS[1])
        assert send(config, "2015-09-08T10:00:00+00:00") == (0, "1 sent, 0 already sent\n", "")
        ledger = tmp_path / "site" / "state" / "sent.jsonl"
        rows = [json.loads(line) for line in ledger.read_text().splitlines()]
        for row in rows:  # as the versions before wrote it
            if row["recipient"]:
                row["recipient"] = WRITINGS[1]
        ledger.write_text("".join(json.dumps(row) + "\n" for row in rows))
        assert send(config, "2015-09-08T11:00:00+00:00", "-v") == (
            0, "", "nothing to send: 1 already sent\n")
        config = config_with(make_site, port, WRITINGS[0])
        assert send(config, "2015-09-08T12:00:00+00:00") == (0, "", "")
    assert len(handler.received.copies) == 1
