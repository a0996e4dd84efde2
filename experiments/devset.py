"""The development set of ZeroGrads' step control (issue 17), one command.

    python experiments/devset.py                         # every part, 5 seeds (hours on 2 cores)
    python experiments/devset.py --parts plateau outside --seeds 0 1 2
    python experiments/devset.py --dry_run               # what would run
    python experiments/devset.py --quick                 # smoke test

A default is judged here on problems it was not tuned on, beside the methods a user would pick
instead. Every part is a comparison (``zg_control.bench.runner``) into one folder
(``--out_dir``, default ``experiments/results/devset``), so runs shared by parts (the default
runs of the scale part) are made once and an interrupted set resumes:

- ``animation``: the four animation tasks (splines, suite budgets), every method and the peers
  whose library is installed;
- ``large``: the d >= 1000 tasks of the default suite: zerograds, cmaes, random;
- ``scale``: the tasks of both and the open-loop outside models (dm-control's, below) with
  sigma mis-specified x0.1 and x10 (labels ``zg-sigma-x0.1``, ``cma-sigma-x10``, ...) for
  ZeroGrads and CMA-ES;
- ``plateau``: starts where every nearby episode scores the same (the ``plateau`` function at
  d = 10, 100, 1000, and push-spline, whose puck is never touched near x0);
- ``outside``: dm-control's suite models with losses written here (bench/outside.py; needs
  ``pip install dm-control``), every method and the installed peers;
- ``policy``: the closed-loop policies (MLP weights, no box: nothing to take a scale from),
  ZeroGrads, CMA-ES and random search at the default sigma, the first two also at sigma
  x0.1 and x10 (the dm-control walker's needs dm-control).

Then ``devset.md`` checks the targets of issue 17 from all runs in the folder: ZeroGrads' median
against the best other method's, the animation tasks' discrete goals per seed, what a
mis-specified sigma costs ZeroGrads and CMA-ES, and ZeroGrads against random search.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from _common import RESULTS, arg, cli, command_line, parse_args
from devset_report import write_devset_report

from zg_control.bench.record import load_runs
from zg_control.bench.runner import plan_runs, run_comparison
from zg_control.bench.suite import DEFAULT_METHODS
from zg_control.optimizers import PEERS

ANIMATION = ("jump-spline", "throw-spline", "keyframe-spline", "push-spline")
LARGE = ("staircase-1000", "hopper-seq", "walker-seq", "ant-seq", "cheetah-seq-6k")
PLATEAU = ("plateau-10", "plateau-100", "plateau-1000", "push-spline")
OUTSIDE = (
    "dmc-walker", "dmc-cheetah", "dmc-hopper", "dmc-acrobot", "dmc-cheetah-seq",
    "dmc-walker-policy",
)  # fmt: skip
POLICY = ("hopper-policy", "dmc-walker-policy")
OPEN_LOOP_OUTSIDE = tuple(t for t in OUTSIDE if t not in POLICY)
FACTORS = (0.1, 10.0)
SIGMA0 = {"zerograds": ("zg", 0.1), "cmaes": ("cma", 0.1)}  # the defaults being mis-specified
PARTS = ("animation", "large", "scale", "plateau", "outside", "policy")


def scale_variants() -> list[str]:
    """``'<label>=<method>:{"sigma": ...}'`` for each method of :data:`SIGMA0` and factor."""
    return [
        f'{short}-sigma-x{k:g}={method}:{{"sigma": {sigma * k:g}}}'
        for method, (short, sigma) in SIGMA0.items()
        for k in FACTORS
    ]


def part_plan(part: str) -> tuple[tuple[str, ...], list[str]]:
    """``(tasks, method entries)`` of ``part``."""
    everyone = [*DEFAULT_METHODS, *PEERS]
    return {
        "animation": (ANIMATION, everyone),
        "large": (LARGE, ["zerograds", "cmaes", "random"]),
        "scale": ((*ANIMATION, *LARGE, *OPEN_LOOP_OUTSIDE), scale_variants()),
        "plateau": (PLATEAU, ["zerograds", "cmaes", "sa", "random"]),
        "outside": (OUTSIDE, everyone),
        "policy": (POLICY, ["zerograds", "cmaes", "random", *scale_variants()]),
    }[part]


@dataclasses.dataclass
class Args:
    parts: tuple[str, ...] = arg(PARTS, f"parts of the set: {', '.join(PARTS)}")
    seeds: tuple[int, ...] = arg((0, 1, 2, 3, 4), "seeds of every (task, method)")
    workers: int = arg(2, "parallel single-threaded worker processes")
    out_dir: str | None = arg(None, "results folder (default experiments/results/devset)")
    quick: bool = arg(False, "tiny budgets and horizons: a smoke test")
    dry_run: bool = arg(False, "print the runs that would be made, run nothing")


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(Args, argv, __doc__.splitlines()[0])
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown parts {unknown}; choose from {', '.join(PARTS)}")
    out = Path(args.out_dir or RESULTS / ("devset_quick" if args.quick else "devset"))
    recorded = load_runs(out / "runs.jsonl")
    command = command_line("devset.py", argv)
    for part in args.parts:
        tasks, methods = part_plan(part)
        if args.dry_run:
            runs = plan_runs(tasks, methods, args.seeds, quick=args.quick, recorded=recorded)
            print(f"{part}: {len(runs)} runs to make")
            for r in runs:
                print(f"  {r.task} {r.label} seed {r.seed} ({r.budget} episodes)")
            continue
        print(f"== {part}: {len(tasks)} tasks x {len(methods)} methods", flush=True)
        run_comparison(
            tasks, methods, args.seeds, out_dir=out, workers=args.workers, quick=args.quick,
            command=command,
        )  # fmt: skip
    if not args.dry_run:
        text = write_devset_report(load_runs(out / "runs.jsonl"), out, command)
        print(text)
    return out


if __name__ == "__main__":
    cli(main)
