"""zg_control: ZeroGrads for optimizing control of MuJoCo physics animation.

The public contract::

    import zg_control as zg
    opt = zg.make_optimizer(name, x0, seed=0, **config)   # name from zg.OPTIMIZERS
    X = opt.ask(); opt.tell(X, losses); opt.recommendation
    res = zg.minimize(fn, x0, method=name, budget=n_evals, seed=0, **config)
    results = zg.minimize_many(fn, x0, method=name, budget=n_evals, seeds=[0, 1, 2])
    obj = zg.make_objective(env_id_or_mjcf, parameterization="spline")  # a zg.Problem
"""

from __future__ import annotations

from .lockstep import minimize_many
from .loop import Result, minimize
from .optimizers import OPTIMIZERS, Optimizer, OptimizerConfig, make_optimizer, resolve_config
from .problem import Problem
from .sim.objective import Objective, make_objective

__version__ = "0.1.0"

# The one registration point (Gymnasium >= 1.0 loads no plugin entry points): importing envs
# registers the zg_control/ Gymnasium envs and every native task. Last: it needs zg_control.sim.
from . import envs as envs

__all__ = [
    "OPTIMIZERS",
    "Objective",
    "Optimizer",
    "OptimizerConfig",
    "Problem",
    "Result",
    "make_objective",
    "make_optimizer",
    "minimize",
    "minimize_many",
    "resolve_config",
]
