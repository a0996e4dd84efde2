"""``minimize_many``: several seeds of one problem in lockstep, one call of ``fn`` per iteration.

A comparison runs many seeds of the same task. Run one after another, each iteration calls
``fn`` with one run's batch (16 episodes for ZeroGrads), too few rows to keep every thread of a
batched simulator busy. In lockstep every live run asks, the rows of all runs are stacked into
one call of ``fn``, and each run is told its own slice::

    for each run r: X_r = opt_r.ask()                   (R batches of n_r rows)
    losses = fn(concatenate(X_1 .. X_R))                (one call, sum n_r rows)
    for each run r: opt_r.tell(X_r, losses_r)           (each run its own slice)

Each result is the one ``zg.minimize(fn, x0, method, budget, seed=s)`` returns, bit for bit,
provided ``fn`` scores every row on its own (an episode per row, as every
:class:`~zg_control.problem.Problem` and env objective here does): the runs share nothing but
the calls. History times are the lockstep's wall clock, shared by the runs.

Each run's optimizer is told on its own: the surrogate fits are not batched across runs. A
batched fit (``torch.baddbmm`` over the runs' MLP layers) rounds differently from a run's own
``nn.Linear``: measured here, the weight gradient differs for inputs of 4 to 11 dimensions, and
for 5 to 7 and 9 to 11 it even depends on how many runs share the product, so it could not give
each run the result of ``minimize`` (experiments/NOTES.md, "Seeds in lockstep").
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .loop import (
    NoFiniteLossWarning,
    Result,
    _measure_many,
    check_budget,
    evaluate,
    finite_rows,
    fits,
    history_record,
    no_finite_message,
    validate_budget,
)
from .optimizers import Optimizer, make_optimizer
from .optimizers.base import validate_seed, validate_x0

ManyCallback = Callable[[int, Optimizer, dict[str, float]], bool | None]


def minimize_many(
    fn: Callable[[np.ndarray], Any],
    x0: Any,
    method: str = "zerograds",
    budget: int = 1000,
    seeds: Sequence[int] = (0,),
    *,
    bounds: Any = None,
    callback: ManyCallback | None = None,
    **config: Any,
) -> list[Result]:
    """:func:`~zg_control.loop.minimize` for every seed of ``seeds``, run in lockstep (module
    docstring); returns one :class:`~zg_control.loop.Result` per seed, in order.

    Args:
        fn: batched loss ``(n, d) -> (n,)`` that scores each row independently.
        x0: the start, shape ``(d,)`` for every run or ``(len(seeds), d)``, one per run.
        method, budget, bounds, **config: as in ``minimize``; ``budget`` is per run.
        seeds: one run per seed.
        callback: ``callback(r, optimizer, record)`` after every iteration of run ``r`` (its
            index in ``seeds``); return ``True`` to stop that run.
    """
    budget, starts = validate_budget(budget), _starts(x0, seeds)
    opts = [
        make_optimizer(method, x, s, bounds, budget=budget, **config)
        for x, s in zip(starts, seeds, strict=True)
    ]
    for opt in opts:
        check_budget(opt, budget)
    histories, n_finite, stopped = _run(fn, opts, budget, callback)
    results = []
    for r, (x, loss, n_evals, ok) in enumerate(_measure_many(fn, opts, budget)):
        results.append(
            Result(x, loss, n_evals, histories[r], opts[r], stopped[r], n_finite[r] + ok)
        )
        if results[-1].n_finite == 0:
            warnings.warn(no_finite_message(n_evals), NoFiniteLossWarning, stacklevel=2)
    return results


def _starts(x0: Any, seeds: Sequence[int]) -> np.ndarray:
    """The start of every run, shape ``(R, d)``, or ``ValueError``."""
    if isinstance(seeds, (int, np.integer)) or len(seeds) == 0:
        raise ValueError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    for s in seeds:
        validate_seed(s)
    if np.ndim(x0) != 2:
        return np.tile(validate_x0(x0), (len(seeds), 1))
    if np.shape(x0)[0] != len(seeds):
        raise ValueError(
            f"x0 of shape {np.shape(x0)} must be (d,) or have one row per seed ({len(seeds)})"
        )
    return np.stack([validate_x0(row) for row in x0])


def _run(
    fn: Callable[[np.ndarray], Any],
    opts: list[Optimizer],
    budget: int,
    callback: ManyCallback | None,
) -> tuple[list[list[dict[str, float]]], list[int], list[bool]]:
    """The lockstep loop. Returns each run's history, finite rows and whether a callback
    stopped it."""
    R = len(opts)
    histories: list[list[dict[str, float]]] = [[] for _ in range(R)]
    n_finite, stopped = [0] * R, [False] * R
    live, start = list(range(R)), time.perf_counter()
    while live:
        asked = {r: opts[r].ask() for r in live}
        live = [r for r in live if fits(opts[r].n_evals, asked[r].shape[0], budget)]
        if not live:
            break
        losses = evaluate(fn, np.concatenate([asked[r] for r in live]))
        ok = finite_rows(fn, losses)
        ends = np.cumsum([asked[r].shape[0] for r in live])
        parts = dict(zip(live, np.split(losses, ends[:-1]), strict=True))
        oks = dict(zip(live, np.split(ok, ends[:-1]), strict=True))
        for r in live:
            opts[r].tell(asked[r], parts[r])
        elapsed = time.perf_counter() - start
        for r in live:
            n_ok = int(oks[r].sum())
            n_finite[r] += n_ok
            histories[r].append(history_record(opts[r], parts[r], elapsed, n_ok))
            stopped[r] = callback is not None and bool(callback(r, opts[r], histories[r][-1]))
        live = [r for r in live if not stopped[r]]
    return histories, n_finite, stopped
