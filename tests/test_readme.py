"""The README's two commands must keep working: run the main one, check CI runs the test one."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _block(tag: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- ttune:{tag} -->\s*```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert m, f"README.md lost its <!-- ttune:{tag} --> block"
    return m.group(1).strip()


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("<!-- ttune:main -->") < text.index("<!-- ttune:test -->") < text.index("\n## ")
    assert "ttune " in _block("main") and "pytest" in _block("test")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- ttune:test -->" in ci and 'bash -euo pipefail -c "$cmd"' in ci


def test_readme_main_command_runs():
    # Runs verbatim in the repository root. Where .venv already exists (CI made it), the set-up
    # part only confirms that everything is installed.
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", _block("main")], cwd=ROOT,
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for name in ("add", "remove", "total_value", "cheapest", "read_prices"):
        assert re.search(rf"^{name}\s", out, re.M), f"no summary line for {name}:\n{out}"
