"""A run: effective config -> problem -> ``zg.minimize`` with callbacks -> a run directory.

    from zg_control.app.run import RunConfig, start_run, resume_run
    res = start_run(RunConfig(env="zg_control/Keyframe-v0", budget=2000), "runs/keyframe")
    res = resume_run("runs/keyframe", budget=4000)          # continue (also after Ctrl-C)

The loop is :func:`zg_control.minimize` itself (so a run equals ``zg.minimize`` on the same
problem); the run adds, as a callback after every iteration, a progress bar, a row of
``history.csv``, an atomic checkpoint every ``checkpoint_every`` iterations (``run.json`` then
counts its episodes) and Ctrl-C / SIGTERM handling (finish the iteration, checkpoint, stop),
then writes the files of a run directory (:mod:`zg_control.app.rundir`). Resuming from a
checkpoint continues bit-identically to the uninterrupted run with the same budget;
``config.json`` keeps every method option, so e.g. the budget-aware defaults of the first
budget stay as they were when one extends it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..loop import NoFiniteLossWarning, Result, check_budget, fits, minimize, no_finite_message
from ..optimizers import Optimizer, make_optimizer
from . import rundir
from .runconfig import RunConfig, build_problem

log = logging.getLogger("zg_control")


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM: the run wrote a checkpoint (or kept its last one) and stopped.
    ``args``: the run directory ("" without one) and the signal's number."""


@dataclasses.dataclass
class RunResult:
    """``status``: "completed" or "stopped" (``stop_after``). ``x (d,)``, ``loss``: the best
    measured point; ``n_evals``: episodes used; ``history``: ``zg.minimize``'s rows, all of the
    run's (a resumed run's too)."""

    status: str
    x: np.ndarray
    loss: float
    n_evals: int
    history: list[dict[str, Any]]
    out_dir: Path | None
    summary: dict[str, Any]


