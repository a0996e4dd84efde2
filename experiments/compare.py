"""Compare ZeroGrads with the paper's baselines at an equal episode budget.

    python experiments/compare.py                          # default suite x 7 methods x 3 seeds
    python experiments/compare.py --tasks small            # the d < 1000 tasks only
    python experiments/compare.py --tasks cheetah-seq hopper-seq --seeds 0 1 2 3 4
    python experiments/compare.py --quick                  # smoke test in under a minute
    python experiments/compare.py --large_seeds 0 1 2 3 4  # the README's table (~2.5 h)

Every (task, method, seed) is one run of ``budget`` episodes; runs go to a pool of ``--workers``
single-threaded processes. Results accumulate in ``<out_dir>/runs.jsonl`` (runs already there
with the same options are skipped, so an interrupted comparison resumes; a run recorded with
other options is run again and replaces the old record); ``runs.csv``, ``summary.md`` and
``curves_<task>.png`` are rewritten from all runs in it at the end. Task names: see
``zg_control.compare.SUITE``; groups ``default``, ``small`` (d < 1000), ``large`` (d >= 1000),
``all``. ``--large_seeds`` gives the tasks with d >= 1000 their own seeds (the README uses 5
there, 3 elsewhere). ``--options '{"prdpt": {"lr": 0.05}}'`` overrides per-method options.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from _common import RESULTS, arg, cli, parse_args

from zg_control.bench.runner import DEFAULT_METHODS, DEFAULT_TASKS, SUITE, get_task, run_comparison


@dataclasses.dataclass
class Args:
    tasks: tuple[str, ...] = arg(
        ("default",), "suite task names or groups: default, small (d < 1000), large, all"
    )
    methods: tuple[str, ...] = arg(DEFAULT_METHODS, "optimizers to compare")
    seeds: tuple[int, ...] = arg((0, 1, 2), "seeds of every (task, method)")
    large_seeds: tuple[int, ...] | None = arg(
        None, "seeds of the d >= 1000 tasks instead of --seeds (the README uses 0 1 2 3 4)"
    )
    budget: int | None = arg(None, "episodes per run (default: each task's own budget)")
    workers: int = arg(2, "parallel single-threaded worker processes")
    out_dir: str | None = arg(None, "results folder (default experiments/results/compare)")
    quick: bool = arg(False, "tiny budgets and horizons: a smoke test in under a minute")
    resume: bool = arg(True, "skip runs already in <out_dir>/runs.jsonl with the same options")
    options: str = arg("", 'per-method option overrides as JSON, e.g. \'{"prdpt": {"lr": 0.05}}\'')


def is_large(task: str) -> bool:
    """The tasks the issue's target counts: d >= 1000."""
    return get_task(task).dim >= 1000


GROUPS = {
    "default": list(DEFAULT_TASKS),
    "small": [t for t in DEFAULT_TASKS if not is_large(t)],
    "large": [t for t in DEFAULT_TASKS if is_large(t)],
    "all": list(SUITE),
}


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(Args, argv, __doc__.split("\n\n")[0])
    # 1. which runs: (tasks, seeds) groups
    tasks = [t for name in args.tasks for t in GROUPS.get(name, [name])]
    for t in tasks:
        get_task(t)  # an unknown name fails here, before anything is printed
    groups = [(tasks, args.seeds)]
    if args.large_seeds:
        large = [t for t in tasks if is_large(t)]
        small = [t for t in tasks if not is_large(t)]
        groups = [g for g in ((large, args.large_seeds), (small, args.seeds)) if g[0]]
    out_dir = args.out_dir or RESULTS / ("compare_quick" if args.quick else "compare")
    options = None
    if args.options:
        try:
            options = json.loads(args.options)
        except json.JSONDecodeError as err:
            raise ValueError(f"--options is not valid JSON ({err}): {args.options}") from err
        if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
            example = '{"prdpt": {"lr": 0.05}}'
            raise ValueError(f"--options must map methods to options, e.g. {example}")
    for ts, seeds in groups:
        print(f"{len(ts)} tasks x {len(args.methods)} methods x {len(seeds)} seeds -> {out_dir}")
    # 2. run them (appends to runs.jsonl) and write the summary, CSV and plots
    start = time.perf_counter()
    for ts, seeds in groups:
        out = run_comparison(
            ts, list(args.methods), list(seeds), budget=args.budget, out_dir=out_dir,
            workers=args.workers, quick=args.quick, method_options=options, resume=args.resume,
        )  # fmt: skip
    print(f"done in {time.perf_counter() - start:.0f} s; see {out / 'summary.md'}")
    return out


if __name__ == "__main__":
    cli(main)
