"""The environment variables that tune a run ($SFB_FEEDS_WORKERS, $SFB_FEEDS_LOCK_WAIT,
$SFB_FEEDS_SEND_BACKOFF): a value their reader cannot take is a usage error naming the
variable, its value and what it must be (exit 2), before anything is read or written;
never a silent fallback to the default, nor a wait without end."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import MINIMAL, RECORD, run
from conftest import SiteMaker, snapshot

SECONDS = "must be a number of seconds from 0 to 86400 (a day)"
WORKERS = "must be a whole number of worker processes from 1 to 64"
BAD = [
    ("SFB_FEEDS_WORKERS", "abc", WORKERS),
    ("SFB_FEEDS_WORKERS", "-2", WORKERS),
    ("SFB_FEEDS_WORKERS", "0", WORKERS),
    ("SFB_FEEDS_WORKERS", "1.5", WORKERS),
    ("SFB_FEEDS_WORKERS", "65", WORKERS),
    ("SFB_FEEDS_LOCK_WAIT", "abc", SECONDS),
    ("SFB_FEEDS_LOCK_WAIT", "-1", SECONDS),
    ("SFB_FEEDS_LOCK_WAIT", "inf", SECONDS),
    ("SFB_FEEDS_LOCK_WAIT", "nan", SECONDS),
    ("SFB_FEEDS_SEND_BACKOFF", "abc", SECONDS),
    ("SFB_FEEDS_SEND_BACKOFF", "-0.5", SECONDS),
    ("SFB_FEEDS_SEND_BACKOFF", "Infinity", SECONDS),
    ("SFB_FEEDS_SEND_BACKOFF", "NaN", SECONDS),
    ("SFB_FEEDS_SEND_BACKOFF", "1e300", SECONDS),
    ("SFB_FEEDS_LOCK_WAIT", "86401", SECONDS),
]
SEND_CONFIG = MINIMAL + (
    "digests:\n  from: Digest <digest@example.org>\n  lists: {en: en@lists.example.org}\n"
    "smtp: {host: 127.0.0.1, port: 9}\nstate: state\n")


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SFB_FEEDS_WORKERS", "SFB_FEEDS_LOCK_WAIT", "SFB_FEEDS_SEND_BACKOFF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SFB_FEEDS_UNSUBSCRIBE_SECRET", "a test secret")


@pytest.mark.parametrize(("name", "value", "wanted"), BAD)
def test_a_wrong_value_stops_a_build_before_it_writes(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch,
        name: str, value: str, wanted: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    monkeypatch.setenv(name, value)
    code, out, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, out, err) == (2, "", f"error: ${name}={value!r} {wanted}\n")
    assert sorted(p.name for p in config.parent.iterdir()) == ["sfb-feeds.yaml", "statements"]


@pytest.mark.parametrize(("name", "value", "wanted"), BAD)
def test_a_wrong_value_changes_nothing_built_before(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch,
        name: str, value: str, wanted: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    assert run(["build", "--config", str(config), "--now", "2015-09-10"])[0] == 0
    before = snapshot(config.parent)
    monkeypatch.setenv(name, value)
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-11"])
    assert (code, err) == (2, f"error: ${name}={value!r} {wanted}\n")
    assert snapshot(config.parent) == before


@pytest.mark.parametrize(("name", "value", "wanted"), BAD)
def test_a_wrong_value_stops_send_before_it_reads_or_writes(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch,
        name: str, value: str, wanted: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=SEND_CONFIG)
    monkeypatch.setenv(name, value)
    code, out, err = run(["send", "--config", str(config), "--week", "2015-W36"])
    assert (code, out, err) == (2, "", f"error: ${name}={value!r} {wanted}\n")
    assert not (config.parent / "state").exists()


def test_every_wrong_variable_is_named(make_site: SiteMaker,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    monkeypatch.setenv("SFB_FEEDS_WORKERS", "many")
    monkeypatch.setenv("SFB_FEEDS_LOCK_WAIT", "inf")
    monkeypatch.setenv("SFB_FEEDS_SEND_BACKOFF", "-1")
    code, _, err = run(["check", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err.splitlines()) == (2, [
        f"error: $SFB_FEEDS_WORKERS='many' {WORKERS}",
        f"error: $SFB_FEEDS_LOCK_WAIT='inf' {SECONDS}",
        f"error: $SFB_FEEDS_SEND_BACKOFF='-1' {SECONDS}"])


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_value_is_as_if_unset(make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch,
                                       value: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    for name in ("SFB_FEEDS_WORKERS", "SFB_FEEDS_LOCK_WAIT", "SFB_FEEDS_SEND_BACKOFF"):
        monkeypatch.setenv(name, value)
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
    assert (Path(config.parent) / "feeds").is_dir()


@pytest.mark.parametrize(("workers", "wait", "backoff"), [("1", "0", "0"), ("2", "2.5", "1e1")])
def test_good_values_are_taken(make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch,
                               workers: str, wait: str, backoff: str) -> None:
    config = make_site({"a.yaml": RECORD}, config=MINIMAL)
    monkeypatch.setenv("SFB_FEEDS_WORKERS", workers)
    monkeypatch.setenv("SFB_FEEDS_LOCK_WAIT", wait)
    monkeypatch.setenv("SFB_FEEDS_SEND_BACKOFF", backoff)
    code, _, err = run(["build", "--config", str(config), "--now", "2015-09-10"])
    assert (code, err) == (0, "")
