"""How many worker processes a build uses, and that parts come back whole and in order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from sfb_feeds import parallel
from sfb_feeds.cache import FileStatus
from sfb_feeds.config import load_settings
from sfb_feeds.model import Settings


def test_the_number_of_workers_can_be_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    assert parallel.default_workers() == 3


def test_no_workers_when_the_memory_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    monkeypatch.setenv(parallel.MEMORY_ENV, "600")
    # 100,000 statements loaded (~450 MB): one rendering helper fits beside them...
    monkeypatch.setattr(parallel, "_resident_mb", lambda: 600 - parallel.WORKER_MB)
    assert parallel.default_workers() == 2
    # ... but not if this process held a MB more.
    monkeypatch.setattr(parallel, "_resident_mb", lambda: 601 - parallel.WORKER_MB)
    assert parallel.default_workers() == 1
    monkeypatch.setenv(parallel.MEMORY_ENV, "2000")
    assert parallel.default_workers() == 2


def test_the_budget_counts_what_this_process_will_gain_meanwhile(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing 100,000 files: the parsed statements pile up here while workers parse."""
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    monkeypatch.setenv(parallel.MEMORY_ENV, "600")
    monkeypatch.setattr(parallel, "_resident_mb", lambda: 70)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    assert parallel.default_workers() == 2
    assert parallel.default_workers(growth_mb=40) == 2  # 10,000 files
    assert parallel.default_workers(growth_mb=530 - parallel.WORKER_MB + 1) == 1


def _site_of(tmp_path: Path, count: int) -> tuple[Settings, list[FileStatus]]:
    """A site of ``count`` one-record statement files: its settings and scanned files."""
    from sfb_feeds import build

    folder = tmp_path / "statements"
    folder.mkdir()
    for number in range(count):
        (folder / f"{number}.yaml").write_text(
            f"title: S{number}\ndate: 2015-09-04\nlanguage: en\nid: urn:x:{number}\n"
            "excerpt: A statement.\n", "utf-8")
    (tmp_path / "sfb-feeds.yaml").write_text(
        "site:\n  title: T\n  description: D\n  url: https://x.org/\n", "utf-8")
    settings = load_settings(tmp_path / "sfb-feeds.yaml")
    return settings, build.cache.scan_statement_files(folder, build.SUFFIXES)


