"""Study helper: one run of one method on one suite task, its history printed as a table.

    python experiments/study_trace.py ant-seq cmaes --seed 3          # sigma, batch mean, best
    python experiments/study_trace.py ant-seq zerograds --seed 3 --options '{"lr": 0.02}'

Uses the suite's budget and the options compare.py would use (``resolve_options``; ``--options``
on top), so a trace is the run compare.py would record. Prints about ``--rows`` rows: episodes,
best loss, batch mean and min, and the optimizer's sigma / lr where it reports them; then the
final loss and how far the recommendation moved from ``x0`` (NOTES "Session 5" used it on Ant).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _common import cli

from zg_control import minimize
from zg_control.bench.runner import get_task, resolve_options

COLUMNS = ("n_evals", "best_loss", "batch_mean", "batch_min", "sigma", "lr")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task", help="a suite task, e.g. ant-seq or staircase-1000")
    p.add_argument("method", help="zerograds, cmaes, prdpt, spsa, sa, ga or random")
    p.add_argument("--seed", type=int, default=0, help="(default: 0)")
    p.add_argument("--budget", type=int, default=0, help="0: the task's budget")
    p.add_argument("--options", default="{}", help="JSON options on top of the defaults")
    p.add_argument("--rows", type=int, default=20, help="about this many rows (default: 20)")
    a = p.parse_args(argv)
    spec = get_task(a.task)
    budget = a.budget or spec.budget
    opts = resolve_options(a.method, spec, budget, json.loads(a.options))
    problem = spec.build(False, a.seed)
    try:
        res = minimize(problem.fn, problem.x0, a.method, budget, a.seed, bounds=problem.bounds,
                       **opts)  # fmt: skip
    finally:
        problem.close()
    print(" ".join(f"{c:>10s}" for c in COLUMNS))
    every = max(1, len(res.history) // max(a.rows, 1))
    for rec in res.history[::every]:
        print(" ".join(f"{rec.get(c, float('nan')):10.4g}" for c in COLUMNS))
    moved = float(np.linalg.norm(res.optimizer.recommendation - problem.x0))
    print(f"final loss {res.loss:.4f} after {res.n_evals} episodes; |theta - x0| = {moved:.2f}")


if __name__ == "__main__":
    cli(main)
