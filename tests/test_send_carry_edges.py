"""Digests carried over (a ``due`` mark a run left) whose digest is gone, changed, or whose
mark was written by hand: nothing is lost, nothing is sent twice, and the user is told once.

Through the CLI, with a real SMTP server on loopback (aiosmtpd) and the ledger file.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import (
    AFTER_W36,
    AFTER_W37,
    SUBSCRIBERS,
    TR,
    W36,
    W37,
    FaultyHandler,
    aiosmtpd_server,
    subscribers_config,
)
from smtp_faults import TWO_WEEKS as STATEMENTS

from sfb_feeds.cli import main
from sfb_feeds.errors import display_path

ALL_DOWN = {("MAIL", n): "421 4.7.0 shutting down" for n in range(1, 1000)}
PL36, TR36 = "digests/pl/2015-W36.eml", "digests/tr/2015-W36.eml"


pytestmark = pytest.mark.usefixtures("send_environment")


def make_config(make_site: Any, port: int) -> str:
    """pl to the 30 subscribers of pl.txt, tr to its list; statements in 2015-W36 and W37."""
    return subscribers_config(make_site, port, STATEMENTS, f"tr: {TR}")


def send(config: str, now: str, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", config, "--now", now, *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ledger_path(config: str) -> Path:
    return Path(config).parent / "state" / "sent.jsonl"


def rows(config: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in ledger_path(config).read_text().splitlines()]


def marks(config: str) -> list[tuple[str, str]]:
    """The ledger's records about digests as a whole: (digest, state)."""
    return [(row["digest"], row["state"]) for row in rows(config) if row["recipient"] == ""]


def weeks(handler: FaultyHandler) -> Counter[str]:
    """Copies received per week (the Message-IDs name it)."""
    return Counter(week for message_id, _ in handler.received.copies
                   for week in ("2015-W36", "2015-W37") if week in message_id)


def once_each(handler: FaultyHandler) -> bool:
    return max(handler.received.counts().values()) == 1


def left_unsent(handler: FaultyHandler, config: str) -> None:
    """The run for 2015-W36 finds the relay turning every session away: both digests due."""
    handler.faults.update(ALL_DOWN)
    assert send(config, AFTER_W36)[0] == 4
    handler.faults.clear()
    assert marks(config) == [(TR36, "due"), (PL36, "due")]


def statement(config: str, name: str) -> Path:
    return Path(config).parent / "statements" / name


def no_digest_any_more(lang: str) -> str:
    return (f"warning: {lang} 2015-W36: left unfinished by an earlier run, but it has no "
            "digest any more (no published statements that week), so it is not sent")


@pytest.mark.parametrize("gone", ["deleted", "draft"])
def test_a_carried_digest_whose_statements_are_gone_is_dropped_and_named_once(
    make_site: Any, gone: str,
) -> None:
    # Both 2015-W36 digests were left due; then that week's statements were deleted (or
    # made drafts): there is nothing to send. The next run says so once for each, marks
    # it dropped, and sends its own week; the run after is silent.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        for lang in ("pl", "tr"):
            path = statement(config, f"{lang}-{W36}.yaml")
            if gone == "deleted":
                path.unlink()
            else:
                path.write_text(path.read_text() + "draft: true\n")
        code, out, err = send(config, AFTER_W37)
        assert (code, out) == (0, "31 sent, 0 already sent\n")
        assert err.splitlines() == [no_digest_any_more("pl"), no_digest_any_more("tr")]
        assert send(config, AFTER_W37) == (0, "", "")
    w36 = [mark for mark in marks(config) if mark[0] in (PL36, TR36)]
    assert sorted(w36) == [(PL36, "dropped"), (PL36, "due"), (TR36, "dropped"), (TR36, "due")]
    assert weeks(handler) == Counter({"2015-W37": 31})
    assert once_each(handler)


