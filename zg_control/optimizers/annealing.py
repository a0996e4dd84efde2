"""Simulated annealing (Kirkpatrick, Gelatt & Vecchi 1983) with Gaussian proposals, batched.

One chain. Each ``ask`` proposes ``batch_size`` candidates ``x + step * N(0, I)`` around the
current state ``x``; after evaluation the best candidate ``y`` is accepted with the Metropolis
rule ``P = min(1, exp(-(f(y) - f(x)) / T))``. ``batch_size = 1`` is textbook SA; a larger batch
makes every move the best of ``n`` proposals. We chose this over ``n`` independent chains
because at a fixed budget each of those would get only ``budget / n`` steps, while one chain
with best-of-``n`` moves keeps its full length in iterations and uses the batch to move better.
The first batch has no state to compare with: its best candidate becomes the state.

Temperature: geometric ``T_k = T0 * cooling^k`` (default 0.97: ``T`` falls by 1e-4 over 300
iterations, i.e. 5 000 evaluations at the default batch of 16). ``T0 = None`` picks it from the
first observed loss spread, ``T0 = mean(uphill differences) / ln(1 / initial_accept)`` (the usual
rule that an average uphill move is accepted with probability ``initial_accept`` at the start).

Step size: if ``target_accept`` is set, ``step`` is adapted after every iteration as
``step *= exp(adapt_rate * (accepted - target_accept))`` (a Robbins-Monro rule that keeps the
acceptance rate near the target; it also shrinks the step as the chain converges).

The recommendation is the best point seen (the chain's state may be worse after uphill moves).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .base import Optimizer, OptimizerConfig


@dataclasses.dataclass(frozen=True)
class AnnealingConfig(OptimizerConfig):
    """Options of :class:`SimulatedAnnealing` (registry name ``"sa"``).

    Attributes:
        batch_size: candidates proposed per ``ask`` (the best one faces the Metropolis test).
        step: initial standard deviation of the Gaussian proposal.
        target_accept: acceptance rate the step size is adapted to; ``None`` = fixed step.
        adapt_rate: log-step change per iteration in the adaptation rule.
        T0: initial temperature (loss units); ``None`` = chosen from the first loss spread.
        initial_accept: acceptance probability of an average uphill move when ``T0 = None``.
        cooling: geometric cooling factor per iteration, in ``(0, 1]``.
    """

    batch_size: int = 16
    step: float = 0.1
    target_accept: float | None = 0.3
    adapt_rate: float = 0.1
    T0: float | None = None
    initial_accept: float = 0.5
    cooling: float = 0.97

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.step > 0:
            raise ValueError(f"step must be > 0, got {self.step}")
        if self.target_accept is not None and not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1) or None, got {self.target_accept}")
        if not self.adapt_rate > 0:
            raise ValueError(f"adapt_rate must be > 0, got {self.adapt_rate}")
        if self.T0 is not None and not self.T0 > 0:
            raise ValueError(f"T0 must be > 0 or None (automatic), got {self.T0}")
        if not 0 < self.initial_accept < 1:
            raise ValueError(f"initial_accept must be in (0, 1), got {self.initial_accept}")
        if not 0 < self.cooling <= 1:
            raise ValueError(f"cooling must be in (0, 1], got {self.cooling}")


class SimulatedAnnealing(Optimizer):
    """Single-chain SA with best-of-batch Metropolis moves; recommendation = best seen."""

    config_cls = AnnealingConfig
    config: AnnealingConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        self.x = self.x0.copy()
        self.fx = float("nan")  # loss of the state; NaN until the first batch is told
        self.step = float(self.config.step)
        self.T0 = self.config.T0
        self.k = 0  # iterations with a defined temperature (cooling clock)
        self.n_accepted = 0

    @property
    def temperature(self) -> float:
        """Current temperature ``T0 * cooling^k`` (``inf`` while ``T0`` is not yet known)."""
        return float("inf") if self.T0 is None else self.T0 * self.config.cooling**self.k

    def _ask(self) -> np.ndarray:
        noise = self.rng.standard_normal((self.config.batch_size, self.dim))
        return self.project(self.x + self.step * noise)

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        cfg = self.config
        i = int(np.argmin(losses))
        if math.isnan(self.fx):  # first batch: its best candidate becomes the state
            self._maybe_set_t0(losses, float(losses[i]))
            self.x, self.fx = X[i].copy(), float(losses[i])
            self._report(accepted=True)
            return
        self._maybe_set_t0(losses, self.fx)
        delta = float(losses[i]) - self.fx
        u = self.rng.random()  # always drawn, so the stream does not depend on the outcome
        T = self.temperature
        accepted = delta <= 0 or (self.T0 is not None and T > 0 and u < math.exp(-delta / T))
        if accepted:
            self.x, self.fx = X[i].copy(), float(losses[i])
            self.n_accepted += 1
        if cfg.target_accept is not None:
            self.step *= math.exp(cfg.adapt_rate * (float(accepted) - cfg.target_accept))
        if self.T0 is not None:
            self.k += 1
        self._report(accepted)

    def _report(self, accepted: bool) -> None:
        self.metrics.update(
            temperature=self.temperature, step=self.step, accepted=float(accepted), fx=self.fx
        )

    def _maybe_set_t0(self, losses: np.ndarray, reference: float) -> None:
        """Set ``T0`` from the uphill differences to ``reference`` once there are any."""
        if self.T0 is not None:
            return
        uphill = losses[losses > reference] - reference
        if uphill.size:
            self.T0 = float(uphill.mean()) / math.log(1.0 / self.config.initial_accept)

    def _state(self) -> dict[str, Any]:
        return {
            "x": self.x.copy(),
            "fx": self.fx,
            "step": self.step,
            "T0": self.T0,
            "k": self.k,
            "n_accepted": self.n_accepted,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.x = np.array(state["x"], dtype=np.float64)
        self.fx = float(state["fx"])
        self.step = float(state["step"])
        self.T0 = None if state["T0"] is None else float(state["T0"])
        self.k = int(state["k"])
        self.n_accepted = int(state["n_accepted"])
