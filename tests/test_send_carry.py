"""A digest a `send` run left unfinished goes out with a later run, whatever week it is then.

`send` without `--week` picks the last complete week; a digest (or subscribers' copies) an
earlier run selected but could not send (the relay down, the run cut short) is carried
over by every later run until it is finished, each copy still once only. A real SMTP server
on loopback (aiosmtpd) counts what it received for each (Message-ID, recipient).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import SUBSCRIBERS, FaultyHandler, aiosmtpd_server, free_port, subscribers_config

from sfb_feeds.cli import main
from sfb_feeds.ledger import Ledger, State

RECORD = "id: urn:sfb:{l}-{d}\ntitle: T {l} {d}\ndate: {d}\nlanguage: {l}\nexcerpt: x\n"
W35, W36, W37 = "2015-08-28", "2015-09-04", "2015-09-10"  # a day of each week
STATEMENTS = {f"{lang}-{day}.yaml": RECORD.format(l=lang, d=day)
              for lang in ("pl", "tr") for day in (W36, W37)}
TR = "tr@lists.example.org"
AFTER_W36 = "2015-09-07T07:30:00+00:00"  # the last complete week: 2015-W36
AFTER_W37 = "2015-09-14T07:30:00+00:00"  # a week later: 2015-W37
ALL_DOWN = {("MAIL", n): "421 4.7.0 shutting down" for n in range(1, 1000)}


pytestmark = pytest.mark.usefixtures("send_environment")


def make_config(make_site: Any, port: int,
                statements: dict[str, str | bytes] | None = None) -> str:
    """pl to 30 subscribers of pl.txt, tr to its list; statements in 2015-W36 and W37."""
    return subscribers_config(make_site, port, statements or STATEMENTS, f"tr: {TR}")


def send(config: str, now: str, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--now", now, *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def weeks(handler: FaultyHandler) -> Counter[str]:
    """Copies received per week (the Message-IDs name it)."""
    return Counter(week for message_id, _ in handler.received.copies
                   for week in ("2015-W35", "2015-W36", "2015-W37") if week in message_id)


def once_each(handler: FaultyHandler) -> bool:
    return max(handler.received.counts().values()) == 1


def marks(config: str) -> list[tuple[str, str]]:
    """The ledger's records about digests as a whole: (digest, state)."""
    path = Path(config).parent / "state" / "sent.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [(row["digest"], row["state"]) for row in rows if row["recipient"] == ""]


def left_unsent(handler: FaultyHandler, config: str) -> None:
    """The run for 2015-W36 finds the relay turning every session away."""
    handler.faults.update(ALL_DOWN)
    code, out, err = send(config, AFTER_W36)
    assert (code, out) == (4, "")
    assert err.splitlines() == [
        f"error: tr 2015-W36 to {TR}: not sent (421 4.7.0 shutting down at MAIL FROM); it is "
        "left for the next run",
        "error: pl 2015-W36: 30 subscribers not sent (421 4.7.0 shutting down at MAIL FROM); "
        "left for the next run"]
    handler.faults.clear()


def test_a_week_left_unsent_goes_out_with_the_next_weeks_run(make_site: Any) -> None:
    # Fails on the old code: the run a week later sent 2015-W37 only; 2015-W36 was never
    # sent to anyone.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        assert send(config, AFTER_W37) == (0, "62 sent, 0 already sent\n", "")
        assert send(config, AFTER_W37) == (0, "", "")  # nothing left: silent
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)


def test_a_relay_refusing_connections_leaves_the_week_for_a_later_run(make_site: Any) -> None:
    # Nothing listens on the port that morning (connection refused): the run is retried
    # from cron a week later, when the relay is back.
    port = free_port()
    config = make_config(make_site, port)
    code, out, err = send(config, AFTER_W36)
    assert (code, out) == (4, "")
    assert err.count("left for the next run") == 2 and "Connection refused" in err
    handler = FaultyHandler()
    with aiosmtpd_server(handler, port):
        assert send(config, AFTER_W37) == (0, "62 sent, 0 already sent\n", "")
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)


