"""`sfb-feeds send` on the command line against a real SMTP server on loopback (aiosmtpd)
that misbehaves, with lists and subscribers: what is delivered, what the operator is told,
which exit code, and what the next run does.
"""

from __future__ import annotations

import io
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import small_tmpfs
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
from sfb_feeds.errors import display_path

LIST = "pl@lists.example.org"


pytestmark = pytest.mark.usefixtures("send_environment")


def make_config(make_site: Any, port: int, lists: str = "tr: tr@lists.example.org") -> str:
    return subscribers_config(make_site, port, STATEMENTS, lists)


def test_a_server_that_drops_every_new_connection_is_given_up_after_three(
    make_site: Any,
) -> None:
    # A relay that answers 421 to the first command of every session (too many
    # connections, shutting down): README promises at most 3 failed connections in a row.
    # Fails on the old code: each of the 31 messages was tried on 3 new connections (93
    # sessions; with the real backoff, 12 s a message: hours for a real list of subscribers).
    handler = FaultyHandler({("MAIL", n): "421 4.7.0 too many connections"
                             for n in range(1, 200)})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        code, out, err = send_week(config)
        assert handler.calls["MAIL"] == 3
        assert (code, out) == (4, "")
        assert err.splitlines() == [
            "error: tr 2015-W36 to tr@lists.example.org: not sent (421 4.7.0 too many "
            "connections at MAIL FROM); it is left for the next run",
            "error: pl 2015-W36: 30 subscribers not sent (421 4.7.0 too many connections at "
            "MAIL FROM); left for the next run"]
        handler.faults.clear()
        assert send_week(config) == (0, "31 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "tr@lists.example.org"])


def test_a_drop_at_one_subscribers_rcpt_does_not_stop_the_others(make_site: Any) -> None:
    # The server hangs up whenever u1, the first, is named (three tries, each on a new
    # connection): that
    # is about the message, not the session, so the run goes on with the next subscriber
    # (giving up would leave everyone after u1 unsent on every run).
    handler = FaultyHandler({("RCPT", n): "drop" for n in (1, 2, 3)})
    with aiosmtpd_server(handler) as port:
        code, out, err = send_week(make_config(make_site, port), "--lang", "pl")
    assert (code, out) == (4, "29 sent, 0 already sent\n")
    assert err.startswith("error: pl 2015-W36 to u1@example.org: not sent (the connection broke "
                          "before the message was sent: ")
    assert err.endswith("; it is left for the next run\n") and err.count("\n") == 1
    assert per_address(handler) == Counter(SUBSCRIBERS[1:])


def test_a_421_after_messages_went_through_is_not_a_failed_connection(
    make_site: Any,
) -> None:
    # A server that ends each session after two messages (as relays limit messages a
    # session): every new connection works, so the run never gives up.
    handler = FaultyHandler({("MAIL", n): "421 4.7.0 session limit" for n in range(3, 200, 3)})
    with aiosmtpd_server(handler) as port:
        assert send_week(make_config(make_site, port)) == (0, "31 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "tr@lists.example.org"])


def test_an_unreadable_suppression_list_stops_the_run_naming_it(make_site: Any) -> None:
    # Fails on the old code: 'internal error ... IsADirectoryError', exit 70.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        suppressed = Path(config).parent / "state" / "suppressed.jsonl"
        suppressed.mkdir(parents=True)
        code, out, err = send_week(config)
    assert (code, out) == (1, "")
    assert err == (f"error: {display_path(suppressed)}: cannot read the suppression list: "
                   "Is a directory; "
                   "nothing was sent (without it, addresses that unsubscribed would be "
                   "mailed: fix it, then run send again)\n")
    assert handler.received.copies == []


@pytest.fixture
def small_state(tmp_path: Path) -> Iterator[Path]:
    """``site/state`` on a 48 KB tmpfs; skipped where mounting is not allowed."""
    with small_tmpfs(tmp_path / "site" / "state", "48k") as state:
        yield state


def test_a_refusal_before_the_ledger_fills_up_is_still_reported(
    make_site: Any, small_state: Path,
) -> None:
    # The second subscriber is refused (recorded: later runs skip it quietly), then the
    # ledger's disk fills up (exit 1). Fails on the old code: only the ledger error was printed, so
    # the refusal was never reported by any run.
    subscribers = [f"subscriber-number-{n}@example.org" for n in range(1, 300)]
    handler = FaultyHandler({("RCPT", 3): "550 5.1.1 no such user"})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        Path(config).with_name("pl.txt").write_text("".join(f"{a}\n" for a in subscribers))
        code, out, err = send_week(config)
    ledger = small_state / "sent.jsonl"
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == (
        f"error: pl 2015-W36 to {subscribers[1]}: refused by the mail server (550 5.1.1 no "
        f"such user at RCPT TO); recorded as refused in {ledger}: later runs skip it (after a "
        f"fix, sfb-feeds send --resend --week 2015-W36 --lang pl --recipient {subscribers[1]} "
        "tries again)")
    assert lines[1].startswith(f"error: {display_path(ledger)}: cannot write the send ledger: "
                               "no space left")
    assert lines[2:] == ["  before it stopped, this run: 98 sent, 0 already sent"]


def hint(err: str) -> list[str]:
    """The command the error says to run to send a copy again."""
    found = re.search(r"sfb-feeds (send --resend [^()]*?)(?: \(| tries again)", err)
    assert found is not None, err
    return found.group(1).split()


def test_the_hint_to_resend_a_list_copy_resends_only_that(make_site: Any) -> None:
    # A language with a list and subscribers; the list's copy may have gone out. Fails on
    # the old code: the hint (send --resend --week W --lang pl) mailed every subscriber a
    # second copy.
    handler = FaultyHandler({("DATA", 1): "drop-after"})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port, lists=f"pl: {LIST}, tr: tr@lists.example.org")
        code, out, err = send_week(config)
        assert (code, out) == (4, "31 sent, 0 already sent\n")
        assert hint(err) == ["send", "--resend", "--week", "2015-W36", "--lang", "pl",
                             "--recipient", LIST]
        assert send_week(config, *hint(err)[1:]) == (0, "1 sent, 0 already sent\n", "")
        assert send_week(config) == (0, "", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "tr@lists.example.org", LIST, LIST])


