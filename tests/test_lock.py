"""The output-folder lock: one run at a time, a clear message, nothing left by a killed run."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SiteMaker, snapshot
from test_ops_build import age

from sfb_feeds import lock
from sfb_feeds.cli import main
from sfb_feeds.environment import LOCK_WAIT_ENV, BadEnvironment
from sfb_feeds.errors import EXIT_BUSY, EXIT_INVALID, Busy

HOLDER = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from sfb_feeds import lock
    with lock.hold(Path(sys.argv[1]), wait=0):
        print("locked", flush=True)
        time.sleep(600)
""")


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A separate process holding the lock on tmp_path/feeds until it is killed."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "feeds")],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "locked\n"
    yield child
    if child.poll() is None:
        child.kill()
    child.wait()
    child.stdout.close()


def test_the_lock_file_is_a_dotfile_that_stays_empty(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    with lock.hold(out) as path:
        assert path == out / ".sfb-feeds.lock"
    before = path.stat().st_mtime_ns
    with lock.hold(out):
        pass
    assert path.read_bytes() == b""
    assert path.stat().st_mtime_ns == before  # taking the lock changes nothing


def test_a_second_holder_in_the_same_process_is_refused(tmp_path: Path) -> None:
    with lock.hold(tmp_path), pytest.raises(Busy), lock.hold(tmp_path, wait=0.1):
        pass  # pragma: no cover - never reached


def test_a_second_run_waits_then_fails_with_a_clear_message(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(Busy) as caught, lock.hold(tmp_path / "feeds", wait=0.3):
        pass  # pragma: no cover - never reached
    message = str(caught.value)
    assert message.startswith("feeds: another sfb-feeds run")  # from the working folder
    assert f"(process {holder.pid})" in message  # from /proc/locks
    assert "waiting 0.3 s" in message
    assert caught.value.exit_code == EXIT_BUSY


def test_a_lock_left_by_a_killed_run_is_free_at_once(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    # flock belongs to the open file: the kernel drops it when the holder dies, even by
    # SIGKILL, which runs no clean-up code at all.
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with lock.hold(tmp_path / "feeds", wait=5):
        assert lock.holder_pid(tmp_path / "feeds" / lock.LOCK_NAME) == os.getpid()


def test_the_wait_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOCK_WAIT_ENV, "2.5")
    assert lock.default_wait() == 2.5
    monkeypatch.setenv(LOCK_WAIT_ENV, "soon")  # a usage error (the CLI checks it first)
    with pytest.raises(BadEnvironment, match=r"^\$SFB_FEEDS_LOCK_WAIT='soon' must be a number"):
        lock.default_wait()
    monkeypatch.setenv(LOCK_WAIT_ENV, "")
    assert lock.default_wait() == lock.DEFAULT_WAIT
    monkeypatch.delenv(LOCK_WAIT_ENV)
    assert lock.default_wait() == lock.DEFAULT_WAIT


def test_the_lock_is_not_inherited_by_programs_the_build_starts(tmp_path: Path) -> None:
    with lock.hold(tmp_path):
        # close_fds=False: only the descriptor's own non-inheritable flag protects it
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 close_fds=False)
    try:
        # (a moment's wait: a child that is still exec'ing holds every descriptor briefly)
        with lock.hold(tmp_path, wait=5):
            pass  # the child outlives the build but does not keep the lock
    finally:
        child.kill()
        child.wait()


def test_a_second_run_takes_the_lock_once_the_first_lets_go(
    tmp_path: Path, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waiting loop itself, without timing: the first pause between tries ends the
    holding run, and the next try succeeds (the wait is long enough never to expire)."""
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if holder.poll() is None:
            holder.kill()
            holder.wait()  # its lock is gone once it has died

    monkeypatch.setattr(lock.time, "sleep", pause)
    with lock.hold(tmp_path / "feeds", wait=60, poll=0.25) as path:
        assert lock.holder_pid(path) == os.getpid()
    assert pauses[:1] == [0.25]


def test_a_file_where_the_output_folder_should_be_is_named_and_kept(
        make_site: SiteMaker) -> None:
    config = make_site()
    output = config.parent / "feeds"
    output.write_text("mine\n", encoding="utf-8")
    err = io.StringIO()
    assert main(["build", "--config", str(config)], out=io.StringIO(), err=err) == EXIT_INVALID
    assert err.getvalue() == ("error: site/feeds: not a folder (the lock file .sfb-feeds.lock "
                              "goes in it); move it away or change the config\n")
    assert output.read_text(encoding="utf-8") == "mine\n"


@contextlib.contextmanager
def held(folder: Path) -> Iterator[int]:
    """The lock on ``folder`` held by another process for the ``with`` block; its pid."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "locked\n"
        yield child.pid
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_a_build_that_gives_up_names_the_folder_from_the_working_folder(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_site()
    monkeypatch.setenv(LOCK_WAIT_ENV, "0.2")
    err = io.StringIO()
    with held(config.parent / "feeds") as pid:
        code = main(["build", "--config", str(config), "--now", "2015-09-10"],
                    out=io.StringIO(), err=err)
    assert (code, err.getvalue()) == (EXIT_BUSY, (
        f"error: site/feeds: another sfb-feeds run (process {pid}) is writing this output "
        "folder; gave up after waiting 0.2 s. Nothing was changed. If this happens often, "
        "runs overlap: schedule them further apart.\n"))
    # the output folder holds the (empty) lock file only: nothing was written
    assert [p.name for p in (config.parent / "feeds").iterdir()] == [lock.LOCK_NAME]


def test_a_build_with_nothing_to_do_takes_no_lock_and_exits_0(
        make_site: SiteMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    """As README says: it writes nothing, so it need not wait for the folder."""
    config = make_site()
    age(config.parent)  # files modified this very second are not trusted by the build stamp
    argv = ["build", "--config", str(config), "--now", "2015-09-10"]
    assert main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    before = snapshot(config.parent / "feeds")
    monkeypatch.setenv(LOCK_WAIT_ENV, "0.2")
    out, err = io.StringIO(), io.StringIO()
    with held(config.parent / "feeds"):
        assert main(argv, out=out, err=err) == 0
    assert (out.getvalue(), err.getvalue()) == ("", "")
    assert snapshot(config.parent / "feeds") == before


def test_a_lock_file_that_cannot_be_opened_is_named_from_the_working_folder(
        make_site: SiteMaker) -> None:
    config = make_site()
    feeds = config.parent / "feeds"
    feeds.mkdir()
    (feeds / lock.LOCK_NAME).symlink_to("elsewhere")  # O_NOFOLLOW refuses it
    err = io.StringIO()
    assert main(["build", "--config", str(config)], out=io.StringIO(), err=err) == EXIT_INVALID
    assert err.getvalue() == ("error: site/feeds/.sfb-feeds.lock: cannot open the lock file: "
                              "Too many levels of symbolic links\n")
