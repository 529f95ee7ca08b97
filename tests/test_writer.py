"""The writer: atomic, only what changed, a manifest of owned files, never a foreign file."""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfb_feeds.manifest import (
    MANIFEST_NAME,
    TEMP_SUFFIX,
    UnsafePath,
    files_intact,
    manifest_status,
    read_manifest,
)
from sfb_feeds.model import Output
from sfb_feeds.writer import ForeignFiles, WriteError, WriteReport, write_outputs


def tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` (hidden ones included) with its bytes and mtime."""
    found: dict[str, tuple[bytes, int]] = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            found[path.relative_to(folder).as_posix()] = (path.read_bytes(),
                                                          path.stat().st_mtime_ns)
    return found


def contents(folder: Path) -> dict[str, bytes]:
    return {path: data for path, (data, _) in tree(folder).items()}


def outputs(**files: str) -> list[Output]:
    """Output rows from keyword arguments; ``__`` in a name stands for ``/``."""
    return [Output(name.replace("__", "/"), text.encode()) for name, text in files.items()]


def write(folder: Path, rows: list[Output]) -> WriteReport:
    return write_outputs(folder, rows, durable=False)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "feeds"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_first_run_writes_everything_and_a_manifest(out: Path) -> None:
    report = write(out, outputs(en__atom="<feed/>", pl__atom="<feed>pl</feed>", opml="x"))
    assert report.written == ("en/atom", "opml", "pl/atom")  # sorted
    assert (report.unchanged, report.removed) == (0, ())
    assert report.summary() == "3 written, 0 unchanged, 0 removed"
    files = contents(out)
    assert files.pop(MANIFEST_NAME)
    assert files == {"en/atom": b"<feed/>", "pl/atom": b"<feed>pl</feed>", "opml": b"x"}
    manifest = read_manifest(out)
    assert manifest.complete
    assert set(manifest.files) == {"en/atom", "pl/atom", "opml"}
    assert manifest.dirs == {"en", "pl"}


def test_second_run_writes_nothing_and_keeps_every_mtime(out: Path) -> None:
    rows = outputs(en__atom="<feed/>", pl__atom="<feed>pl</feed>", opml="x")
    write(out, rows)
    before = tree(out)
    report = write(out, rows)
    assert report == WriteReport((), 3, ())
    assert not report.changed
    assert tree(out) == before  # outputs and manifest: same bytes, same mtimes


def test_only_the_changed_file_is_written(out: Path) -> None:
    write(out, outputs(a="one", b="two", c="three"))
    before = tree(out)
    report = write(out, outputs(a="one", b="TWO", c="three"))
    assert (report.written, report.unchanged) == (("b",), 2)
    after = tree(out)
    assert after["a"] == before["a"]
    assert after["c"] == before["c"]
    assert after["b"][0] == b"TWO"


def test_stale_outputs_go_and_foreign_files_stay(out: Path) -> None:
    write(out, outputs(en__atom="en", da__atom="da", da__deep__x="x", index="i"))
    (out / "robots.txt").write_text("foreign")
    (out / "en" / "notes.txt").write_text("foreign too")
    report = write(out, outputs(en__atom="en", index="i"))
    assert report.removed == ("da/atom", "da/deep/x")
    assert not (out / "da").exists()  # folders the tool created go when empty
    assert (out / "robots.txt").read_text() == "foreign"
    assert (out / "en" / "notes.txt").read_text() == "foreign too"
    assert read_manifest(out).dirs == {"en"}


def test_a_folder_holding_foreign_files_is_kept(out: Path) -> None:
    write(out, outputs(da__atom="da", en__atom="en"))
    (out / "da" / "mine.txt").write_text("foreign")
    write(out, outputs(en__atom="en"))
    assert (out / "da" / "mine.txt").read_text() == "foreign"
    assert not (out / "da" / "atom").exists()


def test_a_folder_that_existed_before_is_never_removed(out: Path) -> None:
    (out / "da").mkdir(parents=True)
    write(out, outputs(da__atom="da"))
    write(out, [])
    assert (out / "da").is_dir()
    assert not (out / "da" / "atom").exists()


def test_files_not_in_the_manifest_are_never_removed(out: Path) -> None:
    out.mkdir()
    (out / "old-feed.xml").write_text("written by hand")
    write(out, outputs(a="a"))
    write(out, [])
    assert contents(out) == {"old-feed.xml": b"written by hand", MANIFEST_NAME: contents(out)[
        MANIFEST_NAME]}


def test_without_a_manifest_identical_files_are_left_alone(out: Path) -> None:
    write(out, outputs(a="same", b="old"))
    (out / MANIFEST_NAME).unlink()
    before = tree(out)
    with pytest.raises(ForeignFiles) as refused:  # b's bytes differ: not taken silently
        write(out, outputs(a="same", b="new"))
    assert refused.value.paths == ("b",)
    assert tree(out) == before
    report = write_outputs(out, outputs(a="same", b="new"), durable=False, adopt=True)
    assert report.written == ("b",)
    assert tree(out)["a"] == before["a"]
    assert "no manifest yet" in report.notes[0]


def test_a_corrupt_manifest_is_ignored_and_nothing_is_removed(out: Path) -> None:
    write(out, outputs(a="a", b="b"))
    (out / MANIFEST_NAME).write_text('{"files": ')
    report = write(out, outputs(a="a"))
    assert report.removed == ()
    assert (out / "b").exists()
    assert "unreadable" in report.notes[0]
    assert read_manifest(out).complete
    assert set(read_manifest(out).files) == {"a"}


@pytest.mark.parametrize("tampered", [
    {"files": {"../../etc/passwd": ["0", 1, 1, 1, ""]}},
    {"files": {"/etc/passwd": ["0", 1, 1, 1, ""]}},
    {"dirs": [".."]},
])
def test_a_manifest_naming_paths_outside_is_refused_whole(
    out: Path, tmp_path: Path, tampered: dict[str, object]
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    write(out, outputs(a="a"))
    document = json.loads((out / MANIFEST_NAME).read_bytes())
    document.update(tampered)
    (out / MANIFEST_NAME).write_text(json.dumps(document))
    write(out, [])
    assert victim.read_text() == "keep me"
    assert (out / "a").exists()  # an unreadable manifest owns nothing


def test_kept_files_stay_unread_and_take_their_new_key(out: Path) -> None:
    write(out, [Output("a", b"a", "k1"), Output("b", b"b", "k1")])
    before = tree(out)["a"]
    report = write_outputs(out, [Output("b", b"b", "k2")], kept={"a": "k3"}, durable=False)
    assert report == WriteReport((), 2, ())  # nothing removed: "a" is kept
    assert tree(out)["a"] == before
    assert {p: e.key for p, e in read_manifest(out).files.items()} == {"a": "k3", "b": "k2"}


def test_an_output_edited_by_hand_is_restored(out: Path) -> None:
    write(out, [Output("a", b"right", "k")])
    path = out / "a"
    path.write_bytes(b"wrong")  # same size, in place: only status tells
    os.utime(path, ns=(1, 1))
    report = write(out, [Output("a", b"right", "k")])
    assert report.written == ("a",)
    assert path.read_bytes() == b"right"


@pytest.mark.usefixtures("umask_022")
def test_files_are_world_readable_not_tempfile_private(out: Path) -> None:
    write(out, outputs(en__atom="x"))
    assert stat.S_IMODE((out / "en" / "atom").stat().st_mode) == 0o644
    assert stat.S_IMODE((out / "en").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / MANIFEST_NAME).stat().st_mode) == 0o644


def test_permissions_follow_the_umask(out: Path) -> None:
    old = os.umask(0o027)
    try:
        write(out, outputs(a="x"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((out / "a").stat().st_mode) == 0o640


@pytest.mark.usefixtures("umask_022")
def test_a_replaced_file_keeps_the_permissions_it_was_given(out: Path) -> None:
    """An operator who opened or closed files to the web server (``chmod``, for a umask
    cron imposed) keeps that choice when the build replaces them; new files and files
    rewritten because they were missing follow the umask, as before."""
    write(out, outputs(en__atom="x", en__rss="x", en__json="x"))
    (out / "en" / "atom").chmod(0o604)
    (out / "en" / "rss").chmod(0o640)
    write(out, outputs(en__atom="y", en__rss="y", en__json="x", en__new="y"))
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (out / "en").iterdir()}
    assert modes == {"atom": 0o604, "rss": 0o640, "json": 0o644, "new": 0o644}
    assert contents(out)["en/atom"] == b"y"


@pytest.mark.usefixtures("umask_022")
def test_a_replaced_file_does_not_keep_set_id_bits(out: Path) -> None:
    write(out, outputs(a="x"))
    (out / "a").chmod(0o6664)
    write(out, outputs(a="y"))
    assert stat.S_IMODE((out / "a").stat().st_mode) == 0o664


@pytest.mark.usefixtures("umask_022")
def test_a_link_replaced_by_its_output_gets_the_umask_s_permissions(out: Path) -> None:
    """(A link's own mode is 0777: kept, it would make the output world-writable.)"""
    write(out, outputs(a="x"))
    (out / "a").unlink()
    (out / "a").symlink_to(out.parent / "elsewhere")
    write(out, outputs(a="y"))
    assert stat.S_IMODE((out / "a").lstat().st_mode) == 0o644


@pytest.mark.parametrize("path", [
    "/etc/passwd", "../x", "en/../../x", "en/./atom", "en//atom", "", "en/", "a\\b",
    "nul\x00byte", "..", ".sfb-feeds.lock", "en/.sfb-feeds-manifest.json", "en/.a.xml.sfb-tmp",
    "en/a.xml.sfb-tmp", "en/-/..", "ελ/../../x",
])
def test_paths_leaving_the_folder_or_reserved_are_refused(out: Path, path: str) -> None:
    with pytest.raises(UnsafePath):
        write(out, [Output("ok", b"fine"), Output(path, b"evil")])
    assert not out.exists() or contents(out) == {}


def test_duplicate_and_file_folder_clashes_are_refused(out: Path) -> None:
    with pytest.raises(UnsafePath, match="share a path"):
        write(out, outputs(a="1") + outputs(a="2"))
    with pytest.raises(UnsafePath, match="both an output file and the folder"):
        write(out, outputs(en="1", en__atom="2"))


def test_a_link_leading_out_of_the_folder_is_not_followed(out: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "en").symlink_to(elsewhere)
    with pytest.raises(UnsafePath, match="leads outside"):
        write(out, outputs(en__atom="x"))
    assert list(elsewhere.iterdir()) == []


def test_stale_files_behind_a_link_are_not_deleted(out: Path, tmp_path: Path) -> None:
    write(out, outputs(en__atom="x"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "atom").write_text("not yours")
    (out / "en" / "atom").unlink()
    (out / "en").rmdir()
    (out / "en").symlink_to(elsewhere)
    write(out, [])
    assert (elsewhere / "atom").read_text() == "not yours"


def stream(rows: list[Output], broken_at: str = "") -> Iterator[Output]:
    """``rows`` as outputs being rendered; the one at ``broken_at`` fails to render."""
    for row in rows:
        if row.path == broken_at:
            raise RuntimeError(f"renderer bug at {row.path}")
        yield row


def test_a_failed_render_leaves_the_folder_exactly_as_it_was(out: Path) -> None:
    write(out, outputs(a="a", en__atom="en"))
    before = tree(out)
    rows = [Output("a", b"A2"), Output("pl/atom", b"pl"), Output("pl/rss", b"")]
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_outputs(out, stream(rows, "pl/rss"), paths=[r.path for r in rows],
                      durable=False)
    assert tree(out) == before  # no temporary files, no new folders, manifest restored


def test_a_failed_first_render_leaves_no_manifest(out: Path) -> None:
    rows = [Output("a", b"a"), Output("b", b"b")]
    with pytest.raises(RuntimeError):
        write_outputs(out, stream(rows, "b"), paths=["a", "b"], durable=False)
    assert contents(out) == {}


def test_an_interrupted_run_is_recovered(out: Path) -> None:
    write(out, outputs(a="a"))
    # What a run killed after its first renames leaves behind: its intent, a new file in a
    # new folder, and a temporary file.
    intent = {"format": "sfb-feeds-manifest", "files": ["x/new"], "dirs": ["x"]}
    (out / f"{MANIFEST_NAME}.intent").write_text(json.dumps(intent))
    (out / "x").mkdir()
    (out / "x" / "new").write_text("half the story")
    (out / f".a{TEMP_SUFFIX}").write_text("partial")
    assert not read_manifest(out).complete
    report = write(out, outputs(a="a"))
    assert report.removed == ("x/new",)
    assert "interrupted" in report.notes[0]
    assert contents(out).keys() == {"a", MANIFEST_NAME}
    assert read_manifest(out).complete


def test_a_torn_intent_still_means_interrupted(out: Path) -> None:
    write(out, outputs(a="a"))
    (out / f"{MANIFEST_NAME}.intent").write_text('{"files": ["x/n')
    (out / f".a{TEMP_SUFFIX}").write_text("partial")
    report = write(out, outputs(a="a"))
    assert report.unchanged == 1
    assert contents(out).keys() == {"a", MANIFEST_NAME}


def test_durable_writes_give_the_same_result(out: Path) -> None:
    rows = [Output(f"d{i % 3}/f{i}", str(i).encode()) for i in range(40)]  # > one sync batch
    report = write_outputs(out, rows, durable=True)
    assert len(report.written) == 40
    report = write_outputs(out, rows[:2], durable=True)
    assert sorted(report.removed) == sorted(r.path for r in rows[2:])
    assert contents(out).keys() == {"d0/f0", "d1/f1", MANIFEST_NAME}


def test_status_checks_read_no_contents_and_see_every_change(out: Path) -> None:
    report = write(out, outputs(a="a", en__b="b"))
    status = manifest_status(out)
    assert status is not None
    assert files_intact(out, report.owned)
    (out / "en" / "b").write_text("B")
    assert not files_intact(out, report.owned)
    assert manifest_status(out) == status  # the manifest itself did not change ...
    write(out, outputs(a="a", en__b="b"))
    assert manifest_status(out) != status  # ... until a run rewrote it


def test_an_interrupted_run_has_no_manifest_status(out: Path) -> None:
    write(out, outputs(a="a"))
    (out / f"{MANIFEST_NAME}.intent").write_text("{}")
    assert manifest_status(out) is None


def many(version: str) -> list[Output]:
    """200 outputs over nested folders."""
    paths = [f"{['en', 'pl', 'tr'][i % 3]}/weeks/{i // 3}/page{i}.html" for i in range(200)]
    return [Output(path, f"{version} {path}\n".encode() * 50, f"{version}-{path}")
            for path in paths]


def test_a_stream_of_outputs_gives_the_same_folder_as_a_list(tmp_path: Path) -> None:
    listed = write_outputs(tmp_path / "one", many("v1"), durable=False)
    rows = many("v1")
    streamed = write_outputs(tmp_path / "two", stream(rows), paths=[r.path for r in rows],
                             durable=False)
    assert streamed == listed
    one, two = contents(tmp_path / "one"), contents(tmp_path / "two")
    assert one.pop(MANIFEST_NAME) and two.pop(MANIFEST_NAME)
    assert one == two


def test_a_stream_failing_late_leaves_the_folder_as_it_was(out: Path) -> None:
    write_outputs(out, many("v1")[:100], durable=False)
    before = tree(out)
    rows = many("v2")
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_outputs(out, stream(rows, "tr/weeks/55/page167.html"),
                      paths=[r.path for r in rows], durable=False)
    assert tree(out) == before  # no temporary files or new folders


def test_a_stream_ending_before_every_planned_output_came_writes_nothing(out: Path) -> None:
    write_outputs(out, many("v1")[:100], durable=False)
    before = tree(out)
    rows = many("v2")
    with pytest.raises(RuntimeError, match="1 planned output never came"):
        write_outputs(out, iter(rows[:-1]), paths=[r.path for r in rows], durable=False)
    assert tree(out) == before  # the folder (and its manifest) as it was


def test_durable_writes_flush_every_file_written(out: Path, flushed: set[int]) -> None:
    rows = [Output(f"d{i % 3}/f{i}", str(i).encode()) for i in range(77)]  # odd batches
    report = write_outputs(out, rows, durable=True)
    assert len(report.written) == 77
    assert {(out / path).stat().st_ino for path in report.written} <= flushed


def test_a_disk_that_cannot_flush_leaves_the_folder_as_it_was(
        out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(out, outputs(a="a", en__atom="en"))
    before = tree(out)

    real = os.fsync

    def failing(fd: int) -> None:  # the staged outputs' flushes fail, not the intent's
        if "atom" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(WriteError, match="cannot flush to disk: Input/output error"):
        write_outputs(out, [Output("a", b"A2"), Output("pl/atom", b"pl")], durable=True)
    monkeypatch.undo()
    assert tree(out) == before


@pytest.mark.parametrize("stream", ["short", "long"])
def test_a_disk_that_fills_up_leaves_the_folder_as_it_was(
        out: Path, monkeypatch: pytest.MonkeyPatch, stream: str) -> None:
    """Staged files are written on threads: a failure there, found at the end (short) or
    while thousands of outputs still arrive (long), still names the output and leaves
    every file as it was (nothing renamed, no temporary file left)."""
    write(out, outputs(a="a", en__atom="en"))
    before = tree(out)
    real = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if "pl" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    failing = Output("pl/atom", b"pl")
    rows = [Output("a", b"A2"), *(Output(f"d/f{i}", b"x") for i in range(70)), failing] \
        if stream == "short" else [failing, *(Output(f"d{i % 8}/f{i}", b"x") for i in range(4000))]
    with pytest.raises(WriteError, match=r"^feeds/pl/atom: cannot write: No space left on device"):
        write_outputs(out, iter(rows), paths=[row.path for row in rows],
                      durable=stream == "short")
    monkeypatch.undo()
    assert tree(out) == before


def test_durable_writes_never_flush_the_whole_host(
        out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sync() would flush every file system of the host (a cron neighbour's too)."""
    def refuse() -> None:
        raise AssertionError("os.sync() called")

    monkeypatch.setattr(os, "sync", refuse)
    report = write_outputs(out, many("v1"), durable=True)
    assert len(report.written) == 200


@pytest.mark.parametrize("path", [
    "atom.xml", "pt-BR/archive/2015-h1.xml", "digests/en/2015-W36.eml", "a_b/c.d.e",
    "digests/ελ/index.html",  # not ASCII: the full check, which lets it through
])
def test_ordinary_output_paths_pass_the_check(path: str) -> None:
    from sfb_feeds.manifest import check_path

    assert check_path(path) == path


def test_a_folder_that_cannot_be_flushed_is_a_write_error_and_the_next_run_repairs(
        out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files are renamed when their folders are flushed: a failure then names the
    folder (it escaped as an internal error), and the next run finishes the job."""
    write(out, outputs(a="a"))
    real = os.fsync

    def failing(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if stat.S_ISDIR(os.fstat(fd).st_mode) and path.endswith("/pl"):
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    rows = [Output("a", b"A2"), Output("pl/atom", b"pl")]
    with pytest.raises(WriteError, match=r"^feeds/pl: cannot flush to disk: Input/output error$"):
        write_outputs(out, rows, durable=True)
    monkeypatch.undo()
    report = write_outputs(out, rows, durable=True)
    assert report.notes == ("the previous run was interrupted; checked files by their bytes "
                            "and removed its temporary files",)
    assert {path: data for path, (data, _) in tree(out).items() if "manifest" not in path} \
        == {"a": b"A2", "pl/atom": b"pl"}
    assert write_outputs(out, rows, durable=True).written == ()


def test_a_folder_at_an_output_path_is_refused_before_any_file_is_replaced(out: Path) -> None:
    """Someone's folder where an output file goes: named (as seen from the working folder)
    while staging, so no other output is replaced and nothing of the run is left."""
    write(out, outputs(a="a", b="b", c="c"))
    (out / "b").unlink()
    (out / "b").mkdir()
    (out / "b" / "notes").write_text("not ours")
    before = tree(out)
    with pytest.raises(WriteError) as caught:
        write(out, outputs(a="A2", b="B2", c="C2"))
    assert str(caught.value) == ("feeds/b: is a folder where an output file goes; move it "
                                 "away (sfb-feeds never removes what it did not write)")
    assert tree(out) == before


def test_a_first_rename_that_fails_leaves_the_folder_as_it_was(
        out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing was replaced yet: the run's temporary files and intent go."""
    write(out, outputs(a="a", b="b"))
    before = tree(out)
    real = os.replace

    def refused(source: str, target: str) -> None:
        if os.path.basename(source) == f".a{TEMP_SUFFIX}":
            raise OSError(errno.EACCES, "Permission denied")
        real(source, target)

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(WriteError, match=r"^feeds/a: cannot replace: Permission denied$"):
        write(out, outputs(a="A2", b="B2"))
    monkeypatch.undo()
    assert tree(out) == before


@pytest.mark.parametrize("kind", ["file", "link to a file"])
def test_a_file_where_a_folder_of_outputs_goes_is_named_as_such(out: Path, kind: str,
                                                                 tmp_path: Path) -> None:
    write(out, outputs(a="a", da__atom="da", da__rss="da"))
    (out / "da" / "atom").unlink()
    (out / "da" / "rss").unlink()
    (out / "da").rmdir()
    if kind == "file":
        (out / "da").write_text("not ours")
    else:
        (tmp_path / "notes").write_text("not ours")
        (out / "da").symlink_to(tmp_path / "notes")
    before = tree(out)
    with pytest.raises(WriteError) as caught:
        write(out, outputs(a="A2", da__atom="da2", da__rss="da2"))
    assert str(caught.value) == ("feeds/da: is not a folder, and a folder of outputs goes "
                                 "there; move it away (sfb-feeds never removes what it did "
                                 "not write)")
    assert tree(out) == before


def test_a_folder_that_cannot_be_created_is_named_from_the_working_folder(
        out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write error names its path as the rest of the CLI does: from the working
    folder (not from the output folder, nor absolute)."""
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(WriteError, match=r"^file/feeds: cannot create folder: Not a directory$"):
        write_outputs(tmp_path / "file" / "feeds", outputs(a="a"), durable=False)
    write(out, outputs(a="a"))
    before = tree(out)
    real = os.mkdir

    def refused(path: str, *args: int) -> None:
        if str(path).endswith("/pl"):
            raise OSError(errno.EACCES, "Permission denied")
        real(path, *args)

    monkeypatch.setattr(os, "mkdir", refused)
    with pytest.raises(WriteError, match=r"^feeds/pl: cannot create folder: Permission denied$"):
        write(out, outputs(a="A2", pl__atom="pl"))
    monkeypatch.undo()
    assert tree(out) == before
