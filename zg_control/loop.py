"""``minimize``: the ask -> evaluate -> tell loop, its history and callbacks.

``budget`` counts every row ever passed to ``fn``, including the final evaluation of the
recommendation (made so that ``res.loss`` is a loss that was really measured at ``res.x``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .optimizers import Optimizer, make_optimizer
from .optimizers.base import validate_x0

Callback = Callable[[Optimizer, dict[str, float]], bool | None]


@dataclasses.dataclass
class Result:
    """Outcome of :func:`minimize`.

    Attributes:
        x: best parameters found, shape ``(d,)`` (the better of the best sample and the final
            recommendation, both measured).
        loss: ``fn`` at ``x``.
        n_evals: rows evaluated, ``<= budget``.
        history: one dict per iteration (:func:`history_record`): ``iteration``, ``n_evals``,
            ``best_loss``, ``batch_mean``, ``batch_min``, ``time`` (s since start),
            ``evals_per_s`` and the method's metrics; the CLI's ``history.csv`` has these columns.
        optimizer: the optimizer, for inspection or ``state_dict()``.
        stopped_early: a callback asked to stop.
    """

    x: np.ndarray
    loss: float
    n_evals: int
    history: list[dict[str, float]]
    optimizer: Optimizer
    stopped_early: bool = False


def evaluate(fn: Callable[[np.ndarray], Any], X: np.ndarray) -> np.ndarray:
    """Call ``fn`` on ``X (n, d)`` and check it returns ``(n,)``."""
    y = np.asarray(fn(X), dtype=np.float64)
    if y.shape != (X.shape[0],):
        y = y.reshape(-1) if y.size == X.shape[0] else y
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"fn must map a batch of shape (n, d) to losses of shape (n,); "
            f"for n={X.shape[0]} it returned shape {np.shape(y)}"
        )
    return y


def fits(n_evals: int, batch: int, budget: int) -> bool:
    """A batch of ``batch`` rows fits in ``budget`` after ``n_evals``, keeping one evaluation in
    reserve for the final measurement of the recommendation (unless the batch alone fills it)."""
    reserve = 1 if budget > batch else 0
    return n_evals + batch + reserve <= budget


def history_record(opt: Optimizer, losses: np.ndarray, elapsed: float) -> dict[str, float]:
    """The history row of the iteration ``opt`` just told, whose batch scored ``losses (n,)``
    (NaN/inf left out of ``batch_mean``/``batch_min``); ``elapsed``: seconds since the start.
    The loop's keys come first, then the method's metrics (the loop's win a clash)."""
    finite = losses[np.isfinite(losses)]
    record = {
        "iteration": float(opt.n_iters),
        "n_evals": float(opt.n_evals),
        "best_loss": opt.best_loss,
        "batch_mean": float(finite.mean()) if finite.size else float("nan"),
        "batch_min": float(finite.min()) if finite.size else float("nan"),
        "time": elapsed,
        "evals_per_s": opt.n_evals / elapsed if elapsed > 0 else float("nan"),
    }
    record.update((k, v) for k, v in opt.metrics.items() if k not in record)
    return record


def minimize(
    fn: Callable[[np.ndarray], Any],
    x0: Any,
    method: str = "zerograds",
    budget: int = 1000,
    seed: int = 0,
    *,
    bounds: Any = None,
    callback: Callback | None = None,
    restored: Optimizer | None = None,
    elapsed: float = 0.0,
    **config: Any,
) -> Result:
    """Minimise the batched loss ``fn: (n, d) -> (n,)`` from ``x0 (d,)``.

    Args:
        fn: batched loss (e.g. a :class:`~zg_control.problem.Problem`); NaN/inf are allowed and
            treated as the worst loss seen.
        x0: start, shape ``(d,)``.
        method: a key of ``zg.OPTIMIZERS``.
        budget: maximum number of rows passed to ``fn`` in total (>= 1).
        seed: seeds the optimizer.
        bounds: optional box ``(lower, upper)``.
        callback: ``callback(optimizer, record)`` after every iteration; return ``True`` to stop.
        restored: continue with this optimizer (e.g. one loaded from a checkpoint) instead of
            building one; its ``n_evals`` count against the budget.
        elapsed: seconds already spent (a resumed run's); ``time`` in the history counts on.
        **config: options of the method's config dataclass; the effective config is
            ``zg_control.optimizers.resolve_config(method, config, budget)``.
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be an integer >= 1, got {budget!r}")
    budget, x0 = int(budget), validate_x0(x0)
    opt = restored
    if opt is None:
        opt = make_optimizer(method, x0, seed, bounds, budget=budget, **config)
    history: list[dict[str, float]] = []
    start = time.perf_counter() - elapsed
    stopped = False
    while not stopped:
        X = opt.ask()
        if not fits(opt.n_evals, X.shape[0], budget):
            break
        losses = evaluate(fn, X)
        opt.tell(X, losses)
        history.append(history_record(opt, losses, time.perf_counter() - start))
        stopped = callback is not None and bool(callback(opt, history[-1]))
    x, loss, n_evals = _measure_recommendation(fn, opt, budget)
    return Result(x, loss, n_evals, history, opt, stopped)


def _measure_recommendation(
    fn: Callable[[np.ndarray], Any], opt: Optimizer, budget: int
) -> tuple[np.ndarray, float, int]:
    """``(x (d,), loss, n_evals)``: the better of the best sample and the recommendation, which
    is evaluated once more if the budget leaves room (so ``loss`` was measured at ``x``)."""
    x, loss, n_evals = opt.best_x.copy(), opt.best_loss, opt.n_evals
    if n_evals < budget:
        rec = opt.recommendation
        rec_loss = float(evaluate(fn, rec[None, :])[0])
        n_evals += 1
        if np.isfinite(rec_loss) and rec_loss <= loss:
            x, loss = rec, rec_loss
    return x, float(loss), n_evals
