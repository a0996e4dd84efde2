"""``minimize``: the ask -> evaluate -> tell loop, its history and callbacks.

``budget`` counts every row ever passed to ``fn``, including the final evaluation of the
recommendation (made so that ``res.loss`` is a loss that was really measured at ``res.x``).
A budget must hold at least one batch of the method (``ValueError`` otherwise: it would return
``x0`` untouched).

Failed evaluations: a row whose loss is NaN/inf, or that ``fn`` flags in ``fn.last_diverged``
(an env objective's diverged episodes, which score a finite worst case), is not *finite*.
``Result.n_finite`` counts the finite ones; when there are none, ``minimize`` warns with
:class:`NoFiniteLossWarning` (``res.loss`` and ``res.x`` then say nothing about the problem).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .optimizers import METHODS, Optimizer, make_optimizer
from .optimizers.base import validate_x0

Callback = Callable[[Optimizer, dict[str, float]], bool | None]

NO_FINITE_HINT = (
    "usually the loss function returns NaN/inf, or the simulation diverges already at the "
    "start (check the loss at x0, and the model's timestep and initial state)"
)


class NoFiniteLossWarning(RuntimeWarning):
    """``minimize`` saw no finite loss: every row was NaN/inf or flagged as diverged."""


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
            ``evals_per_s``, ``n_finite`` (finite rows of the batch) and the method's metrics;
            the CLI's ``history.csv`` has these columns.
        optimizer: the optimizer, for inspection or ``state_dict()``.
        stopped_early: a callback asked to stop.
        n_finite: rows of this call with a finite loss (module docstring); 0 means no usable
            evaluation was seen, so ``x`` is ``x0`` (or the best of the stand-in losses).
    """

    x: np.ndarray
    loss: float
    n_evals: int
    history: list[dict[str, float]]
    optimizer: Optimizer
    stopped_early: bool = False
    n_finite: int = 0


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


def finite_rows(fn: Any, losses: np.ndarray) -> np.ndarray:
    """Which of the ``losses (n,)`` that ``fn`` just returned are finite and not flagged in
    ``fn.last_diverged``. Shape ``(n,)`` bool."""
    ok = np.isfinite(losses)
    flagged = getattr(fn, "last_diverged", None)
    if flagged is not None and np.shape(flagged) == losses.shape:
        ok &= ~np.asarray(flagged, dtype=bool)
    return ok


def check_budget(opt: Optimizer, budget: int) -> None:
    """``ValueError`` unless ``budget`` holds the first batch of ``opt`` (one that has not
    evaluated anything yet; a resumed optimizer may well end without another batch)."""
    if opt.n_evals == 0 and not fits(0, opt.batch_size, budget):
        name = next((k for k, (cls, _) in METHODS.items() if type(opt) is cls), "the method")
        raise ValueError(
            f"budget {budget} is smaller than one batch of {name} ({opt.batch_size} rows), so "
            f"nothing would be optimized; pass a budget >= {opt.batch_size} or a smaller "
            "batch_size"
        )


def validate_budget(budget: Any) -> int:
    """``budget`` as an ``int >= 1``, or ``ValueError``."""
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be an integer >= 1, got {budget!r}")
    return int(budget)


def fits(n_evals: int, batch: int, budget: int) -> bool:
    """A batch of ``batch`` rows fits in ``budget`` after ``n_evals``, keeping one evaluation in
    reserve for the final measurement of the recommendation (unless the batch alone fills it)."""
    reserve = 1 if budget > batch else 0
    return n_evals + batch + reserve <= budget


