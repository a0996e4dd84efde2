"""``Problem``: what every run optimises, a batched loss with its start and box.

    problem = Problem(fn, x0, bounds=(-2.0, 2.0))   # fn: (n, d) -> (n,)
    losses = problem(X)                             # X: (n, problem.dim)
    res = zg.minimize(problem, problem.x0, bounds=problem.bounds)

An analytic function is a ``Problem`` as above; an env's episodes are one too
(:class:`~zg_control.sim.objective.Objective`, built by ``make_objective``), so the CLI's runs
and the comparison treat both alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class Problem:
    """A batched loss ``fn: (n, d) -> (n,)`` to minimise, from ``x0`` inside ``bounds``.

    Args:
        fn: the batched loss; ``problem(X)`` calls it.
        x0: start, shape ``(d,)``.
        bounds: ``None`` or ``(low, high)``, each a scalar or shape ``(d,)``.
        close: called by :meth:`close` to release what ``fn`` holds (threads, simulators).

    Attributes:
        last_diverged: ``(n,)`` bool, the rows of the latest call whose loss stands in for an
            evaluation that failed (an :class:`~zg_control.sim.objective.Objective`'s diverged
            episodes score a finite worst case); a function flags none. ``zg.minimize`` counts
            them as not finite (``Result.n_finite``).
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], Any],
        x0: Any,
        bounds: Any = None,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.fn = fn
        self.x0 = np.asarray(x0, dtype=np.float64)
        if self.x0.ndim != 1 or self.x0.size == 0:
            raise ValueError(f"x0 must be a non-empty 1-D array, got shape {self.x0.shape}")
        self.bounds = bounds
        self._close = close
        self.last_diverged = np.zeros(0, dtype=bool)

    @property
    def dim(self) -> int:
        """``d``, the number of parameters."""
        return int(self.x0.size)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Losses of ``X (n, d)``, shape ``(n,)``."""
        self.last_diverged = np.zeros(len(X), dtype=bool)
        return self.fn(X)

    def controls(self, x: np.ndarray) -> np.ndarray | None:
        """The controls ``(T, nu)`` that ``x (d,)`` applies, or ``None`` (a function has none)."""
        del x
        return None

    def close(self) -> None:
        """Release what the loss holds; a no-op unless ``close`` was given."""
        if self._close is not None:
            self._close()

    def __enter__(self) -> Problem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
