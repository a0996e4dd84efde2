"""What a user sees of the motion: the camera keeps the body in view, the goal is drawn, and
``render`` writes the trajectory next to the video.

"In view" is measured with the camera that ``mjv_updateScene`` sets up (no OpenGL needed):
:func:`zg_control.sim.camera.project` maps the root body and every geom centre of the character
to pixels, and one segmentation render checks that mapping against real pixels.
"""

from __future__ import annotations

import dataclasses
import math

import imageio.v2 as imageio
import mujoco
import numpy as np
import pytest

import zg_control as zg
from zg_control.sim import camera, goals, render

W = H = 64
ENVS = {  # env id -> horizon: long enough to fall, run or throw
    "HalfCheetah-v5": 200,
    "Ant-v5": 200,
    "Hopper-v5": 200,
    "zg_control/Jump-v0": 100,
    "zg_control/Push-v0": 100,
    "zg_control/Throw-v0": 100,
    "zg_control/Keyframe-v0": 75,
}
# A sinusoid gait (frequency Hz, amplitude, phase per actuator) that runs 20 m in 15 s.
CHEETAH_GAIT = (3.3817, 0.6084, [2.935, 4.644, 4.163, 2.492, 0.572, 1.462])
SLIDER = """<mujoco><worldbody><geom type="plane" size="5 5 .1"/>
  <body name="cart" pos="0 0 .1"><joint name="x" type="slide" axis="1 0 0"/>
    <joint name="z" type="slide" axis="0 0 1"/><joint name="pitch" axis="0 1 0"/>
    <geom type="box" size=".2 .1 .05"/>
    <body pos=".2 0 0"><joint name="arm" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 .3 0 0"
      size=".03"/></body></body>
  <body name="ball" pos="-.5 0 .1"><freejoint/><geom type="sphere" size=".05"/></body>
  </worldbody><actuator><motor joint="x"/><motor joint="arm"/></actuator></mujoco>"""


def episode(env: str, horizon: int, gait: bool = False) -> tuple[mujoco.MjModel, np.ndarray, float]:
    """``(model, video frames' qpos (F, nq), seconds per frame)`` of one episode of seeded random
    controls (or the cheetah's gait), subsampled as :func:`render.render` does."""
    f = zg.make_objective(env, horizon=horizon, nthread=1)
    low, high = f.bounds
    x = np.random.default_rng(0).uniform(low, high)
    if gait:
        freq, amp, phase = CHEETAH_GAIT
        t = np.arange(horizon)[:, None] * f.rollout(x).dt
        x = np.clip((amp * np.sin(2 * np.pi * freq * t + np.array(phase))).ravel(), low, high)
    traj = f.rollout(x)
    model = f.task.model
    f.close()
    stride = max(1, math.ceil(1 / traj.dt / render.MAX_FPS - 1e-9))
    return model, traj.qpos[0, ::stride], traj.dt * stride


def run_away(model: mujoco.MjModel, qpos: np.ndarray, frame_dt: float, speed: float = 8.0):
    """``qpos`` with the root's first coordinate moved on at ``speed`` m/s (a fast run)."""
    root = camera.body_groups(model)[2]
    qpos = qpos.copy()
    qpos[:, model.jnt_qposadr[model.body_jntadr[root]]] += speed * frame_dt * np.arange(len(qpos))
    return qpos


def in_view(model: mujoco.MjModel, qpos: np.ndarray, camera_of) -> tuple[float, float]:
    """Fractions of frames with (the root body, every character geom centre) inside the frame;
    ``camera_of(i)`` is frame ``i``'s :class:`mujoco.MjvCamera`."""
    char, _, root = camera.body_groups(model)
    geoms = np.flatnonzero(np.isin(model.geom_bodyid, char))
    data, option = mujoco.MjData(model), mujoco.MjvOption()
    scene = mujoco.MjvScene(model, 1000)
    hits = np.zeros((len(qpos), 2), dtype=bool)
    for i, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_forward(model, data)
        cam = camera_of(i)
        mujoco.mjv_updateScene(model, data, option, None, cam, mujoco.mjtCatBit.mjCAT_ALL, scene)
        points = np.vstack([data.xpos[max(root, 1)], data.geom_xpos[geoms]])
        pix = camera.project(scene, points, W, H)  # nan (behind the camera) is outside
        inside = ((pix >= 0) & (pix <= [W, H])).all(axis=1)
        hits[i] = inside[0], inside.all()
    return tuple(hits.mean(axis=0))


@pytest.mark.parametrize("env", ENVS)
def test_every_frame_shows_the_whole_body(env):
    model, qpos, frame_dt = episode(env, ENVS[env])
    marks = goals.goal_markers(zg.make_objective(env, horizon=ENVS[env]).task)
    runs = [qpos]
    if camera.body_groups(model)[2] >= 0:
        runs.append(run_away(model, qpos, frame_dt))  # 8 m/s: 16 m in an episode of 2 s
    if env == "HalfCheetah-v5":
        runs.append(episode(env, 300, gait=True)[1])
    for q in runs:
        path = camera.camera_path(model, q, goals.spheres(marks), frame_dt=frame_dt)
        assert in_view(model, q, path.camera) == (1.0, 1.0), (env, path)


def test_the_check_fails_with_a_camera_that_stays_behind():
    model, qpos, frame_dt = episode("HalfCheetah-v5", 300, gait=True)
    assert np.ptp(qpos[:, 0]) > 15  # the gait runs
    still = mujoco.MjvCamera()
    mujoco.mjv_defaultFreeCamera(model, still)  # Gymnasium's view of HalfCheetah: distance 4
    still.distance = 4.0
    root_seen, body_seen = in_view(model, qpos, lambda i: still)
    assert root_seen < 0.3 and body_seen < 0.3
    path = camera.camera_path(model, qpos, frame_dt=frame_dt)
    assert path.trackbodyid == model.body("torso").id


