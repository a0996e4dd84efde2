"""zg_control/Keyframe-v0: pass through three key poses at three given times.

Env card
--------
Model (``assets/keyframe.xml``)
    A three-link planar arm (links 0.35 m, about 1.1 kg each) hanging from a fixed pivot, hinge
    joints with damping, torque motors working against gravity; no contacts. Timestep 5 ms,
    ``frame_skip`` 4 (20 ms per control step); horizon ``T = 75`` steps (1.5 s).
Frame skip
    ``frame_skip=k`` (``gym.make``, ``make_task``, ``make_objective``, ``--frame-skip``) sets
    the physics steps per control step. The horizon stays ``T`` control steps and the
    keyframes stay at control steps 24, 49 and 74, so they fall at ``(t_k + 1) * k * 5 ms``
    (``k = 4``: the times below).
Action space
    ``Box(-1, 1, (3,), float32)``: torques on shoulder (gear 60), elbow (35) and wrist (12).
Observation space
    ``Box(-inf, inf, (6,), float64)``: joint angles then joint rates (0 = hanging straight down).
    It does not include the time, so a closed-loop policy cannot tell the keyframes apart.
Reward and loss
    Keyframes ``(t_k, q*_k)``, after control steps ``t_k = 24, 49, 74`` (0.5, 1.0, 1.5 s):
    ``(1.2, 0.6, 0.3)``, ``(-0.6, 1.2, -0.8)``, ``(0.4, -1.0, 1.0)`` rad. With the pose error
    ``e_k = max_j |q_j(t_k) - q*_kj|`` and tolerance ``tol = 0.1`` rad,

    ``cost_k = [e_k > tol] + quantize(e_k - tol, 0.1, 10)``

    (a miss counts 1, plus the error beyond the tolerance dead zone on a 10-level staircase of
    0.1 rad, ``quantize(x, step, L) = min(floor(x / step), L) / L``). The reward is
    ``r_t = -(T / K) * cost_k`` at ``t = t_k`` and 0 otherwise (``K = 3``), so

    ``loss = -return / T = mean_k cost_k``,

    in ``[0, 2]``; 0 means every keyframe was met within tolerance, zero torques give 1.967.
    Piecewise constant in the controls: zero gradient almost everywhere.
Options
    ``key_poses``: the three target poses, shape ``(3, 3)`` (one row of joint angles per
    keyframe, rad; default the ones above), e.g. ``gym.make("zg_control/Keyframe-v0",
    key_poses=...)``; the video draws whichever poses the task has. The amortized-control
    experiment (``experiments/amortized.py``) varies them.
Termination and truncation
    Never terminates; ``gym.make`` truncates after ``max_episode_steps = T``. A longer horizon
    is allowed (the loss stays the mean keyframe cost); a shorter one than 75 is an error.
Version history
    v0: first version.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._base import Carry, EpisodeTask, ZGMujocoEnv, quantize

KEY_STEPS = (24, 49, 74)
KEY_POSES = np.array([[1.2, 0.6, 0.3], [-0.6, 1.2, -0.8], [0.4, -1.0, 1.0]])


class KeyframeTask(EpisodeTask):
    """Native task of ``zg_control/Keyframe-v0`` (see the module's env card)."""

    xml_file: ClassVar[str] = "keyframe.xml"
    frame_skip = 4
    default_horizon: ClassVar[int] = 75

    tol = 0.1
    key_steps = KEY_STEPS
    key_poses = KEY_POSES

    def __init__(
        self,
        horizon: int | None = None,
        frame_skip: int | None = None,
        key_poses: Any = None,
    ) -> None:
        super().__init__(horizon, frame_skip)
        if key_poses is not None:
            self.key_poses = self._poses(key_poses)
        if self.horizon <= max(self.key_steps):
            last = max(self.key_steps)
            raise ValueError(
                f"horizon {self.horizon} ends before the last keyframe (step {last}); "
                f"use horizon >= {last + 1}"
            )

    def _poses(self, key_poses: Any) -> np.ndarray:
        """``key_poses`` as a float array of shape ``(3, 3)`` (keyframe, joint), or
        ``ValueError``."""
        try:
            poses = np.array(key_poses, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"key_poses must be 3 x 3 numbers, got {key_poses!r}") from err
        if poses.shape != KEY_POSES.shape or not np.isfinite(poses).all():
            raise ValueError(
                f"key_poses must be a finite array of shape (3, 3) (one row of joint angles "
                f"per keyframe, rad), got shape {poses.shape}"
            )
        return poses

    def pose_errors(self, qpos: np.ndarray, k: int) -> np.ndarray:
        """``e_k``, the largest joint error to keyframe ``k``. Shape ``(n, 3) -> (n,)``."""
        return np.abs(qpos - self.key_poses[k]).max(axis=1)

    def init_carry(self, qpos: np.ndarray, qvel: np.ndarray) -> Carry:
        return {"missed": np.zeros(len(qpos))}

    def reward(
        self, carry: Carry, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray, t: int
    ) -> tuple[Carry, np.ndarray]:
        if t not in self.key_steps:
            return carry, np.zeros(len(qpos))
        e = self.pose_errors(qpos, self.key_steps.index(t))
        miss = (e > self.tol).astype(float)
        cost = miss + quantize(e - self.tol, 0.1, 10)
        carry = {"missed": carry["missed"] + miss}
        return carry, -(self.horizon / len(self.key_steps)) * cost


class KeyframeEnv(ZGMujocoEnv):
    __doc__ = __doc__
    task_class = KeyframeTask
    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["human", "rgb_array", "depth_array"],
        "render_fps": 50,
    }
    camera: ClassVar[dict[str, Any]] = {
        "distance": 3.5,
        "lookat": np.array([0.0, 0.0, 1.0]),
        "elevation": -5.0,
    }
