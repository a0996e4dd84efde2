"""The comparison runner: tasks x methods x seeds at an equal episode budget.

The tasks are :data:`~zg_control.suite.SUITE` (re-exported here with :func:`get_task`).

:func:`run_comparison` runs every (task, method, seed) in a process pool (one thread per
worker: torch, BLAS and MuJoCo), appends one JSON line per finished run to ``runs.jsonl`` (a run
that raises is recorded with ``status = "failed"`` and its error), skips runs already recorded
with the same options (resume), then writes ``runs.csv``, ``summary.md`` and one PNG per task
(:func:`write_report`). One run and its record: :mod:`zg_control.compare_run`.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .record import run_one
from .suite import DEFAULT_TASKS, SUITE, Problem, TaskSpec, get_task

__all__ = [
    "DEFAULT_METHODS", "DEFAULT_TASKS", "METHOD_DEFAULTS", "SUITE", "Problem", "TaskSpec",
    "get_task", "load_runs", "resolve_options", "run_comparison", "run_one",
]  # fmt: skip

# sigma-like options are in units of the parameters: open-loop controls live in [-1, 1]. Chosen by
# a one-seed sweep on cheetah-seq and jump-spline (experiments/results/baseline_sweep.md).
METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "zerograds": {},  # the method's own defaults (tuned in zerograds.py)
    "prdpt": {"sigma": 0.1, "lr": 0.05},
    "cmaes": {"sigma": 0.1},
    "spsa": {"c": 0.1, "first_step": 0.05},
    "sa": {"step": 0.1},
    "ga": {"sigma": 0.1},
    "random": {"sigma": 0.3},  # pure random search around x0: the floor
}
DEFAULT_METHODS = tuple(METHOD_DEFAULTS)
SCALED_OPTIONS = ("sigma", "step", "c", "first_step", "lr", "sigma_final")


def resolve_options(
    method: str, spec: TaskSpec, budget: int, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Options for ``method`` on ``spec``: ``METHOD_DEFAULTS``, budget-aware settings, sigma-like
    options times ``spec.scale``, then ``overrides`` (taken as given)."""
    from ..optimizers import make_config

    opts = dict(METHOD_DEFAULTS.get(method, {}))
    if method == "spsa":
        opts.setdefault("expected_iters", max(1, budget // 2))
    if spec.scale != 1.0:
        cfg = make_config(method, **opts)
        for key in SCALED_OPTIONS:
            value = getattr(cfg, key, None)
            if isinstance(value, float):
                opts[key] = value * spec.scale
    return {**opts, **(overrides or {})}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _key(rec: dict[str, Any]) -> tuple:
    return (rec["task"], rec["method"], int(rec["seed"]), int(rec["budget"]), bool(rec["quick"]))


def options_id(options: dict[str, Any] | None) -> str:
    """A run's options as canonical JSON (what ``runs.jsonl`` stores, keys sorted), so options
    given now and options read back from a record compare equal when they are the same."""
    return json.dumps(json.loads(json.dumps(options or {}, default=str)), sort_keys=True)


def load_runs(path: Path) -> list[dict[str, Any]]:
    """Records of ``runs.jsonl``, the latest per (task, method, seed, budget, quick)."""
    latest: dict[tuple, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                latest[_key(rec)] = rec
    return list(latest.values())


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_comparison(
    tasks: list[str],
    methods: list[str],
    seeds: list[int],
    *,
    budget: int | None = None,
    out_dir: str | os.PathLike = "experiments/results",
    workers: int = 2,
    quick: bool = False,
    method_options: dict[str, dict[str, Any]] | None = None,
    resume: bool = True,
    fresh_workers: bool = False,
    verbose: bool = True,
) -> Path:
    """Run ``tasks x methods x seeds`` and write the results under ``out_dir``; returns it.

    Args:
        budget: episodes per run; ``None`` = each task's own (``quick``: 40).
        workers: processes (each single-threaded); ``<= 1`` runs in this process.
        quick: short horizons and small dimensions (for tests).
        method_options: per-method overrides of :data:`METHOD_DEFAULTS`.
        resume: skip runs already recorded with status "ok" and the same options in
            ``runs.jsonl`` (a run recorded with other options is run again and replaces it).
        fresh_workers: one process per run (nothing cached from earlier runs).

    Writes ``runs.jsonl`` (one record per run: task, kind, dim, method, seed, budget, options,
    status, error, final_loss, loss_x0, n_evals, wall_time, fn_time, overhead_per_iter (median
    optimizer seconds per iteration, excluding ``fn``), peak_rss_mb (peak resident MB during the
    run), rss_before_mb (resident MB before it), curve = [[episodes, best loss], ...]), and from
    all records in it ``runs.csv``, ``summary.md`` and ``curves_<task>.png``.
    """
    from ..optimizers import OPTIMIZERS, make_config

    specs = {t: get_task(t) for t in tasks}
    bad = [m for m in methods if m not in OPTIMIZERS]
    if bad or not seeds or not methods:
        raise ValueError(f"unknown methods {bad} (known: {', '.join(OPTIMIZERS)}) or none given")
    unused = sorted(set(method_options or {}) - set(methods))
    if unused:
        raise ValueError(
            f"options given for {', '.join(unused)}, which this comparison does not run "
            f"(methods: {', '.join(methods)})"
        )
    runs = []  # (task, method, budget, options, options_id); all checked before any run
    for t, spec in specs.items():
        b = int(budget or (40 if quick else spec.budget))
        for m in methods:
            opts = resolve_options(m, spec, b, (method_options or {}).get(m))
            make_config(m, **opts)
            runs.append((t, m, b, opts, options_id(opts)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "runs.jsonl"
    # resume: a run is done when it is recorded ok *with the options it would get now*
    done = {
        (*_key(r), options_id(r.get("options"))) for r in load_runs(jsonl) if r["status"] == "ok"
    } if resume else set()  # fmt: skip
    jobs = [
        (specs[t].ms_per_episode * b, (t, m, int(s), b, opts, quick))
        for t, m, b, opts, opts_id in runs
        for s in seeds
        if (t, m, int(s), b, quick, opts_id) not in done
    ]
    jobs.sort(key=lambda j: -j[0])  # long runs first
    start = time.perf_counter()

    def record(rec: dict[str, Any], i: int) -> None:
        with jsonl.open("a") as fh:
            fh.write(json.dumps(rec, default=str) + "\n")
        if verbose:
            loss = rec.get("final_loss", float("nan"))
            print(
                f"[{i}/{len(jobs)} {time.perf_counter() - start:7.0f}s] {rec['task']} "
                f"{rec['method']} seed {rec['seed']}: {rec['status']} loss {loss:.4g} "
                f"({rec.get('wall_time', 0.0):.1f}s) {rec.get('error', '')}",
                flush=True,
            )

    if workers <= 1:
        for i, (_, job) in enumerate(jobs, 1):
            record(run_one(*job), i)
    else:
        saved = {v: os.environ.get(v) for v in _THREAD_VARS}
        os.environ.update({v: "1" for v in _THREAD_VARS})  # inherited by spawned workers
        try:
            with ProcessPoolExecutor(
                workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                max_tasks_per_child=1 if fresh_workers else None,
            ) as pool:  # fmt: skip
                futures = {pool.submit(run_one, *job): job for _, job in jobs}
                for i, fut in enumerate(as_completed(futures), 1):
                    try:
                        rec = fut.result()
                    except Exception as err:  # e.g. a worker killed by the OS
                        t, m, s, b, opts, q = futures[fut]
                        rec = {"task": t, "method": m, "seed": s, "budget": b, "quick": q,
                               "options": opts, "status": "failed",
                               "error": f"{type(err).__name__}: {err}"}  # fmt: skip
                    record(rec, i)
        finally:
            for v, old in saved.items():
                if old is None:
                    os.environ.pop(v, None)
                else:
                    os.environ[v] = old
    write_report(load_runs(jsonl), out)
    return out


# The report half lives in its own module; imported last because it reads SUITE and the defaults.
from .report import episodes_to, write_report  # noqa: E402, F401  (re-exported)
