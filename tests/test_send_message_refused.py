"""A relay that refuses the message itself, not its recipient: the copies of a digest too
large for it, or whose content it rejects, are not recorded refused one by one.

A real SMTP server on loopback (aiosmtpd) counts what it received per recipient; the
ledger's lines are read as JSON.
"""

from __future__ import annotations

import io
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

from sfb_feeds.cli import main

LIST = "tr@lists.example.org"
CONTENT = "554 5.7.1 content rejected"


pytestmark = pytest.mark.usefixtures("send_environment")


def last_states(config: str) -> dict[str, str]:
    """Each recipient's last state in the ledger."""
    path = Path(config).parent / "state" / "sent.jsonl"
    if not path.exists():
        return {}
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {line["recipient"]: line["state"] for line in lines if line["recipient"]}


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_a_digest_larger_than_the_relay_takes_is_refused_at_mail_from(make_site: Any) -> None:
    # Fails before SIZE was declared: the relay took MAIL and RCPT, refused each copy at the
    # end of its data (552), and every subscriber was recorded refused, then skipped.
    handler = FaultyHandler()
    with aiosmtpd_server(handler, size_limit=1000) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {LIST}")
        code, out, err = send_week(config, "--lang", "pl")
    assert (code, out) == (4, "")
    assert handler.calls["RCPT"] == handler.calls["DATA"] == 0  # (aiosmtpd refused at MAIL)
    assert "refused" not in " ".join(last_states(config).values())
    first, left = errors(err)  # the copy being sent, then how many were left: one cause
    why = first.removeprefix("error: pl 2015-W36 to u1@example.org: not sent (")
    why = why.removesuffix("); it is left for the next run")
    found = re.fullmatch(r"552 .* at MAIL FROM: the message is ([\d,]+) bytes and the relay "
                         r"takes at most 1,000 \(SIZE in its EHLO\); shrink the digest or raise "
                         r"the relay's size limit \(Postfix: message_size_limit\), so the run "
                         r"stopped", why)
    assert found is not None, why
    assert int(found[1].replace(",", "")) > 1000
    assert left == f"error: pl 2015-W36: 29 subscribers not sent ({why}); left for the next run"
    with aiosmtpd_server(handler, port):  # the limit raised: everyone gets it, once
        assert send_week(config, "--lang", "pl")[:2] == (0, "30 sent, 0 already sent\n")
    assert per_address(handler) == Counter(SUBSCRIBERS)


def test_a_relay_rejecting_the_content_stops_that_digest_not_the_others(make_site: Any) -> None:
    # Fails before the rule: each of the 30 copies was refused at the end of its data and
    # recorded refused (30 errors), and a later run sent none of them.
    # The list's copy (tr) goes first, and is taken; every pl copy after it is refused.
    handler = FaultyHandler({("DATA", n): CONTENT for n in range(2, 40)})
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {LIST}")
        code, out, err = send_week(config)
        assert (code, out) == (4, "1 sent, 0 already sent\n")
        assert handler.calls["DATA"] == 1 + 3  # the list's copy, then 3 refused: no more
        assert errors(err) == [
            f"error: pl 2015-W36: the relay refused the message itself: {CONTENT} at the end "
            "of the message; no copy of it was sent in this run after that (30 copies left "
            "for the next run); fix the cause and run send again"]
        states = last_states(config)
        assert states[LIST] == "sent"
        assert {states[a] for a in SUBSCRIBERS if a in states} == {"deferred"}
        handler.faults.clear()  # the cause fixed: the next run (no --resend) sends them all
        assert send_week(config)[:2] == (0, "30 sent, 1 already sent\n")
        assert send_week(config)[:2] == (0, "")
    assert per_address(handler) == Counter([LIST, *SUBSCRIBERS])


def test_refusals_of_a_few_recipients_stay_their_own(make_site: Any) -> None:
    # Passes before and after: two refusals in a row, then a copy taken, then two more (and
    # refusals at RCPT, however many) are about those recipients, recorded refused.
    faults = {("DATA", n): CONTENT for n in (2, 3, 5, 6)}
    faults.update({("RCPT", n): "550 5.1.1 no such user" for n in range(10, 14)})
    handler = FaultyHandler(faults)
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, f"tr: {LIST}")
        code, out, err = send_week(config, "--lang", "pl")
        assert (code, out) == (4, "22 sent, 0 already sent\n")
        assert len(errors(err)) == 8
        refused = [a for a, state in last_states(config).items() if state == "refused"]
        assert refused == [f"u{n}@example.org" for n in (2, 3, 5, 6, 10, 11, 12, 13)]
        assert send_week(config, "--lang", "pl") == (0, "", "")


def test_a_digest_whose_message_was_refused_is_carried_to_the_next_run(make_site: Any) -> None:
    # Fails before the rule: the copies were recorded refused, so the digest was finished
    # and a week later no subscriber got 2015-W36.
    record = "id: urn:sfb:pl-{d}\ntitle: T {d}\ndate: {d}\nlanguage: pl\nexcerpt: x\n"
    statements = {f"pl-{day}.yaml": record.format(d=day) for day in ("2015-09-04", "2015-09-10")}
    handler = FaultyHandler({("DATA", n): CONTENT for n in range(1, 40)})
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, statements, f"tr: {LIST}")
        code, _, err = main_send(config, "2015-09-07T07:30:00+00:00")  # the week: 2015-W36
        assert (code, len(errors(err))) == (4, 1)
        handler.faults.clear()
        code, out, err = main_send(config, "2015-09-14T07:30:00+00:00")  # W37, and W36 left
        assert (code, out, err) == (0, "60 sent, 0 already sent\n", "")
    assert Counter(week for message_id, _ in handler.received.copies
                   for week in ("2015-W36", "2015-W37") if week in message_id) == Counter(
                       {"2015-W36": 30, "2015-W37": 30})
    assert max(handler.received.counts().values()) == 1


def main_send(config: str, now: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--now", now], out=out, err=err)
    return code, out.getvalue(), err.getvalue()
