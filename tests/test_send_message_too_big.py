"""A relay that finds a digest too big only at the message's end (``552 5.3.4``, RFC 3463
"message too big for system"), as Postfix does when the headers it adds take a message
declared under its ``SIZE`` over ``message_size_limit``: the message's fault, not the
recipient's, so the copy is left for the next run, as a refusal at ``MAIL FROM`` is.

A real SMTP server on loopback (aiosmtpd) counts what it received per recipient; the
ledger's lines are read as JSON.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import (
    STATEMENTS,
    SUBSCRIBERS,
    FaultyHandler,
    aiosmtpd_server,
    per_address,
    send_week,
    subscribers_config,
)

LIST = "tr@lists.example.org"
TOO_BIG = "552 5.3.4 Error: message file too big"
LIMIT = 100_000  # what the relay advertises (SIZE in its EHLO): above the digest's size


pytestmark = pytest.mark.usefixtures("send_environment")


def states(config: str) -> list[tuple[str, str]]:
    """Every copy's line in the ledger, in order: (recipient, state)."""
    path = Path(config).parent / "state" / "sent.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [(line["recipient"], line["state"]) for line in lines if line["recipient"]]


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def why_not_sent(line: str, where: str) -> str:
    """The reason in ``error: <where>: not sent (<reason>); it is left for the next run``."""
    prefix, suffix = f"error: {where}: not sent (", "); it is left for the next run"
    assert line.startswith(prefix) and line.endswith(suffix), line
    return line.removeprefix(prefix).removesuffix(suffix)


def assert_names_size_and_remedy(why: str) -> None:
    found = re.fullmatch(
        re.escape(f"{TOO_BIG} at the end of the message") + r": the message is ([\d,]+) "
        r"bytes before the relay adds its own headers and the relay takes at most 100,000 "
        r"\(SIZE in its EHLO\); shrink the digest or raise the relay's size limit \(Postfix: "
        r"message_size_limit\), so the run stopped", why)
    assert found is not None, why
    assert 0 < int(found[1].replace(",", "")) < LIMIT


def test_a_lone_list_copy_too_big_at_the_end_is_left_for_the_next_run(make_site: Any) -> None:
    # Fails before: the list's copy was recorded refused for good (the 3-in-a-row rule
    # needs 3 copies of a digest), and the run after the limit was raised sent nothing.
    handler = FaultyHandler({("DATA", 1): TOO_BIG})
    with aiosmtpd_server(handler, size_limit=LIMIT) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {LIST}")
        code, out, err = send_week(config, "--lang", "tr")
        assert (code, out) == (4, "")
        [line] = errors(err)
        assert_names_size_and_remedy(why_not_sent(line, f"tr 2015-W36 to {LIST}"))
        assert states(config) == [(LIST, "sending"), (LIST, "deferred")]
        handler.faults.clear()  # the relay's limit raised: the next run, no --resend
        assert send_week(config, "--lang", "tr") == (0, "1 sent, 0 already sent\n", "")
        assert send_week(config, "--lang", "tr")[:2] == (0, "")
    assert per_address(handler) == Counter([LIST])
    assert states(config)[-1] == (LIST, "sent")


def test_subscribers_copies_too_big_stop_the_run_at_the_first(make_site: Any) -> None:
    # Fails before: the first copy was recorded refused for good (the 3-in-a-row rule
    # needs 3 such refusals in a row), so u1 never got the digest once the limit was raised.
    handler = FaultyHandler({("DATA", 1): TOO_BIG})
    with aiosmtpd_server(handler, size_limit=LIMIT) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {LIST}")
        code, out, err = send_week(config, "--lang", "pl")
        assert (code, out) == (4, "")
        assert handler.calls["DATA"] == 1
        first, left = errors(err)
        why = why_not_sent(first, "pl 2015-W36 to u1@example.org")
        assert_names_size_and_remedy(why)
        assert left == f"error: pl 2015-W36: 29 subscribers not sent ({why}); left for the " \
                       "next run"
        assert states(config) == [("u1@example.org", "sending"), ("u1@example.org", "deferred")]
        handler.faults.clear()
        assert send_week(config, "--lang", "pl") == (0, "30 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter(SUBSCRIBERS)


def test_a_552_without_5_3_4_at_the_end_is_the_recipients_own(make_site: Any) -> None:
    # Passes before and after: a full mailbox (5.2.2) is that recipient's; a lone copy so
    # refused is recorded refused, and later runs skip it (--resend after a fix).
    full = "552 5.2.2 mailbox full"
    handler = FaultyHandler({("DATA", 1): full})
    with aiosmtpd_server(handler, size_limit=LIMIT) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {LIST}")
        code, out, err = send_week(config, "--lang", "tr")
        assert (code, out) == (4, "")
        [line] = errors(err)
        assert line.startswith(f"error: tr 2015-W36 to {LIST}: refused by the mail server "
                               f"({full} at the end of the message); recorded as refused")
        assert states(config)[-1] == (LIST, "refused")
        handler.faults.clear()
        assert send_week(config, "--lang", "tr")[:2] == (0, "")
    assert per_address(handler) == Counter()
