"""Atomic file writes: a file or folder either appears whole or not at all, even if the process is
killed; and the run log's JSON lines.

Everything is written to a temporary name in the destination's own folder (same file system, so
``os.replace`` is an atomic rename) and renamed into place last. Files and folders get the modes a
plain ``open``/``mkdir`` would give them (0666 / 0777 less the umask), not the owner-only modes of
``tempfile``: outputs are meant to be shared.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process's umask: from /proc where Linux shows it, else by setting it and setting it
    back (there is no getter; the /proc read leaves other threads' file creation undisturbed)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shared_mode(path: Path, directory: bool = False) -> None:
    """Give ``path`` the mode ``open`` or ``mkdir`` would have: 0666 (0777 for a folder) &
    ~umask."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder to write the file to; on success it is renamed
    to ``path`` (with the umask's mode, see :func:`shared_mode`), on any error it is removed and
    ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        shared_mode(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def temp_dir_beside(final: Path) -> Path:
    """A fresh empty folder next to ``final`` (same parent) to fill before :func:`replace_dir`."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    shared_mode(tmp, directory=True)
    return tmp


def replace_dir(tmp: Path, final: Path) -> None:
    """Move the finished folder ``tmp`` to ``final``. An existing ``final`` is first renamed aside,
    so at every instant one complete version exists under one of the two names."""
    final = Path(final)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Fill the yielded temporary folder; it becomes ``final`` when the block ends, or is deleted
    when the block raises (a kill leaves a ``.tmp`` folder that :func:`remove_stale_temps`
    removes)."""
    tmp = temp_dir_beside(final)
    try:
        yield tmp
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def append_jsonl(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line (a run's log.jsonl)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def truncate_jsonl(path: Path, step: int) -> None:
    """Keep only the lines of a run log whose "step" is at most ``step`` (lines without one count as
    step 0; unreadable ones, e.g. half a line written when the process was killed, are dropped).
    A resumed run redoes the steps after its checkpoint and would log them twice otherwise."""
    path = Path(path)
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except json.JSONDecodeError:
            continue
    atomic_write_text(path, "".join(k + "\n" for k in kept))


def remove_stale_temps(folder: Path) -> None:
    """Delete leftovers of writes that a kill interrupted (names starting with '.' and ending
    '.tmp')."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.name.startswith(".") and p.name.endswith(".old"):
            # A kill between the two renames of replace_dir: the old version is the only one left.
            final = folder / p.name[1:-4]
            if not final.exists():
                os.replace(p, final)
                continue
        if p.name.startswith(".") and (p.name.endswith(".tmp") or p.name.endswith(".old")):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    p.unlink()
                except OSError:
                    pass
