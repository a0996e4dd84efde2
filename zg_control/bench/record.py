"""One run of a comparison and the record it leaves: final loss, best-loss curve, wall and
optimizer time, peak memory and a hash of the method's code (:func:`run_one`; the fields are
listed in :func:`zg_control.compare.run_comparison`)."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import re
import resource
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from .suite import get_task

CURVE_POINTS = 256  # best-loss curve points kept per run


def _downsample(curve: list[tuple[float, float]], n: int = CURVE_POINTS) -> list[list[float]]:
    if len(curve) <= n:
        return [list(p) for p in curve]
    idx = np.unique(np.linspace(0, len(curve) - 1, n).round().astype(int))
    return [list(curve[i]) for i in idx]


_SOURCE_HASHES: dict[type, str] = {}


def _source_hash(cls: type) -> str:
    """Short hash of the files defining ``cls`` and its ``config_cls`` (one file for most
    methods), read when this process first ran it (close to when it was imported), so results
    can be told apart when the method's code or defaults change."""
    if cls not in _SOURCE_HASHES:
        owners = [cls, getattr(cls, "config_cls", cls)]
        files = dict.fromkeys(Path(inspect.getsourcefile(c) or "") for c in owners)
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


def run_one(
    task: str, method: str, seed: int, budget: int, options: dict[str, Any], quick: bool
) -> dict[str, Any]:
    """One run; never raises. Returns the JSON record (see :func:`run_comparison`)."""
    from .. import minimize

    rec: dict[str, Any] = {"task": task, "method": method, "seed": seed, "budget": budget,
                           "quick": quick, "options": options, "status": "failed"}  # fmt: skip
    problem = None
    try:
        spec = get_task(task)
        rec.update(kind=spec.kind, threshold_fixed=spec.threshold)
        problem = spec.build(quick, seed)
        rec["dim"] = problem.dim
        rec["loss_x0"] = float(np.asarray(problem.fn(problem.x0[None]))[0])  # not charged
        fn_times: list[float] = []  # one per call: the iterations, then the final evaluation

        def timed(X: np.ndarray) -> np.ndarray:
            t = time.perf_counter()
            y = problem.fn(X)
            fn_times.append(time.perf_counter() - t)
            return y

        rss_before = _reset_peak_memory()
        start = time.perf_counter()
        res = minimize(timed, problem.x0, method, budget, seed, bounds=problem.bounds, **options)
        wall = time.perf_counter() - start
        rec["config"] = dataclasses.asdict(res.optimizer.config)
        rec["code"] = _source_hash(type(res.optimizer))
        curve = [(h["n_evals"], h["best_loss"]) for h in res.history]
        curve.append((float(res.n_evals), min(res.loss, curve[-1][1] if curve else np.inf)))
        # optimizer time per iteration: the median is robust to first-call costs (lazy imports)
        n = len(res.history)
        steps = np.diff([0.0] + [h["time"] for h in res.history]) - np.asarray(fn_times[:n])
        rec.update(
            status="ok", final_loss=res.loss, n_evals=res.n_evals, n_iters=n, wall_time=wall,
            fn_time=float(sum(fn_times)), overhead_per_iter=float(np.median(steps)) if n else 0.0,
            peak_rss_mb=_memory_mb()[1], rss_before_mb=rss_before, curve=_downsample(curve),
        )  # fmt: skip
    except Exception as err:  # recorded, not raised: one bad run must not stop the rest
        rec["error"] = f"{type(err).__name__}: {err}"
        rec["traceback"] = traceback.format_exc(limit=8)
    finally:
        if problem is not None:
            try:
                problem.close()
            except Exception:
                pass
    return rec
