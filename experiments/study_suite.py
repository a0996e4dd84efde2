"""Study helper: one method on tasks of the comparison suite (``zg_control.compare``), serially.

Each method gets the options ``experiments/compare.py`` would give it on the task
(``resolve_options``: ``METHOD_DEFAULTS``, SPSA's iteration count, the task's scale); ``--options``
are merged on top. Prints one JSON line per task with the final loss per seed.

    python experiments/study_suite.py --tasks hopper-seq walker-seq --method zerograds \
        --seeds 0 1 --options '{"lr": 0.02}'
"""

from __future__ import annotations

import json

import numpy as np
from _common import cli, study_parser

from zg_control.bench.runner import get_task, resolve_options, run_one


def main(argv: list[str] | None = None) -> None:
    p = study_parser(__doc__, 0, "episodes; 0: the task's budget")
    p.add_argument("--tasks", nargs="+", default=["staircase-1000"], help="suite tasks")
    a = p.parse_args(argv)
    for task in a.tasks:
        spec = get_task(task)
        budget = a.budget or spec.budget
        opts = resolve_options(a.method, spec, budget, a.options)
        recs = [run_one(task, a.method, s, budget, opts, quick=False) for s in a.seeds]
        losses = [round(float(r.get("final_loss", np.nan)), 4) for r in recs]
        bad = [r.get("error") for r in recs if r.get("status") != "ok"]
        med = float(np.median(losses))
        print(json.dumps({"tag": a.tag, "task": task, "method": a.method, "opts": a.options,
                          "budget": budget, "losses": losses, "median": med, "errors": bad}),
              flush=True)  # fmt: skip


if __name__ == "__main__":
    cli(main)