def test_a_cold_build_parses_in_workers_only_within_the_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfb_feeds import build

    asked: list[int] = []
    monkeypatch.setattr(build.parallel, "default_workers",
                        lambda growth_mb=0, worker_mb=0: asked.append(growth_mb) or 1)
    settings, files = _site_of(tmp_path, 600)
    build._load(settings, files, "", lambda _: None)
    assert asked == [600 * build.RECORD_KB // 1024]


@pytest.mark.parametrize(("weights", "parts", "expected"), [
    ([1] * 8, 4, [(0, 2), (2, 4), (4, 6), (6, 8)]),
    ([1, 1, 10, 1, 1], 3, [(0, 2), (2, 3), (3, 5)]),  # a heavy item alone
    ([5], 4, [(0, 1)]),
    ([], 4, []),
])
def test_parts_are_contiguous_and_balanced(
    weights: list[int], parts: int, expected: list[tuple[int, int]]
) -> None:
    assert parallel.slices(weights, parts) == expected


def _square_all(items: Sequence[int]) -> list[int]:
    return [item * item for item in items]


def test_work_done_in_workers_comes_back_whole_and_in_order() -> None:
    items = list(range(1000))
    results = list(parallel.run(_square_all, items, 2, per_worker=4))
    assert sum(count for count, _ in results) == 1000
    assert [value for _, part in results for value in part] == [i * i for i in items]


def test_parts_follow_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_resident_mb", lambda: 100)
    monkeypatch.setenv(parallel.MEMORY_ENV, "600")
    # One helper beside this process: what this process and its own growth leave.
    share = 600 - 100 - parallel.OWN_GROWTH_MB
    per_worker, per_fork, helper_mb = parallel.plan_parts(3_200, 2, 16)
    assert per_worker == 16  # parts of 100 renders: the least asked for
    assert per_fork == (share - parallel.WORKER_BASE_MB) * parallel.RENDERS_PER_MB // 100
    assert helper_mb == share - parallel.MOST_PER_PART // parallel.RENDERS_PER_MB
    per_worker, _, _ = parallel.plan_parts(40_000, 2, 16)
    assert 40_000 / (2 * per_worker) <= parallel.MOST_PER_PART  # no part over the most
    _, _, shared = parallel.plan_parts(40_000, 3, 16)
    assert shared < helper_mb / 2 + 1  # two helpers share the budget
    monkeypatch.setenv(parallel.MEMORY_ENV, "150")  # nothing to spare: a fork per part
    assert parallel.plan_parts(7_500, 2, 16)[1] == 1


def _big(items: Sequence[int]) -> list[int]:
    import os

    global _BALLAST
    _BALLAST = [bytearray(2**20) for _ in range(3)]  # 3 MB more in this process
    return [os.getpid() for _ in items]


_BALLAST: list[bytearray] = []


def test_a_helper_past_its_memory_allowance_makes_way_for_a_fresh_fork() -> None:
    import os
    from collections import Counter

    if parallel._private_mb() is None:
        pytest.skip("/proc/self/smaps_rollup is not available here")
    allowance = 2  # MB: a fresh fork holding 3 MB more passes it after one part
    parts = [part for _, part in parallel.run(_big, list(range(40)), 2, per_worker=10,
                                                per_fork=100, helper_mb=allowance)]
    takers = Counter(part[0] for part in parts if part[0] != os.getpid())
    assert takers and max(takers.values()) == 1


def _pids(items: Sequence[int]) -> list[int]:
    import os
    import time

    time.sleep(0.02)  # long enough for the helpers to start and take parts
    return [os.getpid() for _ in items]


@pytest.mark.parametrize("per_fork", [1, 3])
def test_this_process_and_its_helpers_share_the_parts(per_fork: int) -> None:
    import os
    from collections import Counter

    parts = [part for _, part in parallel.run(_pids, list(range(64)), 3, per_worker=8,
                                                per_fork=per_fork)]
    assert [pid for part in parts for pid in part] and sum(map(len, parts)) == 64
    takers = Counter(part[0] for part in parts)
    assert os.getpid() in takers  # this process worked too
    helpers = {pid: count for pid, count in takers.items() if pid != os.getpid()}
    assert len(helpers) >= 2  # both helpers took parts...
    assert max(helpers.values()) <= per_fork  # ... and made way for fresh forks in time


def _fail_on_seven(items: Sequence[int]) -> list[int]:
    if 7 in items:
        raise ValueError("seven")
    return list(items)


def test_a_failure_in_any_part_is_raised_here() -> None:
    with pytest.raises(ValueError, match="seven"):
        list(parallel.run(_fail_on_seven, list(range(40)), 2, per_worker=10, per_fork=2))


def _die(items: Sequence[int]) -> list[int]:
    import os
    import time

    time.sleep(0.01)
    if os.getpid() != _PARENT[0] and 7 in items:
        os._exit(3)
    return list(items)


_PARENT = [0]


def test_a_helper_that_dies_fails_the_run() -> None:
    import os

    _PARENT[0] = os.getpid()
    for _ in range(5):  # until a helper takes the part with 7 (this process may take it)
        try:
            list(parallel.run(_die, list(range(40)), 2, per_worker=10, per_fork=20))
        except RuntimeError as error:
            assert "died (exit code 3)" in str(error)
            return
    pytest.fail("this process took the fatal part five times over")


HELPERS_THEN_KILLED = """
import os, sys, time
from sfb_feeds import parallel

def slow(items):
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: lines from three processes
    time.sleep(30)
    return list(items)

list(parallel.run(slow, list(range(8)), 3, per_worker=2, per_fork=4))
"""


def test_helpers_die_with_the_build() -> None:
    import signal
    import subprocess
    import sys
    import time

    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux (/proc and PR_SET_PDEATHSIG)")
    child = subprocess.Popen([sys.executable, "-c", HELPERS_THEN_KILLED],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    pids = {int(child.stdout.readline()) for _ in range(3)}  # this process and two helpers
    helpers = pids - {child.pid}
    assert len(helpers) == 2
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in helpers):
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in helpers)
    child.stdout.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state  # a zombie has let go of everything


def test_meanwhile_runs_here_once_while_the_helpers_start() -> None:
    """``meanwhile`` runs in this process, once, after the helpers have started: the
    helpers take the parts while it runs."""
    import os
    import time

    calls: list[int] = []

    def meanwhile() -> None:
        calls.append(os.getpid())
        time.sleep(1.0)  # the helper meanwhile takes parts (8 take it ~0.2 s)

    parts = [part for _, part in parallel.run(_pids, list(range(64)), 2, per_worker=8,
                                                per_fork=100, meanwhile=meanwhile)]
    assert calls == [os.getpid()]
    assert sum(map(len, parts)) == 64
    helper_parts = [part for part in parts if part[0] != os.getpid()]
    assert len(helper_parts) >= 8  # taken while this process was busy