def test_a_refused_list_copy_is_resent_alone(make_site: Any) -> None:
    handler = FaultyHandler({("RCPT", 1): "550 5.7.1 list is moderated"})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port, lists=f"pl: {LIST}, tr: tr@lists.example.org")
        code, out, err = send_week(config)
        assert (code, out) == (4, "31 sent, 0 already sent\n")
        assert hint(err) == ["send", "--resend", "--week", "2015-W36", "--lang", "pl",
                             "--recipient", LIST]
        assert send_week(config, "--dry-run", *hint(err)[1:]) == (
            0, f"would send pl 2015-W36 to {LIST} (digests/pl/2015-W36.eml)\nwould send 1\n",
            "")
        assert send_week(config, *hint(err)[1:]) == (0, "1 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "tr@lists.example.org", LIST])


class RewritingHandler(FaultyHandler):
    """Rewrites ``path`` in place (truncated, then written: as ``>`` in a shell, or a
    script's ``open(path, "w")``), or appends to it, while the ``at``-th message is being
    handed over."""

    def __init__(self, path: Path, text: str, at: int, mode: str = "w") -> None:
        super().__init__()
        self.path, self.text, self.at, self.mode = path, text, at, mode

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.calls["DATA"] + 1 == self.at:
            with self.path.open(self.mode, encoding="utf-8") as file:
                file.write(self.text)
        return await super().handle_DATA(server, session, envelope)


def test_a_recipients_file_rewritten_during_the_run_mails_no_fragment(make_site: Any) -> None:
    # Next week's export of the subscribers lands while send streams this one: the old file
    # less its first five lines, plus a new subscriber at the top. Fails on the old code: the
    # reader went on at its offset in the new text, mailing 'ubscriber25@example.org'-like
    # fragments that are in neither version, and skipping subscribers silently.
    old = [f"subscriber{n}@example.org" for n in range(1, 401)]
    new = ["newcomer@example.org", *old[5:]]
    path = Path(make_site(STATEMENTS)).with_name("pl.txt")
    handler = RewritingHandler(path, "".join(f"{a}\n" for a in new), at=101)
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        path.write_text("".join(f"{a}\n" for a in old))
        code, out, err = send_week(config)
        assert (code, out) == (4, "101 sent, 0 already sent\n")
        assert err == (
            "error: pl 2015-W36 to site/pl.txt: not sent to the subscribers after line 100: "
            "cannot read site/pl.txt: it changed while it was being read (write the new file "
            "under another name, then rename it into place); they are left for the next run\n")
        assert send_week(config) == (0, "301 sent, 96 already sent\n", "")
    got = per_address(handler)
    assert set(got) <= {*old, *new, "tr@lists.example.org"}
    assert set(got) == {*old[:100], *new, "tr@lists.example.org"}
    assert max(got.values()) == 1


def test_an_address_appended_during_the_run_is_mailed_too(make_site: Any) -> None:
    # A sign-up appends to the file (echo ... >> pl.txt) while send reads it: what was read
    # is still the file's, so the run goes on and mails the newcomer as well.
    path = Path(make_site(STATEMENTS)).with_name("pl.txt")
    handler = RewritingHandler(path, "newcomer@example.org\n", at=11, mode="a")
    with aiosmtpd_server(handler) as port:
        assert send_week(make_config(make_site, port)) == (0, "32 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "newcomer@example.org",
                                            "tr@lists.example.org"])


