"""The cmaes package's SepCMA and Nevergrad's NGOpt as peer methods (see :mod:`.` for how
each is driven)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..base import OptimizerConfig
from .adapter import PeerOptimizer, check_batch


@dataclasses.dataclass(frozen=True)
class SepCMAConfig(OptimizerConfig):
    """Options of :class:`SepCMA`.

    Attributes:
        sigma: initial step size.
        batch_size: ``population_size``; ``None`` = the library's ``4 + floor(3 ln d)``.
    """

    sigma: float = 0.1
    batch_size: int | None = None

    def __post_init__(self) -> None:
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        check_batch(self.batch_size)


class SepCMA(PeerOptimizer):
    """The cmaes package's SepCMA (separable CMA-ES, Ros & Hansen 2008); recommends its mean."""

    config_cls = SepCMAConfig
    config: SepCMAConfig
    name, library = "cmaes-sepcma", "cmaes"

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        box = None if self.bounds is None else np.stack(self.bounds, axis=1)  # (d, 2)
        self.es = self.lib.SepCMA(
            mean=self.x0.copy(),
            sigma=self.config.sigma,
            bounds=box,
            seed=self.seed,
            population_size=self.config.batch_size,
        )

    @property
    def batch_size(self) -> int:
        return int(self.es.population_size)

    def _draw(self) -> np.ndarray:
        return np.array([self.es.ask() for _ in range(self.batch_size)])

    def _update(self, X: np.ndarray, losses: np.ndarray) -> None:
        self.es.tell(list(zip(X.copy(), losses.tolist(), strict=True)))

    def _recommendation(self) -> np.ndarray:
        return self.es.mean


@dataclasses.dataclass(frozen=True)
class NGOptConfig(OptimizerConfig):
    """Options of :class:`NGOpt`.

    Attributes:
        sigma: mutation scale of the parametrization (``ng.p.Array.set_mutation``), the unit of
            the step of whatever algorithm NGOpt picks.
        num_workers: candidates asked per batch; 1 = sequential (see the module's docstring on
            why more fail for bounded problems of d >= 300).
        budget: the evaluations NGOpt plans for (it picks its algorithm by it); ``None`` = the
            run's budget less the one ``zg.minimize`` keeps to measure the recommendation, so
            the scipy-based algorithms NGOpt may pick, which run in a thread of their own until
            they have spent their budget, end with the run (a live one keeps the interpreter
            from exiting).
    """

    sigma: float = 0.1
    num_workers: int = 1
    budget: int | None = None

    def __post_init__(self) -> None:
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if self.num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {self.num_workers}")
        if self.budget is not None and self.budget < 1:
            raise ValueError(f"budget must be >= 1 or None, got {self.budget}")

    def for_budget(self, budget: int) -> NGOptConfig:
        if self.budget is not None:
            return self
        return dataclasses.replace(self, budget=max(1, budget - 1))


class NGOpt(PeerOptimizer):
    """Nevergrad's NGOpt, which picks its algorithm by d, budget, bounds and num_workers.

    Recommends ``recommend()``."""

    config_cls = NGOptConfig
    config: NGOptConfig
    name, library = "nevergrad-ngopt", "nevergrad"

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        param = self.lib.p.Array(init=self.x0.copy()).set_mutation(sigma=self.config.sigma)
        if self.bounds is not None:
            param.set_bounds(self.bounds[0], self.bounds[1])
        param.random_state = np.random.RandomState(self.seed)
        self.ng = self.lib.optimizers.NGOpt(
            parametrization=param, budget=self.config.budget, num_workers=self.config.num_workers
        )
        self._candidates: list[Any] = []

    @property
    def batch_size(self) -> int:
        return self.config.num_workers

    @property
    def choice(self) -> str:
        """The algorithm NGOpt picked, e.g. ``"CMA -> CMAbounded"``."""
        names, opt = [], self.ng
        while hasattr(opt, "optim"):
            opt = opt.optim
            names.append(getattr(opt, "name", type(opt).__name__))
        return " -> ".join(names)

    def _draw(self) -> np.ndarray:
        try:
            self._candidates = [self.ng.ask() for _ in range(self.batch_size)]
        except (RuntimeError, TypeError) as err:
            raise RuntimeError(self._failure(str(err))) from err
        return np.array([c.value for c in self._candidates], dtype=np.float64)

    def _failure(self, error: str) -> str:
        """What went wrong inside NGOpt's ``ask`` (the two failures seen with nevergrad 1.0.12)."""
        if "Mean shift samples" in error:
            why = (
                "its TPA step-size rule breaks on batched asks ('Mean shift samples are expected "
                "but missing', nevergrad issue #1690); use num_workers=1"
            )
        elif "0-dimensional arrays" in error:
            why = (
                f"its meta-model step calls float() on a 1-element array, which NumPy "
                f"{np.__version__} rejects (deprecated since NumPy 1.25)"
            )
        else:
            why = error
        return (
            f"nevergrad-ngopt at d={self.dim}, num_workers={self.batch_size}, budget="
            f"{self.config.budget}: NGOpt picked {self.choice}, whose ask() failed: {why}"
        )

    def _update(self, X: np.ndarray, losses: np.ndarray) -> None:
        for candidate, loss in zip(self._candidates, losses.tolist(), strict=True):
            self.ng.tell(candidate, loss)  # in ask order: pycma's TPA needs its first two first
        self._candidates = []

    def _recommendation(self) -> np.ndarray:
        return np.asarray(self.ng.recommend().value, dtype=np.float64)
