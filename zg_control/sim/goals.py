"""The task's goal, drawn into the video: extra geoms added to the scene after ``update_scene``.

Nothing here touches the model, so the physics cannot change. What is drawn (translucent green
unless said otherwise):

* ``zg_control/Throw-v0``: the hit region inside the basket (``basket_x``, below
  ``basket_top``, ``|y| < basket_half_width``);
* ``zg_control/Push-v0``: the target disc (``target``, ``radius``) as a low column around it;
* ``zg_control/Jump-v0``: the landing zone beyond ``clear_x``, which the rearmost point must pass
  (the hurdle itself is part of the model);
* ``zg_control/Keyframe-v0``: a ghost of the arm in each key pose, one colour per keyframe,
  strong while it is the next one to meet and faint otherwise.

Other tasks (Gymnasium's locomotion, bring-your-own models) have no goal to draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

GREEN = (0.1, 0.8, 0.2, 0.35)
KEY_COLOURS = ((0.1, 0.7, 0.2), (0.2, 0.4, 0.95), (0.7, 0.2, 0.8))


@dataclass(frozen=True)
class Marker:
    """One scene geom: ``kind`` an ``mjtGeom``, ``size (3,)``, ``pos (3,)``, ``mat (9,)`` (row
    major), ``rgba (4,)``; drawn in the frames of state rows ``rows = (first, last)`` of
    ``qpos`` (inclusive), or in every frame if ``None``."""

    kind: int
    size: tuple[float, float, float]
    pos: tuple[float, float, float]
    rgba: tuple[float, float, float, float] = GREEN
    mat: tuple[float, ...] = field(default=(1, 0, 0, 0, 1, 0, 0, 0, 1))
    rows: tuple[int, int] | None = None

    @property
    def radius(self) -> float:
        """Radius of a sphere around the geom, for keeping it in view."""
        s, t = self.size, mujoco.mjtGeom
        if self.kind == int(t.mjGEOM_SPHERE):
            return s[0]
        if self.kind == int(t.mjGEOM_CAPSULE):
            return s[0] + s[1]
        if self.kind == int(t.mjGEOM_CYLINDER):
            return float(np.hypot(s[0], s[1]))
        return float(np.linalg.norm(s))


def goal_markers(task: object) -> list[Marker]:
    """The markers of ``task``'s goal (the module docstring lists them); ``[]`` if it has none."""
    from zg_control.envs import jump, keyframe, push, throw

    for cls, build in (
        (throw.ThrowTask, _throw),
        (push.PushTask, _push),
        (jump.JumpTask, _jump),
        (keyframe.KeyframeTask, _keyframe),
    ):
        if isinstance(task, cls):
            return build(task)
    return []


def spheres(markers: list[Marker]) -> tuple[np.ndarray, np.ndarray]:
    """``(centres (m, 3), radii (m,))`` of ``markers``, for the camera."""
    centres = np.array([m.pos for m in markers], dtype=float).reshape(-1, 3)
    return centres, np.array([m.radius for m in markers], dtype=float)


def draw(scene: mujoco.MjvScene, markers: list[Marker], row: int) -> int:
    """Append the markers shown at state row ``row`` to ``scene`` (after ``update_scene``);
    returns how many did not fit into ``scene.maxgeom``."""
    dropped = 0
    for m in markers:
        if m.rows is not None and not m.rows[0] <= row <= m.rows[1]:
            continue
        if scene.ngeom >= scene.maxgeom:
            dropped += 1
            continue
        geom = scene.geoms[scene.ngeom]
        mujoco.mjv_initGeom(
            geom,
            int(m.kind),
            np.asarray(m.size, float),
            np.asarray(m.pos, float),
            np.asarray(m.mat, float),
            np.asarray(m.rgba, np.float32),
        )
        geom.category = mujoco.mjtCatBit.mjCAT_DECOR
        geom.transparent = m.rgba[3] < 1
        scene.ngeom += 1
    return dropped


def ghost(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    rgba: tuple[float, float, float, float],
    rows: tuple[int, int] | None = None,
) -> list[Marker]:
    """The model's body geoms (primitives only; not the world's) at the state ``qpos (nq,)``."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    t = mujoco.mjtGeom
    skip = {int(t.mjGEOM_PLANE), int(t.mjGEOM_HFIELD), int(t.mjGEOM_MESH), int(t.mjGEOM_SDF)}
    return [
        Marker(
            int(model.geom_type[g]),
            tuple(model.geom_size[g]),
            tuple(data.geom_xpos[g]),
            rgba,
            tuple(data.geom_xmat[g]),
            rows,
        )
        for g in range(model.ngeom)
        if model.geom_bodyid[g] > 0 and int(model.geom_type[g]) not in skip
    ]


def _throw(task: Any) -> list[Marker]:
    (x0, x1), top, half_y = task.basket_x, task.basket_top, task.basket_half_width
    box = int(mujoco.mjtGeom.mjGEOM_BOX)
    return [Marker(box, ((x1 - x0) / 2, half_y, top / 2), ((x0 + x1) / 2, 0.0, top / 2))]


def _push(task: Any) -> list[Marker]:
    x, y = task.target
    return [Marker(int(mujoco.mjtGeom.mjGEOM_CYLINDER), (task.radius, 0.04, 0), (x, y, 0.04))]


def _jump(task: Any) -> list[Marker]:
    box = int(mujoco.mjtGeom.mjGEOM_BOX)
    return [Marker(box, (0.3, 0.5, 0.003), (task.clear_x + 0.3, 0.0, 0.003))]


def _keyframe(task: Any) -> list[Marker]:
    out = []
    rows = [0] + [t + 2 for t in task.key_steps]  # state row t + 1 is the pose after step t
    for k, pose in enumerate(task.key_poses):
        qpos, colour = np.asarray(pose, float), KEY_COLOURS[k % len(KEY_COLOURS)]
        out += ghost(task.model, qpos, (*colour, 0.45), (rows[k], rows[k + 1] - 1))
        out += ghost(task.model, qpos, (*colour, 0.12), (rows[k + 1], 10**9))
        if rows[k] > 0:
            out += ghost(task.model, qpos, (*colour, 0.12), (0, rows[k] - 1))
    return out
