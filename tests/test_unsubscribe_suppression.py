"""The suppression list: format, languages, torn lines, short writes, concurrent writers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sfb_feeds.suppression import (
    SuppressionError,
    SuppressionList,
    is_suppressed,
    load_suppressed,
    normalise_address,
    suppress,
    suppressed_path,
)


def test_entries_are_json_lines_with_four_fields(tmp_path: Path) -> None:
    suppress(tmp_path / "state", "pt-br", " Ann@Example.ORG", "cli",
             at=datetime(2026, 12, 5, 9, 30, 15, 123, tzinfo=UTC))
    text = suppressed_path(tmp_path / "state").read_text(encoding="utf-8")
    assert text.endswith("\n") and text.count("\n") == 1
    assert json.loads(text) == {"lang": "pt-BR", "address": "Ann@example.org",
                                "at": "2026-12-05T09:30:15Z", "source": "cli"}


def test_missing_list_suppresses_no_one(tmp_path: Path) -> None:
    assert load_suppressed(tmp_path / "nowhere") == set()


def test_a_language_or_every_language(tmp_path: Path) -> None:
    suppress(tmp_path, "pl", "ann@example.org", "one-click")
    suppress(tmp_path, "*", "bob@example.org", "cli")
    found = load_suppressed(tmp_path)
    assert found == {("pl", "ann@example.org"), ("*", "bob@example.org")}
    assert is_suppressed(found, "pl", "ann@EXAMPLE.org")
    assert not is_suppressed(found, "en", "ann@example.org")
    assert not is_suppressed(found, "pl", "ANN@example.org")  # the local part keeps its case
    assert all(is_suppressed(found, lang, "bob@example.org") for lang in ("pl", "ar", "pt-BR"))


@pytest.mark.parametrize(("lang", "address", "message"), [
    ("pl", "ann", "is not an email address"),
    ("pl", "ann@localhost", "is not an email address"),
    ("pl", "a b@example.org", "is not an email address"),
    ("pl", "ann@example.org\r\nBcc: x@y.org", "is not an email address"),
    ("pl", "<ann@example.org>", "is not an email address"),
    ("pl", "ann\u00a0lee@example.org", "is not an email address"),  # any white space
    ("pl", "ann\x1b@example.org", "is not an email address"),
    ("not a tag!", "ann@example.org", "is not a BCP 47 language tag"),
])
def test_bad_entries_are_refused(tmp_path: Path, lang: str, address: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        suppress(tmp_path, lang, address, "cli")
    assert not suppressed_path(tmp_path).exists()


def test_normalise_address_lowercases_only_the_domain() -> None:
    assert normalise_address("  Ann.Lee+x@Mail.Example.ORG ") == "Ann.Lee+x@mail.example.org"
    assert normalise_address('"a@b"@Example.org') == '"a@b"@example.org'


def test_torn_last_line_is_ignored_then_repaired(tmp_path: Path) -> None:
    suppress(tmp_path, "pl", "ann@example.org", "cli")
    path = suppressed_path(tmp_path)
    with path.open("ab") as file:
        file.write(b'{"address": "half@exa')  # a writer died mid-line
    assert load_suppressed(tmp_path) == {("pl", "ann@example.org")}
    suppress(tmp_path, "pl", "bob@example.org", "one-click")
    suppress(tmp_path, "pl", "cy@example.org", "one-click")
    assert load_suppressed(tmp_path) == {("pl", "ann@example.org"), ("pl", "bob@example.org"),
                                         ("pl", "cy@example.org")}
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'{"address": "half@exa (torn)' and len(lines) == 5


def test_garbage_lines_hide_nothing(tmp_path: Path) -> None:
    path = suppressed_path(tmp_path)
    path.write_bytes(b'\n[1, 2]\n{"lang": 3}\nnot json\n\xff\xfe\n{"lang": "pl"}\n')
    suppress(tmp_path, "pl", "ann@example.org", "cli")
    assert load_suppressed(tmp_path) == {("pl", "ann@example.org")}


_SHORT_WRITE = textwrap.dedent("""
    import resource, signal, sys
    from pathlib import Path
    from sfb_feeds.suppression import SuppressionError, suppress, suppressed_path
    state = Path(sys.argv[1])
    size = suppressed_path(state).stat().st_size
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 30, resource.RLIM_INFINITY))
    try:
        suppress(state, "pl", "cut-short@example.org", "one-click")
    except SuppressionError as exc:
        print(exc)
        sys.exit(3)
