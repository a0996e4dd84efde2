"""CMA-ES: a thin adapter over pycma (``cma.CMAEvolutionStrategy``, Hansen's reference code).

Nothing of the algorithm is re-implemented here; this file only maps the ask/tell contract onto
pycma and makes it reproducible and checkpointable:

- **Randomness.** pycma draws every normal variate through its ``randn`` option; we pass the
  optimizer's own seeded ``np.random.Generator`` there and ``seed=nan`` ("do nothing"), so the
  global ``np.random`` state is never seeded and runs are deterministic per ``seed``.
- **Quiet.** ``verbose=-9, verb_disp=0, verb_log=0``: no console output, no ``outcmaes/`` files.
- **Diagonal variant.** Full CMA costs O(d^2) memory and O(d^2)-O(d^3) time per iteration; above
  ``diagonal_above`` dimensions the separable variant (sep-CMA, pycma's ``CMA_diagonal=True``,
  Ros & Hansen 2008) is used unless ``diagonal`` forces either choice.
- **Checkpoints.** :meth:`_state` records every numeric attribute of pycma's object graph (mean,
  sigma, C or its diagonal, B, D, evolution paths, counters, ...) as numpy arrays / scalars under
  dotted paths; :meth:`_load_state` re-creates the ES from the same constructor arguments and
  writes them back (arrays keep their memory order: BLAS sums depend on it). A batch asked but
  not yet told is stored too. No pickle, no code is loaded, and continuation is bit-identical
  with the same pycma version (another version is refused with ``ValueError``). Full CMA
  checkpoints hold O(d^2) numbers (C and its eigenbasis B).

The recommendation is pycma's distribution mean in phenotype space (``es.result.xfavorite``,
which pycma's documentation calls the best available estimate), not the best sample seen (that
is ``best_x``).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any

import cma
import numpy as np

from .base import Optimizer, OptimizerConfig

# Attributes of the ES graph that are configuration, caches, loggers or archives, rebuilt by the
# constructor (or irrelevant to the search, like pycma's own best-so-far and timers).
_SKIP = frozenset(
    {
        "logger", "timer", "opts", "inopts", "inputargs", "sp", "sp0", "const", "gp",
        "callbackstop", "integer_centering", "_tell2_args", "sent_solutions", "archive",
        "_injected_solutions_archive", "_round_integer_variables", "more_to_write", "best",
        "_es_opts", "randn", "eigenmethod",
    }
)  # fmt: skip
_PLAIN = (bool, int, float, str, np.number, np.bool_, type(None))


@dataclasses.dataclass(frozen=True)
class CMAESConfig(OptimizerConfig):
    """Options of :class:`CMAES`.

    Attributes:
        batch_size: pycma's ``popsize`` (lambda); ``None`` = pycma's default ``4 + 3 ln d``.
        sigma: initial step size ``sigma0`` (same role as the smoothing sigma of the others).
        diagonal: ``True`` forces sep-CMA (diagonal covariance), ``False`` forces full CMA,
            ``None`` chooses diagonal when ``d > diagonal_above``.
        diagonal_above: dimension above which ``diagonal=None`` picks the diagonal variant.
    """

    batch_size: int | None = None
    sigma: float = 0.1
    diagonal: bool | None = None
    diagonal_above: int = 100

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size < 2:
            raise ValueError(f"batch_size (popsize) must be >= 2 or None, got {self.batch_size}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        if self.diagonal not in (None, True, False):
            raise ValueError(f"diagonal must be True, False or None (auto), got {self.diagonal}")
        if self.diagonal_above < 0:
            raise ValueError(f"diagonal_above must be >= 0, got {self.diagonal_above}")


class CMAES(Optimizer):
    """pycma's CMA-ES behind the ask/tell contract; recommendation = distribution mean."""

    config_cls = CMAESConfig
    config: CMAESConfig

    def __init__(self, x0, config=None, seed=0, bounds=None) -> None:
        super().__init__(x0, config, seed, bounds)
        cfg = self.config
        self.diagonal = cfg.diagonal if cfg.diagonal is not None else self.dim > cfg.diagonal_above
        self.es = self._make_es()
        self._pending: tuple[np.ndarray, np.ndarray] | None = None  # (pheno, geno) of last ask

    def _make_es(self) -> cma.CMAEvolutionStrategy:
        opts: dict[str, Any] = {
            "seed": np.nan,  # never touch np.random's global state
            "randn": self._randn,
            "CMA_diagonal": bool(self.diagonal),
            "verbose": -9,
            "verb_disp": 0,
            "verb_log": 0,
        }
        if self.config.batch_size is not None:
            opts["popsize"] = self.config.batch_size
        if self.bounds is not None:
            opts["bounds"] = [self.bounds[0].tolist(), self.bounds[1].tolist()]
        return cma.CMAEvolutionStrategy(self.x0.copy(), self.config.sigma, opts)

    @property
    def batch_size(self) -> int:
        """pycma's population size ``popsize`` (lambda)."""
        return int(self.es.popsize)

    def _randn(self, *shape: int) -> np.ndarray:
        """pycma's ``randn(lam, N)`` drawn from our generator. Shape ``shape``."""
        return self.rng.standard_normal(shape)

    def _ask(self) -> np.ndarray:
        pheno = self.es.ask()
        geno = [self.es.sent_solutions[x]["geno"] for x in pheno]
        self._pending = (np.array(pheno), np.array(geno))
        return self._pending[0]

    def _tell(self, X: np.ndarray, losses: np.ndarray) -> None:
        self.es.tell(list(X), losses.tolist())
        self._pending = None
        self.metrics.update(sigma=float(self.es.sigma), diagonal=float(self.diagonal))

    def _recommendation(self) -> np.ndarray:
        return self.es.to_phenotype(self.es.mean)

    # ------------------------------------------------------------------ state
    def _state(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        aliases: dict[str, str] = {}
        _snapshot(self.es, "", values, aliases, {})
        pending = None if self._pending is None else [a.copy() for a in self._pending]
        return {
            "cma_version": cma.__version__,
            "diagonal": bool(self.diagonal),
            "values": values,
            "aliases": aliases,
            "pending": pending,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        if state["cma_version"] != cma.__version__:
            raise ValueError(
                f"checkpoint was written with pycma {state['cma_version']}, this is pycma "
                f"{cma.__version__}; exact resume needs the same version (install it)"
            )
        if bool(state["diagonal"]) != self.diagonal:
            raise ValueError("checkpoint and optimizer disagree on diagonal; pass the same config")
        self.es = self._make_es()
        if not hasattr(self.es, "timer"):  # created lazily by the first ask()
            self.es.timer = cma.utilities.utils.ElapsedWCTime()
        made: dict[str, np.ndarray] = {}
        for path, value in state["values"].items():
            if isinstance(value, np.ndarray):
                value = made[path] = value.copy(order="K")
            elif isinstance(value, (list, dict)):
                value = type(value)(value)
            _set_path(self.es, path, value)
        for path, source in state["aliases"].items():  # e.g. es.C is es.sm.C
            _set_path(self.es, path, made[source])
        self._pending = None
        if state["pending"] is not None:
            pheno, geno = (np.array(a, dtype=np.float64) for a in state["pending"])
            for x, g in zip(pheno, geno, strict=True):
                self.es.sent_solutions.insert(x, geno=g, iteration=self.es.countiter)
            self._pending = (pheno, geno)


def _snapshot(
    obj: Any, prefix: str, values: dict[str, Any], aliases: dict[str, str], seen: dict[int, str]
) -> None:
    """Collect the numeric attributes of pycma object ``obj`` recursively under dotted paths.

    Arrays shared between objects are stored once and recorded in ``aliases``.
    """
    for key, value in vars(obj).items():
        if key in _SKIP:
            continue
        path = prefix + key
        if isinstance(value, np.ndarray) and value.dtype != object:
            if id(value) in seen:
                aliases[path] = seen[id(value)]
            else:
                seen[id(value)] = path
                values[path] = value.copy(order="K")  # keep Fortran order (BLAS sums)
        elif isinstance(value, _PLAIN):
            values[path] = value
        elif type(value) is list and all(isinstance(v, _PLAIN) for v in value):
            values[path] = list(value)
        elif type(value) is dict and all(
            type(k) is str and isinstance(v, _PLAIN) for k, v in value.items()
        ):
            values[path] = dict(value)
        elif (
            type(value).__module__.startswith("cma")
            and hasattr(value, "__dict__")
            and not isinstance(value, (type, types.FunctionType, types.MethodType))
            and id(value) not in seen
        ):
            seen[id(value)] = path
            _snapshot(value, path + ".", values, aliases, seen)


def _set_path(root: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    obj = root
    for name in parents:
        obj = getattr(obj, name)
    setattr(obj, last, value)
