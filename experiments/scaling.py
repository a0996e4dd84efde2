"""Dimension sweep: does each method still improve at tens of thousands of parameters?

    python experiments/scaling.py                      # staircase, d = 10 ... 35 000, 2 seeds
    python experiments/scaling.py --quick              # d = 10, 100; tiny budget (tests)

The problem is an analytic loss with zero gradient almost everywhere (default ``staircase``:
mean squared distance to 1 after rounding to a 0.1 grid; 1 at ``x0 = 0``, bounds ``[-2, 2]``),
at the same episode budget for every dimension. Each run gets a fresh worker process, so its
peak resident memory (``VmHWM``, reset before the run) is its own. Writes to ``--out_dir``
(default ``experiments/results/scaling``): the runs (``runs.jsonl`` etc., as compare.py) plus
``scaling.md`` (final loss, optimizer time per iteration excluding the function, peak memory)
and ``scaling.png``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib
import numpy as np
from _common import RESULTS, arg, cli, command_line, parse_args

from zg_control.bench.record import load_runs
from zg_control.bench.runner import run_comparison
from zg_control.bench.suite import DEFAULT_METHODS

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@dataclasses.dataclass
class Args:
    function: str = arg("staircase", "a function of zg_control.functions.FUNCTIONS (not toy)")
    dims: tuple[int, ...] = arg((10, 100, 1000, 10000, 35000), "dimensions to sweep")
    methods: tuple[str, ...] = arg(DEFAULT_METHODS, "optimizers to compare")
    seeds: tuple[int, ...] = arg((0, 1), "seeds of every (dimension, method)")
    budget: int = arg(10000, "episodes per run, the same at every dimension")
    workers: int = arg(2, "parallel worker processes (a fresh one per run)")
    out_dir: str | None = arg(None, "results folder (default experiments/results/scaling)")
    quick: bool = arg(False, "d = 10, 100 and 48 episodes (tests)")


# (column, record field, scale, format) of the table and the plot panels
METRICS = (
    ("final loss", "final_loss", 1.0, "{:.3g}"),
    ("optimizer ms / iteration", "overhead_per_iter", 1e3, "{:.3g}"),
    ("peak RSS MB", "peak_rss_mb", 1.0, "{:.0f}"),
    ("memory added by the run MB", "added_mb", 1.0, "{:.0f}"),
)


def medians(runs: list[dict], dims: list[int], methods: list[str], key: str) -> np.ndarray:
    """Median of ``key`` per (method, dim) over seeds. Shape ``(n_methods, n_dims)``."""
    out = np.full((len(methods), len(dims)), np.nan)
    for i, m in enumerate(methods):
        for j, d in enumerate(dims):
            vals = [r[key] for r in runs if r["method"] == m and r["dim"] == d]
            if vals:
                out[i, j] = np.median(vals)
    return out


def write_tables(
    runs: list[dict], dims: list[int], methods: list[str], head: str, out: Path
) -> str:
    """``scaling.md`` (one table per metric: rows methods, columns dimensions, medians over
    seeds) and ``scaling.png`` (one panel per metric) under ``out``; returns the markdown."""
    lines = [
        head,
        "",
        "Medians over seeds. Optimizer time: median per iteration, loss evaluations excluded.",
        "Peak RSS: the worker's peak resident memory during the run (imports of torch and MuJoCo",
        "included); memory added: that peak minus the resident memory just before the run.",
        "",
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), dpi=100)
    for ax, (title, key, scale, fmt) in zip(axes.ravel(), METRICS, strict=True):
        table = medians(runs, dims, methods, key) * scale
        columns = " | ".join(f"d = {d}" for d in dims)
        lines += [f"## {title}", "", f"| method | {columns} |", "|---" * (len(dims) + 1) + "|"]
        for m, row in zip(methods, table, strict=True):
            cells = [fmt.format(v) if np.isfinite(v) else "—" for v in row]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
            ax.plot(dims, row, marker="o", label=m)
        lines.append("")
        ax.set(xscale="log", xlabel="dimension d", title=title)
        if key in ("overhead_per_iter", "peak_rss_mb"):
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "scaling.png")
    plt.close(fig)
    text = "\n".join(lines)
    (out / "scaling.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(Args, argv, __doc__.split("\n\n")[0])
    command = command_line("scaling.py", argv)
    dims = [10, 100] if args.quick else list(args.dims)
    budget = 48 if args.quick else args.budget
    out = Path(args.out_dir or RESULTS / ("scaling_quick" if args.quick else "scaling"))
    # 1. one run per (dimension, method, seed), each in a fresh process
    tasks = [f"{args.function}-{d}" for d in dims]
    run_comparison(
        tasks,
        list(args.methods),
        list(args.seeds),
        budget=budget,
        out_dir=out,
        workers=args.workers,
        fresh_workers=True,
        command=command,
    )
    runs = [
        r
        for r in load_runs(out / "runs.jsonl")
        if r["status"] == "ok" and r["task"] in tasks and r["budget"] == budget
    ]
    for r in runs:
        r["added_mb"] = r["peak_rss_mb"] - r["rss_before_mb"]
    methods = [m for m in args.methods if any(r["method"] == m for r in runs)]
    # 2. one table per metric: rows = methods, columns = dimensions
    head = (
        f"# Scaling: {args.function}, {budget} episodes per run, seeds {list(args.seeds)}\n\n"
        f"Made by `{command}` (the runs: `runs.jsonl` here, summarised in `summary.md`)."
    )
    print(write_tables(runs, dims, methods, head, out))
    return out


if __name__ == "__main__":
    cli(main)
