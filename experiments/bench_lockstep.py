"""Seeds in lockstep (``zg.minimize_many``) against separate runs, wall time side by side.

    python experiments/bench_lockstep.py                       # 8 seeds of cheetah-seq
    python experiments/bench_lockstep.py --budget 600 --seeds 0 1 2 3

Three ways to run the same ``len(seeds)`` runs of ``--method`` on the suite task ``--task``:

- ``lockstep``: ``zg.minimize_many`` with the native backend on ``--nthread`` threads (one
  rollout call per iteration for all runs);
- ``sequential``: ``zg.minimize`` per seed, one after another, same backend and threads;
- ``processes``: ``zg.minimize`` per seed in ``--nthread`` spawned single-threaded processes
  (what ``experiments/compare.py`` does).

It checks that every mode ends with the same losses (bit for bit) and prints the wall times
and their ratios.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor

from _common import arg, cli, parse_args

import zg_control as zg
from zg_control.bench.suite import get_task


@dataclasses.dataclass
class Args:
    task: str = arg("cheetah-seq", "suite task (zg_control.bench.suite)")
    method: str = arg("zerograds", "method of every run")
    seeds: tuple[int, ...] = arg((0, 1, 2, 3, 4, 5, 6, 7), "one run per seed")
    budget: int | None = arg(None, "episodes per run (default: the task's)")
    nthread: int = arg(os.cpu_count() or 1, "rollout threads / processes")


def _separate(task: str, method: str, seeds: list[int], budget: int, nthread: int):
    problem = get_task(task).build(nthread=nthread)
    try:
        return [
            zg.minimize(problem, problem.x0, method, budget, s, bounds=problem.bounds).loss
            for s in seeds
        ]
    finally:
        problem.close()


def _processes(args: Args, budget: int) -> list[float]:
    chunks = [list(args.seeds[i :: args.nthread]) for i in range(args.nthread)]
    os.environ.update({v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    with ProcessPoolExecutor(args.nthread, mp_context=mp.get_context("spawn")) as pool:
        futs = [pool.submit(_separate, args.task, args.method, c, budget, 1) for c in chunks]
        parts = [f.result() for f in futs]
    by_seed = dict(zip(sum(chunks, []), sum(parts, []), strict=True))
    return [by_seed[s] for s in args.seeds]


def _lockstep(args: Args, budget: int) -> list[float]:
    problem = get_task(args.task).build(nthread=args.nthread)
    fn_time = [0.0]

    def timed(X):
        t = time.perf_counter()
        y = problem(X)
        fn_time[0] += time.perf_counter() - t
        return y

    try:
        t = time.perf_counter()
        res = zg.minimize_many(
            timed, problem.x0, args.method, budget, list(args.seeds), bounds=problem.bounds
        )
        share = fn_time[0] / (time.perf_counter() - t)
        print(f"  (lockstep: the episodes are {100 * share:.0f}% of its time)")
        return [r.loss for r in res]
    finally:
        problem.close()


def main(argv=None) -> None:
    args = parse_args(Args, argv, __doc__.splitlines()[0])
    spec = get_task(args.task)
    budget = args.budget or spec.budget
    print(f"{args.task} (d = {spec.dim}), {args.method}, {len(args.seeds)} seeds x {budget} ")
    print(f"episodes, {args.nthread} threads / processes")
    modes = {"lockstep": _lockstep, "processes": _processes}
    modes["sequential"] = lambda a, b: _separate(a.task, a.method, list(a.seeds), b, a.nthread)
    walls, losses = {}, {}
    for name, run in modes.items():
        t = time.perf_counter()
        losses[name] = run(args, budget)
        walls[name] = time.perf_counter() - t
        print(f"  {name:<11} {walls[name]:8.1f} s", flush=True)
    same = all(losses[m] == losses["lockstep"] for m in modes)
    print(f"  same losses in every mode (bit for bit): {same}")
    for name in ("sequential", "processes"):
        print(f"  lockstep speed-up over {name}: {walls[name] / walls['lockstep']:.2f}x")


if __name__ == "__main__":
    cli(main)
