"""The comparison suite: named problems, each built lazily inside the worker that runs it.

:data:`SUITE` names the problems (analytic controls, the ``envs/`` animation tasks, Gymnasium v5
locomotion open loop as spline knots and per control step, one policy). Each :class:`TaskSpec`
builds its batched loss on demand, so nothing but names crosses process boundaries. Names
``"<function>-<d>"`` for any analytic function of :mod:`zg_control.functions` (e.g.
``"staircase-35000"``) are understood too (:func:`get_task`). :data:`DEFAULT_METHODS` are the
methods compared by default. The runner is :mod:`zg_control.bench.runner`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ..problem import Problem  # a built task: fn (n, d) -> (n,), x0 (d,), bounds, close()
from . import heldout, outside


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A named problem of the suite.

    Attributes:
        name: key in :data:`SUITE`.
        builder: ``builder(quick, seed, nthread) -> Problem`` (``quick``: short horizon, few
            dims; ``seed``: the run's seed, e.g. for a policy's initial weights; ``nthread``:
            threads of a native simulator, 1 in the comparison's single-threaded workers).
        budget: default episode budget of a full run.
        kind: ``"analytic"``, ``"animation"`` or ``"gym"``.
        dim: dimension of the full problem (for tables; the built one is authoritative).
        threshold: fixed loss to reach, or ``None``: ``THRESHOLD_FRACTION`` of the best method's
            median improvement over ``x0`` (see :func:`thresholds`).
        scale: multiplies the sigma-like config defaults of every method
            (:data:`~zg_control.bench.runner.SCALED_OPTIONS`).
        ms_per_episode: rough single-thread cost, used only to start long runs first.
    """

    name: str
    builder: Callable[[bool, int, int], Problem]
    budget: int
    kind: str
    dim: int
    threshold: float | None = None
    scale: float = 1.0
    ms_per_episode: float = 0.05

    def build(self, quick: bool = False, seed: int = 0, nthread: int = 1) -> Problem:
        return self.builder(quick, seed, nthread)


def _analytic(
    name: str, dim: int, half_width: float | None, quick: bool, seed: int, nthread: int
) -> Problem:
    from ..functions import get_function

    del seed, nthread
    fn, x0 = get_function(name, None if name == "toy" else (min(dim, 50) if quick else dim))
    if half_width is None:
        return Problem(fn, x0, None)
    return Problem(fn, x0, (-np.full(x0.size, half_width), np.full(x0.size, half_width)))


def _mujoco(
    env: str,
    param: str,
    horizon: int | None,
    knots: int | None,
    quick: bool,
    seed: int,
    nthread: int,
) -> Problem:
    from ..sim.objective import make_objective

    kw: dict[str, Any] = {"parameterization": param, "nthread": nthread, "seed": seed}
    if quick:  # short episodes; the animation tasks need their full horizon to be scored
        horizon = horizon if env.startswith("zg_control/") else 10
        knots = min(knots, 4) if knots else None
    if horizon is not None:
        kw["horizon"] = horizon
    if param == "spline":
        kw["n_knots"] = knots
    if param == "policy":
        kw["hidden"] = (8,) if quick else (32,)
    return make_objective(env, **kw)  # an Objective is a Problem


