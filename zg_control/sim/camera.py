"""Where the video camera looks, chosen from the whole trajectory before the first frame.

The renderer knows the episode in advance, so the camera is fitted to it rather than steered
frame by frame. The model's bodies are split into the *character* (every tree hanging from the
world that an actuator drives), free *objects* (a ball, a puck) and the task's *goal* markers,
each drawn as bounding spheres of its geoms. Then

* the view direction comes from the character's joints: from the side (azimuth 90, looking
  along +y; along -x for the y-z plane) if they all move in the x-z plane (hinges about y, slides
  across it), else from 50
  degrees above;
* **tracking**: if the character has a moving root (a free or slide joint: HalfCheetah, Ant,
  Hopper, Jump, Push) the camera follows the subtree centre of mass of that root body, smoothed
  over half a second (centred, so it never lags) and held within a fifth of the half-frame of
  it; the distance is the smallest that keeps the whole character inside the central part of the
  frame in every frame and the whole first scene (goal included) in the first frame;
* **fixed**: if everything (character, objects, goal) over the whole episode fits at no more than
  1.5 times that distance, or the character is fixed to the world (Throw, Keyframe), one still view
  frames it all (objects are left out if they fly too far).

The camera is an ``mjCAMERA_FREE`` :class:`mujoco.MjvCamera` whose ``lookat`` is set per frame,
so every MuJoCo release draws the same video. (``mjCAMERA_TRACKING`` differs between releases:
before MuJoCo 3.3.7 it moves ``lookat`` 20% of the way to the body per ``update_scene``, which
loses a fast body, and from 3.3.7 on it jumps onto the body, shaking with every bounce.)
:func:`project` maps world points to pixels with the camera that ``mjv_updateScene`` set up,
which is how the tests check that the body stays in view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

MARGIN_TRACK = 0.55  # the character fills at most this fraction of the half-frame
MARGIN_FIXED = 0.9  # a fixed view keeps everything within this fraction of the half-frame
FIXED_WHEN = 1.5  # a fixed view is used if it is at most this much farther than tracking
SMOOTH_SECONDS = 0.5
HOLD = 0.2  # tracking lookat stays within this fraction of the half-frame of the body


@dataclass(frozen=True)
class CameraPath:
    """A camera per video frame.

    Attributes:
        lookat: Shape ``(F, 3)``, the point looked at in each frame.
        distance, azimuth, elevation: as in :class:`mujoco.MjvCamera` (metres, degrees).
        trackbodyid: the body followed, or ``-1`` for a fixed view.
    """

    lookat: np.ndarray
    distance: float
    azimuth: float
    elevation: float
    trackbodyid: int

    def camera(self, i: int) -> mujoco.MjvCamera:
        """The camera of frame ``i``."""
        cam = mujoco.MjvCamera()
        cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        cam.lookat[:] = self.lookat[i]
        cam.distance, cam.azimuth, cam.elevation = self.distance, self.azimuth, self.elevation
        return cam


def body_groups(model: mujoco.MjModel) -> tuple[list[int], list[int], int]:
    """``(character bodies, object bodies, root)``: the bodies of the trees an actuator drives
    (every tree with joints if no actuator names a joint), of the other trees, and the root body
    of the first driven tree whose root moves (free or slide joint), else ``-1``."""
    trees = [b for b in range(1, model.nbody) if model.body_parentid[b] == 0]
    driven = {
        int(model.body_rootid[model.jnt_bodyid[j]])
        for j, kind in zip(model.actuator_trnid[:, 0], model.actuator_trntype, strict=True)
        if kind in (int(mujoco.mjtTrn.mjTRN_JOINT), int(mujoco.mjtTrn.mjTRN_JOINTINPARENT))
    }
    if not driven:
        driven = {int(model.body_rootid[b]) for b in model.jnt_bodyid}
    moving = (int(mujoco.mjtJoint.mjJNT_FREE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    root = -1
    for t in trees:
        joints = range(model.body_jntadr[t], model.body_jntadr[t] + model.body_jntnum[t])
        if t in driven and any(model.jnt_type[j] in moving for j in joints):
            root = t
            break
    rootid = model.body_rootid
    char = [b for b in range(1, model.nbody) if rootid[b] in driven]
    objects = [b for b in range(1, model.nbody) if rootid[b] not in driven]
    return char, objects, root


def _geoms(model: mujoco.MjModel, bodies: list[int]) -> np.ndarray:
    """Visible, bounded geoms (not planes, group < 3, not invisible) of ``bodies``."""
    keep = (
        np.isin(model.geom_bodyid, bodies)
        & (model.geom_type != int(mujoco.mjtGeom.mjGEOM_PLANE))
        & (model.geom_group < 3)
        & (model.geom_rgba[:, 3] > 0)
    )
    return np.flatnonzero(keep)


def kinematics(model: mujoco.MjModel, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(geom_xpos (F, ngeom, 3), subtree_com (F, nbody, 3))`` of the states ``qpos (F, nq)``."""
    data = mujoco.MjData(model)
    geoms = np.empty((len(qpos), model.ngeom, 3))
    com = np.empty((len(qpos), model.nbody, 3))
    for i, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        geoms[i], com[i] = data.geom_xpos, data.subtree_com
    return geoms, com


