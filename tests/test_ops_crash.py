"""Builds killed at random moments, and builds racing each other.

A web server must only ever see a whole old file or a whole new one, whatever moment cron
(or the OOM killer) picks to kill a build, and the next build must tidy up after it.
"""

from __future__ import annotations

import io
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_ops_build import FORMATS, age, record, tree

from sfb_feeds import pipeline
from sfb_feeds.cli import main
from sfb_feeds.manifest import INTENT_NAME, MANIFEST_NAME, TEMP_SUFFIX

TESTS = Path(__file__).parent
KILLS = 24
MIN_TORN = 3  # kills that must land while files are being replaced
MAX_KILLS = 80

# A build in a child process, with the stand-in formats; it says when writing starts.
CHILD = textwrap.dedent("""\
    import sys
    sys.path.insert(0, sys.argv[1])
    import test_ops_build
    from sfb_feeds import pipeline, writer
    pipeline.all_formats = lambda *_: test_ops_build.FORMATS
    original = writer.write_outputs
    def announced(*args, **kwargs):
        print("writing", flush=True)
        return original(*args, **kwargs)
    writer.write_outputs = announced
    from sfb_feeds.cli import main
    sys.exit(main(["build", "--quiet", "--config", sys.argv[2], "--now", "2016-01-01"]))
""")

LANGUAGES = ("en", "pl", "tr", "da")
PARAGRAPH = ("Workers in the shipyards struck for the third week running, and the strike "
             "committee called on every union in the region to join them. ") * 12


def statements(version: str) -> dict[str, str]:
    """~100 statements per language over two years; version B retitles everything and
    withdraws Danish, so each switch rewrites every file and removes (or restores) some."""
    languages = LANGUAGES if version == "A" else LANGUAGES[:-1]
    found = {}
    for index in range(100):
        day = f"{2014 + index // 52}-{1 + (index % 52) // 5:02d}-{1 + index % 5 * 5:02d}"
        for language in languages:
            number = index * 10 + LANGUAGES.index(language)
            found[f"{language}-{index}.yaml"] = record(
                number, language, day, title=f"Statement {number} ({version})",
                excerpt=f"{PARAGRAPH}\n\n{version} {number}")
    return found


def put_statements(root: Path, version: str) -> None:
    folder = root / "statements"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, text in statements(version).items():
        (folder / name).write_text(text, encoding="utf-8")
    age(folder)


