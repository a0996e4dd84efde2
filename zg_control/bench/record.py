"""The runs of a comparison and the records they leave (:func:`run_one`; the seeds of one task
and method in lockstep: :func:`run_seeds`), and reading the records back (:func:`load_runs`;
is a recorded run the run planned now? :func:`same_config`).

A record is one JSON line of ``runs.jsonl``: ``task``, ``kind``, ``dim``, ``method``, ``label``
(a labelled variant's only), ``seed``, ``budget``, ``quick``, ``options`` (what the run was given
on top of the method's config defaults), ``config`` (the config's fields it ran with), ``code``
(a hash of the method's source), ``versions`` (the installed versions of the packages that
decide the numbers: MuJoCo, dm-control's model files, Gymnasium, numpy, torch), ``status``
(``"ok"`` or ``"failed"``, then with ``error``), ``final_loss``, ``loss_x0``, ``n_evals``,
``n_iters``, ``wall_time``, ``fn_time``, ``overhead_per_iter`` (median optimizer seconds per
iteration, ``fn`` excluded), ``peak_rss_mb`` (peak resident MB during the run),
``rss_before_mb`` (resident MB before it), ``lockstep`` (the number of runs made together,
whose times are the group's divided by it) and ``curve`` = ``[[episodes, best loss], ...]``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import inspect
import json
import re
import resource
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from ..optimizers.base import Optimizer
from .suite import get_task

CURVE_POINTS = 256  # best-loss curve points kept per run


def label_of(rec: dict[str, Any]) -> str:
    """What the report calls a record's method: its variant's label, else the method's name."""
    return rec.get("label", rec["method"])


def run_key(rec: dict[str, Any]) -> tuple:
    """``(task, label, seed, budget, quick)``: one run of a comparison."""
    return (rec["task"], label_of(rec), int(rec["seed"]), int(rec["budget"]), bool(rec["quick"]))


