"""The zg_control/ Gymnasium environments and their native tasks.

The central check is the reward/loss contract: for the same actions, the native ``task.loss`` of
a trajectory built here with plain ``mj_step`` equals ``-return / horizon`` of the Gymnasium
episode. The other tests show that each loss is piecewise constant (gradient zero almost
everywhere) yet not flat (search or a hand-made control beats zero controls).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from zg_control import envs
from zg_control.sim.gym_tasks import GYM_TASKS
from zg_control.sim.task import Task, Trajectory, make_task

IDS = list(envs.ENV_IDS)


def replay(task: Task, controls: np.ndarray) -> Trajectory:
    """Reference rollout: each control held for ``frame_skip`` ``mj_step`` calls.
    ``controls`` shape ``(n, T, nu)``."""
    m = task.model
    d = mujoco.MjData(m)
    n, T, _ = controls.shape
    ctrl = np.clip(controls, *m.actuator_ctrlrange.T)
    qpos = np.empty((n, T + 1, m.nq))
    qvel = np.empty((n, T + 1, m.nv))
    q0, v0 = task.initial_state()
    for i in range(n):
        mujoco.mj_resetData(m, d)
        d.qpos[:], d.qvel[:] = q0, v0
        qpos[i, 0], qvel[i, 0] = d.qpos, d.qvel
        for t in range(T):
            d.ctrl[:] = ctrl[i, t]
            for _ in range(task.frame_skip):
                mujoco.mj_step(m, d)
            qpos[i, t + 1], qvel[i, t + 1] = d.qpos, d.qvel
    sensors = np.zeros((n, T, m.nsensordata))
    return Trajectory(qpos, qvel, ctrl, sensors, np.zeros(n, dtype=bool), task.dt)


def gym_episode(env_id: str, actions: np.ndarray, seed: int = 0, **make_kwargs):
    """Run one full episode; returns observations ``(T + 1, obs_dim)`` and rewards ``(T,)``."""
    env = gym.make(env_id, **make_kwargs)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for t, a in enumerate(actions):
        obs, r, terminated, truncated, _ = env.step(a)
        assert not terminated
        assert truncated == (t == len(actions) - 1)
        observations.append(obs)
        rewards.append(r)
    env.close()
    return np.array(observations), np.array(rewards)


def random_actions(env_id: str, seed: int) -> np.ndarray:
    """Seeded uniform actions over the horizon, float32 like ``action_space``. ``(T, nu)``."""
    task = make_task(env_id)
    lo, hi = task.model.actuator_ctrlrange.T
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, (task.horizon, task.model.nu)).astype(np.float32)


def knot_search(task: Task, n: int = 200, knots: int = 5, seed: int = 0) -> np.ndarray:
    """Best of ``n`` random piecewise-constant control sequences. Shape ``(T, nu)``."""
    rng = np.random.default_rng(seed)
    T, nu = task.horizon, task.model.nu
    lo, hi = task.model.actuator_ctrlrange.T
    idx = (np.arange(T) * knots) // T
    U = rng.uniform(lo, hi, (n, knots, nu))[:, idx]
    return U[np.argmin(task.loss(replay(task, U)))]


def keyframe_controls(task: Task) -> np.ndarray:
    """Hand-made controls for Keyframe-v0: inverse dynamics (``mj_inverse``) of a minimum-jerk
    path through the keyframes, resting at each. Shape ``(T, nu)``."""
    m = task.model
    d = mujoco.MjData(m)
    times = np.array([0.0, *[(s + 1) * task.dt for s in task.key_steps]])
    poses = np.vstack([np.zeros(m.nq), task.key_poses])
    U = np.zeros((task.horizon, m.nu))
    for t in range(task.horizon):
        tm = min((t + 0.5) * task.dt, times[-1])
        i = min(np.searchsorted(times, tm, side="right") - 1, len(times) - 2)
        h = times[i + 1] - times[i]
        s = (tm - times[i]) / h
        dq = poses[i + 1] - poses[i]
        d.qpos[:] = poses[i] + (10 * s**3 - 15 * s**4 + 6 * s**5) * dq
        d.qvel[:] = (30 * s**2 - 60 * s**3 + 30 * s**4) / h * dq
        d.qacc[:] = (60 * s - 180 * s**2 + 120 * s**3) / h**2 * dq
        mujoco.mj_inverse(m, d)
        U[t] = d.qfrc_inverse / m.actuator_gear[:, 0]
    return U


@pytest.fixture(scope="module")
def good_controls() -> dict[str, np.ndarray]:
    """Per env id, a control sequence found by :func:`knot_search`. Shape ``(T, nu)`` each."""
    return {env_id: knot_search(make_task(env_id)) for env_id in IDS}


@pytest.mark.parametrize("env_id", IDS)
def test_make_and_spaces(env_id: str) -> None:
    env = gym.make(env_id)
    task = make_task(env_id)
    assert isinstance(task, Task)
    assert env.spec.max_episode_steps == task.horizon == envs._ENVS[env_id][3]
    assert env.observation_space.shape == (task.obs_dim,)
    np.testing.assert_array_equal(env.action_space.low, task.model.actuator_ctrlrange[:, 0])
    assert task.model.actuator_ctrllimited.all()
    assert env.metadata["render_fps"] == round(1.0 / task.dt)
    assert "Env card" in type(env.unwrapped).__doc__
    obs, _ = env.reset(seed=0)
    q0, v0 = task.initial_state()
    np.testing.assert_array_equal(obs, task.observation(q0[None], v0[None])[0])
    env.close()


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    # Unbounded observation boxes are warned about, as for Gymnasium's own MuJoCo envs.
    other = [str(w.message) for w in caught if "infinity" not in str(w.message)]
    assert other == []


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_episode(env_id: str) -> None:
    actions = random_actions(env_id, seed=1)
    obs_a, rew_a = gym_episode(env_id, actions, seed=3)
    obs_b, rew_b = gym_episode(env_id, actions, seed=3)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)


@pytest.mark.parametrize("env_id", IDS)
def test_loss_equals_minus_return_over_horizon(env_id: str, good_controls) -> None:
    task = make_task(env_id)
    for actions in (random_actions(env_id, seed=2), good_controls[env_id].astype(np.float32)):
        observations, rewards = gym_episode(env_id, actions)
        traj = replay(task, actions[None].astype(np.float64))
        expected = -sum(float(r) for r in rewards) / task.horizon
        assert task.loss(traj)[0] == pytest.approx(expected, abs=1e-9)
        np.testing.assert_allclose(task.rewards(traj)[0], rewards, rtol=0, atol=1e-9)
        native_obs = np.stack(
            [task.observation(traj.qpos[:, t], traj.qvel[:, t])[0] for t in range(task.horizon + 1)]
        )
        np.testing.assert_array_equal(native_obs, observations)


@pytest.mark.parametrize("env_id", IDS)
def test_loss_is_piecewise_constant(env_id: str, good_controls) -> None:
    """Under 1e-6 perturbations the loss stays put in (nearly) every direction, so finite
    differences (and any gradient) are zero there."""
    task = make_task(env_id)
    rng = np.random.default_rng(4)
    base = good_controls[env_id]
    U = base + 1e-6 * rng.standard_normal((20, *base.shape))
    losses = task.loss(replay(task, np.vstack([base[None], U])))
    assert np.mean(losses[1:] == losses[0]) >= 0.8


@pytest.mark.parametrize("env_id", IDS)
def test_search_beats_zero_controls(env_id: str, good_controls) -> None:
    task = make_task(env_id)
    zero = np.zeros((1, task.horizon, task.model.nu))
    good = good_controls[env_id][None]
    loss_zero, loss_good = task.loss(replay(task, np.vstack([zero, good])))
    assert loss_good < loss_zero


@pytest.mark.parametrize("env_id", IDS)
def test_frame_skip_sets_physics_steps_per_control_step_and_keeps_the_horizon(env_id: str):
    from zg_control.sim.objective import make_objective

    task, default = make_task(env_id, frame_skip=2), make_task(env_id)
    assert (task.frame_skip, task.horizon, task.dt) == (2, default.horizon, default.dt / 2)
    actions = random_actions(env_id, seed=2)
    _, rewards = gym_episode(env_id, actions, frame_skip=2)  # Gymnasium agrees with the task
    traj = replay(task, actions[None].astype(np.float64))
    assert task.loss(traj)[0] == pytest.approx(-sum(map(float, rewards)) / task.horizon, abs=1e-9)
    assert gym.make(env_id, frame_skip=2).metadata["render_fps"] == round(1 / task.dt)
    f = make_objective(env_id, frame_skip=2)  # what --frame-skip 2 runs
    x = np.clip(actions.astype(np.float64).ravel(), *f.bounds)
    assert f(x[None])[0] == task.loss(replay(task, f.decode(x)[None]))[0]
    moved = [replay(t, actions[None].astype(np.float64)).qpos[0, -1] for t in (task, default)]
    assert not np.array_equal(*moved)  # half the physics steps: another motion
    f.close()
    for make in (lambda: make_task(env_id, frame_skip=0), lambda: gym.make(env_id, frame_skip=0)):
        with pytest.raises(ValueError, match="frame_skip must be a positive integer, got 0"):
            make()


def test_keyframe_hand_made_controls_hit_every_keyframe() -> None:
    task = make_task("zg_control/Keyframe-v0")
    U = keyframe_controls(task)
    assert np.abs(U).max() < 1.0  # within ctrlrange, so nothing is clipped
    traj = replay(task, np.stack([U, np.zeros_like(U)]))
    np.testing.assert_allclose(task.loss(traj), [0.0, 59 / 30], atol=1e-12)


def test_keyframe_poses_are_an_env_option() -> None:
    """Other key poses (``key_poses``, Gymnasium and native alike): hand-made controls through
    them meet them, and the default poses' controls miss them; the env's return agrees."""
    poses = [[0.8, 0.3, -0.2], [-0.3, 0.9, -0.5], [0.6, -0.6, 0.6]]
    task = make_task("zg_control/Keyframe-v0", key_poses=poses)
    np.testing.assert_array_equal(task.key_poses, poses)
    U, U_default = keyframe_controls(task), keyframe_controls(make_task("zg_control/Keyframe-v0"))
    loss = task.loss(replay(task, np.stack([U, U_default])))
    assert loss[0] == pytest.approx(0.0, abs=1e-12) and loss[1] > 0.9
    env = gym.make("zg_control/Keyframe-v0", key_poses=poses)
    env.reset(seed=0)
    ret = sum(float(env.step(u.astype(np.float32))[1]) for u in U)
    assert -ret / task.horizon == pytest.approx(0.0, abs=1e-6)
    for bad in ([[1.0, 2.0]], [[np.nan] * 3] * 3, "up"):
        with pytest.raises(ValueError, match="key_poses must be"):
            make_task("zg_control/Keyframe-v0", key_poses=bad)


def test_planar_kinematics_matches_mujoco() -> None:
    task = make_task("zg_control/Jump-v0")
    m = task.model
    d = mujoco.MjData(m)
    qpos = np.random.default_rng(5).normal(0.0, 1.5, (20, m.nq))
    ours = task.kin.sites(qpos)
    for i in range(len(qpos)):
        d.qpos[:] = qpos[i]
        mujoco.mj_kinematics(m, d)
        np.testing.assert_allclose(ours[i], d.site_xpos[task.kin.site_ids][:, [0, 2]], atol=1e-12)
    free = mujoco.MjModel.from_xml_string(
        "<mujoco><worldbody><body><freejoint/><geom size='.1'/><site name='s'/>"
        "</body></worldbody></mujoco>"
    )
    with pytest.raises(ValueError, match="not planar"):
        type(task.kin)(free, ["s"])  # envs._planar.PlanarKinematics


def test_importing_zg_control_registers_envs_and_every_native_task() -> None:
    """In a fresh interpreter, Gymnasium's ``module:env_id`` form imports zg_control, whose import
    is the one registration point: the env is found and every native task is in ``TASKS``."""
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('zg_control:zg_control/Jump-v0')\n"
        "from zg_control.sim.task import TASKS\n"
        "print(env.spec.id, env.spec.max_episode_steps, *sorted(TASKS))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    env_id, steps, *tasks = run.stdout.split()
    assert (env_id, steps) == ("zg_control/Jump-v0", "100")
    assert set(tasks) == set(IDS) | set(GYM_TASKS)


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="horizon"):
        make_task("zg_control/Keyframe-v0", horizon=10)
    with pytest.raises(ValueError, match="horizon"):
        make_task("zg_control/Push-v0", horizon=0)
    with pytest.raises(ValueError, match="reset_noise_scale"):
        gym.make("zg_control/Push-v0", reset_noise_scale=-1.0)
    short = replay(make_task("zg_control/Push-v0", horizon=10), np.zeros((1, 10, 2)))
    with pytest.raises(ValueError, match="horizon=10"):
        make_task("zg_control/Push-v0").loss(short)


def test_reset_noise_is_seeded() -> None:
    env = gym.make("zg_control/Throw-v0", reset_noise_scale=0.01)
    a, _ = env.reset(seed=7)
    b, _ = env.reset(seed=7)
    c, _ = env.reset(seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
