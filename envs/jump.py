"""zg_control/Jump-v0: jump over a hurdle and land on your foot.

Env card
--------
Model (``assets/jump.xml``)
    Gymnasium's Hopper body plan (torso, thigh, shin, foot; planar root x, z, pitch), its toe
    0.22 m before a solid hurdle 0.25 m high and 4 cm thick (x in [0.48, 0.52]); the body
    starts 4 cm above the floor, as Hopper does. Timestep 5 ms, ``frame_skip`` 4, so one
    control step is 20 ms; horizon ``T = 100`` steps (2 s).
Frame skip
    ``frame_skip=k`` (``gym.make``, ``make_task``, ``make_objective``, ``--frame-skip``) sets
    the physics steps per control step. The horizon stays ``T`` control steps, so an episode
    lasts ``T * k * 5 ms`` (``k = 2``: 1 s to jump and land), and the loss is the same
    function of the states after each control step.
Action space
    ``Box(-1, 1, (3,), float32)``: torques on thigh, knee and ankle (gear 200).
Observation space
    ``Box(-inf, inf, (12,), float64)``: ``qpos`` (root x, root z, pitch, 3 joint angles) then
    ``qvel`` (6). The root x is kept since the hurdle is at a fixed place.
Reward and loss
    The five points head, hip, knee, toe and heel are computed from ``qpos``. After the step
    ``t`` with state ``s``:

    * ``cleared(s)``: the rearmost point is past the hurdle with a capsule radius to spare,
      ``min_x > 0.58``;
    * ``upright(s)``: pitch within 0.5 rad of upright (``cos(pitch) > cos 0.5``, so a landed flip
      counts), head above 1.0 m, and a foot point below 0.15 m (standing, not flying);
    * ``q_h = quantize(max_t lowest_z - lowest_z(s_0), 0.0625, 4)``: the best clearance of the
      lowest point above its start, on a 4-level staircase up to the hurdle height;
    * ``q_x = quantize(min_x(s_T) - min_x(s_0), 0.1775, 4)``: how far the rearmost point (the
      heel, at -0.13 m) moved toward ``0.58``, on a 4-level staircase of quarters of the way.

    ``quantize(x, step, L) = min(floor(x / step), L) / L``. The reward is 0 except at the last
    step, ``r_{T-1} = T * (cleared + cleared * upright + 0.25 * (q_h + q_x))`` evaluated at the
    final state, so

    ``loss = -return / T = -[cleared] - [cleared and upright] - 0.25 * (q_h + q_x)``,

    in ``[-2.5, 0]``; zero torques (the hopper collapses) give 0. Every term is a step function of
    the state, so the loss of a control sequence is piecewise constant: its gradient is zero
    almost everywhere and undefined at the jumps.
Termination and truncation
    Never terminates; ``gym.make`` truncates after ``max_episode_steps = T``.
Version history
    v0: first version.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._base import Carry, EpisodeTask, ZGMujocoEnv, quantize
from ._planar import PlanarKinematics

POINTS = ["head", "hip", "knee", "toe", "heel"]


class JumpTask(EpisodeTask):
    """Native task of ``zg_control/Jump-v0`` (see the module's env card)."""

    xml_file: ClassVar[str] = "jump.xml"
    frame_skip = 4
    default_horizon: ClassVar[int] = 100

    clear_x = 0.52 + 0.06  # far face of the hurdle + capsule radius
    bar_height = 0.25
    upright_angle = 0.5
    head_height = 1.0
    foot_height = 0.15

    def __init__(self, horizon: int | None = None, frame_skip: int | None = None) -> None:
        super().__init__(horizon, frame_skip)
        self.kin = PlanarKinematics(self.model, POINTS)

    def _points(self, qpos: np.ndarray) -> np.ndarray:
        """Shape ``(n, nq) -> (n, 5, 2)``: world (x, z) of head, hip, knee, toe, heel."""
        return self.kin.sites(qpos)

    def init_carry(self, qpos: np.ndarray, qvel: np.ndarray) -> Carry:
        p = self._points(qpos)
        low = p[:, :, 1].min(axis=1)
        return {
            "x0": p[:, :, 0].min(axis=1),
            "z0": low,
            "max_low": low,
            "cleared": np.zeros(len(qpos)),
            "upright": np.zeros(len(qpos)),
        }

    def reward(
        self, carry: Carry, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray, t: int
    ) -> tuple[Carry, np.ndarray]:
        p = self._points(qpos)
        rear = p[:, :, 0].min(axis=1)
        cleared = (rear > self.clear_x).astype(float)
        upright = (
            (np.cos(qpos[:, 2]) > np.cos(self.upright_angle))
            & (p[:, 0, 1] > self.head_height)
            & (p[:, 3:, 1].min(axis=1) < self.foot_height)
        ).astype(float)
        carry = {
            **carry,
            "max_low": np.maximum(carry["max_low"], p[:, :, 1].min(axis=1)),
            "cleared": cleared,
            "upright": upright,
        }
        r = np.zeros(len(qpos))
        if t == self.horizon - 1:
            q_h = quantize(carry["max_low"] - carry["z0"], self.bar_height / 4, 4)
            q_x = quantize(rear - carry["x0"], (self.clear_x - carry["x0"]) / 4, 4)
            r = self.horizon * (cleared + cleared * upright + 0.25 * (q_h + q_x))
        return carry, r


class JumpEnv(ZGMujocoEnv):
    __doc__ = __doc__
    task_class = JumpTask
    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array", "depth_array"],
        "render_fps": 50,
    }
    camera: ClassVar[dict[str, Any]] = {
        "trackbodyid": 1,
        "distance": 4.0,
        "lookat": np.array([0.3, 0.0, 0.8]),
        "elevation": -10.0,
    }
