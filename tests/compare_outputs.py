"""What every finished comparison must have written (shared by the runner and script tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.image as mpimg

from zg_control.bench.record import label_of, load_runs


def check_outputs(out: Path, tasks: list[str], methods: list[str], seeds: list[int]) -> list:
    """Every expected output exists and is consistent (``methods``: the labels); returns the
    run records."""
    runs = load_runs(out / "runs.jsonl")
    assert len(runs) == len(tasks) * len(methods) * len(seeds)
    assert {(r["task"], label_of(r), r["seed"]) for r in runs} == {
        (t, m, s) for t in tasks for m in methods for s in seeds
    }
    with (out / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(runs)
    summary = (out / "summary.md").read_text()
    for name in methods + tasks:
        assert name in summary
    assert "## Is the best median ahead? Two-sided Mann-Whitney U" in summary
    for t in tasks:
        img = mpimg.imread(out / f"curves_{t}.png")
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return runs
