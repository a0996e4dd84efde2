"""Outside tasks: MJCF models that ship in the dm-control package, with losses written here.

Nobody tuned a default of this project on these models; they are how the comparison checks
that a default holds on problems it was not made for. Each is the raw suite model file
(``dm_control/suite/<name>.xml``, found without importing dm-control), driven by
``zg.make_objective(path, loss_fn=..., ...)`` from the model's own initial state (or a stated
one), with a loss computed here from the trajectory (dm-control's own tasks are not used: their
rewards need its Python environment, and these losses are open-loop episode objectives):

- ``dmc-walker``, ``dmc-cheetah``, ``dmc-hopper``: forward travel of the torso (metres, negated)
  plus a small effort term, cubic splines of 20 knots per actuator;
- ``dmc-cheetah-seq``: the cheetah with one control per step (d = 600);
- ``dmc-walker-policy``: the walker driven by an MLP policy (32 hidden units) on ``(qpos, qvel)``;
- ``dmc-acrobot``: swing the acrobot up from hanging down (torque at the elbow only): the mean
  shortfall of the tip's height below the top over the last half of the episode, in ``[0, 1]``.

``pip install dm-control`` provides the files (any recent version; its Python code is not run).
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..problem import Problem

EFFORT = 0.01  # weight of the mean squared control in the locomotion losses


def suite_model(name: str) -> Path:
    """Path of ``dm_control/suite/<name>.xml``; ``ValueError`` naming the install if absent."""
    try:
        spec = importlib.util.find_spec("dm_control")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            f"the outside task dmc-{name} needs the model files of dm-control: pip install "
            "dm-control (its Python code is not imported)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "suite" / f"{name}.xml"
    if not path.is_file():
        raise ValueError(f"dm-control has no suite model {path.name} (looked in {path.parent})")
    return path


def travel_loss(traj: Any, x_index: int) -> np.ndarray:
    """``-(x_T - x_0) + EFFORT * mean(ctrl^2)`` of the slide joint at ``qpos[:, :, x_index]``.
    ``traj.qpos (n, T + 1, nq)``, ``traj.ctrl (n, T, nu)`` -> ``(n,)``."""
    x = traj.qpos[:, :, x_index]
    return -(x[:, -1] - x[:, 0]) + EFFORT * np.mean(traj.ctrl**2, axis=(1, 2))


def acrobot_loss(traj: Any) -> np.ndarray:
    """Mean of ``(2 - tip height) / 4`` over the last half of the episode (0: upright all the
    time; 1: hanging). Both links are 1 m long and upright at ``qpos = 0``."""
    q = traj.qpos[:, traj.qpos.shape[1] // 2 :, :]
    height = np.cos(q[..., 0]) + np.cos(q[..., 0] + q[..., 1])
    return np.mean((2.0 - height) / 4.0, axis=1)


# name: (model, parameterization, horizon, frame_skip, knots, loss, extra make_objective options)
_TASKS: dict[str, tuple[str, str, int, int, int | None, Any, dict[str, Any]]] = {
    "dmc-walker": ("walker", "spline", 100, 8, 20, functools.partial(travel_loss, x_index=1), {}),
    "dmc-cheetah": ("cheetah", "spline", 100, 5, 20, functools.partial(travel_loss, x_index=0), {}),
    "dmc-hopper": ("hopper", "spline", 100, 4, 20, functools.partial(travel_loss, x_index=0), {}),
    "dmc-cheetah-seq": (
        "cheetah", "sequence", 100, 5, None, functools.partial(travel_loss, x_index=0), {}
    ),
    "dmc-walker-policy": (
        "walker", "policy", 100, 8, None, functools.partial(travel_loss, x_index=1), {}
    ),
    "dmc-acrobot": (
        "acrobot", "spline", 200, 2, 20, acrobot_loss, {"initial_qpos": np.array([math.pi, 0.0])}
    ),
}  # fmt: skip
# name: (budget, d, ms per episode on one thread)
SIZES = {
    "dmc-walker": (2000, 120, 6.0),
    "dmc-cheetah": (2000, 120, 4.0),
    "dmc-hopper": (2000, 80, 3.0),
    "dmc-cheetah-seq": (3000, 600, 4.0),
    "dmc-walker-policy": (2000, 806, 8.0),
    "dmc-acrobot": (2000, 20, 1.0),
}


def build(name: str, quick: bool, seed: int, nthread: int) -> Problem:
    """The outside task ``name`` as a problem (``quick``: 10 control steps, 4 knots)."""
    return build_task(_TASKS[name], quick, seed, nthread)


def build_task(task: tuple[Any, ...], quick: bool, seed: int, nthread: int) -> Problem:
    """A problem from one row of a task table ``(model, parameterization, horizon, frame_skip,
    knots, loss, extra options)`` (here and :mod:`.heldout`); ``quick``: 10 control steps,
    4 knots, 8 hidden units."""
    from ..sim.objective import make_objective

    model, param, horizon, frame_skip, knots, loss, extra = task
    kw: dict[str, Any] = {"parameterization": param, "nthread": nthread, "seed": seed}
    if param == "spline":
        kw["n_knots"] = min(knots, 4) if quick else knots
    if param == "policy":
        kw["hidden"] = (8,) if quick else (32,)
    horizon = 10 if quick else horizon
    path = suite_model(model)
    return make_objective(
        str(path), loss_fn=loss, horizon=horizon, frame_skip=frame_skip, **kw, **extra
    )
