"""The comparison runner: tasks x methods x seeds at an equal episode budget.

:func:`run_comparison` takes three steps: plan the runs (:func:`plan_runs`: each run's options,
checked before anything runs; a run already recorded in ``runs.jsonl`` with the same effective
config is skipped, so an interrupted comparison resumes), run them in a process pool (one
thread per worker: torch, BLAS and MuJoCo; the seeds of one task and method go to one worker
and run in lockstep, :func:`~zg_control.lockstep.minimize_many`, each as it would alone; one
JSON line per finished run is appended to ``runs.jsonl``, see :mod:`.record`), then write the
report from every record there (:func:`~.report.write_report`).

A method entry is a registered name (``"cmaes"``) or a labelled variant
``"<label>=<method>:<json options>"``, e.g. ``'zg-lr03=zerograds:{"lr": 0.03}'`` (the options
may be left out); a variant's runs are recorded and reported under its label.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from .record import config_dict, load_runs, new_record, options_id, run_key, run_seeds, same_config
from .report import write_report
from .suite import DEFAULT_METHODS, DEFAULT_TASKS, TaskSpec, get_task

__all__ = [  # the harness's entry points (the task and method names re-exported for the CLI)
    "DEFAULT_METHODS",
    "DEFAULT_TASKS",
    "Run",
    "Variant",
    "parse_method",
    "plan_runs",
    "resolve_options",
    "run_comparison",
]

# Sigma-like options are in units of the parameters; on a task whose parameters have another
# scale than open-loop controls in [-1, 1], TaskSpec.scale multiplies these config defaults.
SCALED_OPTIONS = ("sigma", "step", "c", "first_step", "lr")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclasses.dataclass(frozen=True)
class Variant:
    """A method entry: runs of ``method`` with ``options``, reported as ``label``."""

    label: str
    method: str
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


class Run(NamedTuple):
    """One planned run: the arguments of :func:`~.record.run_one`."""

    task: str
    method: str
    seed: int
    budget: int
    options: dict[str, Any]
    quick: bool
    label: str


def parse_method(entry: str) -> Variant:
    """``"cmaes"`` or ``"<label>=<method>:<json options>"`` -> :class:`Variant`."""
    if "=" not in entry:
        return Variant(entry, entry)
    label, _, rest = entry.partition("=")
    method, colon, text = rest.partition(":")
    example = "e.g. 'zg-lr03=zerograds:{\"lr\": 0.03}' (the options may be left out)"
    if not (label and method):
        raise ValueError(f"method entry {entry!r}: expected '<label>=<method>:<json>', {example}")
    try:
        options = json.loads(text) if colon else {}
    except json.JSONDecodeError as err:
        raise ValueError(f"method entry {entry!r}: options are not valid JSON ({err})") from err
    if not isinstance(options, dict):
        raise ValueError(f"method entry {entry!r}: the options must be a JSON object, {example}")
    return Variant(label, method, options)


def resolve_options(
    method: str, spec: TaskSpec, budget: int, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The options of a run of ``method`` on ``spec``: none beyond the method's config defaults,
    except that a task with ``scale != 1`` multiplies the sigma-like defaults
    (:data:`SCALED_OPTIONS`) by it; then ``overrides``, taken as given."""
    opts: dict[str, Any] = {}
    if spec.scale != 1.0:
        defaults = config_dict(method, {}, budget)
        scaled = [k for k in SCALED_OPTIONS if isinstance(defaults.get(k), float)]
        opts = {k: defaults[k] * spec.scale for k in scaled}
    return {**opts, **(overrides or {})}


def _variants(
    methods: Sequence[str], method_options: dict[str, dict[str, Any]] | None
) -> list[Variant]:
    """The method entries with ``method_options`` (by label) merged over their own options; a
    peer whose library is not installed is left out with a warning that names the install."""
    from ..optimizers import METHODS, PEERS
    from ..optimizers.peers import missing_peer

    variants = [parse_method(m) for m in methods]
    labels = [v.label for v in variants]
    bad = [v.method for v in variants if v.method not in METHODS]
    if bad or not variants:
        raise ValueError(f"unknown methods {bad} (known: {', '.join(METHODS)}) or none given")
    missing = {v.label: missing_peer(v.method) for v in variants if v.method in PEERS}
    for message in filter(None, missing.values()):
        warnings.warn(f"{message}; its runs are skipped", stacklevel=3)
    variants = [v for v in variants if not missing.get(v.label)]
    if len(set(labels)) < len(labels):
        raise ValueError(f"method labels must differ, got {', '.join(labels)}")
    unused = sorted(set(method_options or {}) - set(labels))
    if unused:
        raise ValueError(
            f"options given for {', '.join(unused)}, which this comparison does not run "
            f"(methods: {', '.join(labels)})"
        )
    extra = method_options or {}
    return [
        dataclasses.replace(v, options={**v.options, **extra.get(v.label, {})}) for v in variants
    ]


def plan_runs(
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: Sequence[int],
    *,
    budget: int | None = None,
    quick: bool = False,
    method_options: dict[str, dict[str, Any]] | None = None,
    recorded: Sequence[dict[str, Any]] = (),
) -> list[Run]:
    """The runs of ``tasks x methods x seeds`` that ``recorded`` does not hold already (status
    "ok", same effective config: :func:`~.record.same_config`), long runs first. Unknown tasks,
    methods or options raise ``ValueError`` here, before any run."""
    specs = {t: get_task(t) for t in tasks}
    variants = _variants(methods, method_options)
    if not seeds:
        raise ValueError("no seeds given")
    done = {run_key(r): r for r in recorded if r["status"] == "ok"}
    runs = []
    for task, spec in specs.items():
        b = int(budget or (40 if quick else spec.budget))
        for v in variants:
            opts = resolve_options(v.method, spec, b, v.options)
            config = config_dict(v.method, opts, b)  # ValueError for a bad option
            for s in seeds:
                rec = done.get((task, v.label, int(s), b, quick))
                if rec is None or not same_config(rec, v.method, config):
                    runs.append(Run(task, v.method, int(s), b, opts, quick, v.label))
    return sorted(runs, key=lambda r: -specs[r.task].ms_per_episode * r.budget)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


