"""Time `sfb-feeds build` on synthetic archives and print a table.

    python benchmarks/run.py                       # N = 2,000, 10,000 and 100,000
    python benchmarks/run.py --sizes 2000,10000    # pick sizes
    python benchmarks/run.py --sizes 10000 --by-format   # where a cold build spends its time

Each build runs as its own process (``python -m sfb_feeds build``), exactly as cron runs it,
so times include interpreter start-up and imports. "peak MB" is the largest total
proportional set size (PSS, sampled every 50 ms from /proc) of the build and its worker
processes: what the build really occupies, each shared page counted once. It is sampled
in one more cold build, not in the timed ones: reading /proc/*/smaps_rollup walks a
process's page tables under its memory lock, and on two cores sampling slowed a cold
10,000 build by 0.1-0.8 s. "max RSS MB" is the largest resident set of any one process
of any build (``ru_maxrss``, free to read), which counts pages a forked worker shares
with its parent in both. For each size:

* cold: no output folder and no cache (the previous ones moved aside, see ``set_aside``),
  the median of three up to 10,000 statements, a single build above (then one more, for
  the memory);
* no-op: the same build again (nothing changed), the median of three;
* no-op, no stamp: again, with the build stamp deleted (records come from the record cache
  and every output's render key is checked, but nothing is rendered);
* one edit: one statement's title changed, then a build (the median of three edits).

Before each build the statement files are read (so they are in memory, as just after they
were written; see ``read_statements``) and the previous build's writes are flushed to disk
(``sync``), as they would be between two cron runs minutes apart.

Sites are generated once into ``--work`` (default ``benchmarks/.work``) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import NOW, generate  # noqa: E402 - the generator sits next to this script

from sfb_feeds.incremental import STAMP_FILE  # noqa: E402

TARGETS = {  # size -> (cold s, no-op s, edit s, peak MB); None: no target
    10_000: (3.0, 0.3, 1.0, None),
    100_000: (30.0, 0.8, None, 600.0),
}


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    peak_mb: float  # the largest total PSS of the build and its workers
    rss_mb: float  # the largest RSS of any one of them (shared pages counted in each)
    summary: str


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process under it, in a stable order."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return sorted(found)


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_pss_kb(pid: int) -> int | None:
    """Proportional set size of ``pid`` and its descendants, from /proc; None when a
    process started or ended while they were read (then the sum means nothing).

    PSS splits each shared page between the processes sharing it, so the sum over a
    process and its forked workers is the memory the build really occupies, provided all
    are read between the same two forks: the build process read just before a fork (its
    pages its own) plus the new helper read just after (half of them) counts half of the
    build twice. (Such samples made earlier measurements peak at ~650 MB at 100,000.)
    """
    before = _descendants(pid)
    total = sum(_pss_kb(current) for current in before)
    return total if _descendants(pid) == before else None


def _idle(pid: int, peak: list[int], done: threading.Event) -> None:
    done.wait()


def _watch(pid: int, peak: list[int], done: threading.Event) -> None:
    while not done.wait(0.05):
        sample = _tree_pss_kb(pid)
        if sample is not None:
            peak[0] = max(peak[0], sample)


def build(config: Path, *, sample_memory: bool = False) -> Run:
    """One `sfb-feeds build` in a fresh process: wall time, peak memory (0 unless
    ``sample_memory``), its summary line."""
    command = [sys.executable, "-m", "sfb_feeds", "build", "--config", str(config),
               "--now", NOW]
    # As installed for cron: Python may cache compiled modules (a shell that sets
    # PYTHONDONTWRITEBYTECODE would otherwise charge every run for compiling them).
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    peak, done = [0], threading.Event()
    watcher = threading.Thread(target=_watch if sample_memory else _idle,
                               args=(child.pid, peak, done), daemon=True)
    watcher.start()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    out = child.stdout.read() if child.stdout else ""
    err = child.stderr.read() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"build failed ({child.returncode}):\n{err}")
    return Run(seconds, peak[0] / 1024, usage.ru_maxrss / 1024, out.strip() or "(silent)")


def site_for(work: Path, size: int, languages: int) -> Path:
    root = work / f"site-{size}-{languages}"
    if not (root / "sfb-feeds.yaml").exists():
        print(f"generating {size} statements in {root} ...", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
        generate(root, size, languages)
    return root / "sfb-feeds.yaml"


def edit_one_record(config: Path, which: int = 0) -> tuple[Path, bytes, int]:
    """Change one statement's title in place (as an editor would); returns how to undo it."""
    files = sorted((config.parent / "statements").rglob("*.yaml"))
    path = files[len(files) // 2 + which]
    original = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    path.write_bytes(original.replace(b"title: \"", b"title: \"Corrected: ", 1))
    moment = time.time() - 5  # saved a few seconds before cron started the build
    os.utime(path, (moment, moment))
    return path, original, mtime


REPEATS = 3  # warm runs are repeated and the median kept: single runs vary by ~20 %


def settled_build(config: Path, *, sample_memory: bool = False) -> Run:
    """A build after the previous one's writes reached the disk, as between cron runs,
    with the statement files in the page cache (see :func:`read_statements`)."""
    read_statements(config.parent / "statements")
    os.sync()
    return build(config, sample_memory=sample_memory)


def read_statements(folder: Path) -> None:
    """Read every statement file, so that the build finds them in memory, as after they
    were written or read a moment ago. Otherwise what is measured depends on what the
    kernel dropped since: this VM runs DAMON's proactive reclaim, which drops page-cache
    pages not touched for about a minute, and reading 100,000 files back from its disk
    added ~9 s to a cold build (32 s instead of 23)."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def median(runs: Sequence[Run]) -> Run:
    middle = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    return Run(middle.seconds, max(run.peak_mb for run in runs),
               max(run.rss_mb for run in runs), middle.summary)


def set_aside(root: Path, trash: Path) -> None:
    """Move the site's output and cache folders into ``trash`` (deleted after the last
    measurement): the next build starts cold, and no files were deleted just before it.

    Why not delete them: on an ext4 file system without a journal (this VM's), the kernel
    skips inodes freed in the last minute when it allocates new ones
    (``find_inode_bit`` -> ``recently_deleted``), reading each one's inode table block, so
    creating files right after deleting thousands costs ~150 µs more per file (perf: half
    of a cold 10,000 build's system time). A real cold build (a new site) never pays that.
    """
    trash.mkdir(parents=True, exist_ok=True)
    for folder in ("feeds", ".sfb-cache"):
        if (root / folder).exists():
            os.rename(root / folder, trash / f"{root.name}-{folder}-{time.monotonic_ns()}")


def cold_repeats(size: int) -> int:
    return REPEATS if size <= 10_000 else 1  # a cold 100,000 build takes most of a minute


def measure(config: Path, size: int, trash: Path) -> dict[str, Run]:
    root = config.parent
    colds = []
    for _ in range(cold_repeats(size)):
        set_aside(root, trash)
        colds.append(settled_build(config))
    set_aside(root, trash)  # and once more, its memory sampled (the largest of all runs)
    runs = {"cold": median(colds), "cold, memory": settled_build(config, sample_memory=True)}
    runs["no-op"] = median([settled_build(config) for _ in range(REPEATS)])
    (root / ".sfb-cache" / STAMP_FILE).unlink(missing_ok=True)
    runs["no-op, no stamp"] = settled_build(config)
    edits, undo = [], []
    try:
        for which in range(REPEATS):  # each build sees one more edited record
            undo.append(edit_one_record(config, which))
            edits.append(settled_build(config))
    finally:
        for path, original, mtime in undo:
            path.write_bytes(original)
            os.utime(path, ns=(mtime, mtime))
    runs["one edit"] = median(edits)
    return runs


def outputs_of(config: Path) -> tuple[int, float]:
    manifest = json.loads((config.parent / "feeds" / ".sfb-feeds-manifest.json").read_bytes())
    files = manifest["files"].values()
    return len(files), sum(entry[1] for entry in files) / 1e6


def _mark(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return " ok" if value <= target else f" (>{target:g})"


def print_table(rows: Sequence[tuple[int, int, float, dict[str, Run]]]) -> None:
    head = (f"{'statements':>10} {'outputs':>8} {'MB out':>7} {'cold s':>12} {'no-op s':>12} "
            f"{'no-op, no stamp s':>17} {'one edit s':>12} {'peak MB':>13} {'max RSS MB':>10}")
    print(head)
    print("-" * len(head))
    for size, outputs, megabytes, runs in rows:
        cold_t, noop_t, edit_t, mem_t = TARGETS.get(size, (None, None, None, None))
        peak = max(run.peak_mb for run in runs.values())
        rss = max(run.rss_mb for run in runs.values())
        cells = [
            f"{runs['cold'].seconds:.2f}{_mark(runs['cold'].seconds, cold_t)}",
            f"{runs['no-op'].seconds:.2f}{_mark(runs['no-op'].seconds, noop_t)}",
            f"{runs['no-op, no stamp'].seconds:.2f}",
            f"{runs['one edit'].seconds:.2f}{_mark(runs['one edit'].seconds, edit_t)}",
            f"{peak:.0f}{_mark(peak, mem_t)}",
        ]
        print(f"{size:>10} {outputs:>8} {megabytes:>7.1f} {cells[0]:>12} {cells[1]:>12} "
              f"{cells[2]:>17} {cells[3]:>12} {cells[4]:>13} {rss:>10.0f}")


def by_format(config: Path) -> None:
    """Render every output of a cold build in this process, timing each format."""
    from datetime import datetime

    from sfb_feeds.config import load_settings
    from sfb_feeds.loader import load_statements
    from sfb_feeds.pipeline import all_formats
    from sfb_feeds.plan import plan_outputs
    from sfb_feeds.site import make_site

    settings = load_settings(config)
    start = time.perf_counter()
    statements = load_statements(settings).statements
    print(f"load (no cache): {time.perf_counter() - start:.2f} s")
    site = make_site(settings, statements, datetime.fromisoformat(NOW))
    totals: dict[str, list[float]] = {}
    for item in plan_outputs(site, all_formats(site.settings, site.languages)):
        start = time.perf_counter()
        files = item.render(site)
        spent = totals.setdefault(item.format.name, [0.0, 0, 0])
        spent[0] += time.perf_counter() - start
        spent[1] += 1
        spent[2] += sum(len(data) for _, data in files)
    print(f"{'format':<16} {'outputs':>8} {'total s':>8} {'ms each':>8} {'MB':>7}")
    for name, (seconds, count, size) in sorted(totals.items(), key=lambda kv: -kv[1][0]):
        print(f"{name:<16} {count:>8} {seconds:>8.2f} {1000 * seconds / count:>8.2f} "
              f"{size / 1e6:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Time sfb-feeds build on synthetic sites.")
    parser.add_argument("--sizes", default="2000,10000,100000",
                        help="comma-separated statement counts (default: %(default)s)")
    parser.add_argument("--languages", type=int, default=10)
    parser.add_argument("--work", type=Path, default=HERE / ".work",
                        help="where generated sites are kept (default: %(default)s)")
    parser.add_argument("--by-format", action="store_true",
                        help="instead: time each output format of a cold render")
    args = parser.parse_args()
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",")]
    if args.by_format:
        for size in sizes:
            print(f"== {size} statements")
            by_format(site_for(args.work, size, args.languages))
        return
    rows = []
    # (one left by an interrupted run is deleted with this run's, after the measurements:
    # deleting it now would slow them down, see set_aside)
    trash = args.work / ".trash"
    try:
        for size in sizes:
            config = site_for(args.work, size, args.languages)
            print(f"building {size} ...", file=sys.stderr)
            runs = measure(config, size, trash)
            rows.append((size, *outputs_of(config), runs))
    finally:
        shutil.rmtree(trash, ignore_errors=True)
    print(f"\nsfb-feeds build, {args.languages} languages, {os.cpu_count()} cores "
          f"(targets in brackets when missed)\n")
    print_table(rows)


if __name__ == "__main__":
    main()
