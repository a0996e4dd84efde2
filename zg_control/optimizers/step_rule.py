"""Step-size control from the persistence of fresh-batch slopes (path-length control).

CMA-ES grows its step when successive steps point the same way and shrinks it when they cancel
(cumulative step-size adaptation). ZeroGrads' Adam step has no such feedback: its lr is fixed,
but smooth tasks limited by how far theta may move want a larger step, and noisy contact tasks
(where most coordinates' slope is below the noise) a smaller one. This rule gives ZeroGrads
that feedback from data the surrogate does not reuse:

    z_t = slope of the fresh batch alone, scaled so that z_t ~ N(0, I_d) when the losses
          carry no information about the perturbations (the null)
    p_t = (1 - c) p_{t-1} + sqrt(c (2 - c)) z_t           (so p_t ~ N(0, I_d) under the null)
    s_t = (|p_t|^2 - d) / sqrt(2 d)                       (a z-score: ~ 0 +/- 1 under the null)
    log scale += gain * tanh((s_t - s0) / 2), clipped to [log low, log high]

A direction that persists over ~1/c batches lifts ``s`` above ``s0`` and grows the step; slopes
that are noise (or flip sign after an overshoot) shrink it. Fresh batches are independent
given theta, so the null calibration is exact, unlike one based on the surrogate's gradient
(whose buffer overlaps from one iteration to the next).
"""

from __future__ import annotations

import math

import numpy as np


def fresh_slope(E: np.ndarray, targets: np.ndarray, antithetic: bool) -> np.ndarray | None:
    """Null-normalised slope of one batch. ``E (n, d)``: standardised perturbations
    ``(x - theta) / sigma``; ``targets (n,)``: shaped losses. With antithetic pairs (rows
    ``[U; -U]``) the slope is ``U^T (t+ - t-) / |t+ - t-|``; otherwise ``E^T w / |w|`` with
    ``w = t - mean(t)``. Returns ``(d,)``, or ``None`` when the targets are all equal."""
    n = len(targets)
    if antithetic and n % 2 == 0 and np.allclose(E[: n // 2], -E[n // 2 :]):
        U, w = E[: n // 2], targets[: n // 2] - targets[n // 2 :]
    else:
        U, w = E, targets - targets.mean()
    norm = float(np.linalg.norm(w))
    return None if norm == 0.0 else (U.T @ w) / norm


def constants_problem(c: float, gain: float, low: float, high: float) -> str | None:
    """What is wrong with the rule's constants (named as ZeroGrads' ``path_*`` options), or
    ``None`` when they are valid."""
    if not 0 < c <= 1:
        return f"path rule needs 0 < path_c <= 1, got {c}"
    if not gain >= 0:
        return f"path rule needs path_gain >= 0, got {gain}"
    if not 0 < low <= 1 <= high:
        return f"path rule needs 0 < path_low <= 1 <= path_high, got {low}, {high}"
    return None


class PathLengthRule:
    """The rule of the module docstring; ``scale`` multiplies the base step."""

    def __init__(
        self, dim: int, c: float, gain: float, threshold: float, low: float, high: float
    ) -> None:
        problem = constants_problem(c, gain, low, high)
        if problem:
            raise ValueError(problem)
        self.dim, self.c, self.gain, self.threshold = dim, c, gain, threshold
        self.low, self.high = low, high
        self.path = np.zeros(dim)
        self.n = 0  # slopes folded in (for the start-up correction of |p|^2)
        self.scale = 1.0
        self.score = 0.0

    def update(self, z: np.ndarray | None) -> float:
        """Fold in one fresh slope ``z (d,)`` (``None``: no information) and return ``scale``."""
        if z is None:
            return self.scale
        c, d = self.c, self.dim
        self.path = (1 - c) * self.path + math.sqrt(c * (2 - c)) * z
        self.n += 1
        filled = 1.0 - (1.0 - c) ** (2 * self.n)  # E|p|^2 = filled * d under the null
        self.score = (float(self.path @ self.path) / filled - d) / math.sqrt(2 * d)
        step = self.gain * math.tanh((self.score - self.threshold) / 2)
        self.scale = min(max(self.scale * math.exp(step), self.low), self.high)
        return self.scale

    def state_dict(self) -> dict:
        return {"path": self.path.copy(), "n": self.n, "scale": self.scale, "score": self.score}

    def load_state_dict(self, state: dict) -> None:
        self.path = np.asarray(state["path"], dtype=np.float64).copy()
        self.n = int(state["n"])
        self.scale, self.score = float(state["scale"]), float(state["score"])