def test_a_mailing_cut_short_is_completed_without_doubling_anyone(make_site: Any) -> None:
    # The server goes away after 11 messages (the list's, then 10 subscribers'). Fails on
    # the old code: the other 20 subscribers never got 2015-W36.
    handler = FaultyHandler({("MAIL", n): "drop" for n in range(12, 1000)})
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        code, out, err = send(config, AFTER_W36)
        assert (code, out) == (4, "11 sent, 0 already sent\n")
        lines = err.splitlines()
        assert lines[-1].startswith("error: pl 2015-W36: ") and " subscribers not sent (" in err
        assert all(line.startswith("error: pl 2015-W36") and line.endswith(
            "left for the next run") for line in lines), lines
        handler.faults.clear()
        assert send(config, AFTER_W37) == (0, "51 sent, 10 already sent\n", "")
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)
    assert Counter(address for _, address in handler.received.copies) == Counter(
        [*SUBSCRIBERS, *SUBSCRIBERS, TR, TR])


def test_a_fresh_install_sends_only_the_last_complete_week(make_site: Any) -> None:
    statements = {**STATEMENTS, "pl-w35.yaml": RECORD.format(l="pl", d=W35)}
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port, statements)
        assert send(config, AFTER_W37, "--dry-run") == (0, (
            f"would send tr 2015-W37 to {TR} (digests/tr/2015-W37.eml)\n"
            "would send pl 2015-W37 to 30 subscribers (0 already sent, 0 unsubscribed "
            "skipped)\nwould send 31\n"), "")
        assert send(config, AFTER_W37) == (0, "31 sent, 0 already sent\n", "")
    assert weeks(handler) == Counter({"2015-W37": 31})


def test_a_digest_sent_whole_is_not_carried_over(make_site: Any) -> None:
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        assert send(config, AFTER_W36) == (0, "31 sent, 0 already sent\n", "")
        assert marks(config) == [("digests/tr/2015-W36.eml", "due"),
                                 ("digests/pl/2015-W36.eml", "due"),
                                 ("digests/pl/2015-W36.eml", "finished"),
                                 ("digests/tr/2015-W36.eml", "finished")]
        code, out, err = send(config, AFTER_W37, "-v")
    assert (code, out) == (0, "31 sent, 0 already sent\n")
    assert "carried" not in err and "2015-W36" not in err
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})


def test_dry_run_and_verbose_show_what_is_carried_over(make_site: Any) -> None:
    # Fails on the old code: neither mentioned 2015-W36, which was never sent.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        assert send(config, AFTER_W37, "--dry-run") == (0, (
            f"would send tr 2015-W37 to {TR} (digests/tr/2015-W37.eml)\n"
            f"would send tr 2015-W36 to {TR} (digests/tr/2015-W36.eml; carried over from an "
            "earlier run)\n"
            "would send pl 2015-W36 to 30 subscribers (0 already sent, 0 unsubscribed "
            "skipped; carried over from an earlier run)\n"
            "would send pl 2015-W37 to 30 subscribers (0 already sent, 0 unsubscribed "
            "skipped)\nwould send 62\n"), "")
        assert handler.received.copies == []
        code, out, err = send(config, AFTER_W37, "-v")
    assert (code, out) == (0, "62 sent, 0 already sent\n")
    assert err.splitlines()[:2] == [
        "pl 2015-W36: carried over from an earlier run that did not finish it",
        "tr 2015-W36: carried over from an earlier run that did not finish it"]
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})