def history_record(
    opt: Optimizer, losses: np.ndarray, elapsed: float, n_finite: int
) -> dict[str, float]:
    """The history row of the iteration ``opt`` just told, whose batch scored ``losses (n,)``
    (NaN/inf left out of ``batch_mean``/``batch_min``), ``n_finite`` of them finite
    (:func:`finite_rows`); ``elapsed``: seconds since the start. The loop's keys come first,
    then the method's metrics (the loop's win a clash)."""
    finite = losses[np.isfinite(losses)]
    record = {
        "iteration": float(opt.n_iters),
        "n_evals": float(opt.n_evals),
        "best_loss": opt.best_loss,
        "batch_mean": float(finite.mean()) if finite.size else float("nan"),
        "batch_min": float(finite.min()) if finite.size else float("nan"),
        "time": elapsed,
        "evals_per_s": opt.n_evals / elapsed if elapsed > 0 else float("nan"),
        "n_finite": float(n_finite),
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
        method: a key of ``zg.OPTIMIZERS``, or of ``zg_control.optimizers.PEERS`` (extra
            ``[peers]``).
        budget: maximum number of rows passed to ``fn`` in total, at least one batch.
        seed: seeds the optimizer.
        bounds: optional box ``(lower, upper)``.
        callback: ``callback(optimizer, record)`` after every iteration; return ``True`` to stop.
        restored: continue with this optimizer (e.g. one loaded from a checkpoint) instead of
            building one; its ``n_evals`` count against the budget.
        elapsed: seconds already spent (a resumed run's); ``time`` in the history counts on.
        **config: options of the method's config dataclass; the effective config is
            ``zg_control.optimizers.resolve_config(method, config, budget)``.
    """
    budget, x0 = validate_budget(budget), validate_x0(x0)
    opt = restored
    if opt is None:
        opt = make_optimizer(method, x0, seed, bounds, budget=budget, **config)
    check_budget(opt, budget)
    n_start = opt.n_evals
    history: list[dict[str, float]] = []
    start = time.perf_counter() - elapsed
    stopped, n_finite = False, 0
    while not stopped:
        X = opt.ask()
        if not fits(opt.n_evals, X.shape[0], budget):
            break
        losses = evaluate(fn, X)
        ok = int(finite_rows(fn, losses).sum())
        opt.tell(X, losses)
        n_finite += ok
        history.append(history_record(opt, losses, time.perf_counter() - start, ok))
        stopped = callback is not None and bool(callback(opt, history[-1]))
    x, loss, n_evals, ok = _measure_recommendation(fn, opt, budget)
    res = Result(x, loss, n_evals, history, opt, stopped, n_finite + ok)
    if res.n_finite == 0 and n_evals > n_start:
        warnings.warn(no_finite_message(n_evals - n_start), NoFiniteLossWarning, stacklevel=2)
    return res


def no_finite_message(n_evals: int) -> str:
    """What ``n_evals`` evaluations without one finite loss tell the user."""
    return f"no finite loss in {n_evals} evaluations (each NaN/inf or diverged); {NO_FINITE_HINT}"


def _measure_recommendation(
    fn: Callable[[np.ndarray], Any], opt: Optimizer, budget: int
) -> tuple[np.ndarray, float, int, int]:
    """``(x (d,), loss, n_evals, n_finite)``: the better of the best sample and the
    recommendation, which is evaluated once more if the budget leaves room (so ``loss`` was
    measured at ``x``); ``n_finite``: 1 if that evaluation was finite (:func:`finite_rows`)."""
    return _measure_many(fn, [opt], budget)[0]


def _measure_many(
    fn: Callable[[np.ndarray], Any], opts: list[Optimizer], budget: int
) -> list[tuple[np.ndarray, float, int, int]]:
    """:func:`_measure_recommendation` of every optimizer in ``opts``, the recommendations of
    those with budget left evaluated in one call of ``fn``."""
    recs = {i: opt.recommendation for i, opt in enumerate(opts) if opt.n_evals < budget}
    y = evaluate(fn, np.stack(list(recs.values()))) if recs else np.zeros(0)
    measured = dict(zip(recs, zip(y, finite_rows(fn, y), strict=True), strict=True))
    out = []
    for i, opt in enumerate(opts):
        x, loss, n_evals, n_ok = opt.best_x.copy(), opt.best_loss, opt.n_evals, 0
        if i in measured:
            rec_loss, n_ok, n_evals = float(measured[i][0]), int(measured[i][1]), n_evals + 1
            if np.isfinite(rec_loss) and rec_loss <= loss:
                x, loss = recs[i], rec_loss
        out.append((x, float(loss), n_evals, n_ok))
    return out