""")


def test_short_write_is_reported_and_hides_nothing(tmp_path: Path) -> None:
    suppress(tmp_path, "pl", "ann@example.org", "cli")
    # A file size limit makes the kernel write only part of the line, as a full disk does.
    child = subprocess.run([sys.executable, "-c", _SHORT_WRITE, str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 3, child.stderr
    assert "cannot add to the suppression list: short write (30 of" in child.stdout
    assert not suppressed_path(tmp_path).read_bytes().endswith(b"\n")  # really torn
    suppress(tmp_path, "pl", "bob@example.org", "one-click")
    assert load_suppressed(tmp_path) == {("pl", "ann@example.org"), ("pl", "bob@example.org")}


def test_unwritable_state_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file, not a folder")
    with pytest.raises(SuppressionError, match="cannot add to the suppression list"):
        suppress(tmp_path / "state", "pl", "ann@example.org", "cli")


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from sfb_feeds.suppression import suppress
    for n in range(40):
        suppress(Path(sys.argv[1]), "en", f"p{sys.argv[2]}-{n}@example.org", "cli")
""")


def test_concurrent_processes_lose_no_entry(tmp_path: Path) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), str(k)])
               for k in range(3)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    expected = {("en", f"p{k}-{n}@example.org") for k in range(3) for n in range(40)}
    assert load_suppressed(tmp_path) == expected
    assert suppressed_path(tmp_path).read_bytes().count(b"\n") == 120


def test_an_address_already_suppressed_adds_nothing(tmp_path: Path) -> None:
    suppress(tmp_path, "pl", "ann@example.org", "one-click")
    suppress(tmp_path, "*", "bob@example.org", "cli")
    before = suppressed_path(tmp_path).read_bytes()
    suppress(tmp_path, "pl", "ann@EXAMPLE.org", "page")  # the same address, normalised
    suppress(tmp_path, "pt-br", "bob@example.org", "one-click")  # already in every language
    assert suppressed_path(tmp_path).read_bytes() == before
    suppress(tmp_path, "en", "ann@example.org", "one-click")  # another language: added
    suppress(tmp_path, "*", "ann@example.org", "cli")  # every language: added
    suppress(tmp_path, "pl", "Ann@example.org", "cli")  # another mailbox: added
    assert suppressed_path(tmp_path).read_bytes().count(b"\n") == 5
    assert load_suppressed(tmp_path) == {("pl", "ann@example.org"), ("*", "bob@example.org"),
                                         ("en", "ann@example.org"), ("*", "ann@example.org"),
                                         ("pl", "Ann@example.org")}


def test_a_live_list_sees_appends_replacements_and_rewrites(tmp_path: Path) -> None:
    live = SuppressionList(tmp_path)
    assert not live.suppresses("pl", "ann@example.org")  # no file yet
    suppress(tmp_path, "pl", "ann@example.org", "cli")
    assert live.suppresses("pl", "ann@example.org")
    suppress(tmp_path, "*", "bob@example.org", "one-click")  # appended since the last look
    assert live.suppresses("en", "bob@example.org")
    assert live.entries == {("pl", "ann@example.org"), ("*", "bob@example.org")}
    # Replaced by another file (an operator's edit saved by renaming): read afresh.
    path = suppressed_path(tmp_path)
    fresh = tmp_path / "new.jsonl"
    fresh.write_bytes(b'{"address": "cy@example.org", "lang": "pl"}\n')
    fresh.replace(path)
    assert live.suppresses("pl", "cy@example.org")
    # Rewritten in place, longer than before, its first entry gone: read afresh too.
    path.write_bytes(b'{"address": "dan@example.org", "lang": "pl"}\n'
                     b'{"address": "eve@example.org", "lang": "pl"}\n')
    assert live.suppresses("pl", "eve@example.org")
    # Emptied, then removed: what was seen stays suppressed for the rest of the run.
    path.write_bytes(b"")
    assert live.suppresses("pl", "dan@example.org")
    path.unlink()
    assert live.suppresses("pl", "ann@example.org")
    assert live.entries == {("pl", "ann@example.org"), ("*", "bob@example.org"),
                            ("pl", "cy@example.org"), ("pl", "dan@example.org"),
                            ("pl", "eve@example.org")}
    # A list read afresh (the next run's) has only what the file holds.
    suppress(tmp_path, "pl", "fay@example.org", "cli")
    assert load_suppressed(tmp_path) == {("pl", "fay@example.org")}
    assert live.suppresses("pl", "fay@example.org")


