"""Replay parameters to a video, a still strip and the trajectory, headless.

    from zg_control.sim.render import render
    f = zg.make_objective("zg_control/Throw-v0", parameterization="spline", n_knots=8)
    out = render(f, res.x, "out/")    # out/trajectory.npz, out/video.mp4, out/strip.png

The camera follows the body or frames the whole episode (:mod:`zg_control.sim.camera`) and the
task's goal is drawn into the frames (:mod:`zg_control.sim.goals`); the model is not changed.

``trajectory.npz`` (``np.load`` reads it, no pickle) holds the episode at every control step:
``qpos (T + 1, nq)`` and ``qvel (T + 1, nv)`` (row 0 the initial state, row ``t`` the state after
control step ``t``), ``ctrl (T, nu)`` (the clipped controls applied during each step), ``time
(T + 1,)`` (seconds of each row), ``dt`` (seconds per control step), ``x (d,)`` (the parameters),
``qpos_names (nq,)`` and ``ctrl_names (nu,)`` (joint and actuator names, see
:func:`qpos_names`). ``mujoco.MjData.qpos[:] = qpos[t]`` followed by ``mj_forward`` restores
the pose of row ``t`` in any MuJoCo tool.

Rendering uses MuJoCo's offscreen :class:`mujoco.Renderer`. Its OpenGL backend is fixed when
``mujoco`` is imported (``MUJOCO_GL``); if the user did not choose one we switch to EGL (then
OSMesa) before the first frame, so it works on a machine without a display. Shadows,
reflections and multisampling are off. If no backend works, :class:`RenderUnavailable` says why
and the caller carries on without a video.
"""

from __future__ import annotations

import copy
import importlib
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .camera import camera_path
from .goals import Marker, draw, goal_markers, spheres

log = logging.getLogger("zg_control")

MAX_FPS = 60.0
_BACKEND: list[str] = []  # the GL backend that worked in this process


class RenderUnavailable(RuntimeError):
    """No headless OpenGL context could be created (the message says what was tried)."""


def _gl_module() -> Any:
    import mujoco

    return sys.modules[mujoco.Renderer.__module__].gl_context


def make_renderer(model: Any, width: int, height: int) -> tuple[Any, str]:
    """A :class:`mujoco.Renderer` for ``model`` (not modified) and the GL backend used."""
    import mujoco

    m = copy.copy(model)
    m.vis.quality.offsamples = 0
    m.vis.global_.offwidth = max(int(m.vis.global_.offwidth), width)
    m.vis.global_.offheight = max(int(m.vis.global_.offheight), height)
    chosen = os.environ.get("MUJOCO_GL", "").lower()
    if _BACKEND:
        candidates = _BACKEND[:1]
    elif chosen in ("egl", "osmesa"):
        candidates = [chosen] + [b for b in ("egl", "osmesa") if b != chosen]
    elif chosen:  # the user's explicit choice (glfw, ...): that one only
        candidates = [chosen]
    else:
        candidates = ["egl", "osmesa"]
    errors = []
    for backend in candidates:
        try:
            gl = _gl_module()
            if getattr(gl, "_MUJOCO_GL", None) != backend:
                os.environ["MUJOCO_GL"] = backend
                importlib.reload(gl)
            renderer = mujoco.Renderer(m, height=height, width=width)
        except Exception as err:  # any GL failure means: try the next one
            errors.append(f"{backend}: {type(err).__name__}: {err}".splitlines()[0])
            continue
        _BACKEND[:] = [backend]
        return renderer, backend
    raise RenderUnavailable(
        "no headless OpenGL (" + "; ".join(errors) + "). Install EGL (libegl1) or OSMesa "
        "(libosmesa6), or set MUJOCO_GL; the run itself is unaffected"
    )


def render_frames(
    model: Any,
    qpos: np.ndarray,
    *,
    markers: list[Marker] | None = None,
    rows: np.ndarray | None = None,
    frame_dt: float = 1 / 30,
    width: int = 480,
    height: int = 480,
) -> tuple[np.ndarray, str]:
    """Frames of the states ``qpos (F, nq)``, seen by :func:`~zg_control.sim.camera.camera_path`
    with ``markers`` drawn. ``rows (F,)``: the trajectory row of each frame (what the markers'
    ``rows`` refer to; default ``0 .. F - 1``), ``frame_dt``: seconds between frames. Returns
    ``(frames (F, H, W, 3) uint8, GL backend)``; raises :class:`RenderUnavailable`."""
    import mujoco

    markers = markers or []
    rows = np.arange(len(qpos)) if rows is None else rows
    path = camera_path(model, qpos, spheres(markers), aspect=width / height, frame_dt=frame_dt)
    renderer, backend = make_renderer(model, width, height)
    try:
        scene = renderer.scene
        scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        data = mujoco.MjData(model)
        frames = np.empty((len(qpos), height, width, 3), dtype=np.uint8)
        dropped = 0
        for i, q in enumerate(qpos):
            data.qpos[:] = q
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=path.camera(i))
            dropped += draw(scene, markers, int(rows[i]))
            frames[i] = renderer.render()
    finally:
        renderer.close()
    if dropped:
        log.warning("%d goal markers did not fit into the scene (maxgeom)", dropped)
    return frames, backend


