"""`sfb-feeds send` and `check` on the command line: what the operator is told, exit codes."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from conftest import SITE_CONFIG
from smtp_faults import FaultyHandler
from test_send_ledger import fill, full_disk  # noqa: F401 - a fixture

from sfb_feeds.cli import main
from sfb_feeds.errors import display_path

RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {f"{lang}.yaml": RECORD.format(l=lang) for lang in ("pl", "tr", "en")}
DIGESTS = ("digests:\n  from: Digest <digest@example.org>\n"
           "  lists: {pl: pl@lists.example.org, tr: tr@lists.example.org}\n")
EN_WARNING = ("warning: en 2015-W36: no address for en in digests.lists; not sent "
              "(add digests.lists.en)\n")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def site(make_site: Any, port: int, extra: str = DIGESTS, smtp: str = "") -> str:
    config = make_site(STATEMENTS, config=SITE_CONFIG + extra
                       + f"smtp: {{host: 127.0.0.1, port: {port}{smtp}}}\n")
    return str(config)


def send(config: str, *more: str) -> tuple[int, str, str]:
    return run("send", "--config", config, "--week", "2015-W36", *more)


def test_send_sends_once_then_stays_silent(make_site: Any,
                                           server: tuple[FaultyHandler, int]) -> None:
    handler, port = server
    config = site(make_site, port)
    assert send(config) == (0, "2 sent, 0 already sent\n", EN_WARNING)
    assert sorted(r for _, r in handler.received.copies) == ["pl@lists.example.org",
                                                            "tr@lists.example.org"]
    assert send(config) == (0, "", EN_WARNING)  # nothing new: silent but for the warning
    assert send(config, "-v")[2].endswith("nothing to send: 2 already sent\n")
    assert len(handler.received.copies) == 2


def test_dry_run_lists_what_would_go_out_and_records_nothing(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    handler, port = server
    config = site(make_site, port)
    assert send(config, "--dry-run") == (0, (
        "would send pl 2015-W36 to pl@lists.example.org (digests/pl/2015-W36.eml)\n"
        "would send tr 2015-W36 to tr@lists.example.org (digests/tr/2015-W36.eml)\n"
        "would send 2\n"), EN_WARNING)
    assert handler.received.copies == []
    assert not (Path(config).parent / ".sfb-state" / "sent.jsonl").exists()


def test_quiet_dry_run_still_lists_what_would_go_out(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    handler, port = server
    config = site(make_site, port)
    assert send(config, "--dry-run", "--quiet") == send(config, "--dry-run")
    assert send(config, "--dry-run", "--quiet")[:2] == (0, (
        "would send pl 2015-W36 to pl@lists.example.org (digests/pl/2015-W36.eml)\n"
        "would send tr 2015-W36 to tr@lists.example.org (digests/tr/2015-W36.eml)\n"
        "would send 2\n"))
    assert handler.received.copies == []


def test_a_refusal_exits_4_naming_language_week_address_and_ledger(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    handler, port = server
    handler.faults[("RCPT", 1)] = "550 5.1.1 no such list"
    config = site(make_site, port)
    code, out, err = send(config)
    ledger = Path(config).parent / ".sfb-state" / "sent.jsonl"
    assert code == 4
    assert out == "1 sent, 0 already sent\n"
    assert err == EN_WARNING + (
        "error: pl 2015-W36 to pl@lists.example.org: refused by the mail server (550 5.1.1 no "
        f"such list at RCPT TO); recorded as refused in {ledger}: later runs skip it (after a "
        "fix, sfb-feeds send --resend --week 2015-W36 --lang pl tries again)\n")
    assert send(config) == (0, "", EN_WARNING)  # reported once: later runs are quiet


def test_a_test_copy_goes_to_one_address_and_records_nothing(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    handler, port = server
    config = site(make_site, port)
    code, out, _ = send(config, "--lang", "pl", "--to", "me@example.net")
    assert (code, out) == (0, "1 test copy sent to me@example.net; nothing recorded\n")
    assert handler.received.copies[0][1] == "me@example.net"
    assert send(config)[1] == "2 sent, 0 already sent\n"
    assert send(config, "--to", "not an address")[0] == 2


# Seen with Postfix (SMTPUTF8 on): an address outside ASCII before its @ cannot be given
# to it by an SMTP client without SMTPUTF8, whatever its domain; the warning said to write
# the domain in its xn-- form, which cannot help there.
LOCAL_NOT_ASCII = ("has characters outside ASCII before its @, which only mail systems with "
                   "SMTPUTF8 (RFC 6531) deliver to, and send speaks only ASCII addresses")
DOMAIN_NOT_ASCII = "has characters outside ASCII in its domain (write it in its xn-- form)"
ONE = "give one address (local@domain, or Name <local@domain>)"


@pytest.mark.parametrize(("to", "problem"), [
    ("a@b.org, c@d.org", f"is several addresses; {ONE}"),
    ("a@b.org;c@d.org", f"is several addresses; {ONE}"),
    ("a@b.org c@d.org", f"is several addresses; {ONE}"),
    ("Me <me@example.net> extra", f"is several addresses; {ONE}"),
    ("Smith, Jo <jo@example.net>", f"is several addresses; {ONE}"),
    ("a@b.org\nBcc: x@y.org", f"contains a line break or a control character; {ONE}"),
    ("a@b.org\r", f"contains a line break or a control character; {ONE}"),
    ("Me\u2028 <me@example.net>", f"contains a line break or a control character; {ONE}"),
    ("Me\x85 <me@example.net>", f"contains a line break or a control character; {ONE}"),
    ("nobody", "is not an email address (local@domain)"),
    ("żaneta@example.org", LOCAL_NOT_ASCII),
    ("jan@düsseldorf.de", DOMAIN_NOT_ASCII),
])
def test_a_malformed_test_address_is_a_usage_error(
    make_site: Any, server: tuple[FaultyHandler, int], to: str, problem: str
) -> None:
    handler, port = server
    config = site(make_site, port)
    assert send(config, "--lang", "pl", "--to", to) == (
        2, "", f"error: --to: {to!r} {problem}\n(see: sfb-feeds send --help)\n")
    assert handler.received.copies == []


def test_a_test_address_may_have_a_display_name(
    make_site: Any, server: tuple[FaultyHandler, int]
) -> None:
    """The summary names the address the copy went to."""
    handler, port = server
    config = site(make_site, port)
    code, out, _ = send(config, "--lang", "pl", "--to", " Me <me@Example.NET> ")
    assert (code, out) == (0, "1 test copy sent to me@example.net; nothing recorded\n")
    assert [rcpt for _, rcpt in handler.received.copies] == ["me@example.net"]


@pytest.mark.parametrize(("extra", "smtp", "message"), [
    ("", "", "digests.lists and digests.recipients are not set, so send has nowhere to send "
             "the digests"),
    ("digests:\n  lists: {pl: pl@lists.example.org}\n", "",
     "digests.from: is missing; digests.lists or digests.recipients gives them destinations"),
    (DIGESTS, ", security: tls", "smtp.security: 'tls' must be one of starttls, ssl, none"),
    (DIGESTS, ", starttls: true, security: none",
     "smtp.starttls: is the old name of smtp.security; keep only security"),
    (DIGESTS, ", username: u", "smtp: username and password_env go together"),
])
def test_config_problems_exit_1_before_anything_is_sent(
    make_site: Any, server: tuple[FaultyHandler, int], extra: str, smtp: str, message: str
) -> None:
    handler, port = server
    config = site(make_site, port, extra, smtp)
    code, _, err = send(config)
    assert code == 1
    assert message in err
    assert handler.received.copies == []


def test_credentials_never_go_in_clear_text_to_another_host(make_site: Any) -> None:
    config = make_site(STATEMENTS, config=SITE_CONFIG + DIGESTS + (
        "smtp: {host: mail.example.org, username: u, password_env: SFB_TEST_SECRET}\n"))
    for command in ("check", "build", "send"):
        code, _, err = run(command, "--config", str(config))
        assert code == 1
        assert ("smtp.security: is none, so the password would cross the network to "
                "mail.example.org in clear text; use starttls or ssl") in err


def test_an_unset_password_variable_is_named(
    make_site: Any, server: tuple[FaultyHandler, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, port = server
    monkeypatch.delenv("SFB_TEST_SECRET", raising=False)
    config = site(make_site, port, smtp=", username: u, password_env: SFB_TEST_SECRET")
    message = ("smtp.password_env: the environment variable SFB_TEST_SECRET is not set; send "
               "needs it to log in to 127.0.0.1")
    code, _, err = run("check", "--config", config)
    assert code == 0 and f"warning: {config}: {message}\n" in err
    assert "warning: en: no address in digests.lists, so its digests are not sent" in err
    code, _, err = send(config)
    assert code == 1 and err.endswith(f"error: {config}: {message}\n")
    assert handler.received.copies == []


def test_a_full_state_disk_exits_1_naming_the_ledger_and_sends_nothing(
    make_site: Any, server: tuple[FaultyHandler, int], full_disk: Path  # noqa: F811
) -> None:
    handler, port = server
    config = site(make_site, port, DIGESTS + f"state: {full_disk}\n")
    fill(full_disk)
    code, _, err = send(config)
    assert code == 1
    assert err.endswith(f"error: {display_path(full_disk / 'sent.jsonl')}: cannot write the "
                        "send ledger: no space left on the device; nothing more was sent "
                        "(free space or fix the folder, then run send again)\n")
    assert handler.calls["DATA"] == 0  # the message was never handed over
    assert handler.received.counts() == Counter()


def test_digest_names_the_week_without_statements(make_site: Any) -> None:
    config = make_site(STATEMENTS)
    assert run("digest", "--config", str(config), "--week", "2015-W30") == (
        0, "no digest: no published statements in 2015-W30\n", "")


def test_a_week_not_over_is_not_sent(make_site: Any, server: tuple[FaultyHandler, int]) -> None:
    """A digest sent before its week ends would leave out what is published later that
    week, and a digest is never sent twice: `send --week` of a week not over is refused
    (exit 2, a dry run too); a test copy (--to) of it may go. Fails on the old code: the
    partial digest was sent and recorded."""
    handler, port = server
    config = site(make_site, port)
    friday = "2015-09-04T18:00+01:00"  # W36 runs to Sunday night, London time
    refused = (2, "", "error: --week 2015-W36: that week is not over yet (it ends at "
                      "2015-09-07 00:00 in Europe/London): its digest can be sent once it "
                      "has; a test copy can go now, with --to ADDRESS\n"
                      "(see: sfb-feeds send --help)\n")
    assert send(config, "--now", friday) == refused
    assert send(config, "--now", friday, "--dry-run") == refused
    assert send(config, "--now", "2015-09-11", "--week", "2015-W38")[0] == 2  # the future
    code, out, _ = send(config, "--now", friday, "--lang", "pl", "--to", "me@example.org")
    assert (code, out) == (0, "1 test copy sent to me@example.org; nothing recorded\n")
    assert [r for _, r in handler.received.copies] == ["me@example.org"]
    assert not (Path(config).parent / ".sfb-state" / "sent.jsonl").exists()
    assert send(config, "--now", "2015-09-07T00:00+01:00") == (0, "2 sent, 0 already sent\n",
                                                                EN_WARNING)