def test_a_live_list_takes_a_torn_line_only_once_it_is_ended(tmp_path: Path) -> None:
    live = SuppressionList(tmp_path)
    path = suppressed_path(tmp_path)
    line = b'{"address": "ann@example.org", "lang": "pl"}'
    path.write_bytes(line[:20])  # a writer is part way through its line
    assert not live.suppresses("pl", "ann@example.org") and live.entries == set()
    with path.open("ab") as file:
        file.write(line[20:])
    assert not live.suppresses("pl", "ann@example.org")  # still no newline: not whole yet
    with path.open("ab") as file:
        file.write(b"\n")
    assert live.suppresses("pl", "ann@example.org")
    # Lines end at a newline only: a carriage return inside one does not start another.
    with path.open("ab") as file:
        file.write(b'{"note": 1}\r{"address": "cy@example.org", "lang": "pl"}\n')
    assert not live.suppresses("pl", "cy@example.org")
    assert load_suppressed(tmp_path) == live.entries == {("pl", "ann@example.org")}


def test_a_live_list_names_an_address_that_differs_only_in_case(tmp_path: Path) -> None:
    live = SuppressionList(tmp_path)
    suppress(tmp_path, "pl", "Ann@example.org", "cli")
    suppress(tmp_path, "*", "BOB@example.org", "cli")
    assert not live.suppresses("pl", "ann@example.org")
    assert live.same_but_case("pl", "ann@example.org") == "Ann@example.org"
    assert live.same_but_case("en", "bob@example.org") == "BOB@example.org"
    assert live.same_but_case("en", "ann@example.org") is None


@pytest.mark.parametrize(("listed", "asked", "added"), [
    # The duplicate check reads only lines holding the address's local part and '@'.
    (b'{"address": "ann@example.org", "lang": "en"}\n', ("pl", "ann@example.org"), True),
    (b'{"address": "joann@example.org", "lang": "pl"}\n', ("pl", "ann@example.org"), True),
    (b'{"address": "ann@example.org.uk", "lang": "pl"}\n', ("pl", "ann@example.org"), True),
    (b'{"address": "ann@example.org", "lang": "pl", "source": "x"}\n{"lang": "pl"}\n',
     ("pl", "ann@EXAMPLE.org"), False),
    (b'{"address": " ann@EXAMPLE.ORG", "lang": "pl"}\n', ("pl", "ann@example.org"), False),
    (b'{"address":"ann@example.org","lang":"*"}\n', ("pt-br", "ann@example.org"), False),
    (b'{"address": "\\"a@b\\"@example.org", "lang": "pl"}\n', ("pl", '"a@b"@example.org'),
     False),
    (b'{"address": "\\"a@b\\"@example.org", "lang": "pl"}\n', ("pl", 'b"@example.org'), True),
    (b'{"note": "ann@example.org"}\n{"address": "ann@example.org", "lang": "pl"}',
     ("pl", "ann@example.org"), True),  # the only entry is torn: not an entry
])
def test_a_replayed_address_is_found_however_the_list_holds_it(
        tmp_path: Path, listed: bytes, asked: tuple[str, str], added: bool) -> None:
    path = suppressed_path(tmp_path)
    path.write_bytes(listed)
    suppress(tmp_path, *asked, "one-click")
    assert (path.read_bytes() != listed) is added
    lang, address = asked
    assert is_suppressed(load_suppressed(tmp_path), lang, address)


def test_a_replay_among_many_entries_adds_nothing(tmp_path: Path) -> None:
    path = suppressed_path(tmp_path)
    path.write_bytes(b"".join(
        json.dumps({"address": f"p{n}@example.org", "lang": "pl"}).encode() + b"\n"
        for n in range(5000)))
    before = path.read_bytes()
    for n in (0, 1, 10, 4999):
        suppress(tmp_path, "pl", f"p{n}@example.org", "one-click")
    assert path.read_bytes() == before
    suppress(tmp_path, "pl", "p5000@example.org", "one-click")
    suppress(tmp_path, "en", "p1@example.org", "one-click")
    assert path.read_bytes().count(b"\n") == 5002
