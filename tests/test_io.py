"""ttune.io: atomic writes leave whole files with the umask's modes, and clean up after a kill."""

import os
import stat

import pytest

from ttune.io import (
    append_jsonl,
    atomic_dir,
    atomic_file,
    atomic_write_text,
    current_umask,
    remove_stale_temps,
    truncate_jsonl,
)


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda m: os.umask(m)
    os.umask(saved)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_files_and_folders_get_the_umask_modes_not_owner_only(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    atomic_write_text(tmp_path / "out.json", "{}\n")
    assert mode(tmp_path / "out.json") == 0o666 & ~mask
    with atomic_file(tmp_path / "w.bin") as tmp:
        tmp.write_bytes(b"x")
    assert mode(tmp_path / "w.bin") == 0o666 & ~mask
    with atomic_dir(tmp_path / "folder") as tmp:
        (tmp / "inside.txt").write_text("y")
    assert mode(tmp_path / "folder") == 0o777 & ~mask
    assert mode(tmp_path / "folder" / "inside.txt") == 0o666 & ~mask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_replacing_a_folder_and_recovering_from_a_kill_between_the_renames(tmp_path):
    with atomic_dir(tmp_path / "ck") as tmp:
        (tmp / "a").write_text("1")
    with atomic_dir(tmp_path / "ck") as tmp:
        (tmp / "a").write_text("2")
    assert (tmp_path / "ck" / "a").read_text() == "2"
    # A kill after the old version was renamed aside and before the new one arrived:
    os.replace(tmp_path / "ck", tmp_path / ".ck.old")
    (tmp_path / ".x.123.tmp").write_text("partial")
    remove_stale_temps(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    assert (tmp_path / "ck" / "a").read_text() == "2"


def test_truncate_jsonl_keeps_steps_up_to_the_checkpoint_and_drops_half_lines(tmp_path):
    log = tmp_path / "log.jsonl"
    for step in (1, 2, 3):
        append_jsonl(log, {"step": step})
    with open(log, "a") as f:
        f.write('{"step": 4, "lo')
    truncate_jsonl(log, 2)
    assert log.read_text() == '{"step": 1}\n{"step": 2}\n'
