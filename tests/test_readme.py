"""The README's commands and example stay true: CI runs its test command verbatim, and the
Python example runs (with its budgets shrunk)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command_verbatim():
    blocks = _bash_blocks()
    test_cmd = next(b.strip() for b in blocks if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd in ci, f"{test_cmd!r} not in .ci/run"


def test_readme_has_exactly_two_fresh_machine_commands():
    blocks = [b.strip() for b in _bash_blocks()]
    assert blocks[0].startswith("pip install") and "zg-control optimize" in blocks[0]
    assert blocks[1].startswith("pip install") and blocks[1].endswith("pytest")


def test_python_example_runs():
    code = re.findall(r"```python\n(.*?)```", README, flags=re.S)[0]
    code = code.replace("budget=3000", "budget=40").replace("range(50)", "range(2)")
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert np.isfinite(scope["res"].loss) and scope["res"].n_evals <= 40
    assert scope["controls"].shape[0] == 100
    assert scope["best_guess"].shape == scope["obj"].x0.shape
