"""Native tasks that reproduce Gymnasium's MuJoCo v5 locomotion rewards from a trajectory.

``HalfCheetah-v5``, ``Hopper-v5``, ``Walker2d-v5``, ``Ant-v5`` and ``Swimmer-v5``. Each task is
built from ``gym.make(env_id, **gym_kwargs)`` reset with ``seed=reset_seed``: the model, the frame
skip, the reward weights and the initial state are the env's own, so the native backend and the
Gymnasium backend run the same episode bit for bit. Per control step ``t`` (Gymnasium's
``step``)::

    reward_t = w_forward * (x_{t+1} - x_t) / dt + w_healthy * healthy_{t+1}
               - w_ctrl * |u_t|^2 (- contact cost, Ant)
    loss     = -(sum of reward_t up to and including the first unhealthy step) / horizon

``x`` is ``qpos[0]`` (Ant: the x of ``data.body(main_body).xpos`` as Gymnasium reads it after
``mj_step``, which for RK4 lags the state; the task records that field). Hopper, Walker2d and
Ant terminate when unhealthy if ``terminate_when_unhealthy`` (the default); HalfCheetah and
Swimmer have no healthy reward. ``observation(qpos, qvel)`` is the env's ``_get_obs``.

Ant: the v5 contact cost (``contact_cost_weight``, Gymnasium default ``5e-4``) and the contact
forces in the observation (``include_cfrc_ext_in_observation``, default ``True``) need
``cfrc_ext`` after every step, which ``mj_step`` does not compute. The native Ant task therefore
defaults to ``contact_cost_weight=0`` and ``include_cfrc_ext_in_observation=False`` (passed to
``gym.make`` too) and rejects other values: use ``backend="gymnasium"`` for the v5 defaults.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np

from ._mjwarn import mujoco_warnings_logged
from ._validate import positive_int
from .task import Trajectory

DEFAULT_HORIZON = 100


class GymLocomotionTask:
    """Shared part: built from the Gymnasium env; subclasses define ``_forward_x``/``_healthy``.

    Attributes: ``model``, ``frame_skip``, ``horizon``, ``env_id``, ``gym_kwargs`` (what
    ``gym.make`` got), ``reset_seed``, ``dt``, the reward weights, ``record`` (MjData fields the
    backend must record, see :class:`~zg_control.sim.backends.RecordedTrajectory`).
    """

    env_id: str
    record: tuple[str, ...] = ()
    _skip_qpos = 1  # qpos entries dropped from the observation (exclude_current_positions...)
    _clip_qvel: float | None = None  # Hopper/Walker2d clip velocities in the observation

    def __init__(self, horizon: int = DEFAULT_HORIZON, reset_seed: int = 0, **gym_kwargs):
        horizon = positive_int("horizon", horizon)
        self.horizon, self.reset_seed, self.gym_kwargs = horizon, int(reset_seed), gym_kwargs
        with mujoco_warnings_logged():
            env = gym.make(self.env_id, disable_env_checker=True, **gym_kwargs)
        try:
            env.reset(seed=self.reset_seed)
            u = env.unwrapped
            self.model: mujoco.MjModel = u.model
            self.frame_skip = int(u.frame_skip)
            self.dt = float(u.dt)
            self._qpos0, self._qvel0 = u.data.qpos.copy(), u.data.qvel.copy()
            self.forward_reward_weight = float(u._forward_reward_weight)
            self.ctrl_cost_weight = float(u._ctrl_cost_weight)
            self.healthy_reward = float(getattr(u, "_healthy_reward", 0.0))
            self.terminate_when_unhealthy = bool(getattr(u, "_terminate_when_unhealthy", False))
            if not u._exclude_current_positions_from_observation:
                self._skip_qpos = 0
            self._configure(u)
        finally:
            env.close()

    def _configure(self, env) -> None:
        """Read env-specific settings from the unwrapped env."""

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """The state after ``env.reset(seed=reset_seed)``: ``(qpos (nq,), qvel (nv,))``."""
        return self._qpos0.copy(), self._qvel0.copy()

    def observation(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """The env's ``_get_obs``. Shapes ``(n, nq), (n, nv) -> (n, obs_dim)``."""
        if self._clip_qvel is not None:
            qvel = np.clip(qvel, -self._clip_qvel, self._clip_qvel)
        return np.concatenate([qpos[:, self._skip_qpos :], qvel], axis=1)

    def _forward_x(self, traj: Trajectory) -> np.ndarray:
        """The coordinate whose velocity is rewarded. Shape ``(n, T + 1)``."""
        return traj.qpos[:, :, 0]

    def _healthy(self, traj: Trajectory) -> np.ndarray | None:
        """Healthy after each control step, shape ``(n, T)`` bool; ``None`` if not applicable."""
        return None

    def rewards(self, traj: Trajectory) -> np.ndarray:
        """Gymnasium's per-step reward for every step, ignoring termination. Shape ``(n, T)``."""
        x = self._forward_x(traj)
        reward = self.forward_reward_weight * ((x[:, 1:] - x[:, :-1]) / self.dt)
        healthy = self._healthy(traj)
        if healthy is not None:
            reward = reward + healthy * self.healthy_reward
        return reward - self.ctrl_cost_weight * np.sum(np.square(traj.ctrl), axis=-1)

    def alive(self, traj: Trajectory) -> np.ndarray:
        """Steps whose reward counts (up to and including termination). Shape ``(n, T)`` bool."""
        healthy = self._healthy(traj)
        if healthy is None or not self.terminate_when_unhealthy:
            return np.ones(traj.ctrl.shape[:2], dtype=bool)
        # a step counts if no earlier step was unhealthy
        ended_before = np.cumsum(~healthy, axis=1) - ~healthy
        return ended_before == 0

    def loss(self, traj: Trajectory) -> np.ndarray:
        """``-(episode return) / horizon``. Shape ``(n,)``."""
        ret = np.sum(np.where(self.alive(traj), self.rewards(traj), 0.0), axis=1)
        return -ret / traj.horizon


