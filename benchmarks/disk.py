"""What creating a file costs on a filesystem, to read the cold-build times against.

    python benchmarks/disk.py [FOLDER ...]     # default: benchmarks/.work and /dev/shm

A cold build creates every output (7,575 files at 10,000 statements); each new file is a
new inode, whatever writes it. This creates, writes (3 KB, a digest's size) and renames
2,000 files the way the writer does, and reports the microseconds each step takes; then
creates as many again a second after those were deleted ("create again"). On ext4 without a
journal (this VM's disk) that second figure is several times the first: the kernel skips
inodes freed from one second to a minute ago (``recently_deleted``, longer while their
inode table block is unwritten), reading each one's inode table block, so a build that
runs just after thousands of files were deleted pays for it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

COUNT = 2_000
DATA = b"x" * 3_000


def measure(parent: Path) -> tuple[float, float, float, float]:
    """(create+write, rename, unlink, create+write again) µs per file, in a fresh folder
    under ``parent``."""
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
        time.sleep(1.1)  # (an inode freed in this very second does not count as recent)
        start_again = time.perf_counter()
        for number in range(COUNT):
            fd = os.open(f"{folder}/.{number}.again", os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o666)
            os.write(fd, DATA)
            os.close(fd)
        again = time.perf_counter()
    per = 1e6 / COUNT
    return ((created - start) * per, (renamed - created) * per, (removed - renamed) * per,
            (again - start_again) * per)


def main(folders: list[str]) -> None:
    here = Path(__file__).resolve().parent
    targets = [Path(f) for f in folders] or [here / ".work", Path("/dev/shm")]
    print(f"{'folder':<40} {'create+write':>13} {'rename':>8} {'unlink':>8} "
          f"{'create again':>13}  (µs per file)")
    for target in targets:
        if not target.parent.is_dir():
            continue
        create, rename, unlink, again = measure(target)
        print(f"{target!s:<40} {create:>13.0f} {rename:>8.0f} {unlink:>8.0f} {again:>13.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="What creating a file costs, per folder.")
    parser.add_argument("folders", nargs="*", metavar="FOLDER",
                        help="where to create the files (default: benchmarks/.work, /dev/shm)")
    main(parser.parse_args().folders)
