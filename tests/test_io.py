import errno
import os

import pytest

from factordiff import io
from factordiff.errors import StorageError


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a" / "x.json"
    io.atomic_write_json(p, {"a": 1})
    io.atomic_write_json(p, {"a": 2})
    assert p.read_text().strip().endswith("}") and '"a": 2' in p.read_text()
    assert [f.name for f in p.parent.iterdir()] == ["x.json"]


@pytest.mark.faults
def test_failed_write_keeps_previous_file(tmp_path):
    p = tmp_path / "x.txt"
    io.atomic_write_text(p, "old")
    with pytest.raises(RuntimeError):
        with io.atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert p.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.faults
def test_disk_full_is_a_clear_storage_error(tmp_path, monkeypatch):
    p = tmp_path / "x.txt"
    io.atomic_write_text(p, "old")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError, match="No space left on device") as err:
        io.atomic_write_text(p, "new")
    assert str(p) in str(err.value)
    monkeypatch.undo()
    assert p.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


def test_written_files_are_readable_by_others(tmp_path):
    p = io.atomic_write_text(tmp_path / "x.txt", "hi")
    assert p.stat().st_mode & 0o044 == 0o044 or (io._UMASK & 0o044)
