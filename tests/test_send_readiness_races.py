"""A recipients file that vanishes or cannot be opened after ``send`` checked it.

``send`` checks each recipients file when it loads the config (exit 1, naming it), again
just before it sends (readiness.require_files: one gone since), and reads it as a stream
when the courier reaches its subscribers. Here the file goes at each of those moments: the
user is told which file, the exit code is README's, the ledger records nothing wrong, and
the next run (the file back) sends each copy still once.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import SUBSCRIBERS, FaultyHandler, aiosmtpd_server, subscribers_config

from sfb_feeds.cli import main
from sfb_feeds.config import load_settings
from sfb_feeds.digest.command import digest_outputs, list_copies
from sfb_feeds.errors import ConfigError
from sfb_feeds.loader import load_statements
from sfb_feeds.readiness import readiness_warnings
from sfb_feeds.send import send_digests

RECORD = "id: urn:sfb:{l}-{d}\ntitle: T {l} {d}\ndate: {d}\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang, d="2015-09-04") for lang in ("pl", "tr")}
PL_LIST, TR = "pl@lists.example.org", "tr@lists.example.org"
NOW = "2015-09-07T07:30:00+00:00"  # the last complete week: 2015-W36


pytestmark = pytest.mark.usefixtures("send_environment")


class GoneAfterFirst(FaultyHandler):
    """Takes every message; once the first (the pl list's copy) is in, ``pl.txt`` goes
    (removed, or a folder put in its place), before the server answers."""

    def __init__(self, recipients: Path, how: str) -> None:
        super().__init__()
        self.recipients, self.how = recipients, how

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.recipients.is_file() and not self.received.copies:
            self.recipients.rename(self.recipients.with_suffix(".away"))
            if self.how == "folder":
                self.recipients.mkdir()
        return await super().handle_DATA(server, session, envelope)

    def restore(self) -> None:
        if self.recipients.is_dir():
            self.recipients.rmdir()
        self.recipients.with_suffix(".away").rename(self.recipients)


def send(config: Path, *more: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["send", "--config", str(config), "--now", NOW, *more], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ledger(config: Path) -> list[dict[str, str]]:
    path = config.parent / "state" / "sent.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("how", ["removed", "folder"])
def test_a_recipients_file_gone_during_the_run_leaves_its_subscribers_for_the_next(
    make_site: Any, tmp_path: Path, how: str,
) -> None:
    # pl goes to its list and to the 30 subscribers of pl.txt. The list's copy is sent
    # first; then pl.txt goes, before the run reads it. Exit 4 (as for a file changed
    # while it is read): the subscribers are left for the next run, which sends each of
    # them one copy, and the list's copy not again.
    handler = GoneAfterFirst(tmp_path / "site" / "pl.txt", how)
    with aiosmtpd_server(handler) as port:
        config = Path(subscribers_config(make_site, port, STATEMENTS,
                                         f"pl: {PL_LIST}, tr: {TR}"))
        code, out, err = send(config)
        assert (code, out) == (4, "2 sent, 0 already sent\n")
        reason = "No such file or directory" if how == "removed" else "Is a directory"
        assert err == ("error: pl 2015-W36 to site/pl.txt: not sent to any subscriber: cannot "
                       f"read site/pl.txt: {reason}; they are left for the next run\n")
        rows = ledger(config)
        assert [(r["recipient"], r["state"]) for r in rows if r["state"] != "sending"] == [
            ("", "due"), ("", "due"), (PL_LIST, "sent"), (TR, "sent"), ("", "finished")]
        assert [r["digest"] for r in rows if r["state"] == "finished"] == [
            "digests/tr/2015-W36.eml"]  # pl stays due: its subscribers are left
        handler.restore()
        assert send(config) == (0, "30 sent, 2 already sent\n", "")
        assert send(config) == (0, "", "")
    assert Counter(address for _, address in handler.received.copies) == Counter(
        [PL_LIST, TR, *SUBSCRIBERS])
    assert max(handler.received.counts().values()) == 1
    assert ledger(config)[-1]["state"] == "finished"


def test_a_recipients_file_gone_after_the_config_was_loaded_stops_before_sending(
    make_site: Any,
) -> None:
    # The moment between loading the config (which checked pl.txt) and sending has no
    # seam in the CLI: send_digests, given settings whose file has gone since, raises the
    # ConfigError the CLI shows (exit 1), naming the file and its config line, before
    # anything is sent or recorded.
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = Path(subscribers_config(make_site, port, STATEMENTS,
                                         f"pl: {PL_LIST}, tr: {TR}"))
        settings = load_settings(config, recipients=True)
        statements = load_statements(settings).statements
        now = datetime.fromisoformat(NOW)
        shutil.move(config.parent / "pl.txt", config.parent / "pl.away")
        with pytest.raises(ConfigError) as raised:
            send_digests(settings, digest_outputs(settings, statements, now), now,
                         lists=list_copies(settings, statements, now))
    assert raised.value.messages() == [
        "site/sfb-feeds.yaml: digests.recipients.pl: cannot read site/pl.txt: No such file or "
        "directory (send mails the language's subscribers from it; correct the path or "
        "create the file)"]
    assert handler.received.copies == []
    assert not (config.parent / "state" / "sent.jsonl").exists()


def test_a_recipients_file_that_cannot_be_read_when_send_starts_is_exit_1(
    make_site: Any,
) -> None:
    handler = FaultyHandler()
    with aiosmtpd_server(handler) as port:
        config = Path(subscribers_config(make_site, port, STATEMENTS,
                                         f"pl: {PL_LIST}, tr: {TR}"))
        (config.parent / "pl.txt").unlink()
        (config.parent / "pl.txt").mkdir()
        code, out, err = send(config)
    assert (code, out, handler.received.copies) == (1, "", [])
    assert "digests.recipients.pl" in err and "cannot read site/pl.txt: Is a directory" in err
    assert not (config.parent / "state" / "sent.jsonl").exists()


def test_check_names_a_recipients_file_gone_after_the_config_was_loaded(
    make_site: Any,
) -> None:
    # What `check` says about sending, for a file gone between loading the config (which
    # found it) and reading its lines: a warning naming the config line and the file, as
    # for one the config check finds missing.
    config = Path(subscribers_config(make_site, 25, STATEMENTS, f"pl: {PL_LIST}, tr: {TR}"))
    settings = load_settings(config, recipients=True)
    (config.parent / "pl.txt").unlink()
    assert readiness_warnings(settings, ["pl", "tr"], {"SFB_FEEDS_UNSUBSCRIBE_SECRET": "s"}) \
        == ["site/sfb-feeds.yaml: digests.recipients.pl: cannot read site/pl.txt: No such "
            "file or directory"]