def load_runs(path: Path) -> list[dict[str, Any]]:
    """Records of ``runs.jsonl``, the latest per :func:`run_key`."""
    latest: dict[tuple, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                latest[run_key(rec)] = rec
    return list(latest.values())


def options_id(options: dict[str, Any] | None) -> str:
    """Options as canonical JSON (keys sorted, values as ``runs.jsonl`` stores them)."""
    return json.dumps(json.loads(json.dumps(options or {}, default=str)), sort_keys=True)


def config_dict(method: str, options: dict[str, Any] | None, budget: int) -> dict[str, Any]:
    """The effective config of a run of ``method`` with ``options`` and ``budget`` under the
    current code (``zg_control.optimizers.resolve_config``), as JSON values; ``ValueError`` for
    options the method does not take."""
    from ..optimizers import resolve_config

    cfg = resolve_config(method, options or {}, budget)
    return json.loads(json.dumps(dataclasses.asdict(cfg), default=str))


def same_config(rec: dict[str, Any], method: str, config: dict[str, Any]) -> bool:
    """Whether the recorded run ``rec`` ran ``method`` with ``config`` (a :func:`config_dict`).

    Its recorded options must make that config under the current code (an option the method no
    longer takes does not: a field that left the config counts only where the run left it at
    its default), and its recorded ``config`` (older records have none) must agree on every
    field that ``config`` fixes (``None``, decided during the run, e.g. ZeroGrads' ``lr`` from
    the problem's dimension, is not compared).
    """
    if rec["method"] != method:
        return False
    try:
        if config_dict(method, rec.get("options"), rec["budget"]) != config:
            return False
    except ValueError:
        return False
    recorded = rec.get("config")
    return recorded is None or all(recorded.get(k) == v for k, v in config.items() if v is not None)


def _downsample(curve: list[tuple[float, float]], n: int = CURVE_POINTS) -> list[list[float]]:
    if len(curve) <= n:
        return [list(p) for p in curve]
    idx = np.unique(np.linspace(0, len(curve) - 1, n).round().astype(int))
    return [list(curve[i]) for i in idx]


_SOURCE_HASHES: dict[type, str] = {}


VERSIONED = ("mujoco", "dm-control", "gymnasium", "numpy", "torch")


def package_versions() -> dict[str, str]:
    """The installed versions of :data:`VERSIONED` (those installed): the same code can give
    other numbers under another MuJoCo or another dm-control's model files (seen: dm-control's
    hopper, recorded -1.28, re-run -1.11 on a later install; experiments/NOTES.md session 17)."""
    found = {}
    for name in VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def source_files(cls: type) -> list[Path]:
    """The files defining the method ``cls`` and its ``config_cls`` (one file for most
    methods) and, for a method with a subpackage of its own (``optimizers/zerograds/``), every
    module there (its step rules, surrogates)."""
    owners = [cls, getattr(cls, "config_cls", cls)]
    files = dict.fromkeys(Path(inspect.getsourcefile(c) or "") for c in owners)
    if cls.__module__.rsplit(".", 1)[0] != Optimizer.__module__.rsplit(".", 1)[0]:
        files.update(dict.fromkeys(sorted(next(iter(files)).parent.glob("*.py"))))
    return list(files)


def _source_hash(cls: type) -> str:
    """Short hash of :func:`source_files`, read when this process first ran ``cls`` (close to
    when it was imported), so results can be told apart when the method's code or defaults
    change."""
    if cls not in _SOURCE_HASHES:
        files = source_files(cls)
        ok = all(f.is_file() for f in files)
        digest = hashlib.sha1(b"".join(f.read_bytes() for f in files)) if ok else None
        _SOURCE_HASHES[cls] = digest.hexdigest()[:10] if digest else "?"
    return _SOURCE_HASHES[cls]


def _memory_mb() -> tuple[float, float]:
    """``(resident, peak resident)`` of this process in MB: ``VmRSS``/``VmHWM`` from
    ``/proc/self/status`` (Linux), else ``ru_maxrss`` for both (which survives ``exec``, so it
    also counts the parent's memory in spawned workers)."""
    try:
        status = Path("/proc/self/status").read_text()
        kb = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, flags=re.M))
        return int(kb["VmRSS"]) / 1024, int(kb["VmHWM"]) / 1024
    except (OSError, KeyError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak


def _reset_peak_memory() -> float:
    """Reset the peak-resident counter (Linux ``clear_refs`` 5) and return the resident MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _memory_mb()[0]


def new_record(
    task: str,
    method: str,
    seed: int,
    budget: int,
    options: dict[str, Any],
    quick: bool,
    label: str | None = None,
) -> dict[str, Any]:
    """The fields every record has, ``status`` ``"failed"`` until the run finishes."""
    rec = {"task": task, "method": method, "seed": seed, "budget": budget, "quick": quick}
    if label is not None and label != method:
        rec["label"] = label
    return {**rec, "options": options, "status": "failed"}


def _measure(recs: list[dict[str, Any]], problem: Any, x0s: list[Any], method: str) -> None:
    """Run ``method`` from ``x0s`` on the built ``problem``, the seeds of ``recs`` in lockstep
    (``zg.minimize_many``), and add each run's outcome to its record. The times of a group of
    ``R`` runs are the group's divided by ``R``; ``lockstep`` says ``R``."""
    from ..lockstep import minimize_many

    fn_times: list[float] = []  # one per call: the iterations, then the final evaluation

    def timed(X: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        y = problem.fn(X)
        fn_times.append(time.perf_counter() - t)
        return y

    rss_before, R, first = _reset_peak_memory(), len(recs), recs[0]
    start = time.perf_counter()
    results = minimize_many(
        timed, np.stack(x0s), method, first["budget"], [r["seed"] for r in recs],
        bounds=problem.bounds, **first["options"],
    )  # fmt: skip
    wall, fn_total, peak = time.perf_counter() - start, float(sum(fn_times)), _memory_mb()[1]
    versions = package_versions()  # one lookup for the group
    for rec, res in zip(recs, results, strict=True):
        curve = [(h["n_evals"], h["best_loss"]) for h in res.history]
        curve.append((float(res.n_evals), min(res.loss, curve[-1][1] if curve else np.inf)))
        # optimizer time per iteration: the median is robust to first-call costs (lazy imports)
        n = len(res.history)
        steps = np.diff([0.0] + [h["time"] for h in res.history]) - np.asarray(fn_times[:n])
        rec.update(
            config=dataclasses.asdict(res.optimizer.config),
            code=_source_hash(type(res.optimizer)),
            versions=dict(versions),
            status="ok",
            final_loss=res.loss,
            n_evals=res.n_evals,
            n_iters=n,
            wall_time=wall / R,
            fn_time=fn_total / R,
            overhead_per_iter=float(np.median(steps)) / R if n else 0.0,
            peak_rss_mb=peak,
            rss_before_mb=rss_before,
            lockstep=R,
            curve=_downsample(curve),
        )


def run_one(
    task: str,
    method: str,
    seed: int,
    budget: int,
    options: dict[str, Any],
    quick: bool,
    label: str | None = None,
) -> dict[str, Any]:
    """One run of ``method`` on the suite task ``task``; never raises. Returns its record (see
    the module's docstring); ``label`` names a variant (kept when it is not the method's name)."""
    return run_seeds(task, method, [seed], budget, options, quick, label)[0]


def run_seeds(
    task: str,
    method: str,
    seeds: list[int],
    budget: int,
    options: dict[str, Any],
    quick: bool,
    label: str | None = None,
) -> list[dict[str, Any]]:
    """The runs of ``method`` on ``task`` for every seed of ``seeds``, in lockstep (each run's
    outcome is that of its own :func:`run_one`, bit for bit); never raises: an error fails
    every run of the group. Returns one record per seed."""
    recs = [new_record(task, method, s, budget, options, quick, label) for s in seeds]
    problem = None
    try:
        spec = get_task(task)
        problem = spec.build(quick, seeds[0])
        x0s = [problem.x0 if s == seeds[0] else _x0_of(spec, quick, s) for s in seeds]
        for rec, x0 in zip(recs, x0s, strict=True):
            rec.update(kind=spec.kind, threshold_fixed=spec.threshold, dim=problem.dim)
            rec["loss_x0"] = float(np.asarray(problem.fn(x0[None]))[0])  # not charged
        _measure(recs, problem, x0s, method)
    except Exception as err:  # recorded, not raised: one bad run must not stop the rest
        for rec in recs:
            rec.update(status="failed", error=f"{type(err).__name__}: {err}")
            rec["traceback"] = traceback.format_exc(limit=8)
    finally:
        if problem is not None:
            try:
                problem.close()
            except Exception:
                pass
    return recs


def _x0_of(spec: Any, quick: bool, seed: int) -> np.ndarray:
    """The start of seed ``seed`` on ``spec`` (a policy's initial weights depend on it; the
    loss does not)."""
    problem = spec.build(quick, seed)
    try:
        return problem.x0
    finally:
        problem.close()