def test_meanwhile_is_not_called_without_helpers() -> None:
    calls: list[str] = []
    results = list(parallel.run(_square_all, list(range(10)), 1,
                                meanwhile=lambda: calls.append("called")))
    assert calls == [] and [v for _, part in results for v in part] == [i * i for i in range(10)]


def test_a_cold_build_prepares_the_renderers_while_a_helper_parses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from sfb_feeds import build, pipeline

    prepared: list[object] = []
    rehearsed: list[int] = []
    monkeypatch.setattr(pipeline, "prepare", lambda settings: prepared.append(settings))
    monkeypatch.setattr(pipeline, "rehearse",
                        lambda settings, statements, now: rehearsed.append(len(statements)))
    monkeypatch.setattr(build.parallel, "default_workers", lambda growth_mb=0, worker_mb=0: 2)
    settings, files = _site_of(tmp_path, build.PARSE_PARALLEL_MIN)
    loaded = build._load(settings, files, "", lambda _: None, datetime(2016, 1, 1, tzinfo=UTC))
    assert len(loaded.statements) == build.PARSE_PARALLEL_MIN
    assert prepared == [settings]
    assert rehearsed == [build.SAMPLE_FILES]  # on a sample, parsed for it


@pytest.mark.parametrize(("count", "expected"), [
    (0, []), (3, [0, 1, 2]), (48, list(range(48))), (96, list(range(0, 96, 2))),
    (1000, list(range(0, 960, 20))),
])
def test_the_rehearsal_sample_is_spread_over_the_files(count: int, expected: list[int]) -> None:
    from sfb_feeds import build

    paths = [f"{number}.yaml" for number in range(count)]
    assert build._sample(paths) == [f"{number}.yaml" for number in expected]


def test_run_leaves_what_was_frozen_before_it_frozen() -> None:
    import gc

    gc.unfreeze()
    try:
        list(parallel.run(_square_all, list(range(100)), 2, per_worker=4))
        assert gc.get_freeze_count() == 0  # its own freeze undone
        marker = [object()]
        gc.freeze()
        assert not any(o is marker for o in gc.get_objects())  # frozen: in no generation
        list(parallel.run(_square_all, list(range(100)), 2, per_worker=4))
        assert not any(o is marker for o in gc.get_objects())  # the caller's freeze kept
    finally:
        gc.unfreeze()


