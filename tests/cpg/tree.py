"""A small source tree for the directory tests: standard-library Python modules in sub-folders,
two Java and C# files, one file that fails and a file of another language."""

from __future__ import annotations

import sysconfig
from pathlib import Path

MODULES = ("textwrap", "string", "shlex", "fnmatch", "glob", "posixpath", "genericpath", "bisect")


def make_tree(root: Path) -> Path:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for i, mod in enumerate(MODULES):
        folder = root / f"pkg{i % 3}" / ("deep" if i % 2 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{mod}.py").write_text((stdlib / f"{mod}.py").read_text(encoding="utf-8"))
    (root / "j").mkdir()
    (root / "j" / "B.java").write_text(
        "class B { int g(int y) { if (y > 0) return y; return 2; } }\n"
    )
    (root / "c.cs").write_text("class C { int H(int z) { var a = z; return a + 1; } }\n")
    (root / "broken.py").write_text("def f(:\n    return 1\n")
    (root / "bad.py").write_bytes(b"\x00binary")
    (root / "notes.txt").write_text("not code\n")
    return root


def files_of(folder: Path) -> dict[str, bytes]:
    """relative path -> bytes of every file under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