class Run:
    """One optimisation; see the module docstring. Build with :func:`start_run` /
    :func:`resume_run`; ``out_dir=None`` keeps everything in memory (no files). ``config`` must
    be validated (its options pinned)."""

    def __init__(self, config: RunConfig, out_dir: str | os.PathLike | None, progress: bool):
        self.config = config
        self.out = None if out_dir is None else Path(out_dir)
        self.progress = progress
        self.problem = build_problem(config)
        p = self.problem
        try:
            self.opt = make_optimizer(config.method, p.x0, config.seed, p.bounds, **config.options)
        except Exception:
            p.close()
            raise
        self.history: list[dict[str, Any]] = []
        self.elapsed0 = 0.0
        self.interrupted = 0  # the signal that asked to stop, once one did
        self._t0 = time.perf_counter()
        self._ckpt_iter = 0

    # --------------------------------------------------------------------- files
    def path(self, name: str) -> Path:
        return self.out / name  # type: ignore[operator]

    def set_status(self, status: str, **extra: Any) -> None:
        if self.out is not None:
            info = {"n_evals": self.opt.n_evals, "iterations": self.opt.n_iters, **extra}
            rundir.write_status(self.out, status, **info)

    def save_checkpoint(self) -> None:
        if self.out is not None:
            state = (self.config.to_dict(), self.opt, self.problem, self.history, self.elapsed())
            rundir.save_checkpoint(self.out, *state)
            self.set_status("running", checkpoint_iteration=self.opt.n_iters)
        self._ckpt_iter = self.opt.n_iters

    def load_checkpoint(self) -> None:
        self.history, self.elapsed0 = rundir.load_checkpoint(self.out, self.config, self.opt)

    # ---------------------------------------------------------------------- loop
    def elapsed(self) -> float:
        return self.elapsed0 + (time.perf_counter() - self._t0)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = signum
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        log.warning("%s: finishing this iteration, then writing a checkpoint (again: abort)", name)

    def execute(self, stop_after: int | None = None) -> RunResult:
        """Run to the budget (or ``stop_after`` episodes), then finish the files."""
        main = threading.current_thread() is threading.main_thread()
        stops = (signal.SIGINT, signal.SIGTERM) if main else ()
        previous = {s: signal.signal(s, self._on_signal) for s in stops}
        self._t0 = time.perf_counter()
        try:
            res = self._minimize(stop_after)
            if self.interrupted:
                raise RunInterrupted
            return self._finish(res)
        except (KeyboardInterrupt, RunInterrupted):
            self.set_status("interrupted", checkpoint_iteration=self._ckpt_iter)
            if self.out is not None:
                self._plot()
            out = "" if self.out is None else str(self.out)
            raise RunInterrupted(out, int(self.interrupted or signal.SIGINT)) from None
        except Exception as err:
            self.set_status("failed", error=f"{type(err).__name__}: {err}")
            raise
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            self.problem.close()

    def _minimize(self, stop_after: int | None) -> Result:
        """``zg.minimize`` on the problem, continuing ``self.opt``, with :class:`_Callbacks`."""
        p, cfg = self.problem, self.config
        csv = None
        if self.out is not None:
            csv = rundir.HistoryCSV(self.path("history.csv"), self.history)
            self.set_status("running")
        kw = {"bounds": p.bounds, "restored": self.opt, "elapsed": self.elapsed()}
        with _Callbacks(self, csv, stop_after) as callback, warnings.catch_warnings():
            warnings.simplefilter("ignore", NoFiniteLossWarning)  # _finish says it for the run
            return minimize(p, p.x0, cfg.method, cfg.budget, cfg.seed, callback=callback, **kw)

    def _plot(self) -> Path | None:
        from .plots import plot_run

        return plot_run(self.history, self.path("loss.png"), title=self.config.name)

    def _finish(self, res: Result) -> RunResult:
        cfg, wall = self.config, self.elapsed()
        status = "stopped" if res.stopped_early else "completed"
        summary = {"status": status, "name": cfg.name, "method": cfg.method, "seed": cfg.seed}
        summary.update(budget=cfg.budget, dim=int(res.x.size), n_evals=res.n_evals)
        summary.update(iterations=self.opt.n_iters, best_loss=res.loss, time=wall)
        summary["evals_per_s"] = res.n_evals / wall if wall > 0 else None
        earlier = self.history[: len(self.history) - len(res.history)]  # rows before a resume
        summary["n_finite"] = res.n_finite + int(sum(h.get("n_finite", 1) for h in earlier))
        if summary["n_finite"] == 0:
            log.warning("%s", no_finite_message(res.n_evals))
        result = RunResult(status, res.x, res.loss, res.n_evals, self.history, self.out, summary)
        if self.out is None:
            return result
        plotted = self._plot() is not None
        if res.stopped_early:
            self.set_status("stopped", checkpoint_iteration=self.opt.n_iters)
            log.info(
                "stopped after %d episodes; continue: zg-control resume %s", res.n_evals, self.out
            )
            return result
        self._write_results(res, summary, plotted)
        best = f"best loss {res.loss:.6g}" if summary["n_finite"] else "no finite loss"
        log.info("done: %s after %d episodes; in %s", best, res.n_evals, self.out)
        return result

    def _write_results(self, res: Result, summary: dict[str, Any], plotted: bool) -> None:
        """``best.npz``, the video (env runs) and, last, ``summary.json`` (listing the files;
        ``plotted``: ``loss.png`` was written)."""
        controls = self.problem.controls(res.x)
        rundir.write_best(self.path("best.npz"), res.x, res.loss, res.n_evals, True, controls)
        files = {"config": "config.json", "history": "history.csv", "best": "best.npz"}
        if plotted:
            files["loss_plot"] = "loss.png"
        if self.config.env is not None and self.config.render:
            files.update(rundir.write_video(self.out, self.problem, self.config, res.x, summary))
        self.set_status("completed")
        summary["files"] = files
        rundir.write_json(self.path("summary.json"), summary)  # last: marks completion


