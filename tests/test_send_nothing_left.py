"""`send -v` when everything was sent before: README says `nothing to send: N already
sent`, N counting what `--dry-run` and a run that sends count (lists' copies and
subscribers' copies). Seen through a real Postfix: after 1 list copy and 1511
subscribers' copies, `send -v` said `nothing to send: 1 already sent` (the list's copy
alone) while `send --dry-run` said `would send 0, 1512 already sent`; with subscribers
only, it said nothing at all."""

from __future__ import annotations

import io
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import FaultyHandler, per_address, subscribers_config

from sfb_feeds.cli import main

RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("langs", "lists", "copies"), [
    (("pl", "tr"), "tr: tr@lists.example.org", 31),  # 30 subscribers and a list
    (("pl",), "", 30),  # subscribers only
])
def test_nothing_to_send_counts_every_copy_already_sent(
    make_site: Any, server: tuple[FaultyHandler, int], monkeypatch: pytest.MonkeyPatch,
    langs: tuple[str, ...], lists: str, copies: int,
) -> None:
    # Fails on the old code: "nothing to send: 1 already sent", or no line at all.
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "a test secret")
    handler, port = server
    statements = {f"{lang}.yaml": RECORD.format(l=lang) for lang in langs}
    config = subscribers_config(make_site, port, statements, lists)
    send = ("send", "--config", config, "--week", "2015-W36")
    assert run(*send) == (0, f"{copies} sent, 0 already sent\n", "")
    code, out, err = run(*send, "--verbose")
    assert code == 0
    assert f"nothing to send: {copies} already sent" in (out + err).splitlines()
    assert run(*send, "--dry-run")[1].splitlines()[-1] == (
        f"would send 0, {copies} already sent")
    assert set(per_address(handler).values()) == {1}
    assert sum(per_address(handler).values()) == copies
