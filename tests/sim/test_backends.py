"""Backends: native == Gymnasium bit for bit, divergence handling, early termination (Ray:
test_ray.py)."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from zg_control.sim.backends import DIVERGED_LOSS, RecordedTrajectory
from zg_control.sim.backends.gym_backend import GymBackend
from zg_control.sim.backends.native import NativeBackend
from zg_control.sim.gym_tasks import GYM_TASKS
from zg_control.sim.model_task import ModelTask
from zg_control.sim.parameterization import ctrl_bounds, make_parameterization

T = 40  # control steps: long enough for Hopper/Walker2d to fall


def _setup(env_id: str, kind: str, n: int = 5, seed: int = 0):
    task = GYM_TASKS[env_id](horizon=T)
    low, high = ctrl_bounds(task.model)
    obs_dim = task.observation(*[a[None] for a in task.initial_state()]).shape[1]
    p = make_parameterization(
        kind, horizon=T, ctrl_low=low, ctrl_high=high, n_knots=6, obs_dim=obs_dim
    )
    rng = np.random.default_rng(seed)
    if kind == "policy":
        X = p.x0(seed) + 1.5 * rng.standard_normal((n, p.dim))
    else:
        X = rng.uniform(-1.0, 1.0, (n, p.dim))
        X[0] = 0.0  # mid-range controls: the gentlest episode
    return task, p, X


@pytest.mark.parametrize("kind", ["sequence", "spline", "policy"])
@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5"])
def test_native_matches_gymnasium(env_id, kind):
    task, p, X = _setup(env_id, kind)
    native = NativeBackend(task, nthread=2)
    gym_b = GymBackend(env_id, horizon=T, reset_seed=0, gym_kwargs=task.gym_kwargs)
    loss_n, div_n = native.evaluate(X, p)
    loss_g, div_g = gym_b.evaluate(X, p)
    native.close()
    gym_b.close()
    assert not div_n.any() and not div_g.any()
    np.testing.assert_allclose(loss_n, loss_g, rtol=0, atol=1e-9)
    assert np.ptp(loss_n) > 1e-3  # the rows really differ


@pytest.mark.parametrize("kind", ["sequence", "policy"])
@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "Hopper-v5"])
def test_states_are_bit_identical_to_gymnasium(env_id, kind):
    """Same qpos/qvel/ctrl to the last bit, including the held state after a fall."""
    task, p, X = _setup(env_id, kind, n=3)
    gym_b = GymBackend(env_id, horizon=T, gym_kwargs=task.gym_kwargs)
    ref, traj = gym_b.run(X, p), NativeBackend(task).run(X, p)
    for name in ("qpos", "qvel", "sensordata"):
        np.testing.assert_array_equal(getattr(traj, name), getattr(ref, name))
    alive = task.alive(traj)
    np.testing.assert_array_equal(traj.ctrl[alive], ref.ctrl[alive])


@pytest.mark.parametrize("env_id", ["Hopper-v5", "Walker2d-v5"])
def test_falls_terminate_early_like_gymnasium(env_id):
    """Random controls make these fall: returns stop at the first unhealthy state."""
    task, p, X = _setup(env_id, "sequence", n=6, seed=3)
    native = NativeBackend(task, nthread=1)
    traj = native.run(X, p)
    ends = task.alive(traj).sum(axis=1)
    assert (ends < T).any()
    # after termination the terminal state is held
    i = int(np.argmin(ends))
    held = np.repeat(traj.qpos[i, ends[i]][None], T + 1 - ends[i], axis=0)
    np.testing.assert_array_equal(traj.qpos[i, ends[i] :], held)
    # the same episodes without early stopping give the same losses
    full = NativeBackend(task, nthread=1)
    full.terminated, full.check_every = None, T
    np.testing.assert_allclose(full.evaluate(X, p)[0], native.evaluate(X, p)[0], atol=1e-12)


def test_swimmer_matches_gymnasium():
    task, p, X = _setup("Swimmer-v5", "sequence", n=3)
    gym_b = GymBackend("Swimmer-v5", horizon=T, gym_kwargs=task.gym_kwargs)
    np.testing.assert_allclose(
        NativeBackend(task).evaluate(X, p)[0], gym_b.evaluate(X, p)[0], atol=1e-9
    )


def test_ant_records_xpos_and_rejects_contact_cost():
    task, p, X = _setup("Ant-v5", "sequence", n=2)
    traj = NativeBackend(task).run(X, p)
    assert isinstance(traj, RecordedTrajectory)
    assert traj.fields["xpos"].shape == (2, T + 1, task.model.nbody, 3)
    np.testing.assert_array_equal(traj.fields["xpos"][:, 0, 1], traj.qpos[:, 0, :3])
    with pytest.raises(ValueError, match="contact_cost_weight"):
        GYM_TASKS["Ant-v5"](contact_cost_weight=5e-4)


def test_batch_size_threads_and_buffer_reuse_do_not_change_results():
    task, p, X = _setup("HalfCheetah-v5", "sequence", n=6)
    one = NativeBackend(task, nthread=1, max_cached=1)
    two = NativeBackend(task, nthread=2)
    full = one.evaluate(X, p)[0]
    np.testing.assert_array_equal(two.evaluate(X, p)[0], full)
    np.testing.assert_array_equal(one.evaluate(X[2:4], p)[0], full[2:4])  # evicts size 6
    np.testing.assert_array_equal(one.evaluate(X, p)[0], full)
    traj = one.run(X[:2], p)
    assert traj.qpos.shape == (2, T + 1, task.model.nq)
    assert traj.ctrl.shape == (2, T, task.model.nu) and traj.dt == pytest.approx(0.05)
    np.testing.assert_array_equal(traj.ctrl, p.decode(X[:2]))


UNSTABLE = """<mujoco><option timestep="0.05"/>
  <worldbody><body><joint name="j" type="hinge" axis="0 1 0"/>
    <geom type="capsule" size="0.02" fromto="0 0 0 0 0 -0.5" mass="0.01"/></body></worldbody>
  <actuator><position joint="j" kp="1e6" ctrlrange="-3 3"/></actuator>
  <sensor><jointpos joint="j"/></sensor></mujoco>"""


@pytest.mark.parametrize("kind", ["sequence", "policy"])
def test_divergence_is_flagged_with_worst_case_loss(kind):
    """A stiff actuator with a coarse timestep blows up unless the target stays at 0."""
    model = mujoco.MjModel.from_xml_string(UNSTABLE)
    task = ModelTask(model, lambda traj: np.abs(traj.qpos[:, -1, 0]), horizon=10)
    bounds = dict(ctrl_low=[-3.0], ctrl_high=[3.0])
    p = make_parameterization(kind, horizon=10, obs_dim=2, hidden=(4,), **bounds)
    X = np.zeros((3, p.dim))
    if kind == "sequence":
        X[1, 3:] = 1.0  # full-range target from step 3 on: unstable
    else:
        X[1, -1] = 5.0  # output bias: a constant large target
    backend = NativeBackend(task, nthread=2)
    loss, diverged = backend.evaluate(X, p)
    assert diverged.tolist() == [False, True, False]
    assert loss[1] == DIVERGED_LOSS and np.isfinite(loss).all()
    assert loss[0] == pytest.approx(0.0, abs=1e-9)
    traj = backend.run(X, p)
    assert np.isfinite(traj.qpos).all() and traj.sensordata.shape == (3, 10, 1)


def test_gym_backend_runs_non_mujoco_env_deterministically():
    gym_b = GymBackend("Pendulum-v1", horizon=30, reset_seed=1)
    bounds = dict(ctrl_low=gym_b.ctrl_low, ctrl_high=gym_b.ctrl_high)
    p = make_parameterization("spline", horizon=30, n_knots=4, **bounds)
    X = np.random.default_rng(0).uniform(-1, 1, (3, p.dim))
    loss, diverged = gym_b.evaluate(X, p)
    np.testing.assert_array_equal(gym_b.evaluate(X, p)[0], loss)
    assert not diverged.any() and np.ptp(loss) > 0
    with pytest.raises(ValueError, match="not a MuJoCo env"):
        gym_b.run(X, p)


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda: GYM_TASKS["Hopper-v5"](horizon=2.7), "horizon"),
        (lambda: GymBackend("Pendulum-v1", horizon=0), "horizon"),
        (lambda: NativeBackend(GYM_TASKS["Hopper-v5"](horizon=5), nthread=0), "nthread"),
        (lambda: NativeBackend(GYM_TASKS["Hopper-v5"](horizon=5), check_every=1.5), "check_every"),
    ],
)
def test_counts_must_be_positive_integers(build, name):
    with pytest.raises(ValueError, match=name):
        build()