def test_a_carried_digest_of_a_language_gone_is_dropped_and_named_once(make_site: Any) -> None:
    # Every tr statement is deleted after tr 2015-W36 was left due: `digest --lang tr`
    # would now be a usage error (no published statements in tr); send drops the digest
    # with the warning, finishes pl, and exits 0.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        for day in (W36, W37):
            statement(config, f"tr-{day}.yaml").unlink()
        code, out, err = send(config, AFTER_W37)
        assert (code, out) == (0, "60 sent, 0 already sent\n")
        assert err.splitlines() == [no_digest_any_more("tr")]
        assert send(config, AFTER_W37) == (0, "", "")
    assert (TR36, "dropped") in marks(config)
    assert (TR36, "finished") not in marks(config)
    assert weeks(handler) == Counter({"2015-W36": 30, "2015-W37": 30})
    assert once_each(handler)


def text_part(data: bytes) -> str:
    message = message_from_bytes(data)
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert isinstance(part, Message)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def test_a_carried_digest_whose_week_changed_goes_to_the_rest_only(make_site: Any) -> None:
    # pl 2015-W36 went to 10 subscribers before the relay went away; then its statement's
    # title was corrected. The digest keeps its Message-ID (site, language and week), so
    # the next run sends the corrected digest to the 20 left, and none of the 10 again.
    handler = FaultyHandler({("MAIL", n): "drop" for n in range(12, 1000)}, keep=True)
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        assert send(config, AFTER_W36)[:2] == (4, "11 sent, 0 already sent\n")
        handler.faults.clear()
        path = statement(config, f"pl-{W36}.yaml")
        path.write_text(path.read_text().replace("title: T pl", "title: Corrected pl"))
        assert send(config, AFTER_W37) == (0, "51 sent, 10 already sent\n", "")
        assert send(config, AFTER_W37) == (0, "", "")
    assert once_each(handler)
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    pl36 = [(to, text_part(data)) for to, data in handler.received.messages
            if "2015-W36" in message_from_bytes(data)["Message-ID"] and to != [TR]]
    first, later = pl36[:10], pl36[10:]
    assert [len(to) for to, _ in pl36] == [1] * 30
    assert sorted(to[0] for to, _ in pl36) == sorted(SUBSCRIBERS)
    assert all("T pl 2015-09-04" in text and "Corrected" not in text for _, text in first)
    assert all("Corrected pl 2015-09-04" in text for _, text in later)
    assert (PL36, "finished") in marks(config)


def hand_mark(config: str, digest: str, message_id: str = "<hand@example.org>") -> None:
    """Append a ``due`` mark for ``digest``, as someone editing the ledger would."""
    row = {"at": "2015-09-07T07:30:00+00:00", "digest": digest, "message_id": message_id,
           "recipient": "", "state": "due"}
    with ledger_path(config).open("a") as file:
        file.write(json.dumps(row) + "\n")


def not_a_digest(digest: str) -> str:
    return (f"warning: site/state/sent.jsonl: a line marks {digest!r} due, which is not a "
            "digest's path (digests/<lang>/<YYYY-Www>.eml; was the ledger edited?); nothing "
            "is sent for it, and it is marked dropped")


@pytest.mark.parametrize("digest", [
    "digests/pl/notaweek.eml",  # no week (silent before)
    "/etc/passwd",  # outside digests/ (silent before)
    "elsewhere/tr/2015-W36.eml",  # sent tr 2015-W36, never selected, and was due for ever
    "digests/PL/2015-W36.eml",  # sent pl 2015-W36 to 30 subscribers, never selected
    "digests/tr/2015-W36.txt",  # the text part's path: sent tr 2015-W36
])
def test_a_hand_written_mark_that_names_no_digest_is_named_once_and_sends_nothing(
    make_site: Any, digest: str,
) -> None:
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        ledger_path(config).parent.mkdir()
        hand_mark(config, digest)
        code, out, err = send(config, AFTER_W37, "--dry-run")
        assert (code, err) == (0, not_a_digest(digest) + "\n")
        assert out.endswith("would send 31\n")
        code, out, err = send(config, AFTER_W37)
        assert (code, out, err) == (0, "31 sent, 0 already sent\n", not_a_digest(digest) + "\n")
        assert send(config, AFTER_W37) == (0, "", "")  # said once
    assert weeks(handler) == Counter({"2015-W37": 31})
    assert once_each(handler)
    assert (digest, "dropped") in marks(config)


