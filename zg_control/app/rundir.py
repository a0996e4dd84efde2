"""The files of a run directory, each written atomically (temporary file, then rename).

=================  ==========================================================================
``config.json``    the effective :class:`~zg_control.runconfig.RunConfig` (method options in full)
``run.json``       status: ``running``, ``stopped``, ``interrupted``, ``failed`` or ``completed``,
                   with pid and host (so ``resume`` refuses a run that is still going)
``history.csv``    one row per iteration, :data:`COLUMNS` (blank where a method has no value)
``checkpoint.npz`` optimizer state + history + elapsed time (:mod:`zg_control.checkpoint`)
``best.npz``       ``x (d,)``, ``loss``, ``n_evals``, ``final``, ``controls (T, nu)`` if any
``loss.png``       :func:`zg_control.plots.plot_history`
``video.mp4``      (or ``.gif``) and ``strip.png``: :mod:`zg_control.render`
``summary.json``   written last: a run is complete iff it exists
=================  ==========================================================================
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint
from .checkpoint import atomic_write, atomic_write_text

COLUMNS = (
    "iteration", "episodes", "best_loss", "current_loss", "batch_min", "sigma", "fit_error",
    "grad_norm", "episodes_per_s", "wall_time",
)  # fmt: skip
"""``current_loss`` is the mean finite loss of the iteration's batch (around the current
parameters); ``sigma`` the method's sampling scale (ZeroGrads/PRDPT/CMA-ES sigma, GA mutation
sigma, SPSA ``c_k``, SA step); ``episodes_per_s`` counts from the start of the run."""


SIGMA_KEYS = ("sigma", "mutation_sigma", "c_k", "step")  # the method's sampling scale


def history_row(opt: Any, losses: np.ndarray, elapsed: float) -> dict[str, Any]:
    """The :data:`COLUMNS` of the iteration ``opt`` (an :class:`~zg_control.optimizers.Optimizer`)
    just told, whose batch losses are ``losses (n,)``; ``elapsed``: seconds since the start."""
    m = opt.metrics
    finite = losses[np.isfinite(losses)]
    sigma = next((m[k] for k in SIGMA_KEYS if k in m), None)
    return {
        "iteration": opt.n_iters,
        "episodes": opt.n_evals,
        "best_loss": float(opt.best_loss),
        "current_loss": float(finite.mean()) if finite.size else float("nan"),
        "batch_min": float(finite.min()) if finite.size else float("nan"),
        "sigma": None if sigma is None else float(sigma),
        "fit_error": float(m["fit_error"]) if "fit_error" in m else None,
        "grad_norm": float(m["grad_norm"]) if "grad_norm" in m else None,
        "episodes_per_s": opt.n_evals / elapsed if elapsed > 0 else None,
        "wall_time": elapsed,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=float) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """``{}`` when the file is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def csv_row(record: dict[str, Any]) -> str:
    """One ``history.csv`` line (no newline); floats with full precision (``repr``)."""
    cells = (record.get(c) for c in COLUMNS)
    return ",".join("" if v is None else repr(v) if isinstance(v, float) else str(v) for v in cells)


def write_history(path: Path, history: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "\n".join([",".join(COLUMNS), *map(csv_row, history)]) + "\n")


def write_best(
    path: Path, x: np.ndarray, loss: float, n_evals: int, final: bool, controls: Any = None
) -> None:
    """``best.npz``; ``final`` is False for the best-so-far written with a checkpoint."""
    arrays = {"x": np.asarray(x, dtype=np.float64), "loss": np.float64(loss)}
    arrays.update(n_evals=np.int64(n_evals), final=np.bool_(final))
    if controls is not None:
        arrays["controls"] = np.asarray(controls)
    atomic_write(path, lambda f: np.savez(f, **arrays))


RUN_KEYS = ("env", "function", "method", "seed", "parameterization")  # what a checkpoint must match


def save_checkpoint(
    out: Path, config: dict[str, Any], opt: Any, problem: Any, history: list, elapsed: float
) -> None:
    """``checkpoint.npz`` (``config``: the run's config dict; ``opt``, ``problem``: the run's
    optimizer and problem, whose ``state_dict`` it keeps) and the best-so-far ``best.npz``."""
    state = {"config": config, "optimizer": opt.state_dict(), "history": history,
             "elapsed": elapsed, "problem": problem.state_dict()}  # fmt: skip
    checkpoint.save(out / "checkpoint.npz", state, kind="run")
    controls = problem.decode(opt.best_x)
    write_best(out / "best.npz", opt.best_x, opt.best_loss, opt.n_evals, False, controls)


def load_checkpoint(out: Path, config: Any, opt: Any, problem: Any) -> tuple[list, float]:
    """Restore ``opt`` and ``problem`` from ``out/checkpoint.npz`` and return its ``(history,
    elapsed)``; ``ValueError`` if it belongs to another run (``RUN_KEYS`` of ``config``) or is
    incomplete."""
    path = out / "checkpoint.npz"
    state = checkpoint.load(path, kind="run")
    saved = state.get("config", {})
    if any(saved.get(k) != getattr(config, k) for k in RUN_KEYS):
        raise ValueError(
            f"{path} belongs to another run ("
            + ", ".join(f"{k}={saved.get(k)!r}" for k in RUN_KEYS)
            + "), not this config.json; resume the directory that wrote it"
        )
    try:
        opt.load_state_dict(state["optimizer"])
        problem.load_state_dict(state["problem"])
        return list(state["history"]), float(state["elapsed"])
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        raise ValueError(
            f"{path} is incomplete or from another version (missing {err}); start a new run"
        ) from None


def write_status(out: Path, status: str, **info: Any) -> None:
    write_json(out / "run.json", {"status": status, "pid": os.getpid(),
                                  "host": socket.gethostname(), **info})  # fmt: skip


def prepare(out: Path) -> None:
    """Create ``out`` (new or empty) and check that it is writable; ``ValueError`` if not."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if (out / "config.json").exists():
            raise ValueError(f"output directory {out} holds a run; choose a new --out or "
                             f"continue it with: zg-control resume {out}")  # fmt: skip
        raise ValueError(f"output directory {out} is not an empty directory; choose a new --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(f"cannot write to output directory {out} ({err.strerror or err}); "
                         "choose a writable --out") from None  # fmt: skip


def check_resumable(out: Path, budget: int | None, old_budget: int) -> None:
    """``ValueError`` unless ``out`` can be resumed (to ``budget``, if given)."""
    status = read_json(out / "run.json")
    if status.get("status") == "running" and _alive(status):
        raise ValueError(f"{out} is still being written by process {status['pid']}; stop it "
                         "first (Ctrl-C) or wait for it")  # fmt: skip
    if (out / "summary.json").exists() and (budget is None or budget <= old_budget):
        raise ValueError(f"{out} is complete (budget {old_budget}); pass a larger --budget to "
                         "continue it")  # fmt: skip


def _alive(status: dict[str, Any]) -> bool:
    """The process that wrote ``run.json`` still runs (same host only)."""
    if status.get("host") != socket.gethostname() or status.get("pid") in (None, os.getpid()):
        return False
    try:
        os.kill(int(status["pid"]), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True
