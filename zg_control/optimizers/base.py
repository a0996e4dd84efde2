"""The ask/tell contract and the bookkeeping every optimizer shares.

An optimizer proposes a batch with :meth:`Optimizer.ask` and learns from its losses in
:meth:`Optimizer.tell`. The base class validates inputs, counts evaluations, tracks the best
point seen, and replaces non-finite losses by the worst finite loss seen so far (so NaN/inf is
never reported as best and never poisons an update); each algorithm writes only ``_ask`` and
``_tell`` (cf. evosax's strategy template).

The rule of ``tell``: it takes exactly the rows of the latest ``ask``, each once, in any order
(the base class hands them to the method in the order asked), and each ``ask`` is told at most
once. Every method can honour that (pycma needs its whole population, the antithetic and SPSA
estimators the pairs they drew); anything else is a ``ValueError``. A batch that has not been
told yet is part of :meth:`Optimizer.state_dict`, so it can be told after a resume.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """Options shared by every method; each method's config subclasses this.

    Sigma-like defaults are in parameter units, chosen for open-loop controls in ``[-1, 1]``.
    """

    def for_budget(self, budget: int) -> OptimizerConfig:
        """This config with the defaults that depend on the run's evaluation ``budget`` filled
        in (e.g. SPSA's expected iteration count); options already set are kept."""
        del budget
        return self


def validate_x0(x0: Any) -> np.ndarray:
    """Return ``x0`` as a float64 copy of shape ``(d,)`` or raise ``ValueError``."""
    try:
        x = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"x0 must be a 1-D array of numbers, got {type(x0).__name__}") from err
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x0 must be a non-empty 1-D array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite (it contains NaN or inf)")
    return x


def validate_seed(seed: Any) -> int:
    """Return ``seed`` as an ``int >= 0`` or raise ``ValueError``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}; pass e.g. seed=0")
    return int(seed)


def validate_bounds(bounds: Any, d: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Return ``(lower (d,), upper (d,))`` or ``None``; scalars broadcast."""
    if bounds is None:
        return None
    try:
        lo, hi = bounds
        lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (d,)).copy()
        hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (d,)).copy()
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"bounds must be a pair (lower, upper) of scalars or arrays of shape ({d},)"
        ) from err
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo >= hi):
        raise ValueError("bounds must satisfy lower < upper in every coordinate")
    return lo, hi


