"""What the episode backends and the tasks agree on.

A *task* is a MuJoCo model plus a horizon, an initial state and a loss that scores a whole batch
of trajectories at once (lower is better; a reward is turned into a loss in the task, nowhere
else). The native backend (``mujoco.rollout`` / ``mujoco.batch``) produces a :class:`Trajectory`
and hands it to :meth:`Task.loss`; the Gymnasium backend instead steps ``gym.make(env_id)`` and
turns the episode return into the same loss.

Tasks are found by env id in :data:`TASKS`. :mod:`zg_control.envs` fills it with
:func:`register_task` when imported (``import zg_control`` does that): its own tasks and those of
:mod:`zg_control.sim.gym_tasks`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import mujoco
import numpy as np


@dataclass(frozen=True)
class Trajectory:
    """A batch of ``n`` episodes of ``T`` control steps, sampled once per control step.

    Attributes:
        qpos: Shape ``(n, T + 1, nq)``; index 0 is the initial state, index ``t`` the state after
            control step ``t`` (i.e. after ``frame_skip`` physics steps).
        qvel: Shape ``(n, T + 1, nv)``; same indexing as ``qpos``.
        ctrl: Shape ``(n, T, nu)``; the control applied during step ``t`` (already clipped to
            ``ctrlrange``).
        sensordata: Shape ``(n, T, nsensordata)``; sensor values after control step ``t``.
        diverged: Shape ``(n,)``, bool; the simulation became unstable (MuJoCo warning or
            non-finite state). Its loss is replaced by a worst-case value by the caller.
        dt: Seconds per control step (``model.opt.timestep * frame_skip``).
    """

    qpos: np.ndarray
    qvel: np.ndarray
    ctrl: np.ndarray
    sensordata: np.ndarray
    diverged: np.ndarray
    dt: float

    @property
    def n(self) -> int:
        return self.qpos.shape[0]

    @property
    def horizon(self) -> int:
        return self.ctrl.shape[1]


@runtime_checkable
class Task(Protocol):
    """A batched physics-animation problem (see module docstring).

    Attributes:
        model: the compiled model; backends copy it, never mutate it.
        frame_skip: physics steps per control step.
        horizon: number of control steps ``T``.

    Optional attributes the native backend reads when present:
        terminated(qpos (n, nq), qvel (n, nv)) -> (n,) bool: the episode ends here (as a
            Gymnasium env's ``terminated``); the backend may stop simulating such rows and hold
            their last state, so the loss must ignore states after termination.
        record: names of extra ``MjData`` fields to record (e.g. ``("xpos",)``); they arrive in
            ``RecordedTrajectory.fields``.
        keyframe: a keyframe name or id of ``model`` to start from.
        diverged_loss: the finite worst-case loss of a diverged episode.
        gym_kwargs: keyword arguments that make ``gym.make(env_id)`` score like this task.
    """

    model: mujoco.MjModel
    frame_skip: int
    horizon: int

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(qpos (nq,), qvel (nv,))`` every episode starts from."""
        ...

    def observation(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """Policy input. Shapes ``(n, nq), (n, nv) -> (n, obs_dim)``."""
        ...

    def loss(self, traj: Trajectory) -> np.ndarray:
        """Score a batch. Returns shape ``(n,)``; lower is better."""
        ...


TaskFactory = Callable[..., Task]

TASKS: dict[str, TaskFactory] = {}


def register_task(env_id: str, factory: TaskFactory) -> None:
    """Make ``env_id`` runnable on the native backend: ``factory(**kwargs) -> Task``."""
    TASKS[env_id] = factory


def make_task(env_id: str, **kwargs) -> Task:
    """Build the native task for ``env_id``; ``ValueError`` if there is none."""
    if env_id not in TASKS:
        known = ", ".join(sorted(TASKS)) or "(none registered)"
        raise ValueError(
            f"no native task for env id {env_id!r}; known: {known}. "
            "Use backend='gymnasium' for any other Gymnasium env."
        )
    return TASKS[env_id](**kwargs)
