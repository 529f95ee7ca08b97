"""`digests.from` and each `digests.lists` address is one mailbox, never a list of them.

Before, ``lists: {en: "list@example.org, other@example.org"}`` (or ``;``, or two
``<…>``) passed `check`: the digest's ``To:`` named both, so ``sendmail -t`` mailed
both while `send` (which takes the first address) mailed one, and a ``From:`` of two
mailboxes with no ``Sender:`` broke RFC 5322 (3.6.2). A careless paste, caught now."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import RECORD, run

CONFIG = ("site:\n  title: T\n  url: https://example.org/\ndigests:\n"
          "  from: {sender}\n  lists:\n    en: {address}\n")
GOOD_FROM = "'Digest <digest@example.org>'"
GOOD_LIST = "list@example.org"


def _check(tmp_path: Path, sender: str, address: str) -> tuple[int, str]:
    (tmp_path / "statements").mkdir()
    (tmp_path / "statements" / "a.yaml").write_text(RECORD, encoding="utf-8")
    config = tmp_path / "sfb-feeds.yaml"
    config.write_text(CONFIG.format(sender=sender, address=address), encoding="utf-8")
    code, _, err = run(["check", "--config", str(config)])
    return code, err


@pytest.mark.parametrize("several", [
    "'list@example.org, other@example.org'",
    "'Digest <list@example.org>, other@example.org'",
    "'<list@example.org> <other@example.org>'",
    "'list@example.org; other@example.org'",
    "'\"x\" <list@example.org>, Bcc: <other@example.org>'",
])
@pytest.mark.parametrize("key", ["from", "lists.en"])
def test_several_addresses_are_refused(tmp_path: Path, several: str, key: str) -> None:
    sender, address = (several, GOOD_LIST) if key == "from" else (GOOD_FROM, several)
    code, err = _check(tmp_path, sender, address)
    assert code == 1
    assert f"digests.{key}" in err and "one address" in err


@pytest.mark.parametrize("one", [
    "'\"Doe, Jane\" <list@example.org>'", "'Socialism From Below <list@example.org>'",
    "list@example.org",
])
def test_one_address_with_a_comma_in_its_name_is_accepted(tmp_path: Path, one: str) -> None:
    assert _check(tmp_path, one, one) == (0, "")
