"""Tests of the one atomic writer: files land whole, with the user's umask, or not at all."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from tunebench.core.files import (
    CorruptFile,
    DiskFull,
    read_json,
    read_parquet,
    write_atomic,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_writer_writes_the_content(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert write_text(tmp_path / "t" / "a.md", "héllo\n").read_text(encoding="utf-8") == "héllo\n"
    assert write_json(tmp_path / "a.json", {"k": [1]}).read_text() == '{"k": [1]}\n'
    pd.testing.assert_frame_equal(pd.read_csv(write_csv(tmp_path / "a.csv", frame)), frame)
    pd.testing.assert_frame_equal(pd.read_parquet(write_parquet(tmp_path / "a.pq", frame)), frame)
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "a.csv", "a.json", "a.md", "a.pq", "t"
    ]  # fmt: skip


@pytest.mark.usefixtures("umask_022")
def test_files_get_the_umask_not_owner_only(tmp_path: Path) -> None:
    """A colleague on a shared cluster can read the results (mkstemp would give 0o600)."""
    for path in (
        write_text(tmp_path / "s.md", "x"),
        write_csv(tmp_path / "s.csv", pd.DataFrame({"a": [1]})),
        write_atomic(tmp_path / "s.bin", lambda tmp: tmp.write_bytes(b"1")),
    ):
        assert _mode(path) == 0o644, path


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_text(tmp_path / "keep.txt", "old")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("new but half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(target, half_then_fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_replaces_an_existing_file(tmp_path: Path) -> None:
    target = write_text(tmp_path / "f.txt", "one")
    write_text(target, "two")
    assert target.read_text() == "two"


def test_a_full_disk_is_one_line_naming_the_file_and_the_space(tmp_path: Path) -> None:
    def fills_the_disk(tmp: Path) -> None:
        tmp.write_bytes(b"x" * 3000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = tmp_path / "a.parquet"
    with pytest.raises(DiskFull) as caught:
        write_atomic(target, fills_the_disk)
    message = str(caught.value)
    assert caught.value.errno == errno.ENOSPC and "\n" not in message
    assert message.startswith(f"{target}: disk full: the file needs more than 2.9 KiB, ")
    assert f"free in {tmp_path}; free some space and rerun" in message
    assert os.listdir(tmp_path) == []  # no temporary file left behind


def test_a_real_full_disk_stops_a_writer_with_one_line(small_disk: Path) -> None:
    frame = pd.DataFrame({"x": range(100_000)})  # ~800 KiB of Parquet, on a 256 KiB disk
    with pytest.raises(DiskFull, match=r"a\.parquet: disk full: .* KiB free in "):
        write_parquet(small_disk / "a.parquet", frame)
    assert os.listdir(small_disk) == []
    write_text(small_disk / "small.txt", "fits")  # the space is free again


def test_an_unreadable_parquet_file_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "trials.parquet", pd.DataFrame({"a": [1]}))
    pd.testing.assert_frame_equal(read_parquet(path), pd.DataFrame({"a": [1]}))
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(CorruptFile) as caught:
        read_parquet(path)
    assert str(caught.value) == (
        f"{path}: not a readable Parquet file (Parquet magic bytes not found in footer. Either "
        "the file is corrupted or this is not a parquet file.); delete it, or its study "
        "directory, and rerun: the study's files are written again"
    )
    with pytest.raises(FileNotFoundError):
        read_parquet(tmp_path / "missing.parquet")
    (tmp_path / "study.json").write_text('{"cell": ')
    with pytest.raises(CorruptFile, match=r"study\.json: not a readable JSON file \(Expecting"):
        read_json(tmp_path / "study.json")
