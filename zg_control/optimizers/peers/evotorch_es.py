"""EvoTorch's PGPE (with ClipUp) and SNES as peer methods (see :mod:`zg_control.optimizers.peers`).

EvoTorch's searchers have no ask/tell methods: ``searcher.step()`` updates the distribution from
the fitnesses of the current population, samples the next one and evaluates it through its
:class:`evotorch.Problem`. The adapter gives the searcher a problem whose evaluation leaves the
fitnesses unset; ``ask`` returns ``searcher.population.values`` and ``tell`` writes the losses
with ``population.set_evals`` and calls ``step()``. So EvoTorch runs its own update, defaults and
ranking unchanged, and every sample it draws is one charged episode. Samples outside the box
bounds are clipped before evaluation (EvoTorch's Gaussian searchers take no bounds) and told as
the losses of the samples drawn. The recommendation is the distribution's center
(``searcher.status["center"]``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
from abc import abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..base import OptimizerConfig
from .adapter import PeerOptimizer


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """EvoTorch's logger at WARNING inside (it logs each problem's dtype and device at INFO)."""
    log = logging.getLogger("evotorch")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def _check(sigma: float, batch: int | None) -> None:
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if batch is not None and batch < 2:
        raise ValueError(f"batch_size must be >= 2 or None, got {batch}")


@dataclasses.dataclass(frozen=True)
class SNESConfig(OptimizerConfig):
    """Options of :class:`SNES` (every other setting is EvoTorch's default: center learning
    rate 1, stdev learning rate ``0.2 (3 + ln d) / sqrt(d)``, NES ranking).

    Attributes:
        sigma: ``stdev_init``, the initial standard deviation of every coordinate.
        batch_size: ``popsize``; ``None`` = EvoTorch's ``4 + floor(3 ln d)``.
    """

    sigma: float = 0.1
    batch_size: int | None = None

    def __post_init__(self) -> None:
        _check(self.sigma, self.batch_size)


@dataclasses.dataclass(frozen=True)
class PGPEConfig(OptimizerConfig):
    """Options of :class:`PGPE` (symmetric sampling, centered ranking, ClipUp with momentum
    0.9 and ``max_speed = 2 lr``, stdev change capped at 20% per step: EvoTorch's defaults).

    Attributes:
        sigma: ``stdev_init``; the search radius is ``sigma sqrt(d)``.
        lr: ClipUp's ``center_learning_rate``; ``None`` = radius / 30, so ``max_speed`` = radius
            / 15, near the ratio of EvoTorch's published PGPE settings (radius 0.27, max_speed
            0.015).
        stdev_lr: ``stdev_learning_rate`` (0.1 in those settings).
        batch_size: ``popsize`` (even); ``None`` = ``4 + 3 ln d`` rounded up to even.
    """

    sigma: float = 0.1
    lr: float | None = None
    stdev_lr: float = 0.1
    batch_size: int | None = None

    def __post_init__(self) -> None:
        _check(self.sigma, self.batch_size)
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be > 0 or None, got {self.lr}")
        if not self.stdev_lr >= 0:
            raise ValueError(f"stdev_lr must be >= 0, got {self.stdev_lr}")
        if self.batch_size is not None and self.batch_size % 2:
            raise ValueError(f"batch_size must be even (PGPE samples pairs), got {self.batch_size}")


def _told_problem(evotorch: Any, dim: int, seed: int) -> Any:
    """An EvoTorch problem of ``dim`` float64 variables whose fitnesses come from ``tell``;
    its own ``torch.Generator`` seeded with ``seed`` draws every sample."""
    import torch

    class Told(evotorch.Problem):
        def _evaluate_batch(self, batch: Any) -> None:
            del batch  # the adapter's tell sets the fitnesses

    return Told(
        "min", solution_length=dim, dtype=torch.float64, seed=seed, store_solution_stats=False
    )


class _EvoTorchPeer(PeerOptimizer):
    library = "evotorch"

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        import torch

        self.torch = torch
        with _quiet():
            problem = _told_problem(self.lib, self.dim, self.seed)
            center = torch.from_numpy(self.x0.copy())
            self.searcher = self._searcher(self.lib.algorithms, problem, center)
            self.searcher.step()  # samples the first population

    @abstractmethod
    def _searcher(self, algorithms: Any, problem: Any, center: Any) -> Any:
        """The EvoTorch searcher on ``problem`` centred at ``center`` (a float64 tensor)."""

    @property
    def batch_size(self) -> int:
        return len(self.searcher.population)

    def _draw(self) -> np.ndarray:
        return self.project(self.searcher.population.values.numpy().copy())

    def _update(self, X: np.ndarray, losses: np.ndarray) -> None:
        self.searcher.population.set_evals(self.torch.from_numpy(losses.copy()))
        self.searcher.step()  # EvoTorch's update from these losses, then its next population

    def _recommendation(self) -> np.ndarray:
        return self.searcher.status["center"].numpy().copy()


class SNES(_EvoTorchPeer):
    """EvoTorch's SNES (separable natural evolution strategy, Schaul et al. 2011)."""

    config_cls = SNESConfig
    config: SNESConfig
    name = "evotorch-snes"

    def _searcher(self, algorithms: Any, problem: Any, center: Any) -> Any:
        cfg = self.config
        return algorithms.SNES(
            problem, center_init=center, stdev_init=cfg.sigma, popsize=cfg.batch_size
        )


class PGPE(_EvoTorchPeer):
    """EvoTorch's PGPE with the ClipUp optimizer (Sehnke et al. 2010; Toklu et al. 2020)."""

    config_cls = PGPEConfig
    config: PGPEConfig
    name = "evotorch-pgpe"

    def _searcher(self, algorithms: Any, problem: Any, center: Any) -> Any:
        cfg = self.config
        popsize = cfg.batch_size or 2 * math.ceil((4 + 3 * math.log(self.dim)) / 2)
        lr = cfg.lr if cfg.lr is not None else cfg.sigma * math.sqrt(self.dim) / 30
        return algorithms.PGPE(
            problem,
            popsize=popsize,
            center_learning_rate=lr,
            stdev_learning_rate=cfg.stdev_lr,
            stdev_init=cfg.sigma,
            center_init=center,
            optimizer="clipup",
        )