def basis(azimuth: float, elevation: float) -> np.ndarray:
    """Rows ``right, up, forward`` of a free camera, as ``mjv_updateCamera`` computes them."""
    a, e = math.radians(azimuth), math.radians(elevation)
    ca, sa, ce, se = math.cos(a), math.sin(a), math.cos(e), math.sin(e)
    return np.array([[sa, -ca, 0.0], [-se * ca, -se * sa, ce], [ce * ca, ce * sa, se]])


@dataclass(frozen=True)
class _View:
    """A camera orientation (``axes``: rows right, up, forward) and its half-frame tangents."""

    axes: np.ndarray
    tan_x: float
    tan_y: float

    def fit(
        self, spheres: tuple[np.ndarray, np.ndarray], lookat: np.ndarray, margin: float
    ) -> float:
        """The smallest distance from ``lookat`` at which every sphere ``(centres (..., n, 3),
        radii (n,))`` lies within ``margin`` of the half-frame; ``lookat`` broadcasts against
        the centres (``(3,)``, or ``(F, 1, 3)`` for one per frame)."""
        centres, radii = spheres
        rel = (centres - lookat) @ self.axes.T  # (..., n, 3): right, up, depth beyond lookat
        need_x = (np.abs(rel[..., 0]) + radii) / (margin * self.tan_x) - rel[..., 2]
        need_y = (np.abs(rel[..., 1]) + radii) / (margin * self.tan_y) - rel[..., 2]
        return float(max(need_x.max(initial=0), need_y.max(initial=0), 4 * radii.max(initial=0)))


def view_angles(model: mujoco.MjModel, bodies: list[int]) -> tuple[float, float]:
    """``(azimuth, elevation)`` for the joints of ``bodies``: from the side (looking along +y,
    or along -x with +y to the right) if they only move in the x-z (or y-z) plane, with every
    hinge axis along y (x) and every slide axis across it; else from 50 degrees above."""
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    joints = [j for j in range(model.njnt) if model.jnt_bodyid[j] in bodies]
    hinge, slide = int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)
    if joints and all(int(model.jnt_type[j]) in (hinge, slide) for j in joints):
        for normal, azimuth in ((1, 90.0), (0, 180.0)):
            if all(
                abs(data.xaxis[j, normal]) > 0.999
                if int(model.jnt_type[j]) == hinge
                else abs(data.xaxis[j, normal]) < 1e-3
                for j in joints
            ):
                return azimuth, -12.0
    return 90.0, -50.0


def _smooth(focus: np.ndarray, window: int, hold: float) -> np.ndarray:
    """Centred moving average of ``focus (F, 3)`` over ``window`` frames (edges repeated),
    held within ``hold`` of ``focus`` per axis."""
    half = window // 2
    padded = np.concatenate([focus[:1].repeat(half, 0), focus, focus[-1:].repeat(half, 0)])
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    avg = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(3)], axis=1)
    return focus + np.clip(avg - focus, -hold, hold)