@contextmanager
def _single_threaded_env() -> Iterator[None]:
    """BLAS/OpenMP thread counts of 1 for the workers spawned inside (restored afterwards)."""
    saved = {v: os.environ.get(v) for v in _THREAD_VARS}
    os.environ.update({v: "1" for v in _THREAD_VARS})
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


class Group(NamedTuple):
    """The planned runs of one task and method entry that differ only in their seed: the
    arguments of :func:`~.record.run_seeds`."""

    task: str
    method: str
    seeds: list[int]
    budget: int
    options: dict[str, Any]
    quick: bool
    label: str


def group_runs(runs: list[Run], together: bool = True) -> list[Group]:
    """``runs`` grouped by everything but the seed, in the order of each group's first run
    (``together=False``: each run its own group)."""
    groups: dict[tuple, Group] = {}
    for i, r in enumerate(runs):
        key = (r.task, r.method, r.budget, options_id(r.options), r.quick, r.label)
        key = key if together else (i,)
        if key not in groups:
            groups[key] = Group(r.task, r.method, [], r.budget, r.options, r.quick, r.label)
        groups[key].seeds.append(r.seed)
    return list(groups.values())


def _pool_records(
    groups: list[Group], workers: int, fresh_workers: bool
) -> Iterator[dict[str, Any]]:
    """The records of ``groups`` as they finish in a pool of spawned single-threaded workers."""
    kw = {"mp_context": mp.get_context("spawn"), "initializer": _init_worker}
    kw["max_tasks_per_child"] = 1 if fresh_workers else None
    with _single_threaded_env(), ProcessPoolExecutor(workers, **kw) as pool:
        futures = {pool.submit(run_seeds, *group): group for group in groups}
        for fut in as_completed(futures):
            try:
                yield from fut.result()
            except Exception as err:  # e.g. a worker killed by the OS
                g = futures[fut]
                for s in g.seeds:
                    rec = new_record(g.task, g.method, s, g.budget, g.options, g.quick, g.label)
                    rec["error"] = f"{type(err).__name__}: {err}"
                    yield rec


def _execute(
    runs: list[Run], jsonl: Path, workers: int, fresh_workers: bool, verbose: bool
) -> None:
    """Run ``runs`` (in this process if ``workers <= 1``), the seeds of each task and method in
    lockstep, and append each record to ``jsonl``."""
    start = time.perf_counter()
    groups = group_runs(runs, together=not fresh_workers)
    if workers <= 1:
        records: Iterator[dict[str, Any]] = (rec for g in groups for rec in run_seeds(*g))
    else:
        records = _pool_records(groups, workers, fresh_workers)
    for i, rec in enumerate(records, 1):
        with jsonl.open("a") as fh:
            fh.write(json.dumps(rec, default=str) + "\n")
        if verbose:
            print(
                f"[{i}/{len(runs)} {time.perf_counter() - start:7.0f}s] {rec['task']} "
                f"{rec.get('label', rec['method'])} seed {rec['seed']}: {rec['status']} loss "
                f"{rec.get('final_loss', float('nan')):.4g} ({rec.get('wall_time', 0.0):.1f}s) "
                f"{rec.get('error', '')}",
                flush=True,
            )


def run_comparison(
    tasks: Sequence[str],
    methods: Sequence[str],
    seeds: Sequence[int],
    *,
    budget: int | None = None,
    out_dir: str | os.PathLike = "experiments/results",
    workers: int = 2,
    quick: bool = False,
    method_options: dict[str, dict[str, Any]] | None = None,
    resume: bool = True,
    fresh_workers: bool = False,
    verbose: bool = True,
    command: str | None = None,
) -> Path:
    """Run ``tasks x methods x seeds`` and write the results under ``out_dir``; returns it.

    Args:
        methods: method entries: registered names or ``"<label>=<method>:<json options>"``.
        budget: episodes per run; ``None`` = each task's own (``quick``: 40).
        workers: processes (each single-threaded); ``<= 1`` runs in this process.
        quick: short horizons and small dimensions (for tests).
        method_options: options per method label, on top of the entry's own.
        resume: skip runs recorded in ``runs.jsonl`` with status "ok" and the effective config
            they would get now (a run recorded with another config is run again and replaces it).
        fresh_workers: one process per run, each run alone (nothing cached from earlier runs,
            its memory and time its own; the seeds are not run in lockstep).
        command: the command line that made the results, named in ``summary.md``.

    Writes ``runs.jsonl`` (one record per run, :mod:`.record`) and, from all records in it,
    ``runs.csv``, ``summary.md`` and ``curves_<task>.png``.
    """
    out = Path(out_dir)
    jsonl = out / "runs.jsonl"
    recorded = load_runs(jsonl) if resume else ()
    kw = {"budget": budget, "quick": quick, "method_options": method_options}
    runs = plan_runs(tasks, methods, seeds, recorded=recorded, **kw)
    out.mkdir(parents=True, exist_ok=True)
    _execute(runs, jsonl, workers, fresh_workers, verbose)
    write_report(load_runs(jsonl), out, command)
    return out
