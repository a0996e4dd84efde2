"""Analytic test problems, batched ``(n, d) -> (n,)``, with known optima.

They make every optimizer testable in milliseconds and serve as the analytic controls of the
comparison experiments. :data:`FUNCTIONS` maps a name to ``(fn, default dimension, x0 maker)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.interpolate import Akima1DInterpolator

# The paper's 1-D toy (ZeroGrads, Fig. 3): an Akima spline whose slope at x = 1.1 points into a
# local dip; the global minimum is at x = 4.
_TOY_X = np.array([-100, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 100], dtype=np.float64)
_TOY_Y = np.array([9, 7.5, 7, 6.5, 6, 4, 3.5, 0, 2, 1, 6, 8, 9], dtype=np.float64)
_TOY = Akima1DInterpolator(_TOY_X, _TOY_Y)
TOY_START = 1.1
TOY_MINIMUM = 4.0


def _batch(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a batch of shape (n, d), got {X.shape}")
    return X


def akima_toy(X: np.ndarray) -> np.ndarray:
    """The paper's 1-D toy. Shape ``(n, 1) -> (n,)``; minimum 0 at ``x = 4``."""
    X = _batch(X)
    if X.shape[1] != 1:
        raise ValueError(f"akima_toy is 1-D, got d = {X.shape[1]}")
    return _TOY(np.clip(X[:, 0], -100.0, 100.0))


def sphere(X: np.ndarray) -> np.ndarray:
    """``sum x^2``. Shape ``(n, d) -> (n,)``; minimum 0 at the origin."""
    X = _batch(X)
    return np.sum(X * X, axis=1)


def rosenbrock(X: np.ndarray) -> np.ndarray:
    """Rosenbrock's valley. Shape ``(n, d) -> (n,)``; minimum 0 at ``(1, ..., 1)``."""
    X = _batch(X)
    a, b = X[:, :-1], X[:, 1:]
    return np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2, axis=1)


def rastrigin(X: np.ndarray) -> np.ndarray:
    """Rastrigin's multimodal bowl. Shape ``(n, d) -> (n,)``; minimum 0 at the origin."""
    X = _batch(X)
    return 10.0 * X.shape[1] + np.sum(X * X - 10.0 * np.cos(2.0 * np.pi * X), axis=1)


def staircase(X: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Mean squared distance to the target after rounding to a grid of ``step``.

    Piecewise constant, so its gradient is zero almost everywhere. Shape ``(n, d) -> (n,)``;
    minimum 0 wherever ``round(x / step) == round(1 / step)`` (target ``x = 1``).
    """
    X = _batch(X)
    q = np.round(X / step) * step
    return np.mean((q - 1.0) ** 2, axis=1)


def plateau(X: np.ndarray) -> np.ndarray:
    """Flat (loss 1) where the root mean square of ``x`` is below 0.5, the bowl
    ``mean((x - 1.5)^2) / 12.25`` elsewhere (below 1 in the box ``[-2, 2]^d`` but for its far
    corner): from ``x0 = 0`` every sample with a step below 0.5 per coordinate scores the same.
    Shape ``(n, d) -> (n,)``; minimum 0 at ``x = 1.5``."""
    X = _batch(X)
    rms = np.sqrt(np.mean(X * X, axis=1))
    return np.where(rms < 0.5, 1.0, np.mean((X - 1.5) ** 2, axis=1) / 12.25)


FUNCTIONS: dict[
    str, tuple[Callable[[np.ndarray], np.ndarray], int, Callable[[int], np.ndarray]]
] = {
    "toy": (akima_toy, 1, lambda d: np.full(d, TOY_START)),
    "sphere": (sphere, 10, lambda d: np.full(d, 3.0)),
    "rosenbrock": (rosenbrock, 10, lambda d: np.zeros(d)),
    "rastrigin": (rastrigin, 10, lambda d: np.full(d, 2.5)),
    "staircase": (staircase, 100, lambda d: np.zeros(d)),
    "plateau": (plateau, 100, lambda d: np.zeros(d)),
}


def get_function(
    name: str, dim: int | None = None
) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """Return ``(fn, x0)`` for the analytic problem ``name`` in ``dim`` dimensions."""
    if name not in FUNCTIONS:
        raise ValueError(f"unknown function {name!r}; choose one of {', '.join(FUNCTIONS)}")
    fn, default_dim, make_x0 = FUNCTIONS[name]
    d = default_dim if dim is None else int(dim)
    if d < 1 or (name == "toy" and d != 1) or (name == "rosenbrock" and d < 2):
        raise ValueError(f"function {name!r} does not support dim = {dim}")
    return fn, make_x0(d)
