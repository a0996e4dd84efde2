"""Bring your own model: any MJCF or ``MjModel`` plus a batched loss, without subclassing.

    task = ModelTask("robot.xml", loss_fn=lambda traj: -traj.qpos[:, -1, 0], horizon=200)
    objective = make_objective(task)          # or make_objective(model, loss_fn=..., horizon=...)

``loss_fn(traj: Trajectory) -> (n,)`` scores a whole batch (lower is better); see
:class:`~zg_control.sim.task.Trajectory` for the arrays it gets.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import mujoco
import numpy as np

from ._mjwarn import mujoco_warnings_logged
from ._validate import positive_int
from .task import Trajectory

LossFn = Callable[[Trajectory], np.ndarray]


def is_model_path(env: object) -> bool:
    """Whether ``env`` names a model file rather than an env id: a path object, or a string
    ending in ``.xml``/``.mjb`` or naming an existing file."""
    return isinstance(env, os.PathLike) or (
        isinstance(env, str) and (env.endswith((".xml", ".mjb")) or os.path.isfile(env))
    )


def load_model(model_or_path: mujoco.MjModel | str | os.PathLike) -> mujoco.MjModel:
    """An ``MjModel`` as is, or compiled from an MJCF/MJB path; ``ValueError`` if that fails."""
    if isinstance(model_or_path, mujoco.MjModel):
        return model_or_path
    if not isinstance(model_or_path, (str, os.PathLike)):
        raise ValueError(
            f"expected an MjModel or a path to an MJCF file, got {type(model_or_path).__name__}"
        )
    path = os.fspath(model_or_path)
    if not os.path.isfile(path):
        raise ValueError(f"model file {path!r} does not exist")
    try:
        with mujoco_warnings_logged():
            if path.endswith(".mjb"):
                return mujoco.MjModel.from_binary_path(path)
            return mujoco.MjModel.from_xml_path(path)
    except Exception as err:  # mujoco raises ValueError or its own errors for bad MJCF
        raise ValueError(f"could not compile {path!r}: {err}") from err


class ModelTask:
    """A :class:`~zg_control.sim.task.Task` from a model and a loss function.

    Args:
        model_or_path: an ``MjModel`` (not modified) or a path to an MJCF (or ``.mjb``) file.
        loss_fn: ``Trajectory -> (n,)``, lower is better.
        horizon: control steps ``T``.
        frame_skip: physics steps per control step.
        initial_qpos: shape ``(nq,)``; default the keyframe's, else ``model.qpos0``.
        initial_qvel: shape ``(nv,)``; default the keyframe's, else zeros.
        keyframe: keyframe index or name; the native backend resets to it (so its ``act``,
            ``mocap_*`` and ``ctrl`` apply too) before writing the initial ``qpos``/``qvel``.

    ``observation(qpos, qvel)`` is ``concat(qpos, qvel)``, shape ``(n, nq + nv)``.
    """

    def __init__(
        self,
        model_or_path: mujoco.MjModel | str | os.PathLike,
        loss_fn: LossFn,
        horizon: int,
        frame_skip: int = 1,
        initial_qpos: np.ndarray | None = None,
        initial_qvel: np.ndarray | None = None,
        keyframe: int | str | None = None,
    ):
        self.model = load_model(model_or_path)
        if not callable(loss_fn):
            raise ValueError("loss_fn must be a callable Trajectory -> (n,) losses")
        self.loss_fn = loss_fn
        self.horizon = positive_int("horizon", horizon)
        self.frame_skip = positive_int("frame_skip", frame_skip)
        m = self.model
        qpos, qvel = m.qpos0.copy(), np.zeros(m.nv)
        self.keyframe = None
        if keyframe is not None:
            try:
                self.keyframe = m.keyframe(keyframe).id
            except (KeyError, IndexError, TypeError) as err:
                raise ValueError(f"model has no keyframe {keyframe!r} (nkey={m.nkey})") from err
            qpos, qvel = m.key_qpos[self.keyframe].copy(), m.key_qvel[self.keyframe].copy()
        self._qpos0 = self._vector("initial_qpos", initial_qpos, qpos, m.nq)
        self._qvel0 = self._vector("initial_qvel", initial_qvel, qvel, m.nv)

    @staticmethod
    def _vector(name: str, value, default: np.ndarray, size: int) -> np.ndarray:
        if value is None:
            return default
        out = np.array(value, dtype=np.float64)
        if out.shape != (size,):
            raise ValueError(f"{name} must have shape ({size},), got {out.shape}")
        return out

    def initial_state(self) -> tuple[np.ndarray, np.ndarray]:
        """``(qpos (nq,), qvel (nv,))``."""
        return self._qpos0.copy(), self._qvel0.copy()

    def observation(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """``concat(qpos, qvel)``. Shapes ``(n, nq), (n, nv) -> (n, nq + nv)``."""
        return np.concatenate([qpos, qvel], axis=1)

    def loss(self, traj: Trajectory) -> np.ndarray:
        """``loss_fn(traj)`` as float64, checked to be shape ``(n,)``."""
        out = np.asarray(self.loss_fn(traj), dtype=np.float64)
        if out.shape != (traj.n,):
            out = out.reshape(-1) if out.size == traj.n else out
        if out.shape != (traj.n,):
            raise ValueError(f"loss_fn must return shape ({traj.n},), got {np.shape(out)}")
        return out
