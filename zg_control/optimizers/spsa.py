"""SPSA: simultaneous perturbation stochastic approximation (Spall 1992, 1998).

Each iteration ``k`` draws Rademacher directions ``D_j in {-1, +1}^d`` (``j = 1..m`` pairs),
evaluates ``theta +/- c_k D_j`` and steps

    g_k = 1/m * sum_j (f(theta + c_k D_j) - f(theta - c_k D_j)) / (2 c_k) * D_j^{-1}
    theta <- proj(theta - a_k g_k)

with Spall's gain sequences ``a_k = a / (A + k + 1)^alpha`` and ``c_k = c / (k + 1)^gamma``
(``alpha = 0.602``, ``gamma = 0.101``, ``A`` about 10 % of the expected iterations; Spall,
"Implementation of the simultaneous perturbation algorithm for stochastic optimization",
IEEE TAES 34(3), 1998). ``D^{-1} = D`` for Rademacher entries.

``a`` defaults to Spall's calibration instead of a hard-coded gain: from the first non-zero
gradient estimate ``g_0`` (no extra evaluations), ``a = first_step * (A + 1)^alpha / mean|g_0|``,
so that the first step moves each coordinate by ``first_step`` on average. A step that would
leave theta non-finite (losses near the float limit) is not taken.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .base import Optimizer, OptimizerConfig


@dataclasses.dataclass(frozen=True)
class SPSAConfig(OptimizerConfig):
    """Options of :class:`SPSA`.

    Attributes:
        batch_size: evaluations per ``ask``; must be even (``batch_size / 2`` averaged pairs).
        a: step gain numerator; ``None`` = calibrate from the first gradient (``first_step``).
        first_step: mean per-coordinate size of the first step when ``a`` is calibrated.
        c: perturbation size numerator (``c_0``); about the noise / sigma scale of the problem.
        A: stability constant; ``None`` = 10 % of ``expected_iters``.
        alpha: decay exponent of ``a_k`` (Spall's practical value 0.602).
        gamma: decay exponent of ``c_k`` (Spall's practical value 0.101).
        expected_iters: iterations the run is expected to last (only sets the default ``A``);
            ``None`` = ``budget // 2`` in a run with a budget (:meth:`for_budget`), else 1000.
    """

    batch_size: int = 2
    a: float | None = None
    first_step: float = 0.05
    c: float = 0.1
    A: float | None = None
    alpha: float = 0.602
    gamma: float = 0.101
    expected_iters: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 2 or self.batch_size % 2:
            raise ValueError(f"batch_size must be even and >= 2, got {self.batch_size}")
        if self.a is not None and not self.a > 0:
            raise ValueError(f"a must be > 0 or None (calibrated), got {self.a}")
        for name in ("first_step", "c"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.A is not None and not self.A >= 0:
            raise ValueError(f"A must be >= 0 or None, got {self.A}")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if not 0 <= self.gamma < 0.5:
            raise ValueError(f"gamma must be in [0, 0.5), got {self.gamma}")
        if self.expected_iters is not None and self.expected_iters < 1:
            raise ValueError(f"expected_iters must be >= 1 or None, got {self.expected_iters}")

    def for_budget(self, budget: int) -> SPSAConfig:
        """``expected_iters = budget // 2`` (two evaluations per iteration) unless it is set."""
        if self.expected_iters is not None:
            return self
        return dataclasses.replace(self, expected_iters=max(1, budget // 2))


class SPSA(Optimizer):
    """Spall's SPSA with averaged Rademacher pairs; recommendation = ``theta``."""

    config_cls = SPSAConfig
    config: SPSAConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        cfg = self.config
        self.theta = self.x0.copy()
        expected_iters = 1000 if cfg.expected_iters is None else cfg.expected_iters
        self.A = 0.1 * expected_iters if cfg.A is None else float(cfg.A)
        self.a = cfg.a  # None until calibrated
        self.k = 0  # SPSA iteration index (gain sequences)
        self._delta: np.ndarray | None = None  # Rademacher directions of the pending batch

    def gains(self, k: int) -> tuple[float | None, float]:
        """``(a_k, c_k)`` of iteration ``k`` (``a_k`` is ``None`` before calibration)."""
        cfg = self.config
        c_k = cfg.c / (k + 1) ** cfg.gamma
        a_k = None if self.a is None else self.a / (self.A + k + 1) ** cfg.alpha
        return a_k, c_k

    def _ask(self) -> np.ndarray:
        m = self.config.batch_size // 2
        self._delta = self.rng.choice(np.array([-1.0, 1.0]), size=(m, self.dim))
        step = self.gains(self.k)[1] * self._delta
        return self.project(np.concatenate([self.theta + step, self.theta - step]))

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        cfg = self.config
        m = self._delta.shape[0]
        _, c_k = self.gains(self.k)
        with np.errstate(over="ignore", invalid="ignore"):  # losses near the float limit
            grad = ((losses[:m] - losses[m:]) / (2.0 * c_k)) @ self._delta / m
            grad_norm = float(np.linalg.norm(grad))
        self._delta = None
        if self.a is None:
            scale = float(np.mean(np.abs(grad)))
            if scale > 0 and np.isfinite(scale):
                self.a = cfg.first_step * (self.A + 1) ** cfg.alpha / scale
        a_k, _ = self.gains(self.k)
        if a_k is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                theta = self.project(self.theta - a_k * grad)
            if np.isfinite(theta).all():  # a step that overflows is not taken
                self.theta = theta
                self.k += 1  # the gain sequences only advance once steps are being taken
        self.metrics.update(a_k=float(a_k or 0.0), c_k=c_k, grad_norm=grad_norm)

    def _recommendation(self) -> np.ndarray:
        return self.theta

    def _state(self) -> dict[str, Any]:
        return {
            "theta": self.theta.copy(),
            "a": self.a,
            "k": self.k,
            "delta": None if self._delta is None else self._delta.copy(),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.theta = np.array(state["theta"], dtype=np.float64)
        self.a = None if state["a"] is None else float(state["a"])
        self.k = int(state["k"])
        self._delta = None if state["delta"] is None else np.array(state["delta"], np.float64)
