"""Replay parameters to frames, headless: a video (MP4, GIF fallback) and a still strip.

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

from .model_task import is_model_path

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


def camera_for(model: Any, env: str | None) -> Any:
    """A free or tracking :class:`mujoco.MjvCamera`: the env's camera config when it has one
    (``camera`` of a zg_control env, ``DEFAULT_CAMERA_CONFIG`` of a Gymnasium env), else the
    model's default view, tracking body 1 if it is a floating or sliding root."""
    import mujoco

    cam = mujoco.MjvCamera()
    mujoco.mjv_defaultFreeCamera(model, cam)
    config = _env_camera_config(env)
    if config is None and model.nbody > 1 and model.body_jntnum[1] > 0:
        jtype = model.jnt_type[model.body_jntadr[1]]
        if jtype in (mujoco.mjtJoint.mjJNT_FREE, mujoco.mjtJoint.mjJNT_SLIDE):
            config = {"trackbodyid": 1, "distance": float(model.stat.extent) * 1.5}
    for key, value in (config or {}).items():
        if isinstance(value, np.ndarray):
            getattr(cam, key)[:] = value
        else:
            setattr(cam, key, value)
    if int(cam.trackbodyid) >= 0 and (config or {}).get("trackbodyid") is not None:
        cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    return cam


def _env_camera_config(env: str | None) -> dict[str, Any] | None:
    if not env or is_model_path(env):
        return None
    try:
        import gymnasium as gym

        module_name, _, cls_name = str(gym.spec(env).entry_point).partition(":")
        module = importlib.import_module(module_name)
        config = getattr(getattr(module, cls_name, None), "camera", None) or getattr(
            module, "DEFAULT_CAMERA_CONFIG", None
        )
    except Exception:  # any problem: use the default view
        return None
    return dict(config) if config else None


def render_frames(
    model: Any, qpos: np.ndarray, *, env: str | None = None, width: int = 480, height: int = 480
) -> tuple[np.ndarray, str]:
    """Frames of the states ``qpos`` (shape ``(F, nq)``). Returns ``(frames (F, H, W, 3) uint8,
    GL backend)``; raises :class:`RenderUnavailable`."""
    import mujoco

    renderer, backend = make_renderer(model, width, height)
    try:
        scene = renderer.scene
        scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        cam = camera_for(model, env)
        data = mujoco.MjData(model)
        frames = np.empty((len(qpos), height, width, 3), dtype=np.uint8)
        for i, q in enumerate(qpos):
            data.qpos[:] = q
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=cam)
            frames[i] = renderer.render()
    finally:
        renderer.close()
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


def render_params(
    objective: Any,
    x: np.ndarray,
    out_dir: str | os.PathLike,
    *,
    env: str | None = None,
    width: int = 480,
    height: int = 480,
    stem: str = "video",
) -> dict[str, Any]:
    """Replay ``x (d,)`` with ``objective.rollout`` and write ``{stem}.mp4`` (or ``.gif``) and
    ``strip.png`` into ``out_dir``. Returns ``{"video", "strip", "frames", "fps", "backend"}``;
    raises :class:`RenderUnavailable`."""
    traj = objective.rollout(np.asarray(x, dtype=np.float64))
    model = objective.task.model if objective.task is not None else _gym_model(env)
    qpos = traj.qpos[0]  # (T + 1, nq): the initial state and after every control step
    native_fps = 1.0 / traj.dt
    stride = max(1, math.ceil(native_fps / MAX_FPS - 1e-9))
    frames, backend = render_frames(model, qpos[::stride], env=env, width=width, height=height)
    out = Path(out_dir)
    fps = native_fps / stride
    video = write_video(frames, out / stem, fps)
    strip = write_strip(frames, out / "strip.png")
    log.info("rendered %d frames (%s) to %s", len(frames), backend, video)
    return {"video": video, "strip": strip, "frames": len(frames), "fps": fps, "backend": backend}


def _gym_model(env: str | None) -> Any:
    import gymnasium as gym

    from ._mjwarn import mujoco_warnings_logged

    with mujoco_warnings_logged():
        e = gym.make(env, disable_env_checker=True)
    try:
        return e.unwrapped.model
    finally:
        e.close()
