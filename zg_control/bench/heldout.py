"""Held-out tasks: more of dm-control's suite models, kept out of every study.

The outside tasks (:mod:`.outside`) became part of the development set of issue 17, so the
step control was measured, and chosen, on them. These were added after that work, measured once
with the defaults of the time (README, "Held-out models"), and are not to be tuned on: a
default that holds here holds on problems nobody fitted it to. When they have been studied on,
add new ones instead. Each is the raw suite model file driven by ``zg.make_objective`` from the
model's own initial state (or a stated one), with a loss computed here from the trajectory:

- ``dmc-cartpole``: swing the pole up from hanging down and hold it (the cart's force only):
  the mean ``(1 - cos(pole angle)) / 2`` over the last half, in ``[0, 1]``;
- ``dmc-ball-in-cup``: swing the ball on its string into the cup (the cup's x and z forces):
  the ball's mean distance to the cup's target over the last half, 1 = hanging at rest;
- ``dmc-finger``: flick the spinner round (a two-joint finger against a free hinge): the
  spinner's turns, negated (``-(q_T - q_0) / 2 pi``), plus a small effort term;
- ``dmc-fish``: swim (a free body in fluid, tail and fins): the horizontal distance from the
  start, negated, plus a small effort term;
- ``dmc-humanoid``: forward travel of the torso, d = 420 (21 actuators x 20 knots), the
  regime above d = 300;
- ``dmc-cheetah-policy``: the cheetah's travel driven by an MLP policy (32 hidden units) on
  ``(qpos, qvel)``, no box.

dm-control's quadruped was left out: 53 ms per episode here, ten times the others.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..problem import Problem
from .outside import EFFORT, build_task, travel_loss

BALL_Z, TARGET_Z = 0.2, 0.55  # the ball's and the cup's target's heights at qpos = 0 (metres)


def pole_loss(traj: Any, hinge: int) -> np.ndarray:
    """Mean ``(1 - cos q) / 2`` of ``qpos[..., hinge]`` over the last half (0: upright all the
    time, 1: hanging). ``traj.qpos (n, T + 1, nq)`` -> ``(n,)``."""
    q = traj.qpos[:, traj.qpos.shape[1] // 2 :, hinge]
    return np.mean((1.0 - np.cos(q)) / 2.0, axis=1)


def catch_loss(traj: Any) -> np.ndarray:
    """The ball's mean distance to the cup's target over the last half, over its distance at
    ``qpos = 0``. ``qpos``: ``(cup_x, cup_z, ball_x, ball_z)``, slides from the bodies' places
    in ``ball_in_cup.xml``. ``traj.qpos (n, T + 1, 4)`` -> ``(n,)``."""
    q = traj.qpos[:, traj.qpos.shape[1] // 2 :, :]
    dx = q[..., 2] - q[..., 0]
    dz = (BALL_Z + q[..., 3]) - (TARGET_Z + q[..., 1])
    return np.mean(np.hypot(dx, dz), axis=1) / (TARGET_Z - BALL_Z)


def spin_loss(traj: Any, hinge: int) -> np.ndarray:
    """``-(q_T - q_0) / 2 pi + EFFORT * mean(ctrl^2)`` of ``qpos[..., hinge]``: turns, negated."""
    q = traj.qpos[:, :, hinge]
    return -(q[:, -1] - q[:, 0]) / (2 * math.pi) + EFFORT * np.mean(traj.ctrl**2, axis=(1, 2))


def swim_loss(traj: Any) -> np.ndarray:
    """``-|(x, y)_T - (x, y)_0| + EFFORT * mean(ctrl^2)`` of the free root (``qpos[..., :2]``)."""
    xy = traj.qpos[:, :, :2]
    dist = np.linalg.norm(xy[:, -1] - xy[:, 0], axis=1)
    return -dist + EFFORT * np.mean(traj.ctrl**2, axis=(1, 2))


# name: (model, parameterization, horizon, frame_skip, knots, loss, extra make_objective options)
_TASKS: dict[str, tuple[str, str, int, int, int | None, Any, dict[str, Any]]] = {
    "dmc-cartpole": (
        "cartpole", "spline", 200, 2, 20, functools.partial(pole_loss, hinge=1),
        {"initial_qpos": np.array([0.0, math.pi])},
    ),
    "dmc-ball-in-cup": ("ball_in_cup", "spline", 100, 10, 20, catch_loss, {}),
    "dmc-finger": ("finger", "spline", 100, 2, 20, functools.partial(spin_loss, hinge=2), {}),
    "dmc-fish": ("fish", "spline", 100, 10, 20, swim_loss, {}),
    "dmc-humanoid": (
        "humanoid", "spline", 100, 5, 20, functools.partial(travel_loss, x_index=0), {}
    ),
    "dmc-cheetah-policy": (
        "cheetah", "policy", 100, 5, None, functools.partial(travel_loss, x_index=0), {}
    ),
}  # fmt: skip
# name: (budget, d, ms per episode on one thread)
SIZES = {
    "dmc-cartpole": (2000, 20, 4.5),
    "dmc-ball-in-cup": (2000, 40, 5.0),
    "dmc-finger": (2000, 40, 1.5),
    "dmc-fish": (2000, 100, 5.0),
    "dmc-humanoid": (2000, 420, 15.0),
    "dmc-cheetah-policy": (2000, 806, 4.0),
}


def build(name: str, quick: bool, seed: int, nthread: int) -> Problem:
    """The held-out task ``name`` as a problem (``quick``: 10 control steps, 4 knots)."""
    return build_task(_TASKS[name], quick, seed, nthread)