def test_loading_pauses_the_collector_and_freezes_what_it_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from sfb_feeds import build

    seen: list[bool] = []
    real_parse = build.parse_file

    def parse(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(build.parallel, "default_workers", lambda growth_mb=0, worker_mb=0: 1)
    import sfb_feeds.loader as loader
    monkeypatch.setattr(loader, "parse_file", parse)
    settings, files = _site_of(tmp_path, 3)
    gc.unfreeze()
    assert gc.isenabled()
    try:
        loaded = build._load(settings, files, "", lambda _: None)
        assert seen == [False, False, False]  # parsed with the collector off
        assert gc.isenabled()  # and on again after
        assert gc.get_freeze_count() > 0
        tracked = {id(o) for o in gc.get_objects()}
        assert loaded.statements and not any(id(s) in tracked for s in loaded.statements)
    finally:
        gc.unfreeze()


def test_a_week_s_digests_in_every_language_are_planned_side_by_side(
        tmp_path: Path) -> None:
    """Weeks in order, each week's languages together: a helper rendering a run of
    outputs then touches statements that sit together in memory (they load in file, that
    is date, order), so far fewer pages are copied into it than if it went language by
    language (measured at 100,000: peaks ~100 MB lower)."""
    from datetime import UTC, datetime

    from sfb_feeds.loader import load_statements
    from sfb_feeds.pipeline import plan_site

    folder = tmp_path / "statements"
    folder.mkdir()
    for day in range(1, 29, 3):
        for lang in ("en", "pl", "tr"):
            (folder / f"2015-02-{day:02d}-{lang}.yaml").write_text(
                f"title: S {day} {lang}\ndate: 2015-02-{day:02d}\nlanguage: {lang}\n"
                f"id: urn:x:{day}:{lang}\nexcerpt: A statement.\n", "utf-8")
    (tmp_path / "sfb-feeds.yaml").write_text(
        "site:\n  title: T\n  description: D\n  url: https://x.org/\n", "utf-8")
    settings = load_settings(tmp_path / "sfb-feeds.yaml")
    statements = load_statements(settings, detect=lambda _: None).statements
    planned = plan_site(settings, statements, datetime(2015, 6, 1, tzinfo=UTC))
    digests = [o.path for o in planned if o.kind == "digest-html"]
    weeks = [path.rsplit("/", 1)[1] for path in digests]
    assert len(digests) == 5 * 3 and weeks == sorted(weeks)  # 5 weeks x 3 languages
    assert [path.split("/")[1] for path in digests[:3]] == ["en", "pl", "tr"]


def test_free_memory_goes_back_to_the_system() -> None:
    """Freed chunks in the middle of the C heap stay resident until malloc_trim."""
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim  # noqa: B018 - glibc only
    except AttributeError:
        pytest.skip("no malloc_trim here (not glibc)")
    if parallel._resident_mb() == 0:
        pytest.skip("/proc/self/statm is not available here")
    chunks = [bytes(2048) + bytes([n % 256]) for n in range(60_000)]  # ~120 MB on the heap
    keep = bytes(2048) + b"last"  # allocated after them: the heap's top stays in use
    del chunks
    before = parallel._resident_mb()
    parallel.release_free_memory()
    assert parallel._resident_mb() < before - 60
    assert keep


SLOW_PART_S = 1.0


def _slow_here(items: Sequence[int]) -> list[tuple[int, float, float]]:
    """Each item: (pid, start, end). Item 0, worked on here, takes SLOW_PART_S, calling
    ``tick`` between steps as a renderer does between outputs; the rest are quick."""
    import os
    import time

    done = []
    for item in items:
        start = time.monotonic()
        if item == 0:
            while time.monotonic() - start < SLOW_PART_S:
                time.sleep(0.005)
                parallel.tick()
        done.append((os.getpid(), start, time.monotonic()))
    return done


def test_a_helper_that_ended_is_replaced_while_this_process_works_on_a_part() -> None:
    """Helpers taking one part each are replaced as they end, between the items this
    process works on (``tick``), not only once its part is done: while it spends a second
    on one item, many helpers come and go."""
    import os

    results = [row for _, part in parallel.run(_slow_here, list(range(400)), 2,
                                               per_worker=200, per_fork=1, own=1)
               for row in part]
    (mine,) = [row for row in results if row[0] == os.getpid() and row[1] + 0.5 < row[2]]
    meanwhile = {pid for pid, start, end in results
                 if pid != os.getpid() and mine[1] <= start and end <= mine[2]}
    assert len(meanwhile) >= 5, meanwhile


def _where(items: Sequence[int]) -> list[tuple[int, bool]]:
    import os
    import time

    time.sleep(0.01)
    return [(os.getpid(), parallel.in_helper()) for _ in items]


def test_work_knows_whether_it_runs_in_a_helper() -> None:
    import os

    assert not parallel.in_helper()
    rows = [row for _, part in parallel.run(_where, list(range(64)), 2, per_worker=8)
            for row in part]
    assert {helper for pid, helper in rows if pid == os.getpid()} == {False}
    assert {helper for pid, helper in rows if pid != os.getpid()} == {True}
    assert not parallel.in_helper()
    assert {helper for _, helper in _where([1])} == {False}  # (no run at all)


def test_a_helpers_pipe_holds_a_whole_part() -> None:
    import fcntl
    import multiprocessing

    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes cannot be set here (not Linux)")
    reader, writer = multiprocessing.get_context("fork").Pipe(duplex=False)
    with reader, writer:
        before = fcntl.fcntl(writer.fileno(), fcntl.F_GETPIPE_SZ)
        parallel._widen(writer)
        after = fcntl.fcntl(writer.fileno(), fcntl.F_GETPIPE_SZ)
    assert before < parallel.PIPE_BYTES <= after


def test_a_helper_reads_its_memory_less_often_only_while_far_from_its_allowance(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Readings cost ~8 ms at 100,000 statements: a helper growing slowly skips up to two
    parts between them while its allowance is 3x the fastest growth seen away; one
    growing fast reads after every part; past the allowance it stops at once."""
    def run(readings: list[int]) -> list[int]:
        """The parts after which memory was read, until the helper stopped."""
        values = iter(readings)
        read: list[int] = []
        part = 0

        def reading() -> int:
            read.append(part)
            return next(values)

        monkeypatch.setattr(parallel, "_private_mb", reading)
        watch = parallel._Watch(80)
        for part in range(1, 40):  # noqa: B007 (read by reading())
            if watch.over():
                return read
        raise AssertionError("never stopped")

    # slow: +4 MB a part (skips while (80 - now) / (3 * 4) is 3 parts or more)
    slow = run([20, 24, 36, 48, 56, 64, 68, 72, 76, 80, 84])
    assert slow == [1, 2, 5, 8, 10, 12, 13, 14, 15, 16, 17]
    fast = run([20, 60, 100])  # +40 a part: every part, and it stops past 80
    assert fast == [1, 2, 3]
    assert run([90]) == [1]  # over after its first part