def write_video(frames: np.ndarray, stem: Path, fps: float) -> Path:
    """``stem.mp4`` (H.264 via imageio-ffmpeg), else ``stem.gif``. ``frames``: ``(F, H, W, 3)``."""
    import imageio.v2 as imageio

    mp4 = stem.with_suffix(".mp4")
    try:
        with imageio.get_writer(
            mp4,
            fps=fps,
            codec="libx264",
            quality=7,
            macro_block_size=2,
            ffmpeg_log_level="error",
            pixelformat="yuv420p",
        ) as writer:
            for frame in frames:
                writer.append_data(frame)
        return mp4
    except Exception as err:  # no ffmpeg: GIF instead
        log.warning("MP4 failed (%s); writing a GIF instead", err)
        mp4.unlink(missing_ok=True)
    gif = stem.with_suffix(".gif")
    imageio.mimsave(gif, list(frames), duration=1000.0 / fps, loop=0)
    return gif


def write_strip(frames: np.ndarray, path: Path, n: int = 6) -> Path:
    """``n`` evenly spaced frames side by side (first and last included), half resolution."""
    import imageio.v2 as imageio

    idx = np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))
    strip = np.concatenate([frames[i, ::2, ::2] for i in idx], axis=1)
    imageio.imwrite(path, strip)
    return path


def write_trajectory(path: Path, traj: Any, model: Any, x: np.ndarray) -> Path:
    """The episode as an ``.npz`` that needs only numpy to read (see the module docstring for
    its keys). ``traj``: a :class:`~zg_control.sim.task.Trajectory` with ``n = 1``."""
    T = traj.ctrl.shape[1]
    np.savez(
        path,
        qpos=traj.qpos[0],
        qvel=traj.qvel[0],
        ctrl=traj.ctrl[0],
        time=np.arange(T + 1) * traj.dt,
        dt=np.float64(traj.dt),
        x=np.asarray(x, dtype=np.float64),
        qpos_names=np.array(qpos_names(model)),
        ctrl_names=np.array([model.actuator(i).name or f"actuator{i}" for i in range(model.nu)]),
    )
    return path


def qpos_names(model: Any) -> list[str]:
    """A name per ``qpos`` entry: the joint's (``joint{j}`` if unnamed), with ``:x, :y, :z, :qw,
    :qx, :qy, :qz`` for a free joint's seven and ``:qw .. :qz`` for a ball joint's four."""
    import mujoco

    parts = {int(mujoco.mjtJoint.mjJNT_FREE): ("x", "y", "z", "qw", "qx", "qy", "qz")}
    parts[int(mujoco.mjtJoint.mjJNT_BALL)] = ("qw", "qx", "qy", "qz")
    names = []
    for j in range(model.njnt):
        name = model.joint(j).name or f"joint{j}"
        names += [f"{name}:{p}" for p in parts.get(int(model.jnt_type[j]), ())] or [name]
    return names


def render(
    objective: Any,
    x: np.ndarray,
    out_dir: str | os.PathLike,
    *,
    env: str | None = None,
    width: int = 480,
    height: int = 480,
    stem: str = "video",
) -> dict[str, Any]:
    """Replay ``x (d,)`` with ``objective.rollout`` and write into ``out_dir`` (made if missing):
    ``trajectory.npz`` (first; it needs no OpenGL), ``{stem}.mp4`` (``.gif`` without ffmpeg) and
    ``strip.png``.

    Args:
        objective: from :func:`~zg_control.sim.objective.make_objective` (its ``task`` gives the
            model and the goal; a Gymnasium-only objective needs ``env``).
        env: the env id, for a Gymnasium-only objective's model.

    Returns:
        ``{"trajectory", "video", "strip"}`` (paths), ``"frames"`` (count), ``"fps"`` and
        ``"backend"`` (the OpenGL backend). Raises :class:`RenderUnavailable` (after writing
        the trajectory) if no headless OpenGL works.
    """
    x = np.asarray(x, dtype=np.float64)
    traj = objective.rollout(x)
    task = objective.task
    model = task.model if task is not None else _gym_model(env)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trajectory = write_trajectory(out / "trajectory.npz", traj, model, x)
    native_fps = 1.0 / traj.dt
    stride = max(1, math.ceil(native_fps / MAX_FPS - 1e-9))
    rows = np.arange(0, traj.qpos.shape[1], stride)
    fps = native_fps / stride
    try:
        frames, backend = render_frames(
            model,
            traj.qpos[0, rows],
            markers=goal_markers(task),
            rows=rows,
            frame_dt=1.0 / fps,
            width=width,
            height=height,
        )
    except RenderUnavailable as err:
        raise RenderUnavailable(f"{err}; {trajectory.name} was written") from None
    video = write_video(frames, out / stem, fps)
    strip = write_strip(frames, out / "strip.png")
    log.info("rendered %d frames (%s) to %s", len(frames), backend, video)
    return {
        "trajectory": trajectory,
        "video": video,
        "strip": strip,
        "frames": len(frames),
        "fps": fps,
        "backend": backend,
    }


def _gym_model(env: str | None) -> Any:
    import gymnasium as gym

    from ._mjwarn import mujoco_warnings_logged

    if env is None:
        raise ValueError("this objective has no native task: pass env=<its Gymnasium id>")

    with mujoco_warnings_logged():
        e = gym.make(env, disable_env_checker=True)
    try:
        return e.unwrapped.model
    finally:
        e.close()