def test_a_carried_digest_still_unsent_is_reported_by_each_run(make_site: Any) -> None:
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        handler.faults.update(ALL_DOWN)
        code, out, err = send(config, AFTER_W37, "--lang", "tr")
        assert (code, out) == (4, "")
        assert err.splitlines() == [
            f"error: tr 2015-W37 to {TR}: not sent (421 4.7.0 shutting down at MAIL FROM); "
            "it is left for the next run",
            f"error: tr 2015-W36 to {TR}: not sent (421 4.7.0 shutting down at MAIL FROM); "
            "it is left for the next run"]
        handler.faults.clear()
        assert send(config, AFTER_W37) == (0, "62 sent, 0 already sent\n", "")
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)


def test_a_digest_left_too_long_is_no_longer_sent_but_named_once(make_site: Any) -> None:
    # Five weeks after 2015-W36 the relay is back: that digest is old news, and a copy
    # still failing after weeks of hourly runs is a fault of its own, so the run warns once
    # with the command that sends it, and sends only its own week (none: no statements).
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        later = "2015-10-12T07:30:00+00:00"  # the last complete week: 2015-W41
        assert send(config, later, "--dry-run") == (0, "would send 0\n", (
            "warning: pl 2015-W36: left unfinished by an earlier run and now more than 4 "
            "weeks old, so it is no longer sent automatically; to send what is left of it, "
            "run: sfb-feeds send --week 2015-W36 --lang pl\n"
            "warning: tr 2015-W36: left unfinished by an earlier run and now more than 4 "
            "weeks old, so it is no longer sent automatically; to send what is left of it, "
            "run: sfb-feeds send --week 2015-W36 --lang tr\n"))
        code, out, err = send(config, later)
        assert (code, out) == (0, "")
        assert err.count("warning: ") == 2
        assert send(config, later) == (0, "", "")  # said once
        assert handler.received.copies == []
        assert send(config, later, "--week", "2015-W36", "--lang", "pl") == (
            0, "30 sent, 0 already sent\n", "")
    assert weeks(handler) == Counter({"2015-W36": 30})


def test_a_carried_digest_is_not_carried_into_test_copies_or_resends(make_site: Any) -> None:
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        assert send(config, AFTER_W37, "--lang", "tr", "--to", "me@example.org") == (
            0, "1 test copy sent to me@example.org; nothing recorded\n", "")
        assert send(config, AFTER_W37, "--lang", "tr", "--resend") == (
            0, "1 sent, 0 already sent\n", "")
    assert [(m.split(".")[1], a) for m, a in handler.received.copies] == [
        ("2015-W37", "me@example.org"), ("2015-W37", TR)]


def test_marks_do_not_change_what_the_ledger_says_of_each_copy(make_site: Any) -> None:
    # The records about a digest as a whole (recipient "") are no state of a copy: the
    # ledger as read for sending (and by the code before them) skips them.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        assert send(config, AFTER_W36, "--lang", "tr") == (0, "1 sent, 0 already sent\n", "")
    ledger = Ledger(Path(config).parent / "state" / "sent.jsonl")
    assert ledger.states() == {(handler.received.copies[0][0], TR): State.SENT}
    assert marks(config) == [("digests/tr/2015-W36.eml", "due"),
                             ("digests/tr/2015-W36.eml", "finished")]