def test_a_recipients_file_cut_short_during_the_run_is_reported(make_site: Any) -> None:
    # The rewrite has only truncated the file when send reads on: it finds the end there.
    # Fails without the check at the end: the run ended as if the file had, exit 0.
    path = Path(make_site(STATEMENTS)).with_name("pl.txt")
    handler = RewritingHandler(path, "", at=31)
    with aiosmtpd_server(handler) as port:
        assert send_week(make_config(make_site, port)) == (
            4, "31 sent, 0 already sent\n",
            "error: pl 2015-W36 to site/pl.txt: not sent to the subscribers after line 30: "
            "cannot read site/pl.txt: it changed while it was being read (write the new file "
            "under another name, then rename it into place); they are left for the next run\n")


def test_a_greeting_refused_is_quoted_as_the_server_said_it(make_site: Any) -> None:
    # A server that turns every session away at its greeting (421, then hangs up). Fails on
    # the old code, which showed Python's tuple: "(421, b'4.3.2 too busy')".
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            for _ in range(3):
                connection, _ = listener.accept()
                with connection:
                    connection.sendall(b"421 4.3.2 too busy\r\n")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        code, out, err = send_week(make_config(make_site, port), "--lang", "tr")
        thread.join(10)
    assert (code, out, err) == (4, "", f"error: tr 2015-W36 to tr@lists.example.org: not sent "
                                f"(cannot connect to 127.0.0.1:{port}: 421 4.3.2 too busy); it "
                                "is left for the next run\n")