def _in_open(v: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (bounds[0] < v) & (v < bounds[1])


class _HealthyTask(GymLocomotionTask):
    """A task with a healthy reward and (if ``terminate_when_unhealthy``) termination."""

    def _healthy_states(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Shapes ``(..., nq), (..., nv) -> (...)`` bool."""
        raise NotImplementedError

    def _healthy(self, traj: Trajectory) -> np.ndarray:
        return self._healthy_states(traj.qpos[:, 1:], traj.qvel[:, 1:])

    def terminated(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """The episode ends at this state. Shapes ``(..., nq), (..., nv) -> (...)`` bool."""
        if not self.terminate_when_unhealthy:
            return np.zeros(np.shape(qpos)[:-1], dtype=bool)
        return ~self._healthy_states(qpos, qvel)


class HalfCheetahTask(GymLocomotionTask):
    """``HalfCheetah-v5``: forward velocity minus control cost; never terminates."""

    env_id = "HalfCheetah-v5"


class SwimmerTask(GymLocomotionTask):
    """``Swimmer-v5``: forward velocity minus control cost; never terminates."""

    env_id = "Swimmer-v5"
    _skip_qpos = 2

    def _configure(self, env) -> None:
        self._skip_qpos = 2 if env._exclude_current_positions_from_observation else 0


class HopperTask(_HealthyTask):
    """``Hopper-v5``: healthy if ``z``, the torso angle and ``state[2:]`` are in range."""

    env_id = "Hopper-v5"
    _clip_qvel = 10.0

    def _configure(self, env) -> None:
        self.healthy_state_range = tuple(env._healthy_state_range)
        self.healthy_z_range = tuple(env._healthy_z_range)
        self.healthy_angle_range = tuple(env._healthy_angle_range)

    def _healthy_states(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        state = np.concatenate([qpos[..., 2:], qvel], axis=-1)
        ok = _in_open(state, self.healthy_state_range).all(axis=-1)
        ok &= _in_open(qpos[..., 1], self.healthy_z_range)
        return ok & _in_open(qpos[..., 2], self.healthy_angle_range)


class Walker2dTask(_HealthyTask):
    """``Walker2d-v5``: healthy if ``z`` and the torso angle are in range."""

    env_id = "Walker2d-v5"
    _clip_qvel = 10.0

    def _configure(self, env) -> None:
        self.healthy_z_range = tuple(env._healthy_z_range)
        self.healthy_angle_range = tuple(env._healthy_angle_range)

    def _healthy_states(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        ok = _in_open(qpos[..., 1], self.healthy_z_range)
        return ok & _in_open(qpos[..., 2], self.healthy_angle_range)


class AntTask(_HealthyTask):
    """``Ant-v5`` without the contact cost (see the module docstring): healthy if the state is
    finite and ``min_z <= z <= max_z``; forward velocity of ``main_body``'s ``xpos``."""

    env_id = "Ant-v5"
    record = ("xpos",)
    _skip_qpos = 2

    def __init__(self, horizon: int = DEFAULT_HORIZON, reset_seed: int = 0, **gym_kwargs):
        for name, off in (("contact_cost_weight", 0.0), ("include_cfrc_ext_in_observation", False)):
            if gym_kwargs.setdefault(name, off):
                raise ValueError(
                    f"the native Ant-v5 task needs {name}=0/False (cfrc_ext is not computed by "
                    "mj_step); use backend='gymnasium' for Gymnasium's contact cost"
                )
        super().__init__(horizon, reset_seed, **gym_kwargs)

    def _configure(self, env) -> None:
        self.healthy_z_range = tuple(env._healthy_z_range)
        self.main_body = self.model.body(env._main_body).id
        self._skip_qpos = 2 if env._exclude_current_positions_from_observation else 0

    def _forward_x(self, traj: Trajectory) -> np.ndarray:
        return traj.fields["xpos"][:, :, self.main_body, 0]

    def _healthy_states(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        finite = np.isfinite(qpos).all(axis=-1) & np.isfinite(qvel).all(axis=-1)
        lo, hi = self.healthy_z_range
        return finite & (lo <= qpos[..., 2]) & (qpos[..., 2] <= hi)


GYM_TASKS = {
    cls.env_id: cls for cls in (HalfCheetahTask, HopperTask, Walker2dTask, AntTask, SwimmerTask)
}
"""Env id -> native task class; :mod:`zg_control.envs` registers each in ``TASKS``."""
