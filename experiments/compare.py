"""Compare ZeroGrads with the paper's baselines at an equal episode budget.

    python experiments/compare.py                          # default suite x 7 methods x 3 seeds
    python experiments/compare.py --tasks small            # the d < 1000 tasks only
    python experiments/compare.py --tasks cheetah-seq hopper-seq --seeds 0 1 2 3 4
    python experiments/compare.py --quick                  # smoke test in under a minute
    python experiments/compare.py --large_seeds 0 1 2 3 4  # the README's table (~2.5 h)
    python experiments/compare.py --large_seeds 0 1 2 3 4 --dry_run   # what it would run
    python experiments/compare.py --tasks ant-seq --methods cmaes \\
        'zg-lr02=zerograds:{"lr": 0.02}' --out_dir /tmp/study   # a labelled variant

Every (task, method, seed) is one run of ``budget`` episodes; runs go to a pool of ``--workers``
single-threaded processes. Results accumulate in ``<out_dir>/runs.jsonl``: a run recorded there
with the effective config it would get now is skipped (so an interrupted comparison resumes; a
run recorded with another config is run again and replaces the old record); ``runs.csv``,
``summary.md`` (which names the command) and ``curves_<task>.png`` are rewritten from all runs in
it at the end. A method is a registered name or a labelled variant
``'<label>=<method>:<json options>'``, reported under its label. Task names: see
``zg_control.bench.suite.SUITE``; groups ``default``, ``small`` (d < 1000), ``large``
(d >= 1000), ``all``, and the opt-in ``outside`` and ``heldout`` (dm-control's models).
``--large_seeds`` gives the tasks with d >= 1000 their own seeds (the
README uses 5 there, 3 elsewhere). ``--options '{"prdpt": {"lr": 0.05}}'`` overrides options per
method label.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, arg, cli, command_line, parse_args

from zg_control.bench.record import load_runs
from zg_control.bench.runner import plan_runs, run_comparison
from zg_control.bench.suite import DEFAULT_METHODS, DEFAULT_TASKS, SUITE, get_task


@dataclasses.dataclass
class Args:
    tasks: tuple[str, ...] = arg(
        ("default",),
        "suite task names or groups: default, small (d < 1000), large, all, outside, heldout",
    )
    methods: tuple[str, ...] = arg(
        DEFAULT_METHODS, "optimizers to compare, or labelled variants '<label>=<method>:<json>'"
    )
    seeds: tuple[int, ...] = arg((0, 1, 2), "seeds of every (task, method)")
    large_seeds: tuple[int, ...] | None = arg(
        None, "seeds of the d >= 1000 tasks instead of --seeds (the README uses 0 1 2 3 4)"
    )
    budget: int | None = arg(None, "episodes per run (default: each task's own budget)")
    workers: int = arg(2, "parallel single-threaded worker processes")
    out_dir: str | None = arg(None, "results folder (default experiments/results/compare)")
    quick: bool = arg(False, "tiny budgets and horizons: a smoke test in under a minute")
    resume: bool = arg(True, "skip runs already in <out_dir>/runs.jsonl with the same config")
    options: str = arg("", 'per-method option overrides as JSON, e.g. \'{"prdpt": {"lr": 0.05}}\'')
    dry_run: bool = arg(False, "print the runs that would be made, run nothing, write nothing")


def is_large(task: str) -> bool:
    """The tasks the issue's target counts: d >= 1000."""
    return get_task(task).dim >= 1000


GROUPS = {
    "default": list(DEFAULT_TASKS),
    "small": [t for t in DEFAULT_TASKS if not is_large(t)],
    "large": [t for t in DEFAULT_TASKS if is_large(t)],
    "all": list(SUITE),
    "outside": [t for t, spec in SUITE.items() if spec.kind == "outside"],  # bench/outside.py
    "heldout": [t for t, spec in SUITE.items() if spec.kind == "heldout"],  # bench/heldout.py
}


def task_groups(args: Args) -> list[tuple[list[str], tuple[int, ...]]]:
    """``(tasks, seeds)`` pairs: one, or the d >= 1000 tasks and the rest with ``--large_seeds``."""
    tasks = [t for name in args.tasks for t in GROUPS.get(name, [name])]
    for t in tasks:
        get_task(t)  # an unknown name fails here, before anything is printed
    if not args.large_seeds:
        return [(tasks, args.seeds)]
    large = [t for t in tasks if is_large(t)]
    small = [t for t in tasks if not is_large(t)]
    return [g for g in ((large, args.large_seeds), (small, args.seeds)) if g[0]]


def parse_options(text: str) -> dict[str, dict[str, Any]] | None:
    """``--options``: JSON mapping method labels to options (``None`` if empty)."""
    if not text:
        return None
    try:
        options = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"--options is not valid JSON ({err}): {text}") from err
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        example = '{"prdpt": {"lr": 0.05}}'
        raise ValueError(f"--options must map methods to options, e.g. {example}")
    return options


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(Args, argv, __doc__.split("\n\n")[0])
    command = command_line("compare.py", argv)
    # 1. which runs: (tasks, seeds) groups, checked before anything runs
    groups = task_groups(args)
    out = Path(args.out_dir or RESULTS / ("compare_quick" if args.quick else "compare"))
    options = parse_options(args.options)
    recorded = load_runs(out / "runs.jsonl") if args.resume else []
    kw: dict[str, Any] = {"budget": args.budget, "quick": args.quick, "method_options": options}
    for ts, seeds in groups:
        todo = plan_runs(ts, args.methods, seeds, recorded=recorded, **kw)
        n = len(ts) * len(args.methods) * len(seeds)
        print(
            f"{len(ts)} tasks x {len(args.methods)} methods x {len(seeds)} seeds -> {out}: "
            f"{len(todo)} of {n} runs to do"
        )
        if args.dry_run:
            print("".join(f"  {r.task} {r.label} seed {r.seed}\n" for r in todo), end="")
    if args.dry_run:
        return out
    # 2. run them (appends to runs.jsonl) and write the summary, CSV and plots
    start = time.perf_counter()
    run_kw = {**kw, "out_dir": out, "workers": args.workers, "resume": args.resume}
    for ts, seeds in groups:
        run_comparison(ts, args.methods, seeds, command=command, **run_kw)
    print(f"done in {time.perf_counter() - start:.0f} s; see {out / 'summary.md'}")
    return out


if __name__ == "__main__":
    cli(main)
