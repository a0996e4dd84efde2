"""Random search: the floor every method must beat.

Each batch is drawn independently around ``x0`` (Gaussian with ``sigma``), or uniformly inside the
box when bounds are given and ``uniform=True``. With ``around_best=True`` it becomes a (1+n)
random local search that re-centres on the best point so far.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .base import Optimizer, OptimizerConfig


@dataclasses.dataclass(frozen=True)
class RandomSearchConfig(OptimizerConfig):
    """Options of :class:`RandomSearch`.

    Attributes:
        batch_size: samples per ``ask``.
        sigma: standard deviation of the Gaussian around the centre.
        uniform: sample uniformly inside the bounds instead (needs bounds).
        around_best: centre the Gaussian on the best point so far instead of ``x0``.
    """

    batch_size: int = 16
    sigma: float = 0.3
    uniform: bool = False
    around_best: bool = False

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")


class RandomSearch(Optimizer):
    """Independent random samples; the recommendation is the best one seen."""

    config_cls = RandomSearchConfig
    config: RandomSearchConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        if self.config.uniform and self.bounds is None:
            raise ValueError("random search with uniform=True needs bounds=(lower, upper)")

    def _ask(self) -> np.ndarray:
        n, d = self.config.batch_size, self.dim
        if self.config.uniform:
            lo, hi = self.bounds
            return self.rng.uniform(lo, hi, size=(n, d))
        centre = self.best_x if self.config.around_best else self.x0
        return self.project(centre + self.config.sigma * self.rng.standard_normal((n, d)))

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        """Nothing to learn: the base class keeps the best sample."""
