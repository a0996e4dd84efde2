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

from .optimizers import OPTIMIZERS, Optimizer, make_config
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
        history: one dict per iteration: ``n_evals``, ``best_loss``, ``batch_mean``,
            ``batch_min``, ``time`` (s since start), ``evals_per_s`` and the method's metrics.
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


def build_optimizer(
    method: str, x0: Any, budget: int, seed: int, bounds: Any, config: dict[str, Any]
) -> Optimizer:
    """``make_optimizer`` plus budget-aware defaults (e.g. sigma schedules span the budget)."""
    cfg = make_config(method, **config)
    if "schedule_evals" in {f.name for f in dataclasses.fields(cfg)} and cfg.schedule_evals is None:
        cfg = dataclasses.replace(cfg, schedule_evals=budget)
    return OPTIMIZERS[method][0](x0, cfg, seed=seed, bounds=bounds)


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
    **config: Any,
) -> Result:
    """Minimise the batched loss ``fn: (n, d) -> (n,)`` from ``x0 (d,)``.

    Args:
        fn: batched loss; NaN/inf are allowed and treated as the worst loss seen.
        x0: start, shape ``(d,)``.
        method: a key of ``zg.OPTIMIZERS``.
        budget: maximum number of rows passed to ``fn`` in total (>= 1).
        seed: seeds the optimizer.
        bounds: optional box ``(lower, upper)``.
        callback: ``callback(optimizer, record)`` after every iteration; return ``True`` to stop.
        restored: continue with this optimizer (e.g. one loaded from a checkpoint) instead of
            building one; its ``n_evals`` count against the budget.
        **config: options of the method's config dataclass.
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be an integer >= 1, got {budget!r}")
    x0 = validate_x0(x0)
    opt = restored or build_optimizer(method, x0, int(budget), seed, bounds, config)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    stopped = False
    while True:
        X = opt.ask()
        reserve = 1 if budget > X.shape[0] else 0  # one evaluation for the recommendation
        if opt.n_evals + X.shape[0] + reserve > budget:
            break
        losses = evaluate(fn, X)
        opt.tell(X, losses)
        elapsed = time.perf_counter() - start
        finite = losses[np.isfinite(losses)]
        record = {
            "iteration": float(opt.n_iters),
            "n_evals": float(opt.n_evals),
            "best_loss": opt.best_loss,
            "batch_mean": float(finite.mean()) if finite.size else float("nan"),
            "batch_min": float(finite.min()) if finite.size else float("nan"),
            "time": elapsed,
            "evals_per_s": opt.n_evals / elapsed if elapsed > 0 else float("nan"),
            **opt.metrics,
        }
        history.append(record)
        if callback is not None and callback(opt, record):
            stopped = True
            break
    x, loss = opt.best_x.copy(), opt.best_loss
    n_evals = opt.n_evals
    if n_evals < budget:  # measure the recommendation itself
        rec = opt.recommendation
        rec_loss = float(evaluate(fn, rec[None, :])[0])
        n_evals += 1
        if np.isfinite(rec_loss) and rec_loss <= loss:
            x, loss = rec, rec_loss
    return Result(
        x=x,
        loss=float(loss),
        n_evals=n_evals,
        history=history,
        optimizer=opt,
        stopped_early=stopped,
    )
