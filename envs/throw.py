"""zg_control/Throw-v0: catapult a ball into a basket.

Env card
--------
Model (``assets/throw.xml``)
    A two-link planar arm (shoulder 1 m above the floor, links 0.35 m) pointing backwards, with a
    spoon at its end in which a ball (radius 4 cm, 0.1 kg, free joint) rests. A basket, two walls
    0.25 m high at x = 3.0 and x = 3.4 m, stands in front. Timestep 5 ms, ``frame_skip`` 4 (20 ms
    per control step); horizon ``T = 100`` steps (2 s).
Frame skip
    ``frame_skip=k`` (``gym.make``, ``make_task``, ``make_objective``, ``--frame-skip``) sets
    the physics steps per control step. The horizon stays ``T`` control steps, so an episode
    lasts ``T * k * 5 ms``; in a short one the ball may still fly at the end, and ``x_land``
    below is then its final ``x``.
Action space
    ``Box(-1, 1, (2,), float32)``: torques on shoulder (gear 30) and elbow (gear 15).
Observation space
    ``Box(-inf, inf, (17,), float64)``: ``qpos`` (shoulder, elbow, ball position (3) and
    quaternion (4)) then ``qvel`` (2 joint rates, ball linear (3) and angular (3) velocity).
Reward and loss
    From the ball centre ``(x, y, z)`` after each step:

    * ``hit``: at some step the centre was inside the basket, ``3.01 < x < 3.39``, ``z < 0.25``,
      ``|y| < 0.3``;
    * ``x_land``: ``x`` at the first step with ``z < 0.05`` (the ball on the floor); the final
      ``x`` if it never lands;
    * ``s = quantize(|x_land - 3.2|, 0.4, 8)``: the miss distance on an 8-level staircase of
      40 cm steps (``quantize(x, step, L) = min(floor(x / step), L) / L``; 1 beyond 3.2 m).

    The reward is 0 except ``r_{T-1} = T * (hit + 0.5 * (1 - s))``, so

    ``loss = -return / T = -[hit] - 0.5 * (1 - s)``,

    in ``[-1.5, 0]``; zero torques (arm and ball drop behind the post) give 0. Piecewise
    constant in the controls: zero gradient almost everywhere.
Termination and truncation
    Never terminates; ``gym.make`` truncates after ``max_episode_steps = T``.
Version history
    v0: first version.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._base import Carry, EpisodeTask, ZGMujocoEnv, quantize

BALL = slice(2, 5)  # ball centre in qpos


class ThrowTask(EpisodeTask):
    """Native task of ``zg_control/Throw-v0`` (see the module's env card)."""

    xml_file: ClassVar[str] = "throw.xml"
    frame_skip = 4
    default_horizon: ClassVar[int] = 100

    basket_x = (3.01, 3.39)
    basket_top = 0.25
    basket_half_width = 0.3
    landed_z = 0.05

    def init_carry(self, qpos: np.ndarray, qvel: np.ndarray) -> Carry:
        n = len(qpos)
        return {"hit": np.zeros(n), "landed": np.zeros(n), "x_land": np.zeros(n)}

    def reward(
        self, carry: Carry, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray, t: int
    ) -> tuple[Carry, np.ndarray]:
        x, y, z = qpos[:, BALL].T
        inside = (
            (x > self.basket_x[0])
            & (x < self.basket_x[1])
            & (z < self.basket_top)
            & (np.abs(y) < self.basket_half_width)
        )
        first_landing = (z < self.landed_z) & (carry["landed"] == 0)
        carry = {
            "hit": np.maximum(carry["hit"], inside),
            "landed": np.maximum(carry["landed"], first_landing),
            "x_land": np.where(first_landing, x, carry["x_land"]),
        }
        r = np.zeros(len(qpos))
        if t == self.horizon - 1:
            x_land = np.where(carry["landed"] > 0, carry["x_land"], x)
            s = quantize(np.abs(x_land - np.mean(self.basket_x)), 0.4, 8)
            r = self.horizon * (carry["hit"] + 0.5 * (1.0 - s))
        return carry, r


class ThrowEnv(ZGMujocoEnv):
    __doc__ = __doc__
    task_class = ThrowTask
    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array", "depth_array"],
        "render_fps": 50,
    }
    camera: ClassVar[dict[str, Any]] = {
        "distance": 5.0,
        "lookat": np.array([1.6, 0.0, 0.8]),
        "elevation": -10.0,
    }
