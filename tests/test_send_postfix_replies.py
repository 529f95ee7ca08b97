"""What a real Postfix did to `send`, replayed on loopback (aiosmtpd): its replies, word
for word, to the subscribers it refused. Runs without Postfix.

Seen with Postfix 3.7 (`smtpd_recipient_restrictions = check_recipient_access
regexp:...` answering `550 5.1.1 unknown` for one address): the hint `send` printed for
a refused subscriber, `sfb-feeds send --resend ... --recipient o'brien@example.org`, was
not a command a shell could run (an unclosed quote); with `$`, `&`, `` ` `` or `|`, all
valid in a local part, it would run something else.
"""

from __future__ import annotations

import io
import re
import subprocess
from typing import Any

import pytest

pytest.importorskip("aiosmtpd", reason="aiosmtpd is needed for the SMTP tests")

from smtp_faults import FaultyHandler, aiosmtpd_server, per_address, subscribers_config

from sfb_feeds.cli import main

RECORD = "id: urn:sfb:{l}\ntitle: T {l}\ndate: 2015-09-04\nlanguage: {l}\nexcerpt: x\n"
STATEMENTS = {"pl.yaml": RECORD.format(l="pl")}  # 2015-W36

ODD = ["o'brien@example.org", "a$HOME#b@example.org", "x&y|z`q`!@example.org"]


class RefusingSome(FaultyHandler):
    """A relay refusing the addresses in ``refused`` at RCPT as Postfix's
    check_recipient_access does, word for word; the others are taken."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: unknown"
        return await super().handle_RCPT(server, session, envelope, address, options)


def as_a_shell_reads_it(command: str) -> list[str]:
    """The words ``sh`` makes of ``command`` (expansions and all), without running it."""
    program, _, rest = command.partition(" ")
    shown = subprocess.run(["sh", "-c", f"printf '%s\\0' {program} {rest}"],
                           capture_output=True, check=True)
    return shown.stdout.decode().split("\0")[:-1]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("address", ODD)
def test_the_hint_for_a_refused_subscriber_is_a_command_a_shell_runs_as_written(
    make_site: Any, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    # The hint, read as a shell reads it, is `send --resend` for that subscriber
    # alone; run so (with --config) once the relay takes them, it mails them one copy.
    # Fails on the old code: the address was printed bare (a shell cannot read a lone
    # quote; `$HOME`, `&`, `|` and backquotes would be the shell's).
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "a test secret")
    handler = RefusingSome({address})
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, "")
        with open(config.replace("sfb-feeds.yaml", "pl.txt"), "a", encoding="utf-8") as file:
            file.write(f"{address}\n")
        code, out, err = run("send", "--config", config, "--week", "2015-W36")
        assert (code, out) == (4, "30 sent, 0 already sent\n")
        hint = re.search(r"after a fix, (sfb-feeds send .*) tries again\)$", err.strip())
        assert hint is not None, err
        argv = as_a_shell_reads_it(hint.group(1))
        assert argv == ["sfb-feeds", "send", "--resend", "--week", "2015-W36", "--lang", "pl",
                        "--recipient", address]
        handler.refused.clear()
        assert run(*argv[1:], "--config", config) == (0, "1 sent, 0 already sent\n", "")
    assert per_address(handler)[address] == 1
    assert sum(per_address(handler).values()) == 31


NOT_A_HOST = ("has a domain that is not a host name (labels of letters, digits, hyphens "
              "and underscores, at most 63 characters each, none starting or ending with "
              "a hyphen; the last not all digits); line skipped")


class SyntaxChecking(FaultyHandler):
    """A relay answering RCPT as Postfix 3.7 does for a domain that is no host name."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address.partition("@")[2] in BAD_DOMAINS:
            return "501 5.1.3 Bad recipient address syntax"
        return await super().handle_RCPT(server, session, envelope, address, options)


BAD_DOMAINS = ["-example.org", "example-.org", "123.45.67.89", "xn--.org",
               "b" * 64 + ".org"]


def test_a_subscriber_whose_domain_is_no_host_name_is_named_by_check_not_refused_later(
    make_site: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Postfix refuses these at RCPT (`501 5.1.3 Bad recipient address syntax`): `check`
    # said nothing, and `send` recorded each as refused by the server, run after run
    # reported once and never mailed, with no line of the file named. Now they are
    # warned about with their line and skipped, as any address that is not one; the
    # rest go, and an underscore (which Postfix takes) is kept. Fails on the old code:
    # no warning, 5 refusals, exit 4.
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "a test secret")
    handler = SyntaxChecking()
    with aiosmtpd_server(handler) as port:
        config = subscribers_config(make_site, port, STATEMENTS, "")
        with open(config.replace("sfb-feeds.yaml", "pl.txt"), "a", encoding="utf-8") as file:
            file.write("".join(f"ann@{domain}\n" for domain in BAD_DOMAINS))
            file.write("bob@mail_1.example.org\n")
        warnings = "".join(f"warning: site/pl.txt:{31 + n}: 'ann@{domain}' {NOT_A_HOST}\n"
                           for n, domain in enumerate(BAD_DOMAINS))
        assert run("check", "--config", config)[::2] == (0, warnings)
        assert run("send", "--config", config, "--week", "2015-W36") == (
            0, "31 sent, 0 already sent\n", warnings)
    assert per_address(handler)["bob@mail_1.example.org"] == 1
    assert sum(per_address(handler).values()) == 31
