"""zg_control/Push-v0: push a puck into a target disc and keep it there.

Env card
--------
Model (``assets/push.xml``)
    A sphere pusher (radius 4 cm, 1 kg) on two actuated slide joints (x, y) with strong damping,
    so a constant control means a constant speed (up to 2 m/s unloaded); a puck (cylinder of
    radius 5 cm, 0.5 kg, free joint, friction 0.5) at (0.3, 0) on the floor; a target disc of
    radius 0.1 m around (0.8, 0.3). Timestep 5 ms, ``frame_skip`` 4 (20 ms per control step);
    horizon ``T = 100`` steps (2 s). (A puck rather than a box: a box pushed by a point yaws
    away, which made even hand-written pushing controllers fail.)
Frame skip
    ``frame_skip=k`` (``gym.make``, ``make_task``, ``make_objective``, ``--frame-skip``) sets
    the physics steps per control step. The horizon stays ``T`` control steps, so an episode
    lasts ``T * k * 5 ms``; the loss still counts the fraction of control steps in the disc.
Action space
    ``Box(-1, 1, (2,), float32)``: forces on the pusher along x and y (gear 10 N).
Observation space
    ``Box(-inf, inf, (17,), float64)``: ``qpos`` (pusher x, y; puck position (3) and quaternion
    (4)) then ``qvel`` (pusher (2); puck linear (3) and angular (3) velocity).
Reward and loss
    With ``d_t`` the horizontal distance of the puck centre from the target centre after step
    ``t``, ``in_t = [d_t < 0.1]`` and ``s = quantize(d_{T-1}, 0.1, 5)`` (the final distance on a
    5-level staircase of 10 cm, ``quantize(x, step, L) = min(floor(x / step), L) / L``):
    ``r_t = in_t`` for every step, plus ``T * 0.5 * (1 - s)`` at the last step ``t = T - 1``, so

    ``loss = -return / T = -(fraction of steps with the puck in the disc) - 0.5 * (1 - s)``,

    in ``[-1.5, 0]``; zero forces (nothing moves, ``d = 0.58``) give 0. Piecewise constant in the
    controls: zero gradient almost everywhere.
Termination and truncation
    Never terminates; ``gym.make`` truncates after ``max_episode_steps = T``.
Version history
    v0: first version.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._base import Carry, EpisodeTask, ZGMujocoEnv, quantize

PUCK_XY = slice(2, 4)  # puck centre (x, y) in qpos


class PushTask(EpisodeTask):
    """Native task of ``zg_control/Push-v0`` (see the module's env card)."""

    xml_file: ClassVar[str] = "push.xml"
    frame_skip = 4
    default_horizon: ClassVar[int] = 100

    target = np.array([0.8, 0.3])
    radius = 0.1

    def init_carry(self, qpos: np.ndarray, qvel: np.ndarray) -> Carry:
        return {"steps_in": np.zeros(len(qpos))}

    def reward(
        self, carry: Carry, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray, t: int
    ) -> tuple[Carry, np.ndarray]:
        d = np.linalg.norm(qpos[:, PUCK_XY] - self.target, axis=1)
        inside = (d < self.radius).astype(float)
        carry = {"steps_in": carry["steps_in"] + inside}
        r = inside
        if t == self.horizon - 1:
            r = inside + self.horizon * 0.5 * (1.0 - quantize(d, self.radius, 5))
        return carry, r


class PushEnv(ZGMujocoEnv):
    __doc__ = __doc__
    task_class = PushTask
    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array", "depth_array"],
        "render_fps": 50,
    }
    camera: ClassVar[dict[str, Any]] = {
        "distance": 2.0,
        "lookat": np.array([0.4, 0.15, 0.0]),
        "elevation": -60.0,
    }
