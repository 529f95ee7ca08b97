"""What creating a file costs on a filesystem, to read the cold-build times against.

    python benchmarks/disk.py [FOLDER ...]     # default: benchmarks/.work and /dev/shm

A cold build creates every output (7,575 files at 10,000 statements); each new file is a
new inode, whatever writes it. This creates, writes (3 KB, a digest's size) and renames
2,000 files the way the writer does, and reports the microseconds each step takes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

COUNT = 2_000
DATA = b"x" * 3_000


def measure(parent: Path) -> tuple[float, float, float]:
    """(create+write µs, rename µs, unlink µs) per file, in a fresh folder under ``parent``."""
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as folder:
        start = time.perf_counter()
        for number in range(COUNT):
            fd = os.open(f"{folder}/.{number}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            os.write(fd, DATA)
            os.close(fd)
        created = time.perf_counter()
        for number in range(COUNT):
            os.rename(f"{folder}/.{number}.tmp", f"{folder}/{number}")
        renamed = time.perf_counter()
        for number in range(COUNT):
            os.unlink(f"{folder}/{number}")
        removed = time.perf_counter()
    per = 1e6 / COUNT
    return (created - start) * per, (renamed - created) * per, (removed - renamed) * per


def main(folders: list[str]) -> None:
    here = Path(__file__).resolve().parent
    targets = [Path(f) for f in folders] or [here / ".work", Path("/dev/shm")]
    print(f"{'folder':<40} {'create+write':>13} {'rename':>8} {'unlink':>8}  (µs per file)")
    for target in targets:
        if not target.parent.is_dir():
            continue
        create, rename, unlink = measure(target)
        print(f"{target!s:<40} {create:>13.0f} {rename:>8.0f} {unlink:>8.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])
