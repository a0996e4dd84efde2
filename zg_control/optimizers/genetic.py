"""A real-valued genetic algorithm: tournament selection, crossover, Gaussian mutation, elitism.

Generation ``g`` (one ``ask``/``tell``) evaluates ``batch_size`` new children. Parents are chosen
by ``tournament_size``-way tournaments from the *pool*: the last generation plus the ``elite``
best individuals carried over (with their losses, not re-evaluated, so no evaluation is spent
twice; the pool therefore has ``batch_size + elite`` members from the second generation on).
With probability ``crossover_rate`` a child is a crossover of two parents, otherwise a copy of
the first:

- ``"blend"``: BLX-alpha (Eshelman & Schaffer 1993), ``child = p1 + u (p2 - p1)`` with
  ``u ~ U(-alpha, 1 + alpha)`` per gene; its spread shrinks with the population's.
- ``"uniform"``: each gene from either parent with probability 1/2.

Each gene is then mutated with probability ``mutation_rate`` by ``N(0, sigma_g^2)``,
``sigma_g = sigma * sigma_decay^g``. The first generation is ``x0`` plus ``batch_size - 1``
points ``x0 + sigma * N(0, I)``. The recommendation is the best individual seen.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .base import Optimizer, OptimizerConfig

_CROSSOVERS = ("blend", "uniform")


@dataclasses.dataclass(frozen=True)
class GeneticConfig(OptimizerConfig):
    """Options of :class:`GeneticAlgorithm` (registry name ``"ga"``).

    Attributes:
        batch_size: children per generation (the population size).
        sigma: spread of the initial population and std of the Gaussian mutation.
        sigma_decay: geometric decay of the mutation std per generation, in ``(0, 1]``.
        mutation_rate: probability that a gene is mutated; ``None`` = ``1 / d``.
        crossover: ``"blend"`` (BLX-alpha) or ``"uniform"``.
        crossover_rate: probability that a child comes from crossover rather than a copy.
        blend_alpha: the ``alpha`` of BLX-alpha.
        tournament_size: competitors per tournament (selection pressure).
        elite: best individuals carried into the next pool unchanged.
    """

    batch_size: int = 16
    sigma: float = 0.1
    sigma_decay: float = 1.0
    mutation_rate: float | None = None
    crossover: str = "blend"
    crossover_rate: float = 0.9
    blend_alpha: float = 0.5
    tournament_size: int = 3
    elite: int = 2

    def __post_init__(self) -> None:
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {self.batch_size}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if not 0 < self.sigma_decay <= 1:
            raise ValueError(f"sigma_decay must be in (0, 1], got {self.sigma_decay}")
        if self.mutation_rate is not None and not 0 <= self.mutation_rate <= 1:
            raise ValueError(f"mutation_rate must be in [0, 1] or None, got {self.mutation_rate}")
        if self.crossover not in _CROSSOVERS:
            raise ValueError(
                f"crossover must be one of {', '.join(_CROSSOVERS)}, got {self.crossover!r}"
            )
        if not 0 <= self.crossover_rate <= 1:
            raise ValueError(f"crossover_rate must be in [0, 1], got {self.crossover_rate}")
        if not self.blend_alpha >= 0:
            raise ValueError(f"blend_alpha must be >= 0, got {self.blend_alpha}")
        if self.tournament_size < 1:
            raise ValueError(f"tournament_size must be >= 1, got {self.tournament_size}")
        if not 0 <= self.elite < self.batch_size:
            raise ValueError(f"elite must be in [0, batch_size), got {self.elite}")


class GeneticAlgorithm(Optimizer):
    """Real-coded GA with BLX/uniform crossover and elitism; recommendation = best seen."""

    config_cls = GeneticConfig
    config: GeneticConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        self.pool_x = np.empty((0, self.dim))  # Shape (m, d): parents of the next generation
        self.pool_f = np.empty(0)  # Shape (m,)
        self.generation = 0

    @property
    def mutation_sigma(self) -> float:
        return self.config.sigma * self.config.sigma_decay**self.generation

    def _ask(self) -> np.ndarray:
        cfg = self.config
        n, d = cfg.batch_size, self.dim
        if self.pool_f.size == 0:  # first generation: x0 and a Gaussian cloud around it
            noise = self.rng.standard_normal((n, d))
            noise[0] = 0.0
            return self.project(self.x0 + cfg.sigma * noise)
        parents = self._tournament(2 * n)
        p1, p2 = self.pool_x[parents[:n]], self.pool_x[parents[n:]]
        if cfg.crossover == "blend":
            u = self.rng.uniform(-cfg.blend_alpha, 1.0 + cfg.blend_alpha, size=(n, d))
            crossed = p1 + u * (p2 - p1)
        else:
            crossed = np.where(self.rng.random((n, d)) < 0.5, p1, p2)
        do_cross = self.rng.random(n) < cfg.crossover_rate
        children = np.where(do_cross[:, None], crossed, p1)
        rate = 1.0 / d if cfg.mutation_rate is None else cfg.mutation_rate
        mutate = self.rng.random((n, d)) < rate
        children = children + mutate * (self.mutation_sigma * self.rng.standard_normal((n, d)))
        return self.project(children)

    def _tournament(self, k: int) -> np.ndarray:
        """Indices into the pool of ``k`` tournament winners. Shape ``(k,)``."""
        m = self.pool_f.size
        entrants = self.rng.integers(0, m, size=(k, self.config.tournament_size))
        winner = np.argmin(self.pool_f[entrants], axis=1)
        return entrants[np.arange(k), winner]

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        elite = np.argsort(self.pool_f, kind="stable")[: self.config.elite]
        self.pool_x = np.concatenate([X, self.pool_x[elite]])
        self.pool_f = np.concatenate([losses, self.pool_f[elite]])
        self.generation += 1
        self.metrics["mutation_sigma"] = self.mutation_sigma

    def _state(self) -> dict[str, Any]:
        return {
            "pool_x": self.pool_x.copy(),
            "pool_f": self.pool_f.copy(),
            "generation": self.generation,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.pool_x = np.array(state["pool_x"], dtype=np.float64).reshape(-1, self.dim)
        self.pool_f = np.array(state["pool_f"], dtype=np.float64)
        self.generation = int(state["generation"])
