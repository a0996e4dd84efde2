"""The Gymnasium backend: the reference, and the way to run any env id with a Box action space.

One env from ``gym.make(env_id, max_episode_steps=horizon, **gym_kwargs)`` runs the rows of a
batch one after another. Every episode starts from ``env.reset(seed=reset_seed)``, so it is
deterministic. Actions come from the parameterisation: open-loop controls ``decode(X)[i, t]``, or
``act(W[i:i+1], obs)`` for a policy.
The return sums rewards until Gymnasium says ``terminated`` or ``truncated`` (exactly as an
episode of the env would), and ``loss = -return / horizon``.

Divergence: for MuJoCo envs, a rise of ``data.warning`` counters during the episode; for every
env, a non-finite reward or observation. The episode then stops and scores the worst case.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .._mjwarn import mujoco_warnings_logged
from .._validate import positive_int
from ..task import Trajectory
from . import diverged_loss


class GymBackend:
    """Sequential episodes of ``gym.make(env_id)``; see the module docstring."""

    name = "gymnasium"

    def __init__(
        self, env_id: str, *, horizon: int, reset_seed: int = 0, gym_kwargs: dict | None = None
    ):
        horizon = positive_int("horizon", horizon)
        self.env_id, self.horizon, self.reset_seed = env_id, horizon, int(reset_seed)
        self.gym_kwargs = dict(gym_kwargs or {})
        try:
            with mujoco_warnings_logged():
                self.env = gym.make(
                    env_id,
                    max_episode_steps=self.horizon,
                    disable_env_checker=True,
                    **self.gym_kwargs,
                )
        except gym.error.Error as err:
            raise ValueError(f"gym.make({env_id!r}) failed: {err}") from err
        # a TypeError (an option the env does not take) goes on to make_objective, whose
        # message names the env's valid options
        space = self.env.action_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            self.env.close()
            raise ValueError(
                f"{env_id} has action space {space}; the gymnasium backend needs a 1-D Box"
            )
        self.ctrl_low = np.asarray(space.low, dtype=np.float64)
        self.ctrl_high = np.asarray(space.high, dtype=np.float64)
        self.obs_dim = int(np.prod(self.env.observation_space.shape))
        self._data = getattr(self.env.unwrapped, "data", None)  # MjData for MuJoCo envs
        self._model = getattr(self.env.unwrapped, "model", None)

    @property
    def is_mujoco(self) -> bool:
        return self._data is not None and self._model is not None

    def evaluate(self, X: np.ndarray, parameterization) -> tuple[np.ndarray, np.ndarray]:
        """Losses of a batch. ``X`` shape ``(n, d)`` -> ``(loss (n,), diverged (n,))``."""
        loss, diverged, _ = self._episodes(X, parameterization, record=False)
        return loss, diverged

    def run(self, X: np.ndarray, parameterization) -> Trajectory:
        """Trajectories of a batch (MuJoCo envs only). After a termination the last state is
        repeated and the controls are zero. ``X`` shape ``(n, d)``."""
        if not self.is_mujoco:
            raise ValueError(f"{self.env_id} is not a MuJoCo env; it has no trajectory to record")
        return self._episodes(X, parameterization, record=True)[2]

    def close(self) -> None:
        self.env.close()

    # ------------------------------------------------------------------ internals
    def _episodes(self, X, parameterization, record: bool):
        X = np.asarray(X, dtype=np.float64)
        closed = parameterization.closed_loop
        U = None if closed else parameterization.decode(X)
        n, T = X.shape[0], self.horizon
        loss, diverged = np.empty(n), np.zeros(n, dtype=bool)
        rec = self._buffers(n) if record else None
        for i in range(n):
            ret, bad = self._episode(
                parameterization, X[i : i + 1], None if closed else U[i], rec, i
            )
            diverged[i] = bad
            loss[i] = diverged_loss(None) if bad else -ret / T
        traj = None
        if record:
            qpos, qvel, ctrl, sens = rec
            traj = Trajectory(qpos, qvel, ctrl, sens, diverged.copy(), float(self.env.unwrapped.dt))
        return loss, diverged, traj

    def _buffers(self, n: int):
        m, T = self._model, self.horizon
        return (
            np.empty((n, T + 1, m.nq)),
            np.empty((n, T + 1, m.nv)),
            np.zeros((n, T, m.nu)),
            np.empty((n, T, m.nsensordata)),
        )

    def _episode(self, policy, w, controls, rec, i: int) -> tuple[float, bool]:
        """One episode from the seeded reset: open loop if ``controls`` (shape ``(T, nu)``),
        else ``policy.act(w (1, d), obs)``. Returns ``(return, diverged)``."""
        obs, _ = self.env.reset(seed=self.reset_seed)
        ret, t = 0.0, 0
        if rec is not None:
            rec[0][i, 0], rec[1][i, 0] = self._data.qpos, self._data.qvel
        for t in range(self.horizon):
            obs = np.asarray(obs, dtype=np.float64).reshape(-1)
            action = policy.act(w, obs[None])[0] if controls is None else controls[t]
            obs, reward, terminated, truncated, _ = self.env.step(action)
            ret += float(reward)
            if rec is not None:
                rec[0][i, t + 1], rec[1][i, t + 1] = self._data.qpos, self._data.qvel
                rec[2][i, t], rec[3][i, t] = action, self._data.sensordata
            if self._unstable(reward, obs):
                self._pad(rec, i, t)
                return ret, True
            if terminated or truncated:
                break
        self._pad(rec, i, t)
        return ret, False

    def _unstable(self, reward, obs) -> bool:
        if self.is_mujoco and np.any(self._data.warning.number > 0):
            return True
        return not (np.isfinite(reward) and np.all(np.isfinite(np.asarray(obs, dtype=float))))

    @staticmethod
    def _pad(rec, i: int, t: int) -> None:
        """Repeat the state after step ``t`` to the end of the horizon."""
        if rec is None:
            return
        rec[0][i, t + 2 :], rec[1][i, t + 2 :] = rec[0][i, t + 1], rec[1][i, t + 1]
        rec[3][i, t + 1 :] = rec[3][i, t]