def test_a_bring_your_own_model_is_followed(tmp_path):
    xml = tmp_path / "slider.xml"
    xml.write_text(SLIDER)
    f = zg.make_objective(str(xml), loss_fn=lambda traj: traj.qpos[:, -1, 0], horizon=50)
    qpos = run_away(f.task.model, f.rollout(f.x0).qpos[0], 0.02)
    assert camera.body_groups(f.task.model) == ([1, 2], [3], 1)
    path = camera.camera_path(f.task.model, qpos, frame_dt=0.02)
    assert path.trackbodyid == 1 and (path.azimuth, path.elevation) == (90.0, -12.0)
    assert in_view(f.task.model, qpos, path.camera) == (1.0, 1.0)
    f.close()


def test_project_matches_the_rendered_pixels():
    model, qpos, frame_dt = episode("HalfCheetah-v5", 300, gait=True)
    path = camera.camera_path(model, qpos, frame_dt=frame_dt)
    torso = model.geom("torso").id
    try:
        renderer, _ = render.make_renderer(model, 96, 64)
    except render.RenderUnavailable as err:
        pytest.skip(str(err))
    data = mujoco.MjData(model)
    with renderer:
        renderer.enable_segmentation_rendering()
        for i in (0, len(qpos) - 1):
            data.qpos[:] = qpos[i]
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=path.camera(i))
            col, row = camera.project(renderer.scene, data.geom_xpos[[torso]], 96, 64)[0]
            seg = renderer.render()
            assert tuple(seg[int(row), int(col)]) == (torso, mujoco.mjtObj.mjOBJ_GEOM)


@pytest.mark.parametrize("env", [e for e in ENVS if e.startswith("zg_control/")])
def test_the_goal_is_drawn(env):
    f = zg.make_objective(env, nthread=1)
    marks = goals.goal_markers(f.task)
    assert marks and all(m.rows is None or m.rows[0] <= m.rows[1] for m in marks)
    qpos = f.rollout(f.x0).qpos[0, :2]
    hidden = [dataclasses.replace(m, rgba=(0, 0, 0, 0)) for m in marks]  # the same view
    try:
        bare, _ = render.render_frames(f.task.model, qpos, markers=hidden, width=W, height=H)
        drawn, _ = render.render_frames(f.task.model, qpos, markers=marks, width=W, height=H)
    except render.RenderUnavailable as err:
        pytest.skip(str(err))
    changed = np.any(bare != drawn, axis=-1)
    assert changed.mean() > 0.002  # some pixels show the goal ...
    greenish = drawn[changed].astype(int)
    assert np.mean(greenish[:, 1] > greenish[:, 0]) > 0.5 or "Keyframe" in env  # ... in green
    f.close()


def test_render_writes_the_trajectory_the_video_and_the_strip(tmp_path):
    f = zg.make_objective("zg_control/Jump-v0", parameterization="spline", n_knots=5, nthread=1)
    x = np.random.default_rng(1).uniform(*f.bounds)
    try:
        out = render.render(f, x, tmp_path, width=W, height=H)
    except render.RenderUnavailable as err:
        pytest.skip(str(err))
    assert sorted(out) == ["backend", "fps", "frames", "strip", "trajectory", "video"]
    assert imageio.get_reader(out["video"]).count_frames() == out["frames"] == 101
    with np.load(out["trajectory"], allow_pickle=False) as npz:
        keys = sorted(npz.files)
        qpos, ctrl, time = npz["qpos"], npz["ctrl"], npz["time"]
        names = ["rootx", "rootz", "rooty", "thigh_joint", "leg_joint", "foot_joint"]
        assert list(npz["qpos_names"]) == names
        np.testing.assert_array_equal(npz["x"], x)
    assert keys == ["ctrl", "ctrl_names", "dt", "qpos", "qpos_names", "qvel", "time", "x"]
    model = f.task.model
    assert qpos.shape == (101, model.nq) and ctrl.shape == (100, model.nu)
    np.testing.assert_allclose(time, np.arange(101) * 0.02)
    np.testing.assert_array_equal(ctrl, f.decode(x))
    data = mujoco.MjData(model)  # a plain mj_step replay of the saved controls: bit for bit
    data.qpos[:], data.qvel[:] = f.task.initial_state()
    replay = [data.qpos.copy()]
    for u in ctrl:
        data.ctrl[:] = u
        for _ in range(f.task.frame_skip):
            mujoco.mj_step(model, data)
        replay.append(data.qpos.copy())
    np.testing.assert_array_equal(qpos, np.array(replay))
    f.close()


def test_without_opengl_the_trajectory_is_still_written(tmp_path, monkeypatch):
    def no_gl(*args, **kwargs):
        raise render.RenderUnavailable("no headless OpenGL (egl: test)")

    monkeypatch.setattr(render, "make_renderer", no_gl)
    f = zg.make_objective("zg_control/Throw-v0", nthread=1)
    with pytest.raises(render.RenderUnavailable, match="trajectory.npz was written"):
        render.render(f, f.x0, tmp_path)
    with np.load(tmp_path / "trajectory.npz") as npz:
        assert npz["qpos"].shape == (101, 9)
        ball = [f"ball:{p}" for p in ("x", "y", "z", "qw", "qx", "qy", "qz")]
        assert list(npz["qpos_names"][2:]) == ball
    f.close()