def start(config: str) -> subprocess.Popen[str]:
    env = dict(os.environ, SFB_FEEDS_LOCK_WAIT="120")
    return subprocess.Popen(
        [sys.executable, "-m", "sfb_feeds", "send", "--config", config, "--now", AFTER_W37],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_overlapping_runs_send_a_carried_digest_once(make_site: Any) -> None:
    handler = FaultyHandler(delay=0.02)  # sending takes a while, so the runs overlap
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        runs = [start(config) for _ in range(3)]
        results = [(run.wait(300), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert sorted(out for _, out, _ in results) == ["", "", "62 sent, 0 already sent\n"]
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)


def test_a_week_not_over_is_not_carried_over_by_a_run_whose_clock_is_earlier(
    make_site: Any,
) -> None:
    # A run for 2015-W37 (its clock set ahead, or --now) left that digest due; a run whose
    # clock says 2015-W37 is still going must not send it: its digest would leave out what
    # is published later that week, and it is sent once (as `send --week` of a week not
    # over is refused). Fails on the old code: the run carried it over and sent it.
    handler = FaultyHandler(ALL_DOWN)
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        assert send(config, AFTER_W37)[0] == 4
        handler.faults.clear()
        during_w37 = "2015-09-11T07:30:00+00:00"  # its statement (09-10) is out
        assert send(config, during_w37) == (0, "31 sent, 0 already sent\n", "")
        assert weeks(handler) == Counter({"2015-W36": 31})
        assert send(config, AFTER_W37) == (0, "31 sent, 0 already sent\n", "")
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)


def drop_www_from_site_url(config: str) -> None:
    """site.url changed (so the Message-IDs made from it change)."""
    path = Path(config)
    path.write_text(path.read_text().replace("url: https://www.istendency.net/\n",
                                             "url: https://istendency.net/\n", 1))


def test_a_digest_whose_message_id_changed_is_not_sent_to_everyone_again(
    make_site: Any,
) -> None:
    # site.url changed after the week's digests went out (www. dropped, say): the
    # Message-ID, made from it, changes, so no copy's record matches any more. Fails on the
    # old code: the next hourly run mailed every subscriber and the list the week again.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        assert send(config, AFTER_W36) == (0, "31 sent, 0 already sent\n", "")
        old = {message_id for message_id, _ in handler.received.copies}
        drop_www_from_site_url(config)
        # Sent whole under the old Message-ID: left out, and quietly (send runs hourly).
        assert send(config, AFTER_W36) == (0, "", "")
        assert send(config, AFTER_W36, "--lang", "tr", "--resend") == (
            0, "1 sent, 0 already sent\n", "")
        assert send(config, AFTER_W36, "--lang", "tr") == (0, "", "")
    assert weeks(handler) == Counter({"2015-W36": 32})
    assert len({message_id for message_id, _ in handler.received.copies} - old) == 1


def test_a_resend_under_a_new_message_id_left_unfinished_is_finished_by_later_runs(
    make_site: Any,
) -> None:
    # pl was left due; after site.url changed, `--resend` (as the warning says) finds the
    # relay down: later runs finish it under the new Message-ID. Fails without the digest
    # marked due under that Message-ID: it kept its old mark, so later runs left it out
    # with the warning, and only another --resend (doubling what had gone) could finish it.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        handler.faults.update(ALL_DOWN)
        assert send(config, AFTER_W36, "--lang", "pl")[0] == 4  # due, under the old one
        drop_www_from_site_url(config)
        assert send(config, AFTER_W36, "--lang", "pl", "--resend")[0] == 4
        handler.faults.clear()
        assert send(config, AFTER_W36, "--lang", "pl") == (0, "30 sent, 0 already sent\n", "")
        assert send(config, AFTER_W36, "--lang", "pl") == (0, "", "")
    assert weeks(handler) == Counter({"2015-W36": 30})
    assert once_each(handler)


def test_a_digest_due_under_an_old_message_id_is_left_out_with_a_warning(
    make_site: Any,
) -> None:
    # pl was left due (the relay down); then site.url changed. Whether any copy went under
    # the old Message-ID only the ledger knows: the digest is left out, with a warning
    # naming the command that sends it (under the new one) when the operator decides.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        handler.faults.update(ALL_DOWN)
        assert send(config, AFTER_W36, "--lang", "pl")[0] == 4
        handler.faults.clear()
        drop_www_from_site_url(config)
        code, out, err = send(config, AFTER_W36, "--lang", "pl")
    assert (code, out, handler.received.copies) == (0, "", [])
    assert err.startswith("warning: pl 2015-W36: not sent: the ledger knows it as <")
    assert err.endswith("to send it anyway, run: sfb-feeds send --resend --week 2015-W36 "
                        "--lang pl\n")