def reference(root: Path, version: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The complete, uninterrupted output of ``version``."""
    (root).mkdir(parents=True)
    (root / "sfb-feeds.yaml").write_text(
        "site:\n  title: T\n  url: https://www.istendency.net/\n", encoding="utf-8")
    put_statements(root, version)
    monkeypatch.setattr(pipeline, "all_formats", lambda *_, **__: FORMATS)
    code = main(["build", "--quiet", "--config", str(root / "sfb-feeds.yaml"), "--now",
                 "2016-01-01"], out=io.StringIO(), err=io.StringIO())
    assert code == 0
    return {path: data for path, (data, _) in tree(root / "feeds").items()
            if not path.rpartition("/")[2].startswith(".")}


def start_build(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(TESTS),
                             str(root / "sfb-feeds.yaml")], stdout=subprocess.PIPE, text=True)


def run_to_end(root: Path) -> float:
    """Run a whole build; returns how long its writing took (0: nothing to write)."""
    child = start_build(root)
    assert child.stdout is not None
    wrote = child.stdout.readline() == "writing\n"
    started = time.monotonic()
    assert child.wait(timeout=120) == 0
    child.stdout.close()
    return time.monotonic() - started if wrote else 0.0


def kill_at_random(root: Path, chance: random.Random, writing_time: float) -> bool:
    """Start a build and SIGKILL it; True if it was killed in the middle of writing."""
    child = start_build(root)
    assert child.stdout is not None
    if chance.random() < 0.75:  # mostly while writing; sometimes anywhere at all
        assert child.stdout.readline() == "writing\n"
        time.sleep(chance.uniform(0, writing_time * 1.2))
    else:
        time.sleep(chance.uniform(0, 1.0))
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    return (root / "feeds" / INTENT_NAME).exists()


def test_a_build_killed_at_any_moment_leaves_only_whole_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = {v: reference(tmp_path / f"ref-{v}", v, monkeypatch) for v in "AB"}
    assert refs["A"].keys() > refs["B"].keys()  # B removes Danish outputs
    assert all(refs["A"][p] != refs["B"][p] for p in refs["B"])  # ... and changes the rest
    site = tmp_path / "site"
    site.mkdir()
    (site / "sfb-feeds.yaml").write_bytes((tmp_path / "ref-A" / "sfb-feeds.yaml").read_bytes())
    put_statements(site, "A")
    writing_time = run_to_end(site)
    assert writing_time > 0
    feeds = site / "feeds"
    (feeds / "index.html").write_text("the web server's own page")
    chance = random.Random(6)
    version = "A"
    torn_runs = kills = 0
    # At least KILLS kills, and on until some landed while files were being replaced (the
    # moments that matter; how many of them random kills hit depends on the machine).
    while kills < KILLS or (torn_runs < MIN_TORN and kills < MAX_KILLS):
        kills += 1
        version = "B" if version == "A" else "A"
        put_statements(site, version)
        torn_runs += kill_at_random(site, chance, writing_time)
        for path, (data, _) in tree(feeds).items():
            name = path.rpartition("/")[2]
            if name.startswith(".") or path == "index.html":
                continue  # temporary files, manifest, lock: not served
            assert data in (refs["A"].get(path), refs["B"].get(path)), f"{path} is torn"
        assert (feeds / "index.html").read_text() == "the web server's own page"
    assert torn_runs >= MIN_TORN  # (else this test proved nothing; see KILLS)
    run_to_end(site)  # the next run recovers completely
    final = tree(feeds)
    served = {p: d for p, (d, _) in final.items() if not p.rpartition("/")[2].startswith(".")}
    assert served == {**refs[version], "index.html": b"the web server's own page"}
    hidden = {p for p in final if p not in served}
    assert hidden == {MANIFEST_NAME, ".sfb-feeds.lock"}  # no temporary files, no intent
    assert not any(p.endswith(TEMP_SUFFIX) or p == INTENT_NAME for p in final)


WRITER_UNDER_LOCK = textwrap.dedent("""\
    import os, sys
    from pathlib import Path
    from sfb_feeds import lock, writer
    from sfb_feeds.model import Output
    out, log, tag = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    rows = [Output(f"{i % 7}/f{i}", (tag * 4000).encode()) for i in range(300)]
    def note(text):
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{text} {tag}\\n".encode())
        os.close(fd)
    print("ready", flush=True)
    sys.stdin.readline()
    with lock.hold(out, wait=60):
        note("start")
        writer.write_outputs(out, rows)
        note("end")
""")


def test_two_builds_at_once_never_interleave(tmp_path: Path) -> None:
    log = tmp_path / "log"
    children = [subprocess.Popen([sys.executable, "-c", WRITER_UNDER_LOCK, str(tmp_path / "out"),
                                  str(log), tag], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True) for tag in "XY"]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    for child in children:  # release both at once
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
    for child in children:
        assert child.wait(timeout=120) == 0
        assert child.stdout is not None
        child.stdout.close()
    lines = log.read_text().splitlines()
    assert len(lines) == 4
    first, second = lines[0].split()[1], lines[2].split()[1]
    assert lines == [f"start {first}", f"end {first}", f"start {second}", f"end {second}"]
    assert {first, second} == {"X", "Y"}
    assert {p.read_text()[:1] for p in (tmp_path / "out").glob("*/f*")} == {second}
