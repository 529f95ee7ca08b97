"""How many worker processes a build uses, and that parts come back whole and in order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from sfb_feeds import parallel
from sfb_feeds.config import load_settings


def test_the_number_of_workers_can_be_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    assert parallel.default_workers() == 3


def test_no_workers_when_the_memory_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(parallel.WORKERS_ENV, raising=False)
    monkeypatch.setattr(parallel, "_resident_mb", lambda: 470)  # 100,000 statements loaded
    monkeypatch.setenv(parallel.MEMORY_ENV, "600")
    assert parallel.default_workers() == 1
    monkeypatch.setenv(parallel.MEMORY_ENV, "2000")
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
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
    assert parallel.default_workers(growth_mb=390) == 1  # 100,000 files


def test_a_cold_build_parses_in_workers_only_within_the_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfb_feeds import build

    asked: list[int] = []
    monkeypatch.setattr(build.parallel, "default_workers",
                        lambda growth_mb=0: asked.append(growth_mb) or 1)
    folder = tmp_path / "statements"
    folder.mkdir()
    for number in range(600):
        (folder / f"{number}.yaml").write_text(
            f"title: S{number}\ndate: 2015-09-04\nlanguage: en\nid: urn:x:{number}\n"
            "excerpt: A statement.\n", "utf-8")
    (tmp_path / "sfb-feeds.yaml").write_text(
        "site:\n  title: T\n  description: D\n  url: https://x.org/\n", "utf-8")
    settings = load_settings(tmp_path / "sfb-feeds.yaml")
    files = build.cache.scan_statement_files(folder, build.SUFFIXES)
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


def test_parts_per_fork_follow_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_resident_mb", lambda: 100)
    monkeypatch.setenv(parallel.MEMORY_ENV, "600")
    # 250 MB per worker, 170 MB of it for growth: ~5,100 renders per fork.
    assert parallel.parts_per_fork(7_500, 2, 32) == 21  # a worker lives through its share
    assert parallel.parts_per_fork(40_000, 2, 32) == 4
    monkeypatch.setenv(parallel.MEMORY_ENV, "300")  # 20 MB of growth: 600 renders a fork
    assert parallel.parts_per_fork(7_500, 2, 32) == 2
    monkeypatch.setenv(parallel.MEMORY_ENV, "200")  # nothing to spare: a fork per part
    assert parallel.parts_per_fork(7_500, 2, 32) == 1


def test_a_worker_takes_several_parts_before_a_fresh_fork() -> None:
    items = list(range(64))
    pids = [pid for _, part in parallel.run(_pids, items, 2, per_worker=8, per_fork=4)
            for pid in part]
    assert len(pids) == 64 and 2 <= len(set(pids)) <= 4 + 1
    fresh = {pid for _, part in parallel.run(_pids, items, 2, per_worker=8, per_fork=1)
             for pid in part}
    assert len(fresh) == 16  # a fork per part


def _pids(items: Sequence[int]) -> list[int]:
    import os

    return [os.getpid() for _ in items]
