"""A run: effective config -> objective -> optimizer loop -> a run directory.

    from zg_control.run import RunConfig, start_run, resume_run
    res = start_run(RunConfig(env="zg_control/Keyframe-v0", budget=2000), "runs/keyframe")
    res = resume_run("runs/keyframe", budget=4000)          # continue (also after Ctrl-C)

The loop is :func:`zg_control.minimize`'s (same budget rule, same final evaluation of the
recommendation, so the result is bit-identical to ``zg.minimize`` on the same objective), plus
a progress bar, ``history.csv`` (one row per iteration), atomic checkpoints every
``checkpoint_every`` iterations, Ctrl-C handling (finish the iteration, checkpoint, stop) and
the files of a run directory (:mod:`zg_control.rundir`). Resuming from a checkpoint continues
bit-identically to the uninterrupted run with the same budget; ``config.json`` keeps every
method option, so e.g. a sigma schedule keeps spanning the first budget when one extends it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..loop import build_optimizer, evaluate
from . import rundir
from .runconfig import RunConfig, build_problem

log = logging.getLogger("zg_control")


class RunInterrupted(Exception):
    """Ctrl-C: the run wrote a checkpoint (or kept its last one) and stopped."""


@dataclasses.dataclass
class RunResult:
    """``status``: "completed" or "stopped" (``stop_after``). ``x (d,)``, ``loss``: the best
    measured point; ``n_evals``: episodes used; ``history``: one row dict per iteration."""

    status: str
    x: np.ndarray
    loss: float
    n_evals: int
    history: list[dict[str, Any]]
    out_dir: Path | None
    summary: dict[str, Any]


class Run:
    """One optimisation; see the module docstring. Build with :func:`start_run` /
    :func:`resume_run`; ``out_dir=None`` keeps everything in memory (no files)."""

    def __init__(self, config: RunConfig, out_dir: str | os.PathLike | None, progress: bool):
        self.config = config
        self.out = None if out_dir is None else Path(out_dir)
        self.progress = progress
        self.problem = build_problem(config)
        p = self.problem
        try:
            self.opt = build_optimizer(
                config.method, p.x0, config.budget, config.seed, p.bounds, config.options
            )
        except Exception:
            p.close()
            raise
        # Pin every option (e.g. schedule_evals = first budget) so a resume rebuilds it as is.
        config.options = dataclasses.asdict(self.opt.config)
        self.history: list[dict[str, Any]] = []
        self.elapsed0 = 0.0
        self._interrupted = False
        self._t0 = time.perf_counter()
        self._ckpt_iter = 0

    # --------------------------------------------------------------------- files
    def path(self, name: str) -> Path:
        return self.out / name  # type: ignore[operator]

    def set_status(self, status: str, **extra: Any) -> None:
        if self.out is not None:
            info = {"episodes": self.opt.n_evals, "iterations": self.opt.n_iters, **extra}
            rundir.write_status(self.out, status, **info)

    def save_checkpoint(self) -> None:
        if self.out is not None:
            rundir.save_checkpoint(self.out, self.config.to_dict(), self.opt, self.problem,
                                   self.history, self.elapsed())  # fmt: skip

    def load_checkpoint(self) -> None:
        self.history, self.elapsed0 = rundir.load_checkpoint(
            self.out,
            self.config,
            self.opt,
            self.problem,  # type: ignore[arg-type]
        )

    # ---------------------------------------------------------------------- loop
    def elapsed(self) -> float:
        return self.elapsed0 + (time.perf_counter() - self._t0)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._interrupted:
            raise KeyboardInterrupt
        self._interrupted = True
        log.warning("Ctrl-C: finishing this iteration, then writing a checkpoint (again: abort)")

    def execute(self, stop_after: int | None = None) -> RunResult:
        """Run the loop to the budget (or ``stop_after`` episodes), then finish the files."""
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._on_sigint) if main else None
        self._t0 = time.perf_counter()
        try:
            if self.out is not None:
                rundir.write_history(self.path("history.csv"), self.history)
                self.set_status("running")
            stopped = self._loop(stop_after)
            if self._interrupted:
                raise RunInterrupted
            return self._finish(stopped)
        except (KeyboardInterrupt, RunInterrupted):
            self.set_status("interrupted", checkpoint_iteration=self._ckpt_iter)
            if self.out is not None:
                self._plot()
            raise RunInterrupted("" if self.out is None else str(self.out)) from None
        except Exception as err:
            self.set_status("failed", error=f"{type(err).__name__}: {err}")
            raise
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
            self.problem.close()

    def _loop(self, stop_after: int | None) -> bool:
        from tqdm.auto import tqdm

        opt, cfg = self.opt, self.config
        self._ckpt_iter = opt.n_iters
        csv = open(self.path("history.csv"), "a") if self.out is not None else None  # noqa: SIM115
        bar = tqdm(
            total=cfg.budget, initial=opt.n_evals, unit="ep", disable=not self.progress,
            desc=cfg.name, dynamic_ncols=True, smoothing=0.1,
        )  # fmt: skip
        try:
            while True:
                X = opt.ask()
                reserve = 1 if cfg.budget > X.shape[0] else 0  # as zg.minimize
                if opt.n_evals + X.shape[0] + reserve > cfg.budget:
                    return False
                losses = evaluate(self.problem.fn, X)
                opt.tell(X, losses)
                rec = rundir.history_row(opt, losses, self.elapsed())
                self.history.append(rec)
                bar.update(X.shape[0])
                bar.set_postfix(best=f"{opt.best_loss:.4g}", refresh=False)
                if csv is not None:
                    csv.write(rundir.csv_row(rec) + "\n")
                    csv.flush()
                stop = self._interrupted or (stop_after is not None and opt.n_evals >= stop_after)
                last = opt.n_evals + X.shape[0] + reserve > cfg.budget  # next batch won't fit
                if stop or last or opt.n_iters % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
                    self._ckpt_iter = opt.n_iters
                if stop:
                    return True
        finally:
            bar.close()
            if csv is not None:
                csv.close()

    def _plot(self) -> Path | None:
        from .plots import plot_history

        try:
            return plot_history(self.history, self.path("loss.png"), title=self.config.name)
        except Exception as err:  # noqa: BLE001 - a plot must never cost the run
            log.warning("could not write loss.png: %s", err)
            return None

    def _finish(self, stopped: bool) -> RunResult:
        opt, cfg = self.opt, self.config
        x, loss, n_evals = opt.best_x.copy(), float(opt.best_loss), opt.n_evals
        status = "stopped" if stopped else "completed"
        summary: dict[str, Any] = {"status": status}
        if not stopped and n_evals < cfg.budget:  # measure the recommendation (as zg.minimize)
            rec = opt.recommendation
            rec_loss = float(evaluate(self.problem.fn, rec[None, :])[0])
            n_evals += 1
            if np.isfinite(rec_loss) and rec_loss <= loss:
                x, loss = rec, rec_loss
            summary["recommendation_loss"] = rec_loss
        result = RunResult(status, x, loss, n_evals, self.history, self.out, summary)
        wall = self.elapsed()
        summary.update(
            name=cfg.name, method=cfg.method, seed=cfg.seed, budget=cfg.budget, dim=int(x.size),
            n_evals=n_evals, iterations=opt.n_iters, best_loss=loss, wall_time=wall,
            episodes_per_s=n_evals / wall if wall > 0 else None,
        )  # fmt: skip
        if self.out is None:
            return result
        if stopped:
            self._plot()
            self.set_status("stopped", checkpoint_iteration=opt.n_iters)
            log.info("stopped after %d episodes; continue with: zg-control resume %s", n_evals,
                     self.out)  # fmt: skip
            return result
        controls = self.problem.controls(x)
        rundir.write_best(self.path("best.npz"), x, loss, n_evals, True, controls)
        files = {"config": "config.json", "history": "history.csv", "best": "best.npz"}
        if self._plot() is not None:
            files["loss_plot"] = "loss.png"
        if cfg.env is not None and cfg.render:
            files.update(self._render(x, summary))
        self.set_status("completed")
        summary["files"] = files
        rundir.write_json(self.path("summary.json"), summary)  # last: marks completion
        log.info("done: best loss %.6g after %d episodes; results in %s", loss, n_evals, self.out)
        return result

    def _render(self, x: np.ndarray, summary: dict[str, Any]) -> dict[str, str]:
        from ..sim.render import RenderUnavailable, render_params

        cfg = self.config
        try:
            out = render_params(
                self.problem.objective, x, self.out, env=cfg.env, width=cfg.width,
                height=cfg.height,
            )  # fmt: skip
        except Exception as err:  # noqa: BLE001 - a video must never cost the run
            msg = str(err) if isinstance(err, RenderUnavailable) else f"{type(err).__name__}: {err}"
            log.warning("no video: %s (zg-control render %s retries)", msg, self.out)
            summary["render_error"] = msg
            return {}
        summary.update(video_frames=out["frames"], gl_backend=out["backend"], fps=out["fps"])
        return {"video": out["video"].name, "strip": out["strip"].name}


# -------------------------------------------------------------------------- entry points
def start_run(
    config: RunConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    stop_after: int | None = None,
    progress: bool = False,
) -> RunResult:
    """Validate ``config``, build everything, then create ``out_dir`` and run.

    Bad input raises ``ValueError`` before anything is written. ``stop_after``: stop (with a
    checkpoint, status "stopped") once that many episodes are done. Raises
    :class:`RunInterrupted` on Ctrl-C, after writing a checkpoint.
    """
    config.validate()
    run = Run(config, out_dir, progress)
    if run.out is not None:
        try:
            rundir.prepare(run.out)
        except ValueError:
            run.problem.close()
            raise
        rundir.write_json(run.path("config.json"), config.to_dict())
        run.save_checkpoint()  # iteration 0: resumable from the start
    return run.execute(stop_after)


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
        raise ValueError(f"{out} is not a run directory (no config.json); pass a directory "
                         "written by zg-control optimize")  # fmt: skip
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
            raise ValueError(f"budget {config.budget} is not above the {run.opt.n_evals} "
                             "episodes already used; pass a larger --budget")  # fmt: skip
    except Exception:
        run.problem.close()
        raise
    (out / "summary.json").unlink(missing_ok=True)
    rundir.write_json(out / "config.json", config.to_dict())
    log.info("resuming %s at %d episodes (iteration %d)", out, run.opt.n_evals, run.opt.n_iters)
    return run.execute(stop_after)
