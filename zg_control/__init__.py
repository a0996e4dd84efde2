"""zg_control: ZeroGrads for optimizing control of MuJoCo physics animation.

The public contract::

    import zg_control as zg
    opt = zg.make_optimizer(name, x0, seed=0, **config)   # name from zg.OPTIMIZERS
    X = opt.ask(); opt.tell(X, losses); opt.recommendation
    res = zg.minimize(fn, x0, method=name, budget=n_evals, seed=0, **config)
"""

from __future__ import annotations

from .loop import Result, minimize
from .optimizers import OPTIMIZERS, Optimizer, OptimizerConfig, make_optimizer
from .sim.objective import Objective, make_objective

__version__ = "0.1.0"

# Registers the zg_control/ Gymnasium envs and their native tasks (after the core is importable).
from . import envs as envs  # noqa: E402

__all__ = [
    "OPTIMIZERS",
    "Objective",
    "Optimizer",
    "OptimizerConfig",
    "Result",
    "make_objective",
    "make_optimizer",
    "minimize",
]