class Optimizer(ABC):
    """Template for batched black-box minimizers of ``f: (n, d) -> (n,)``.

    Args:
        x0: starting point, shape ``(d,)``.
        config: the method's frozen config dataclass.
        seed: seeds the optimizer's own generator (no global RNG is touched).
        bounds: optional box ``(lower, upper)``, each a scalar or shape ``(d,)``; an ``x0``
            outside it starts from its projection onto the box (``clip``). Every method asks
            only for rows inside the box (so its best point lies in it), and this project's
            methods recommend a point inside it.
    """

    config_cls: ClassVar[type[OptimizerConfig]] = OptimizerConfig

    def __init__(
        self,
        x0: Any,
        config: OptimizerConfig | None = None,
        seed: int = 0,
        bounds: Any = None,
    ) -> None:
        self.x0 = validate_x0(x0)
        self.dim = self.x0.size
        self.config = config if config is not None else self.config_cls()
        if not isinstance(self.config, self.config_cls):
            raise ValueError(
                f"{type(self).__name__} needs a {self.config_cls.__name__}, "
                f"got {type(self.config).__name__}"
            )
        self.seed = validate_seed(seed)
        self.bounds = validate_bounds(bounds, self.dim)
        if self.bounds is not None:
            self.x0 = self.project(self.x0)
        self.rng = np.random.default_rng(self.seed)
        self.n_evals = 0
        self.n_iters = 0
        self.best_x = self.x0.copy()
        self.best_loss = float("inf")
        self.worst_loss = -float("inf")
        self.metrics: dict[str, float] = {}
        self.last_finite = np.ones(0, dtype=bool)
        self._asked: np.ndarray | None = None  # the batch of the latest ask, until told

    @property
    def batch_size(self) -> int:
        """Rows of every :meth:`ask`."""
        return int(self.config.batch_size)

    # ----------------------------------------------------------------- contract
    def ask(self) -> np.ndarray:
        """Propose the next batch. Returns shape ``(n, d)``."""
        X = np.asarray(self._ask(), dtype=np.float64).reshape(-1, self.dim)
        self._asked = X.copy()
        return X

    def tell(self, X: Any, losses: Any) -> None:
        """Learn from ``losses (n,)`` (NaN/inf allowed) of ``X (n, d)``, the rows of the latest
        :meth:`ask` in any order (the module docstring's rule; ``ValueError`` otherwise)."""
        X = np.asarray(X, dtype=np.float64)
        losses = np.asarray(losses, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"tell: X must have shape (n, {self.dim}), got {X.shape}")
        if losses.shape != (X.shape[0],):
            raise ValueError(
                f"tell: losses must have shape ({X.shape[0]},) to match X, got {losses.shape}"
            )
        X, losses = self._as_asked(X, losses)
        self._asked = None
        finite = np.isfinite(losses)
        self.n_evals += X.shape[0]
        self.n_iters += 1
        if finite.any():
            i = int(np.argmin(np.where(finite, losses, np.inf)))
            if losses[i] < self.best_loss:
                self.best_loss = float(losses[i])
                self.best_x = X[i].copy()
            self.worst_loss = max(self.worst_loss, float(losses[finite].max()))
        self.metrics = {"n_nonfinite": float((~finite).sum())}
        if not finite.any() and not np.isfinite(self.worst_loss):
            return  # nothing usable has been seen yet: no update
        clean = np.where(finite, losses, self.worst_loss)
        self.last_finite = finite  # methods that prefer to drop bad rows can read the mask
        self._tell(X, clean)

    def _as_asked(self, X: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``X (n, d)`` and ``losses (n,)`` in the order of the latest ask, or ``ValueError``
        if ``X`` is not a permutation of its rows."""
        asked = self._asked
        if asked is not None and asked.shape == X.shape:
            if np.array_equal(X, asked):
                return X, losses
            by_x, by_asked = np.lexsort(X.T[::-1]), np.lexsort(asked.T[::-1])
            if np.array_equal(X[by_x], asked[by_asked]):
                perm = np.empty(len(X), dtype=np.int64)
                perm[by_asked] = by_x  # asked row by_asked[i] is X row by_x[i]
                return X[perm], losses[perm]
        if asked is None:
            got = "no ask() pending (each ask is told once)"
        elif len(X) != len(asked):
            got = f"{len(X)} rows for the {len(asked)} asked"
        else:
            got = "rows that were not asked"
        raise ValueError(
            f"tell: X must be exactly the rows of the latest ask(), in any order; got {got}. "
            "Call ask() before every tell() and pass all its rows back"
        )

    @property
    def recommendation(self) -> np.ndarray:
        """The current best guess, shape ``(d,)`` (the mean / theta for most methods)."""
        return np.array(self._recommendation(), dtype=np.float64)

    # ------------------------------------------------------------- per method
    @abstractmethod
    def _ask(self) -> np.ndarray:
        """Return the batch to evaluate, shape ``(n, d)``."""

    @abstractmethod
    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        """Update from finite ``losses (n,)`` of ``X (n, d)``."""

    def _recommendation(self) -> np.ndarray:
        return self.best_x

    # ---------------------------------------------------------------- helpers
    def project(self, x: np.ndarray) -> np.ndarray:
        """Clip ``x`` (shape ``(..., d)``) onto the box bounds, if any."""
        if self.bounds is None:
            return x
        return np.clip(x, self.bounds[0], self.bounds[1])

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically (numpy arrays, scalars, dicts)."""
        return {
            "method": type(self).__name__,
            "dim": self.dim,
            "rng": self.rng.bit_generator.state,
            "n_evals": self.n_evals,
            "n_iters": self.n_iters,
            "best_x": self.best_x.copy(),
            "best_loss": self.best_loss,
            "worst_loss": self.worst_loss,
            "asked": None if self._asked is None else self._asked.copy(),
            "algo": self._state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; ``ValueError`` if it belongs to another method or size."""
        if state.get("method") != type(self).__name__ or state.get("dim") != self.dim:
            raise ValueError(
                f"state is for {state.get('method')} with d={state.get('dim')}, "
                f"not {type(self).__name__} with d={self.dim}"
            )
        self.rng.bit_generator.state = state["rng"]
        self.n_evals = int(state["n_evals"])
        self.n_iters = int(state["n_iters"])
        self.best_x = np.array(state["best_x"], dtype=np.float64)
        self.best_loss = float(state["best_loss"])
        self.worst_loss = float(state["worst_loss"])
        asked = state.get("asked")
        self._asked = None if asked is None else np.array(asked, dtype=np.float64)
        self._load_state(state["algo"])

    def _state(self) -> dict[str, Any]:
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        del state