@pytest.mark.parametrize("twin", ["./digests/tr/2015-W36.eml", "digests//tr/2015-W36.eml"])
def test_two_marks_of_one_digest_do_not_send_it_twice(make_site: Any, twin: str) -> None:
    # tr 2015-W36 was left due, and a hand-edited line marks it due again under another
    # spelling of its path. Before: the run carried the digest over twice and mailed the
    # list two copies.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        left_unsent(handler, config)
        hand_mark(config, twin, rows(config)[0]["message_id"])
        code, out, err = send(config, AFTER_W37)
        assert (code, out, err) == (0, "62 sent, 0 already sent\n", not_a_digest(twin) + "\n")
        assert send(config, AFTER_W37) == (0, "", "")
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)


def test_an_old_hand_written_mark_does_not_crash_the_run(make_site: Any) -> None:
    # A mark of a week more than 4 weeks old, spelt differently from any digest's path.
    # Before: the run raised KeyError recording it dropped (under the spelling pathlib
    # gave it, which the ledger did not hold).
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        ledger_path(config).parent.mkdir()
        hand_mark(config, "./digests/tr/2015-W30.eml")
        code, out, err = send(config, AFTER_W37)
        assert (code, out) == (0, "31 sent, 0 already sent\n")
        assert err == not_a_digest("./digests/tr/2015-W30.eml") + "\n"
        assert send(config, AFTER_W37) == (0, "", "")
    assert weeks(handler) == Counter({"2015-W37": 31})


def test_a_mark_torn_by_a_crash_leaves_the_digest_due_and_sends_nothing_twice(
    make_site: Any,
) -> None:
    # The run that sent 2015-W36 whole was killed (or the disk filled) while it wrote the
    # last mark, tr's "finished": half a line. The line before it counts (tr still due),
    # so the next run carries tr over, finds its copy sent, and marks it finished: the
    # list does not get it again, and the torn line is ended before the next one.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        assert send(config, AFTER_W36) == (0, "31 sent, 0 already sent\n", "")
        data = ledger_path(config).read_bytes()
        assert data.endswith(b'"state": "finished"}\n')
        ledger_path(config).write_bytes(data[:data.rindex(b'"state"') + 5])
        assert send(config, AFTER_W37) == (0, "31 sent, 1 already sent\n", "")
        assert send(config, AFTER_W37) == (0, "", "")
    assert weeks(handler) == Counter({"2015-W36": 31, "2015-W37": 31})
    assert once_each(handler)
    lines = ledger_path(config).read_bytes().splitlines()
    assert sum(1 for line in lines if line.endswith(b'"stat (torn)')) == 1  # ended, not joined
    assert (TR36, "finished") in marks_of(lines)


def marks_of(lines: list[bytes]) -> list[tuple[str, str]]:
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # the torn line
    return [(row["digest"], row["state"]) for row in rows if row["recipient"] == ""]


def test_a_ledger_that_cannot_be_read_stops_send_before_anything_is_sent(
    make_site: Any,
) -> None:
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        ledger_path(config).mkdir(parents=True)  # e.g. restored from a backup as a folder
        for more in ([], ["--dry-run"], ["--week", "2015-W36", "--resend"]):
            code, out, err = send(config, AFTER_W36, *more)
            assert (code, out) == (1, ""), more
            shown = display_path(ledger_path(config))
            assert err == (f"error: {shown}: cannot read the send ledger: Is a directory\n"), more
    assert handler.received.copies == []


def test_ledger_errors_name_the_ledger_from_the_working_folder(
    make_site: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every other message names a path from the working folder; the ledger's were absolute.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = make_config(make_site, port)
        ledger = ledger_path(config)
        ledger.mkdir(parents=True)
        monkeypatch.chdir(Path(config).parent)
        shown = ledger.relative_to(Path(config).parent)
        assert send(config, AFTER_W36) == (
            1, "", f"error: {shown}: cannot read the send ledger: Is a directory\n")
    assert handler.received.copies == []
