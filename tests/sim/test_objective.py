"""make_objective: the batched loss, its attributes, bring-your-own-model, and its errors."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

import zg_control as zg
from zg_control.loop import NoFiniteLossWarning
from zg_control.problem import Problem
from zg_control.sim.backends import DIVERGED_LOSS
from zg_control.sim.gym_tasks import HopperTask
from zg_control.sim.model_task import ModelTask
from zg_control.sim.objective import make_objective

SLIDER = """<mujoco><option timestep="0.01"/>
  <worldbody><body><joint name="x" type="slide" axis="1 0 0"/>
    <geom type="sphere" size="0.1" mass="1"/></body></worldbody>
  <actuator><motor joint="x" ctrlrange="-1 1"/></actuator></mujoco>"""


def final_x(traj):
    """User loss: distance of the slider from x = 0.5 at the end. Shape (n,)."""
    return np.abs(traj.qpos[:, -1, 0] - 0.5)


def test_objective_attributes_decode_and_rollout():
    f = make_objective("HalfCheetah-v5", parameterization="spline", n_knots=5, horizon=20)
    assert f.dim == 5 * 6 and f.x0.shape == (f.dim,) and f.backend == "native"
    assert f.bounds[0].shape == (f.dim,) and f.task is not None and f.horizon == 20
    X = np.random.default_rng(0).uniform(-1, 1, (4, f.dim))
    loss = f(X)
    assert loss.shape == (4,) and loss.dtype == np.float64 and np.isfinite(loss).all()
    assert f.n_episodes == 4 and f.last_diverged.tolist() == [False] * 4
    U = f.decode(X[1])
    assert U.shape == (20, 6)
    traj = f.rollout(X[1])
    assert traj.n == 1 and traj.qpos.shape == (1, 21, 9)
    np.testing.assert_array_equal(traj.ctrl[0], U)
    np.testing.assert_allclose(f.task.loss(traj), loss[1:2], atol=1e-12)
    assert f.n_episodes == 4  # rollout() is not counted
    f.close()


def test_an_objective_is_a_problem():
    with make_objective("HalfCheetah-v5", parameterization="spline", n_knots=3, horizon=10) as f:
        assert isinstance(f, Problem) and f.dim == f.x0.size == 18
        X = f.x0 + np.random.default_rng(0).uniform(-0.5, 0.5, (3, f.dim))
        np.testing.assert_array_equal(f.fn(X), f(X))
        np.testing.assert_array_equal(f.controls(X[0]), f.decode(X[0]))
    policy = make_objective("Hopper-v5", parameterization="policy", hidden=(4,), horizon=10)
    controls = policy.controls(policy.x0)
    np.testing.assert_array_equal(controls, policy.rollout(policy.x0).ctrl[0])
    assert controls.shape == (10, 3) and policy.n_episodes == 0
    policy.close()


def test_backends_agree_through_make_objective():
    kw = dict(parameterization="policy", horizon=25, hidden=(8,), seed=3)
    native = make_objective("Walker2d-v5", **kw)
    gym_f = make_objective("Walker2d-v5", backend="gymnasium", **kw)
    np.testing.assert_array_equal(native.x0, gym_f.x0)
    W = native.x0 + np.random.default_rng(1).standard_normal((3, native.dim))
    np.testing.assert_allclose(native(W), gym_f(W), atol=1e-9)
    with pytest.raises(ValueError, match="open-loop"):
        native.decode(W[0])


def test_gymnasium_only_envs():
    f = make_objective("Pendulum-v1", backend="gymnasium", horizon=20)
    assert f.task is None and f.dim == 20
    X = np.zeros((2, f.dim))
    np.testing.assert_array_equal(f(X), f(X))  # seeded resets: deterministic
    with pytest.raises(ValueError, match="not a MuJoCo env"):
        f.rollout(X[0])
    g = make_objective("InvertedPendulum-v5", backend="gymnasium", horizon=10)
    traj = g.rollout(np.zeros(g.dim))
    assert traj.qpos.shape == (1, 11, 2) and traj.ctrl.shape == (1, 10, 1)


def _expected_slider_loss(model, u: np.ndarray, frame_skip: int) -> float:
    """Reference: a plain mj_step loop."""
    data = mujoco.MjData(model)
    for ctrl in u:
        data.ctrl[:] = ctrl
        mujoco.mj_step(model, data, nstep=frame_skip)
    return abs(data.qpos[0] - 0.5)


@pytest.mark.parametrize("source", ["path", "model"])
def test_bring_your_own_model(tmp_path, source):
    path = tmp_path / "slider.xml"
    path.write_text(SLIDER)
    env = str(path) if source == "path" else mujoco.MjModel.from_xml_string(SLIDER)
    f = make_objective(env, loss_fn=final_x, horizon=30, frame_skip=2)
    X = np.random.default_rng(0).uniform(-1, 1, (3, f.dim))
    loss = f(X)
    for i in range(3):
        assert loss[i] == pytest.approx(_expected_slider_loss(f.task.model, f.decode(X[i]), 2))
    policy = make_objective(env, loss_fn=final_x, horizon=30, parameterization="policy")
    assert policy.parameterization.obs_dim == 2  # concat(qpos, qvel)
    assert np.isfinite(policy(policy.x0[None])).all()


def test_model_task_initial_state_and_keyframe():
    xml = SLIDER.replace(
        "</mujoco>", '<keyframe><key name="start" qpos="0.3" qvel="1"/></keyframe></mujoco>'
    )
    model = mujoco.MjModel.from_xml_string(xml)
    task = ModelTask(model, final_x, horizon=5, keyframe="start")
    assert task.initial_state()[0][0] == 0.3 and task.initial_state()[1][0] == 1.0
    f = make_objective(task)
    assert f.rollout(f.x0).qpos[0, 0, 0] == 0.3
    with pytest.raises(ValueError, match="keyframe"):
        ModelTask(model, final_x, horizon=5, keyframe="nope")
    with pytest.raises(ValueError, match="initial_qpos"):
        ModelTask(model, final_x, horizon=5, initial_qpos=[0.0, 1.0])


def test_non_finite_rows_score_worst_case_without_crashing():
    f = make_objective("HalfCheetah-v5", horizon=10)
    X = np.zeros((3, f.dim))
    X[1, 4] = np.nan
    loss = f(X)
    assert loss[1] == DIVERGED_LOSS and f.last_diverged.tolist() == [False, True, False]
    assert loss[0] == loss[2] < DIVERGED_LOSS


def test_task_object_is_used_as_is():
    task = HopperTask(horizon=15, reset_seed=4)
    f = make_objective(task)
    assert f.task is task and f.horizon == 15
    with pytest.raises(ValueError, match="horizon"):
        make_objective(task, horizon=20)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(env="NoSuchEnv-v0"), "unknown env id"),
        (dict(env="NoSuchEnv-v0", backend="gymnasium"), "unknown env id"),
        (dict(env="Pendulum-v1"), "backend='gymnasium'"),
        (dict(env="Hopper-v5", backend="jax"), "unknown backend"),
        (dict(env="Hopper-v5", parameterization="fourier"), "unknown parameterization"),
        (dict(env="Hopper-v5", parameterization="spline"), "n_knots"),
        (dict(env="Hopper-v5", loss_fn=final_x), "loss_fn"),
        (dict(env=mujoco.MjModel.from_xml_string(SLIDER)), "needs loss_fn"),
        (dict(env="/no/such/model.xml", loss_fn=final_x), "does not exist"),
        (dict(env="Ant-v5", contact_cost_weight=5e-4), "contact_cost_weight"),
        (dict(env=42), "env must be"),
        (dict(env="Hopper-v5", healthy_reward_typo=1.0),
         r"unknown env option\(s\) healthy_reward_typo for 'Hopper-v5'; valid: .*healthy_reward,"),
        (dict(env="Pendulum-v1", backend="gymnasium", g_typo=1.0),
         r"^unknown env option\(s\) g_typo for 'Pendulum-v1'; valid: g, horizon, render_mode, "
         "reset_seed$"),
        (dict(env="zg_control/Jump-v0", nonsense=1),
         r"unknown env option\(s\) nonsense for 'zg_control/Jump-v0'; valid: frame_skip, horizon$"),
        (dict(env=mujoco.MjModel.from_xml_string(SLIDER), loss_fn=final_x, bogus=1),
         "bogus for .*; valid: frame_skip, horizon, initial_qpos, initial_qvel, keyframe"),
        (dict(env=mujoco.MjModel.from_xml_string(SLIDER), loss_fn=final_x, frame_skip=0),
         "frame_skip must be a positive integer, got 0"),  # not silently 1
        (dict(env="zg_control/Push-v0", frame_skip=-2), "frame_skip must be a positive integer"),
        (dict(env="Hopper-v5", n_knots=8),
         "n_knots=8 is only used by the spline parameterization, not 'sequence'; pass"),
    ],
)  # fmt: skip
def test_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_objective(**kwargs)


def test_an_objective_that_always_diverges_has_no_finite_episode():
    def nan(traj):
        return np.full(traj.n, np.nan)

    f = make_objective(mujoco.MjModel.from_xml_string(SLIDER), loss_fn=nan, horizon=5)
    with pytest.warns(NoFiniteLossWarning, match="no finite loss in 33 evaluations"):
        res = zg.minimize(f, f.x0, "sa", budget=33, bounds=f.bounds)
    assert res.n_finite == 0 and res.loss == DIVERGED_LOSS  # a stand-in, flagged as diverged
    assert f.last_diverged.tolist() == [True]


def test_wrong_x_shape_raises():
    f = make_objective("Swimmer-v5", horizon=5)
    for X in (np.zeros(f.dim), np.zeros((2, f.dim + 1)), np.zeros((1, 2, f.dim))):
        with pytest.raises(ValueError, match=r"X must have shape \(n, 10\)"):
            f(X)
    assert f.n_episodes == 0


DEPRECATED_MJCF = """<mujoco><compiler settotalmass="2"/>
<worldbody><body><freejoint/><geom size="0.1"/></body></worldbody></mujoco>"""


def test_mujoco_warnings_go_to_the_logger_not_the_terminal(tmp_path, capfd, caplog):
    import logging

    from zg_control.sim._mjwarn import _to_log
    from zg_control.sim.model_task import load_model

    path = tmp_path / "deprecated.xml"
    path.write_text(DEPRECATED_MJCF)
    with caplog.at_level(logging.DEBUG, logger="zg_control"):
        load_model(path)
        _to_log("Nan, Inf or huge value in QACC at DOF 0.")
    out, err = capfd.readouterr()
    assert "settotalmass" not in out + err  # MuJoCo prints it to the terminal by default
    (deprecation, other) = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert deprecation[0] == logging.DEBUG and "settotalmass" in deprecation[1]
    assert other == (logging.WARNING, "MuJoCo: Nan, Inf or huge value in QACC at DOF 0.")
    assert mujoco.get_mju_user_warning() is None  # the default handler is back
