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
    assert (
        text.index("<!-- ttune:main -->") < text.index("<!-- ttune:test -->") < text.index("\n## ")
    )
    assert "ttune " in _block("main") and "pytest" in _block("test")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- ttune:test -->" in ci and 'bash -euo pipefail -c "$cmd"' in ci


def test_readme_main_command_runs():
    # Runs verbatim in the repository root. Where .venv already exists (CI made it), the set-up
    # part only confirms that everything is installed.
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _block("main")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    # `ttune summarize` with the built-in models: one "name (line N): summary" line per function.
    for name in (
        "Inventory.add",
        "Inventory.remove",
        "Inventory.total_value",
        "cheapest",
        "read_prices",
    ):
        assert re.search(rf"^{re.escape(name)} \(line \d+\): \S", out, re.M), (
            f"no summary line for {name}:\n{out}"
        )


def test_readme_train_example_runs(tmp_path):
    """The "Train a transducer for a task of your own" block, verbatim, in a scratch folder that
    sees the repository's examples/ and datasets/."""
    import os
    import sys

    for name in ("examples", "datasets"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        OMP_NUM_THREADS="1",
        TTUNE_CACHE=str(tmp_path / "cache"),
    )
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _block("example")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1500,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = tmp_path / "runs"
    for f in (
        "summarize-transducer/method.safetensors",
        "summarize-transducer/method_config.json",
        "results.json",
        "predictions.jsonl",
    ):
        assert (runs / f).is_file(), f
    assert re.search(r"^cheapest \(line 45\): ", proc.stdout, re.M), proc.stdout[-2000:]
    assert "transducer" in proc.stdout


def test_readme_cpg_examples_write_into_an_ignored_folder(tmp_path):
    """Issue 11 defect 15: the cpg examples wrote stack.json, remove.graphml and counter.svg into
    the repository root, needed Graphviz without saying so, and `| dot -Tsvg > counter.svg` left
    an empty counter.svg when dot failed."""
    import os
    import sys

    block = _block("cpg")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Graphviz" in text and "dot -Tsvg out/counter.dot -o out/counter.svg" in text
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", text, re.S))
    assert not re.search(r">\s*\S+\.svg", commands), "a redirection leaves an empty svg behind"
    assert "/out/" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        OMP_NUM_THREADS="1",
    )
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples", "out"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "counter.dot",
        "inventory.html",
        "remove.graphml",
        "stack.json",
    ]
    assert (tmp_path / "out" / "counter.dot").read_text().startswith("digraph")