class _Callbacks:
    """The run's ``zg.minimize`` callback: history row (and ``history.csv`` line), progress
    bar, checkpoints, and the stop (``stop_after`` episodes, Ctrl-C or SIGTERM)."""

    def __init__(self, run: Run, csv: rundir.HistoryCSV | None, stop_after: int | None):
        self.run, self.csv, self.stop_after = run, csv, stop_after
        self.n_evals = run.opt.n_evals

    def __enter__(self) -> _Callbacks:
        from tqdm.auto import tqdm

        cfg, quiet = self.run.config, not self.run.progress
        kw = {"unit": "ep", "desc": cfg.name, "dynamic_ncols": True, "smoothing": 0.1}
        self.bar = tqdm(total=cfg.budget, initial=self.n_evals, disable=quiet, **kw)
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    def __call__(self, opt: Optimizer, record: dict[str, Any]) -> bool:
        run = self.run
        batch, self.n_evals = opt.n_evals - self.n_evals, opt.n_evals
        run.history.append(record)
        if self.csv is not None:
            self.csv.append(record)
        self.bar.update(batch)
        self.bar.set_postfix(best=f"{opt.best_loss:.4g}", refresh=False)
        stop = run.interrupted or (self.stop_after is not None and opt.n_evals >= self.stop_after)
        last = not fits(opt.n_evals, batch, run.config.budget)  # the next batch will not fit
        if stop or last or opt.n_iters % run.config.checkpoint_every == 0:
            run.save_checkpoint()
        return bool(stop)


# -------------------------------------------------------------------------- entry points
def start_run(
    config: RunConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    stop_after: int | None = None,
    progress: bool = False,
) -> RunResult:
    """Validate ``config``, build everything, then create ``out_dir`` and run.

    Bad input raises ``ValueError`` and leaves no run directory, whether found before anything
    is written or on the first batch (e.g. a loss of the wrong shape: the files go again).
    ``stop_after``: stop (with a checkpoint, status "stopped") once that many episodes are
    done. Raises :class:`RunInterrupted` on Ctrl-C or SIGTERM, after writing a checkpoint.
    """
    config.validate()
    run = Run(config, out_dir, progress)
    created = run.out is not None and not run.out.exists()
    try:
        check_budget(run.opt, config.budget)
        if run.out is not None:
            rundir.prepare(run.out)
    except ValueError:
        run.problem.close()
        raise
    if run.out is not None:
        rundir.write_json(run.path("config.json"), config.to_dict())
        run.save_checkpoint()  # iteration 0: resumable from the start
    try:
        return run.execute(stop_after)
    except ValueError:
        if run.out is not None and run.opt.n_iters == 0:  # bad input the first batch showed
            rundir.discard(run.out, created)
        raise


def resume_run(
    run_dir: str | os.PathLike,
    *,
    budget: int | None = None,
    stop_after: int | None = None,
    progress: bool = False,
    render: bool | None = None,
) -> RunResult:
    """Continue the run in ``run_dir`` from its checkpoint (optionally to a larger ``budget``)."""
    out = Path(run_dir)
    if not (out / "config.json").is_file():
        raise ValueError(
            f"{out} is not a run directory (no config.json); pass a directory "
            "written by zg-control optimize"
        )
    config = RunConfig.from_file(out / "config.json")
    rundir.check_resumable(out, budget, config.budget)
    if render is not None:
        config.render = render
    if budget is not None:
        config.budget = budget
    config.validate()
    run = Run(config, out, progress)
    try:
        run.load_checkpoint()
        if run.opt.n_evals >= config.budget:
            raise ValueError(
                f"budget {config.budget} is not above the {run.opt.n_evals} "
                "episodes already used; pass a larger --budget"
            )
    except Exception:
        run.problem.close()
        raise
    (out / "summary.json").unlink(missing_ok=True)
    rundir.write_json(out / "config.json", config.to_dict())
    log.info("resuming %s at %d episodes (iteration %d)", out, run.opt.n_evals, run.opt.n_iters)
    return run.execute(stop_after)