def _fixed_views(groups: list[tuple[np.ndarray, np.ndarray]], view: _View) -> list[tuple]:
    """``(distance, lookat (3,))`` of a still view of every sphere of ``groups`` (each
    ``(centres (F, n, 3), radii (n,))``) over all frames, then of all but the second group."""
    views = []
    for chosen in (groups, groups[:1] + groups[2:]):
        c = np.concatenate([g[0].reshape(-1, 3) for g in chosen])
        r = np.concatenate([np.tile(g[1], len(g[0])) for g in chosen])
        lookat = ((c - r[:, None]).min(axis=0) + (c + r[:, None]).max(axis=0)) / 2
        views.append((view.fit((c, r), lookat, MARGIN_FIXED), lookat))
    return views


def _tracking(
    groups: list[tuple[np.ndarray, np.ndarray]], focus: np.ndarray, view: _View, frame_dt: float
) -> tuple[np.ndarray, float]:
    """``(lookat (F, 3), distance)`` following ``focus (F, 3)``: the character (``groups[0]``)
    in every frame, and every group's first frame, in view."""
    dist = view.fit(groups[0], focus[:, None], MARGIN_TRACK)
    window = max(1, round(SMOOTH_SECONDS / frame_dt))
    lookat = _smooth(focus, window, HOLD * dist * view.tan_y)
    first = (np.concatenate([g[0][0] for g in groups]), np.concatenate([g[1] for g in groups]))
    return lookat, max(dist, view.fit(first, lookat[0], MARGIN_FIXED))


def camera_path(
    model: mujoco.MjModel,
    qpos: np.ndarray,
    goals: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    aspect: float = 1.0,
    frame_dt: float = 1 / 30,
) -> CameraPath:
    """The camera for the frames ``qpos (F, nq)`` (see the module docstring).

    Args:
        goals: ``(centres (m, 3), radii (m,))`` of goal markers to keep in view, or ``None``.
        aspect: frame width / height. frame_dt: seconds between frames.
    """
    char, objects, root = body_groups(model)
    xpos, com = kinematics(model, qpos)
    goal_c, goal_r = goals if goals is not None else (np.zeros((0, 3)), np.zeros(0))
    groups = [
        (xpos[:, ids], model.geom_rbound[ids])
        for ids in (_geoms(model, char), _geoms(model, objects))
    ] + [(np.broadcast_to(goal_c, (len(qpos), len(goal_r), 3)), goal_r)]
    azimuth, elevation = view_angles(model, char)
    tan_y = math.tan(math.radians(model.vis.global_.fovy) / 2)
    view = _View(basis(azimuth, elevation), tan_y * aspect, tan_y)
    fixed = _fixed_views(groups, view)
    if root < 0:  # nothing travels: the still view of the character and the goal always fits
        lookat, dist = com[:, 0], fixed[1][0]
    else:
        lookat, dist = _tracking(groups, com[:, root], view, frame_dt)
    for fixed_dist, fixed_lookat in fixed:
        if fixed_dist <= FIXED_WHEN * dist:
            lookat = np.tile(fixed_lookat, (len(qpos), 1))
            return CameraPath(lookat, fixed_dist, azimuth, elevation, -1)
    return CameraPath(lookat, dist, azimuth, elevation, root)


def project(scene: mujoco.MjvScene, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel coordinates ``(n, 2)`` (column, row; row 0 at the top) of world ``points (n, 3)`` in
    the camera that ``mjv_updateScene`` set up in ``scene``, as ``mjr_render`` draws it. Points
    behind the camera get ``nan``."""
    cam = mujoco.mjv_averageCamera(scene.camera[0], scene.camera[1])
    forward, up = np.asarray(cam.forward, float), np.asarray(cam.up, float)
    rel = np.asarray(points, float) - np.asarray(cam.pos, float)
    depth = rel @ forward
    x = rel @ np.cross(forward, up) * cam.frustum_near / depth
    y = rel @ up * cam.frustum_near / depth
    half_h = (cam.frustum_top - cam.frustum_bottom) / 2
    half_w = cam.frustum_width or half_h * width / height
    u = (x - cam.frustum_center) / half_w
    v = (y - (cam.frustum_top + cam.frustum_bottom) / 2) / half_h
    pix = np.stack([(u + 1) / 2 * width, (1 - v) / 2 * height], axis=1)
    pix[depth <= 0] = np.nan
    return pix
