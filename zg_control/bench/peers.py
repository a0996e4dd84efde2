"""The libraries a user would pick instead, as optional comparison methods (extra ``[peers]``).

Each peer drives its library through the library's own public ask/tell behind the contract of
:class:`~zg_control.optimizers.base.Optimizer`, so ``zg.minimize`` and the comparison runner run
it like any method: every row it asks is evaluated and charged, ``recommendation`` is the point
the library recommends, ``best_x`` the best episode seen. :data:`PEERS` names them:

- ``cmaes-sepcma``: ``SepCMA.ask()`` once per row of a population (``4 + floor(3 ln d)``),
  ``tell([(x, loss), ...])``; ``sigma`` is its initial step; bounds its own; recommends its mean.
- ``nevergrad-ngopt``: ``NGOpt.ask()`` ``num_workers`` times (default 1), ``tell(candidate, loss)``
  in ask order; ``sigma`` is the mutation scale of ``ng.p.Array(init=x0)``, bounds by
  ``set_bounds``, ``budget`` the run's (NGOpt picks its algorithm by it); recommends
  ``recommend()``.
- ``evotorch-pgpe``, ``evotorch-snes``: ``searcher.step()`` and ``population.set_evals`` (EvoTorch
  has no ask/tell methods, see :mod:`.peers_evotorch`); ``sigma`` is ``stdev_init``; recommends
  the center.

(the EvoTorch adapters are in :mod:`.peers_evotorch`, imported through this module). Randomness
comes from each library's own seeded generator (cmaes: ``seed``; nevergrad: the parametrization's
``random_state``; EvoTorch: the problem's ``torch.Generator``); no global RNG is seeded. ``ask``
returns the same rows until they are told (the base class hands them back in ask order), so a
library is never asked twice without a tell. The libraries export no state that resumes
bit-identically, so peers refuse ``state_dict``.

NGOpt and batches: with ``num_workers = n > 1`` (``ask`` n times, then tell them, as nevergrad's
docs describe batches) NGOpt picks, for a bounded problem of d >= 300, a diagonal elitist CMA
("CMAbounded") with pycma's two-point step-size adaptation (TPA) and a population of
``max(n + 1, 4 + ln d)``, not a multiple of n; the batches drift out of step with pycma's
generations and ``ask`` raises "Mean shift samples are expected but missing" (nevergrad issue
#1690; at d = 300 with n = 2 after 44 evaluations). The default is therefore ``num_workers=1``,
the sequential use every nevergrad optimizer supports (one row per ask, told before the next).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import types
from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..optimizers.base import Optimizer, OptimizerConfig

INSTALL_HINT = "pip install zg_control[peers]"


class MissingPeerLibrary(ImportError):
    """A peer method's library is not installed (the message names it and the install)."""


def missing_message(method: str, library: str) -> str:
    return f"peer method {method!r} needs {library}: {INSTALL_HINT}"


def require(method: str, library: str) -> types.ModuleType:
    """Import ``library`` for peer ``method``; :class:`MissingPeerLibrary` if it is missing."""
    try:
        return importlib.import_module(library)
    except ImportError as err:
        raise MissingPeerLibrary(missing_message(method, library)) from err


class PeerOptimizer(Optimizer):
    """A library's optimizer behind the contract: ``_draw`` asks it for a batch, ``_update``
    tells it the losses of exactly that batch."""

    name: ClassVar[str]
    library: ClassVar[str]

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        self.lib = require(self.name, self.library)
        self._pending: np.ndarray | None = None

    @abstractmethod
    def _draw(self) -> np.ndarray:
        """Ask the library for its next batch. Shape ``(n, d)``."""

    @abstractmethod
    def _update(self, X: np.ndarray, losses: np.ndarray) -> None:
        """Tell the library ``losses (n,)`` of its batch ``X (n, d)``."""

    def _ask(self) -> np.ndarray:
        if self._pending is None:
            self._pending = self._draw()
        return self._pending

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        self._pending = None  # the base class checked that X is that batch, in ask order
        self._update(X, losses)

    def state_dict(self) -> dict[str, Any]:
        raise ValueError(
            f"{self.name} cannot be checkpointed: {self.library} exports no state that resumes "
            "bit-identically; run it without checkpoints"
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state_dict()


def _check_batch(batch: int | None, minimum: int = 2) -> None:
    if batch is not None and batch < minimum:
        raise ValueError(f"batch_size must be >= {minimum} or None, got {batch}")


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
        _check_batch(self.batch_size)


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


from .peers_evotorch import PGPE, SNES, PGPEConfig, SNESConfig  # noqa: E402 (needs the base)

PEERS: dict[str, tuple[type[Optimizer], type[OptimizerConfig]]] = {
    "evotorch-pgpe": (PGPE, PGPEConfig),
    "evotorch-snes": (SNES, SNESConfig),
    "nevergrad-ngopt": (NGOpt, NGOptConfig),
    "cmaes-sepcma": (SepCMA, SepCMAConfig),
}


def missing_peer(name: str) -> str | None:
    """The message for peer ``name`` if its library is not installed, else ``None`` (checked
    without importing it)."""
    library = PEERS[name][0].library  # type: ignore[attr-defined]
    try:
        found = importlib.util.find_spec(library) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        found = False
    return None if found else missing_message(name, library)