# name: (kind, budget, d, ms per episode, env id, parameterization, horizon, knots).
# Animation tasks keep their env's horizon (None); gym spline tasks have d = 96.
_MUJOCO_TASKS = {
    "jump-spline": ("animation", 2000, 75, 5, "zg_control/Jump-v0", "spline", None, 25),
    "throw-spline": ("animation", 2000, 50, 3, "zg_control/Throw-v0", "spline", None, 25),
    "keyframe-spline": ("animation", 2000, 75, 1.3, "zg_control/Keyframe-v0", "spline", None, 25),
    "push-spline": ("animation", 2000, 50, 4.7, "zg_control/Push-v0", "spline", None, 25),
    "jump-seq": ("animation", 2000, 300, 5, "zg_control/Jump-v0", "sequence", None, None),
    "keyframe-seq": ("animation", 2000, 225, 1.3, "zg_control/Keyframe-v0", "sequence", None, None),
    "cheetah-spline": ("gym", 2000, 96, 4, "HalfCheetah-v5", "spline", 100, 16),
    "hopper-spline": ("gym", 2000, 96, 3, "Hopper-v5", "spline", 100, 32),
    "walker-spline": ("gym", 2000, 96, 3, "Walker2d-v5", "spline", 100, 16),
    "ant-spline": ("gym", 2000, 96, 23, "Ant-v5", "spline", 100, 12),
    "cheetah-seq": ("gym", 3000, 600, 4, "HalfCheetah-v5", "sequence", 100, None),
    "hopper-seq": ("gym", 3000, 1200, 10, "Hopper-v5", "sequence", 400, None),
    "walker-seq": ("gym", 3000, 1200, 7, "Walker2d-v5", "sequence", 200, None),
    "ant-seq": ("gym", 3000, 1000, 29, "Ant-v5", "sequence", 125, None),
    "cheetah-seq-6k": ("gym", 3000, 6000, 45, "HalfCheetah-v5", "sequence", 1000, None),
    "ant-seq-6k": ("gym", 3000, 6000, 160, "Ant-v5", "sequence", 750, None),
    "cheetah-seq-12k": ("gym", 3000, 12000, 90, "HalfCheetah-v5", "sequence", 2000, None),
    "walker-seq-12k": ("gym", 3000, 12000, 40, "Walker2d-v5", "sequence", 2000, None),
    "hopper-policy": ("gym", 2000, 483, 6, "Hopper-v5", "policy", 200, None),
}
SUITE: dict[str, TaskSpec] = {
    "toy": TaskSpec("toy", partial(_analytic, "toy", 1, None), 400, "analytic", 1,
                    threshold=0.5, scale=3.0),
    "staircase-1000": TaskSpec("staircase-1000", partial(_analytic, "staircase", 1000, 2.0),
                               4000, "analytic", 1000),
    **{name: TaskSpec(name, partial(_mujoco, *rest), budget, kind, dim, ms_per_episode=ms)
       for name, (kind, budget, dim, ms, *rest) in _MUJOCO_TASKS.items()},
    **{name: TaskSpec(name, partial(table.build, name), budget, kind, dim, ms_per_episode=ms)
       for kind, table in (("outside", outside), ("heldout", heldout))
       for name, (budget, dim, ms) in table.SIZES.items()},
}  # fmt: skip
# The default comparison (the per-step animation tasks, ant-seq-6k and the d = 12 000 tasks, with
# twice Gymnasium's 1000-step episode, are opt-in: cost).
# The outside and held-out tasks (dm-control's model files, bench/outside.py and heldout.py) are
# opt-in too.
OPT_IN = (
    "ant-seq-6k", "cheetah-seq-12k", "walker-seq-12k", "jump-seq", "keyframe-seq",
    *outside.SIZES, *heldout.SIZES,
)  # fmt: skip
DEFAULT_TASKS = tuple(n for n in SUITE if n not in OPT_IN)
# ZeroGrads, then the paper's baselines; random search around x0 is the floor.
DEFAULT_METHODS = ("zerograds", "prdpt", "cmaes", "spsa", "sa", "ga", "random")


def get_task(name: str) -> TaskSpec:
    """The spec ``name`` from :data:`SUITE`, or an analytic ``"<function>-<d>"`` problem
    (bounds ``[-2, 2]``, budget 2000)."""
    if name in SUITE:
        return SUITE[name]
    from ..functions import FUNCTIONS

    m = re.fullmatch(r"([a-z]+)-(\d+)", name)
    if m and m.group(1) in FUNCTIONS and m.group(1) != "toy":
        d = int(m.group(2))
        return TaskSpec(name, partial(_analytic, m.group(1), d, 2.0), 2000, "analytic", d)
    functions = ", ".join(f for f in FUNCTIONS if f != "toy")
    raise ValueError(
        f"unknown task {name!r}; choose from {', '.join(SUITE)} or '<function>-<d>' with a "
        f"function of zg_control.functions.FUNCTIONS ({functions}), e.g. 'staircase-10000'"
    )
