"""The optimizer registry: a plain dict ``name -> (class, config dataclass)``.

:data:`OPTIMIZERS` holds this project's methods; :data:`~.peers.PEERS` the libraries a user would
pick instead (optional, extra ``[peers]``). Both are looked up by name in ``make_optimizer``,
``resolve_config``, ``zg.minimize`` and the comparison; the registry-wide tests and the CLI's
``--method`` cover :data:`OPTIMIZERS` (a peer cannot be checkpointed).
"""

from __future__ import annotations

import collections.abc
import dataclasses
import numbers
import types
import typing
from typing import Any

import numpy as np

from .annealing import AnnealingConfig, SimulatedAnnealing
from .base import Optimizer, OptimizerConfig
from .cma_es import CMAES, CMAESConfig
from .genetic import GeneticAlgorithm, GeneticConfig
from .peers import PEERS
from .random_search import RandomSearch, RandomSearchConfig
from .smoothing import GaussianSmoothing, SmoothingConfig
from .spsa import SPSA, SPSAConfig
from .zerograds import ZeroGrads, ZeroGradsConfig

OPTIMIZERS: dict[str, tuple[type[Optimizer], type[OptimizerConfig]]] = {
    "zerograds": (ZeroGrads, ZeroGradsConfig),
    "random": (RandomSearch, RandomSearchConfig),
    "prdpt": (GaussianSmoothing, SmoothingConfig),
    "spsa": (SPSA, SPSAConfig),
    "sa": (SimulatedAnnealing, AnnealingConfig),
    "ga": (GeneticAlgorithm, GeneticConfig),
    "cmaes": (CMAES, CMAESConfig),
}


METHODS = {**OPTIMIZERS, **PEERS}
"""Every method a run may name: this project's and the peers'."""


def lookup(name: str) -> tuple[type[Optimizer], type[OptimizerConfig]]:
    """``(class, config dataclass)`` of method ``name``, one of :data:`METHODS`; ``ValueError``
    naming this project's and the peers' otherwise."""
    if name in METHODS:
        return METHODS[name]
    raise ValueError(
        f"unknown method {name!r}; choose one of {', '.join(OPTIMIZERS)}, or a peer library "
        f"({', '.join(PEERS)}; pip install zg_control[peers])"
    )


def make_config(name: str, **config: Any) -> OptimizerConfig:
    """Build the config dataclass of method ``name``; ``ValueError`` for unknown names/options."""
    cfg_cls = lookup(name)[1]
    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for method {name!r}; "
            f"valid options: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cfg_cls)
    for key, value in config.items():
        if not _is_a(value, hints[key]):
            raise ValueError(
                f"option {key}={value!r} for method {name!r}: expected {_type_name(hints[key])}"
            )
    return cfg_cls(**config)


def _is_a(value: Any, hint: Any) -> bool:
    """``value`` fits the annotation ``hint`` (a field type of a config dataclass); ints pass
    for floats, bools for neither."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_is_a(value, h) for h in typing.get_args(hint))
    if typing.get_origin(hint) is collections.abc.Callable:
        return callable(value)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    checks = {type(None): type(None), bool: (bool, np.bool_), str: str}
    return hint not in checks or isinstance(value, checks[hint])


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    if typing.get_origin(hint) is collections.abc.Callable:
        return "a callable"
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))


def resolve_config(
    name: str, options: dict[str, Any] | None = None, budget: int | None = None
) -> OptimizerConfig:
    """The effective config of method ``name``: its defaults, then ``options``, then (with a
    ``budget``) the defaults that depend on it (:meth:`OptimizerConfig.for_budget`).

    The one place that decides a run's options: ``minimize``, ``make_optimizer``, the CLI and the
    comparison all call it. ``ValueError`` for unknown names or options.
    """
    cfg = make_config(name, **(options or {}))
    return cfg if budget is None else cfg.for_budget(int(budget))


def make_optimizer(
    name: str, x0: Any, seed: int = 0, bounds: Any = None, budget: int | None = None, **config: Any
) -> Optimizer:
    """Create optimizer ``name`` at ``x0`` (shape ``(d,)``) with config options as keywords;
    ``budget`` (evaluations of the run, if known) fills the budget-aware defaults."""
    cfg = resolve_config(name, config, budget)
    return lookup(name)[0](x0, cfg, seed=seed, bounds=bounds)


__all__ = [
    "METHODS",
    "OPTIMIZERS",
    "PEERS",
    "Optimizer",
    "OptimizerConfig",
    "lookup",
    "make_config",
    "make_optimizer",
    "resolve_config",
]
