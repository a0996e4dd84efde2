"""The files of a run directory, each written atomically (temporary file, then rename).

=================  ==========================================================================
``config.json``    the effective :class:`~zg_control.app.runconfig.RunConfig` (options in full)
``run.json``       status: ``running``, ``stopped``, ``interrupted``, ``failed`` or ``completed``,
                   with pid and host (so ``resume`` refuses a run that is still going)
``history.csv``    one row per iteration: the keys of ``zg.minimize``'s history
                   (:func:`zg_control.loop.history_record`), blank where a row has no value
``checkpoint.npz`` optimizer state + history + elapsed time (:mod:`zg_control.app.checkpoint`)
``best.npz``       ``x (d,)``, ``loss``, ``n_evals``, ``final``, ``controls (T, nu)`` if any
``loss.png``       :func:`zg_control.app.plots.plot_history`
``video.mp4``      (or ``.gif``) and ``strip.png``: :mod:`zg_control.sim.render`
``trajectory.npz`` the replayed episode: ``qpos``, ``qvel``, ``ctrl``, ``time``, ``dt``, ``x``,
                   ``qpos_names``, ``ctrl_names`` (:mod:`zg_control.sim.render`; written
                   even when no OpenGL is found)
``summary.json``   written last: a run is complete iff it exists
=================  ==========================================================================
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint
from .checkpoint import atomic_write, atomic_write_text

log = logging.getLogger("zg_control")


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=float) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """``{}`` when the file is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class HistoryCSV:
    """``history.csv``: one line per row of ``history`` (a list it shares with the run), the
    columns in order of first appearance; a row with a new key rewrites the file with it."""

    def __init__(self, path: Path, history: list[dict[str, Any]]) -> None:
        self.path, self.history = path, history
        self.columns: list[str] = []
        self._rewrite()

    def append(self, row: dict[str, Any]) -> None:
        """Add ``row`` (already appended to ``history``) to the file."""
        if any(k not in self.columns for k in row):
            self._rewrite()
            return
        with open(self.path, "a") as f:
            f.write(self._line(row) + "\n")

    def _rewrite(self) -> None:
        self.columns = list(dict.fromkeys(k for row in self.history for k in row))
        lines = [",".join(self.columns), *map(self._line, self.history)]
        atomic_write_text(self.path, "\n".join(lines) + "\n")

    def _line(self, row: dict[str, Any]) -> str:
        return ",".join(_cell(row.get(c)) for c in self.columns)


def _cell(value: Any) -> str:
    """A CSV cell: blank for ``None``, integral floats as integers, other floats exactly."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def write_best(
    path: Path, x: np.ndarray, loss: float, n_evals: int, final: bool, controls: Any = None
) -> None:
    """``best.npz``; ``final`` is False for the best-so-far written with a checkpoint."""
    arrays = {"x": np.asarray(x, dtype=np.float64), "loss": np.float64(loss)}
    arrays.update(n_evals=np.int64(n_evals), final=np.bool_(final))
    if controls is not None:
        arrays["controls"] = np.asarray(controls)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def write_video(out: Path, problem: Any, config: Any, x: np.ndarray, summary: dict) -> dict:
    """``trajectory.npz``, ``video.mp4`` (or ``.gif``) and ``strip.png`` of ``x (d,)`` on
    ``problem`` (the env of ``config``, a RunConfig), with their details in ``summary``; a
    failure is logged and kept in ``summary["render_error"]`` (a video never costs the run; the
    trajectory is written before OpenGL is needed). Returns the files by role."""
    from ..sim.render import RenderUnavailable, render

    try:
        video = render(problem, x, out, env=config.env, width=config.width, height=config.height)
    except Exception as err:  # a video must never cost the run
        msg = str(err) if isinstance(err, RenderUnavailable) else f"{type(err).__name__}: {err}"
        log.warning("no video: %s (zg-control render %s retries)", msg, out)
        summary["render_error"] = msg
        return {"trajectory": "trajectory.npz"} if (out / "trajectory.npz").is_file() else {}
    summary.update(video_frames=video["frames"], gl_backend=video["backend"], fps=video["fps"])
    return {name: video[name].name for name in ("video", "strip", "trajectory")}


RUN_KEYS = ("env", "function", "method", "seed", "parameterization")  # what a checkpoint must match


def save_checkpoint(
    out: Path, config: dict[str, Any], opt: Any, problem: Any, history: list, elapsed: float
) -> None:
    """``checkpoint.npz`` (``config``: the run's config dict; ``opt``: its optimizer, whose
    ``state_dict`` it keeps) and the best-so-far ``best.npz`` (``problem`` gives its controls)."""
    state = {
        "config": config,
        "optimizer": opt.state_dict(),
        "history": history,
        "elapsed": elapsed,
    }
    checkpoint.save(out / "checkpoint.npz", state, kind="run")
    controls = problem.controls(opt.best_x)
    write_best(out / "best.npz", opt.best_x, opt.best_loss, opt.n_evals, False, controls)


def load_checkpoint(out: Path, config: Any, opt: Any) -> tuple[list, float]:
    """Restore ``opt`` from ``out/checkpoint.npz`` and return its ``(history, elapsed)``;
    ``ValueError`` if it belongs to another run (``RUN_KEYS`` of ``config``) or is incomplete."""
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
        return list(state["history"]), float(state["elapsed"])
    except (KeyError, TypeError, IndexError, AttributeError) as err:
        raise ValueError(f"{path} is incomplete (missing {err}); start a new run") from None


def write_status(out: Path, status: str, **info: Any) -> None:
    write_json(
        out / "run.json",
        {"status": status, "pid": os.getpid(), "host": socket.gethostname(), **info},
    )


def prepare(out: Path) -> None:
    """Create ``out`` (new or empty) and check that it is writable; ``ValueError`` if not."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if (out / "config.json").exists():
            raise ValueError(
                f"output directory {out} holds a run; choose a new --out or "
                f"continue it with: zg-control resume {out}"
            )
        raise ValueError(f"output directory {out} is not an empty directory; choose a new --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise ValueError(
            f"cannot write to output directory {out} ({err.strerror or err}); "
            "choose a writable --out"
        ) from None


def discard(out: Path, created: bool) -> None:
    """Remove what a run wrote to ``out``: the directory if the run ``created`` it, else its
    contents (it was empty before)."""
    shutil.rmtree(out, ignore_errors=True)
    if not created:
        out.mkdir(exist_ok=True)


def check_resumable(out: Path, budget: int | None, old_budget: int) -> None:
    """``ValueError`` unless ``out`` can be resumed (to ``budget``, if given)."""
    status = read_json(out / "run.json")
    if status.get("status") == "running" and _alive(status):
        raise ValueError(
            f"{out} is still being written by process {status['pid']}; stop it "
            "first (Ctrl-C) or wait for it"
        )
    if (out / "summary.json").exists() and (budget is None or budget <= old_budget):
        raise ValueError(
            f"{out} is complete (budget {old_budget}); pass a larger --budget to continue it"
        )


def _alive(status: dict[str, Any]) -> bool:
    """The process that wrote ``run.json`` still runs (same host only)."""
    if status.get("host") != socket.gethostname() or status.get("pid") in (None, os.getpid()):
        return False
    try:
        os.kill(int(status["pid"]), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True
