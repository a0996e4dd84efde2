"""Study helper: run one method on one task for some seeds and print final losses (JSON line).

    python experiments/study_run.py --task cheetah100 --method zerograds --seeds 0 1 \
        --budget 5000 --options '{"k_phi": 10}'
"""

from __future__ import annotations

import json
import time

import numpy as np
from _common import cli, study_parser

import zg_control as zg
from zg_control.functions import staircase


def make_task(name: str):
    """Return ``(fn, x0, bounds)`` for a study task name."""
    if name.startswith("cheetah"):
        obj = zg.make_objective("HalfCheetah-v5", parameterization="sequence",
                                horizon=int(name[7:]), nthread=1)  # fmt: skip
        return obj, obj.x0, obj.bounds
    if name.startswith("ant"):
        obj = zg.make_objective("Ant-v5", parameterization="sequence", horizon=int(name[3:]),
                                nthread=1)  # fmt: skip
        return obj, obj.x0, obj.bounds
    if name.startswith("stair"):
        d = int(name[5:])
        return staircase, np.zeros(d), None
    raise ValueError(
        f"unknown study task {name!r}: use cheetah<T> or ant<T> (open-loop controls over T "
        "steps, e.g. cheetah100) or stair<d> (the staircase in d dimensions, e.g. stair1000)"
    )


def main(argv: list[str] | None = None) -> None:
    p = study_parser(__doc__, 5000, "episodes (default: 5000)")
    p.add_argument("--task", default="cheetah100", help="cheetah<T>, ant<T> or stair<d>")
    a = p.parse_args(argv)
    fn, x0, bounds = make_task(a.task)
    out = []
    t0 = time.perf_counter()
    for s in a.seeds:
        res = zg.minimize(fn, x0, a.method, budget=a.budget, seed=s, bounds=bounds, **a.options)
        out.append(round(float(res.loss), 4))
    print(json.dumps({"tag": a.tag, "task": a.task, "method": a.method, "opts": a.options,
                      "losses": out, "median": float(np.median(out)),
                      "time_s": round(time.perf_counter() - t0, 1)}))  # fmt: skip


if __name__ == "__main__":
    cli(main)
