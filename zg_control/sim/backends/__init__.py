"""Episode backends: run a batch of episodes and score it with one loss per row.

Every backend offers ``evaluate(X, parameterization) -> (loss (n,), diverged (n,))`` and
``close()``; the MuJoCo ones (native, Ray) also offer ``run(X, parameterization) -> Trajectory``.

- ``"native"`` (:class:`~zg_control.sim.backends.native.NativeBackend`): ``mujoco.batch.Batch`` on a
  thread pool, scored by :meth:`Task.loss <zg_control.sim.task.Task.loss>`. The default.
- ``"gymnasium"`` (:class:`~zg_control.sim.backends.gym_backend.GymBackend`): ``gym.make(env_id)``
  stepped episode by episode; the reference, and the way to run any Gymnasium env.
- ``"ray"`` (:class:`~zg_control.sim.backends.ray_backend.RayBackend`): chunks of rows on Ray
  workers, each holding a native backend (``pip install zg_control[ray]``).

Divergence: an episode whose simulation became unstable (a MuJoCo warning counter rose, a state
or the loss is non-finite, or MuJoCo raised) is flagged, and its loss is replaced by the finite
worst case :data:`DIVERGED_LOSS` (or the task's ``diverged_loss`` attribute, if it has one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..task import Task, Trajectory

BACKENDS = ("native", "gymnasium", "ray")

DIVERGED_LOSS = 1e3
"""Loss of a diverged episode. Tasks score ``-return / horizon``; per-step rewards of the
Gymnasium locomotion tasks are O(1..10), so 1e3 is worse than any real episode yet finite."""


@dataclass(frozen=True)
class RecordedTrajectory(Trajectory):
    """A :class:`Trajectory` plus MjData fields a task asked for (its ``record`` attribute).

    Attributes:
        fields: name -> array of shape ``(n, T + 1, *field_shape)``; index 0 is the field after
            ``mj_forward`` at the initial state, index ``t`` the field as ``MjData`` holds it
            after control step ``t`` (derived fields lag one physics substep, as with
            ``mj_step``; this is what Gymnasium's envs read).
    """

    fields: dict[str, np.ndarray] = field(default_factory=dict)


def diverged_loss(task: Task | None) -> float:
    """Worst-case loss for ``task``: its ``diverged_loss`` attribute or :data:`DIVERGED_LOSS`."""
    return float(getattr(task, "diverged_loss", DIVERGED_LOSS))


def score(task: Task, traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """``task.loss(traj)`` with diverged rows replaced. Returns ``(loss (n,), diverged (n,))``.

    A row is diverged if ``traj.diverged`` says so or its loss is not finite.
    """
    with np.errstate(all="ignore"):
        loss = np.asarray(task.loss(traj), dtype=np.float64)
    if loss.shape != (traj.n,):
        raise ValueError(
            f"{type(task).__name__}.loss must return shape ({traj.n},), got {loss.shape}"
        )
    diverged = np.asarray(traj.diverged, dtype=bool) | ~np.isfinite(loss)
    return np.where(diverged, diverged_loss(task), loss), diverged


def concat_trajectories(parts: list[Trajectory]) -> Trajectory:
    """Stack trajectories of the same task along the batch axis (e.g. chunks from workers)."""
    if len(parts) == 1:
        return parts[0]
    kw = {
        name: np.concatenate([getattr(p, name) for p in parts])
        for name in ("qpos", "qvel", "ctrl", "sensordata", "diverged")
    }
    if all(isinstance(p, RecordedTrajectory) for p in parts):
        names = parts[0].fields
        fields = {k: np.concatenate([p.fields[k] for p in parts]) for k in names}
        return RecordedTrajectory(dt=parts[0].dt, fields=fields, **kw)
    return Trajectory(dt=parts[0].dt, **kw)


__all__ = [
    "BACKENDS",
    "DIVERGED_LOSS",
    "RecordedTrajectory",
    "concat_trajectories",
    "diverged_loss",
    "score",
]