@pytest.mark.parametrize(("old", "new", "where"), [
    ("tr: tr@lists.example.org", "tr: tr@bücher.example", "12: digests.lists.tr: "
     "'tr@bücher.example'"),
    ("tr: tr@lists.example.org", "tr: Türkçe <tür@example.org>", "12: digests.lists.tr: "
     "'Türkçe <tür@example.org>'"),
    ("from: Digest <digest@example.org>", "from: Dígest <digést@example.org>",
     "9: digests.from: 'Dígest <digést@example.org>'"),
])
def test_an_address_smtp_cannot_carry_is_refused_by_check_and_send(
    make_site: Any, old: str, new: str, where: str,
) -> None:
    # Fails on the old code: check said OK and send stopped with an internal error (exit 70,
    # UnicodeEncodeError) at the first MAIL FROM or RCPT TO, the digests after it unsent.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = Path(make_config(make_site, port))
        config.write_text(config.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        message = (f"error: site/sfb-feeds.yaml:{where} has characters outside ASCII in its "
                   "address (write the domain in its xn-- form; a display name may have "
                   "any)\n")
        assert send_week(str(config)) == (1, "", message)
        out, err = io.StringIO(), io.StringIO()
        assert main(["check", "--config", str(config)], out=out, err=err) == 1
        assert err.getvalue() == message
    assert handler.received.copies == []


def test_a_5xx_to_the_sender_stops_the_run_and_refuses_no_one(make_site: Any) -> None:
    # "550 sender not allowed" (or "530 authentication required", "554 over quota") at
    # MAIL FROM is about the sender, not about a recipient: the run stops, nothing is
    # recorded as refused, and the next run, once the cause is fixed, sends everything.
    # Fails on the old code: every copy was recorded as refused (31 errors), and later
    # runs skipped them all for good.
    handler = FaultyHandler({("MAIL", n): "550 5.7.1 sender not allowed" for n in range(1, 200)})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        code, out, err = send_week(config)
        assert handler.calls["MAIL"] == 1
        assert (code, out) == (4, "")
        why = ("550 5.7.1 sender not allowed at MAIL FROM: the server turned down the sender, "
               "so the run stopped")
        assert err.splitlines() == [
            f"error: tr 2015-W36 to tr@lists.example.org: not sent ({why}); it is left for the "
            "next run",
            f"error: pl 2015-W36: 30 subscribers not sent ({why}); left for the next run"]
        handler.faults.clear()
        assert send_week(config) == (0, "31 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "tr@lists.example.org"])


def test_a_server_deferring_every_message_is_given_up_after_five_in_a_row(
    make_site: Any,
) -> None:
    # A relay that answers 451 to every recipient (rate limited, its queue full): each
    # message is tried three times; after five messages in a row not sent, the run stops
    # instead of spending 12 s a message on the whole list (hours for 10,000 subscribers).
    # Fails on the old code: all 31 messages were tried three times (93 RCPTs).
    handler = FaultyHandler({("RCPT", n): "451 4.7.1 rate limited" for n in range(1, 400)})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        code, out, err = send_week(config)
        assert handler.calls["RCPT"] == 15
        assert (code, out) == (4, "")
        pending = "not sent (451 4.7.1 rate limited at RCPT TO); it is left for the next run"
        stopped = ("451 4.7.1 rate limited at RCPT TO; 5 messages in a row not sent, so the "
                   "run stopped")
        assert err.splitlines() == [
            f"error: tr 2015-W36 to tr@lists.example.org: {pending}",
            *(f"error: pl 2015-W36 to u{n}@example.org: {pending}" for n in range(1, 5)),
            f"error: pl 2015-W36: 26 subscribers not sent ({stopped}); left for the next run"]
        handler.faults.clear()
        assert send_week(config) == (0, "31 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "tr@lists.example.org"])


def test_messages_deferred_now_and_then_do_not_stop_the_run(make_site: Any) -> None:
    # Four messages in a row deferred (three tries each), then one that goes through: the
    # count starts again, and the run goes on to the end.
    faults = {("RCPT", n): "451 4.3.0 try later" for n in range(1, 13)}
    faults.update({("RCPT", n): "451 4.3.0 try later" for n in range(14, 26)})
    handler = FaultyHandler(faults)
    with aiosmtpd_server(handler) as port:
        code, out, err = send_week(make_config(make_site, port))
    assert (code, out) == (4, "23 sent, 0 already sent\n")
    assert err.count("not sent (451 4.3.0 try later at RCPT TO)") == 8
    assert "run stopped" not in err


def test_may_have_gone_out_is_said_once_not_by_every_hourly_run(make_site: Any) -> None:
    # send runs every hour from cron: a copy that may have gone out is reported by the run
    # that met it (exit 4, with what to do), and later runs of the same week stay silent,
    # as they do for a refusal. Fails on the old code: every later run reported it again
    # (exit 4, a mail from cron every hour for the rest of the week).
    handler = FaultyHandler({("DATA", 1): "drop-after"})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port, lists=f"pl: {LIST}, tr: tr@lists.example.org")
        code, out, err = send_week(config, "--quiet")
        assert (code, out) == (4, "")
        assert err.startswith(f"error: pl 2015-W36 to {LIST}: may have gone out: ")
        assert send_week(config, "--quiet") == (0, "", "")
        assert send_week(config, "--quiet") == (0, "", "")
        assert send_week(config, *hint(err)[1:]) == (0, "1 sent, 0 already sent\n", "")
    assert per_address(handler) == Counter([*SUBSCRIBERS, "tr@lists.example.org", LIST, LIST])


def test_a_copy_left_sending_by_a_killed_run_is_reported_by_the_next_run_only(
    make_site: Any,
) -> None:
    # A run killed while the server had a copy leaves `sending` in the ledger and says
    # nothing: the next run reports it (once), the runs after it do not.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port, lists=f"pl: {LIST}, tr: tr@lists.example.org")
        assert send_week(config, "--lang", "tr")[0] == 0
        ledger = Path(config).parent / "state" / "sent.jsonl"
        line = next(line for line in ledger.read_text().splitlines() if '"sent"' in line)
        ledger.write_text(ledger.read_text() + line.replace('"sent"', '"sending"') + "\n")
        code, out, err = send_week(config, "--lang", "tr")
        assert (code, out) == (4, "")
        assert err.startswith("error: tr 2015-W36 to tr@lists.example.org: may have gone out "
                              "in an earlier run")
        assert send_week(config, "--lang", "tr") == (0, "", "")
    assert per_address(handler) == Counter(["tr@lists.example.org"])


def test_may_have_gone_out_met_before_the_ledger_fills_up_is_still_reported(
    make_site: Any, small_state: Path,
) -> None:
    # A killed run left the tr list's copy `sending`; the next run meets it (it may have
    # gone out), then the ledger's disk fills up (exit 1). Fails on the old code: the copy
    # was recorded `uncertain` (said, so later runs stay silent) as soon as it was met, but
    # the ledger error was printed alone, so no run ever reported it.
    subscribers = [f"subscriber-number-{n}@example.org" for n in range(1, 300)]
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        assert send_week(config, "--lang", "tr")[0] == 0
        ledger = small_state / "sent.jsonl"
        line = next(line for line in ledger.read_text().splitlines() if '"sent"' in line)
        ledger.write_text(ledger.read_text() + line.replace('"sent"', '"sending"') + "\n")
        Path(config).with_name("pl.txt").write_text("".join(f"{a}\n" for a in subscribers))
        code, out, err = send_week(config)
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0].startswith("error: tr 2015-W36 to tr@lists.example.org: may have gone out "
                               "in an earlier run")
    assert lines[1].startswith(f"error: {display_path(ledger)}: cannot write the send ledger: "
                               "no space left")
    assert lines[2:] == ["  before it stopped, this run: 97 sent, 0 already sent"]
    assert '"uncertain"' not in ledger.read_text()  # not said to anyone: the next run says it
