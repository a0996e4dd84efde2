"""What every zg_control environment shares: one reward, two front ends.

Each task writes its reward once, as a *scan* over control steps that works on a batch:
``reward(carry, qpos, qvel, ctrl, t) -> (carry, r)`` with ``qpos (n, nq)`` etc. the state *after*
control step ``t`` and ``carry`` a dict of ``(n,)`` arrays holding whatever the reward needs from
the past (a running maximum, a hit flag). Then

* :meth:`EpisodeTask.loss` runs the scan over a :class:`~zg_control.sim.task.Trajectory` (all ``n``
  episodes at once, a Python loop over ``T`` only) and returns ``-sum_t r_t / T``;
* :class:`ZGMujocoEnv` calls the very same function with ``n = 1`` after every ``step``.

So the Gymnasium return and the native loss agree by construction: ``loss = -return / horizon``
(same floating-point operations in the same order). Terminal terms are paid at ``t == T - 1``,
scaled by ``T`` so that they enter the loss with weight one.

All models disable MuJoCo's solver warm start, so the physics is a pure function of
``(qpos, qvel, ctrl)``: a batched ``mujoco.rollout`` and ``MujocoEnv.do_simulation`` give the
same states no matter how each initialises ``qacc_warmstart``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import mujoco
import numpy as np
from gymnasium import spaces, utils
from gymnasium.envs.mujoco import MujocoEnv

from zg_control.sim._validate import positive_int
from zg_control.sim.task import Trajectory

ASSETS = Path(__file__).resolve().parent / "assets"

Carry = dict[str, np.ndarray]


class EpisodeTask:
    """Base of the native tasks (satisfies :class:`zg_control.sim.task.Task`).

    Subclasses set ``xml_file``, ``frame_skip``, ``default_horizon`` and implement
    :meth:`observation`, :meth:`init_carry` and :meth:`reward`.

    Args:
        horizon: number of control steps ``T``; defaults to ``default_horizon``.
        frame_skip: physics steps per control step; defaults to the class's ``frame_skip``.
            The horizon still counts control steps, so an episode lasts
            ``T * frame_skip * timestep`` seconds, and the rewards, written per control step,
            are unchanged (the env cards say what that means for each task).
    """

    xml_file: ClassVar[str]
    frame_skip: int
    default_horizon: ClassVar[int]

    def __init__(self, horizon: int | None = None, frame_skip: int | None = None) -> None:
        horizon = self.default_horizon if horizon is None else horizon
        self.horizon = positive_int("horizon", horizon)
        if frame_skip is not None:
            self.frame_skip = positive_int("frame_skip", frame_skip)
        self.model = mujoco.MjModel.from_xml_path(str(ASSETS / self.xml_file))
        data = mujoco.MjData(self.model)
        self._qpos0 = data.qpos.copy()
        self._qvel0 = data.qvel.copy()

    @property
    def dt(self) -> float:
        """Seconds per control step."""
        return float(self.model.opt.timestep * self.frame_skip)

    @property
    def obs_dim(self) -> int:
        return int(self.observation(self._qpos0[None], self._qvel0[None]).shape[1])

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """The model's rest state ``(qpos (nq,), qvel (nv,))``; every episode starts here."""
        return self._qpos0.copy(), self._qvel0.copy()

    def observation(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Policy input. Shapes ``(n, nq), (n, nv) -> (n, obs_dim)``."""
        return np.concatenate([qpos, qvel], axis=1)

    def init_carry(self, qpos: np.ndarray, qvel: np.ndarray) -> Carry:
        """Reward memory at the initial state ``qpos (n, nq), qvel (n, nv)``."""
        return {}

    def reward(
        self, carry: Carry, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray, t: int
    ) -> tuple[Carry, np.ndarray]:
        """Reward of control step ``t``.

        ``qpos (n, nq)``, ``qvel (n, nv)`` are the state after the step, ``ctrl (n, nu)`` the
        (clipped) control applied during it. Returns ``(carry, r)``, ``r`` of shape ``(n,)``.
        """
        raise NotImplementedError

    def rewards(self, traj: Trajectory) -> np.ndarray:
        """Per-step rewards of a batch. Shape ``(n, T)``."""
        T = self.horizon
        if traj.qpos.ndim != 3 or traj.qpos.shape[1] != T + 1 or traj.ctrl.shape[1] != T:
            raise ValueError(
                f"trajectory has qpos {traj.qpos.shape}, ctrl {traj.ctrl.shape}; this task needs "
                f"(n, {T + 1}, nq) and (n, {T}, nu). Build the task with horizon={traj.horizon}."
            )
        carry = self.init_carry(traj.qpos[:, 0], traj.qvel[:, 0])
        out = np.empty((traj.n, T))
        for t in range(T):
            carry, out[:, t] = self.reward(
                carry, traj.qpos[:, t + 1], traj.qvel[:, t + 1], traj.ctrl[:, t], t
            )
        return out

    def loss(self, traj: Trajectory) -> np.ndarray:
        """``-sum_t r_t / T``, summed in step order like an episode return. Shape ``(n,)``."""
        r = self.rewards(traj)
        total = np.zeros(traj.n)
        for t in range(self.horizon):
            total = total + r[:, t]
        return 0.0 - total / self.horizon  # 0.0 - x turns -0.0 into 0.0


def quantize(x: np.ndarray, step: float, levels: int) -> np.ndarray:
    """``min(floor(x / step), levels) / levels`` for ``x >= 0``: a staircase from 0 to 1 with zero
    derivative almost everywhere. Shape preserved."""
    return np.minimum(np.floor(np.maximum(x, 0.0) / step), levels) / levels


class ZGMujocoEnv(MujocoEnv, utils.EzPickle):
    """A :class:`MujocoEnv` whose reward, observation and initial state come from an
    :class:`EpisodeTask`. Subclasses set ``task_class``, ``metadata`` and ``camera``.

    Args:
        horizon: control steps per episode; only used to place the terminal reward at
            ``t == horizon - 1``. Pass the same value as ``max_episode_steps`` to ``gym.make``.
        frame_skip: physics steps per ``step`` (default: the task's); ``render_fps`` follows.
        reset_noise_scale: half-width of uniform noise added to ``qpos`` and ``qvel`` at reset.
            Default 0, so the episode starts exactly at ``task.initial_state()``.
        render_mode, width, height: as in :class:`MujocoEnv`.
        **task_options: the task's own options (e.g. Keyframe's ``key_poses``), passed to
            ``task_class``.
    """

    task_class: ClassVar[type[EpisodeTask]]
    camera: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        horizon: int | None = None,
        reset_noise_scale: float = 0.0,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        frame_skip: int | None = None,
        **task_options: Any,
    ) -> None:
        args = (horizon, reset_noise_scale, render_mode, width, height, frame_skip)
        utils.EzPickle.__init__(self, *args, **task_options)
        if not np.isfinite(reset_noise_scale) or reset_noise_scale < 0:
            raise ValueError(f"reset_noise_scale must be >= 0, got {reset_noise_scale!r}")
        self.task = self.task_class(horizon=horizon, frame_skip=frame_skip, **task_options)
        if frame_skip is not None:  # MujocoEnv checks render_fps against 1 / dt
            self.metadata = {**self.metadata, "render_fps": int(np.round(1.0 / self.task.dt))}
        self.horizon = self.task.horizon
        self.reset_noise_scale = float(reset_noise_scale)
        obs_space = spaces.Box(-np.inf, np.inf, shape=(self.task.obs_dim,), dtype=np.float64)
        MujocoEnv.__init__(
            self,
            str(ASSETS / self.task_class.xml_file),
            self.task.frame_skip,
            observation_space=obs_space,
            render_mode=render_mode,
            width=width,
            height=height,
            default_camera_config=dict(self.camera),
        )
        self._t = 0
        self._carry: Carry = {}

    def _get_obs(self) -> np.ndarray:
        return self.task.observation(self.data.qpos[None].copy(), self.data.qvel[None].copy())[0]

    def reset_model(self) -> np.ndarray:
        s = self.reset_noise_scale
        qpos = self.init_qpos + self.np_random.uniform(-s, s, self.model.nq)
        qvel = self.init_qvel + self.np_random.uniform(-s, s, self.model.nv)
        self.set_state(qpos, qvel)
        self._t = 0
        self._carry = self.task.init_carry(self.data.qpos[None].copy(), self.data.qvel[None].copy())
        return self._get_obs()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        low, high = self.model.actuator_ctrlrange.T
        ctrl = np.clip(np.asarray(action, dtype=np.float64), low, high)
        self.do_simulation(ctrl, self.frame_skip)
        qpos, qvel = self.data.qpos[None].copy(), self.data.qvel[None].copy()
        self._carry, r = self.task.reward(self._carry, qpos, qvel, ctrl[None], self._t)
        self._t += 1
        info = {"t": self._t, **{k: float(v[0]) for k, v in self._carry.items()}}
        if self.render_mode == "human":
            self.render()
        return self._get_obs(), float(r[0]), False, False, info
