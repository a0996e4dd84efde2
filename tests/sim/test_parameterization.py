"""zg_control.sim.parameterization: shapes, round trips, interpolation, policy batching."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from zg_control.sim.parameterization import (
    INTERPOLATIONS,
    PARAMETERIZATIONS,
    ControlSequence,
    MLPPolicy,
    Parameterization,
    SplineControls,
    ctrl_bounds,
    make_parameterization,
)

LOW = np.array([-1.0, 0.0, -0.4])
HIGH = np.array([1.0, 2.0, 0.6])
NU = LOW.size


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- open loop, shared behaviour


def open_loop_params():
    yield ControlSequence(12, LOW, HIGH)
    for interp in INTERPOLATIONS:
        yield SplineControls(12, LOW, HIGH, n_knots=5, interp=interp)


@pytest.mark.parametrize("p", list(open_loop_params()), ids=lambda p: getattr(p, "interp", "seq"))
def test_open_loop_dims_x0_bounds(p):
    rows = 12 if isinstance(p, ControlSequence) else 5
    assert isinstance(p, Parameterization) and p.closed_loop is False
    assert p.dim == rows * NU
    lo, hi = p.bounds()
    np.testing.assert_array_equal(lo, -np.ones(p.dim))
    np.testing.assert_array_equal(hi, np.ones(p.dim))
    # x0 = zeros decodes to the middle of the range at every step.
    np.testing.assert_array_equal(p.x0(), np.zeros(p.dim))
    U = p.decode(p.x0()[None])
    assert U.shape == (1, 12, NU)
    np.testing.assert_allclose(U[0], np.broadcast_to((LOW + HIGH) / 2, (12, NU)), atol=1e-12)


@pytest.mark.parametrize("p", list(open_loop_params()), ids=lambda p: getattr(p, "interp", "seq"))
def test_decode_stays_in_range_and_clips(p):
    X = rng(1).uniform(-3, 3, size=(20, p.dim))
    U = p.decode(X)
    assert U.shape == (20, 12, NU)
    assert np.all(U >= LOW) and np.all(U <= HIGH)
    # Far outside the box every step saturates at a bound.
    np.testing.assert_array_equal(p.decode(np.full((1, p.dim), 5.0))[0], np.tile(HIGH, (12, 1)))
    np.testing.assert_array_equal(p.decode(np.full((1, p.dim), -5.0))[0], np.tile(LOW, (12, 1)))


def test_sequence_round_trip_and_mapping():
    p = ControlSequence(7, LOW, HIGH)
    X = rng(2).uniform(-1, 1, size=(4, p.dim))
    U = p.decode(X)
    np.testing.assert_allclose(p.encode(U), X, atol=1e-12)
    np.testing.assert_allclose(p.encode(U[0]), X[0], atol=1e-12)
    # Linear map: x = -1 -> low, x = 1 -> high, layout (horizon, nu) row-major.
    x = np.zeros(p.dim)
    x[1 * NU + 2] = 1.0  # step 1, actuator 2
    x[3 * NU + 1] = -1.0  # step 3, actuator 1
    U1 = p.decode(x[None])[0]
    assert U1[1, 2] == pytest.approx(HIGH[2]) and U1[3, 1] == pytest.approx(LOW[1])
    # encode clips controls outside the range, so its result is inside the box.
    assert np.all(np.abs(p.encode(np.full((7, NU), 100.0))) <= 1.0)


# ---------------------------------------------------------------- splines


@pytest.mark.parametrize("interp", INTERPOLATIONS)
@pytest.mark.parametrize("horizon,n_knots", [(10, 10), (13, 4), (50, 7), (5, 2), (9, 3), (31, 5)])
def test_spline_reproduces_knots_and_round_trips(interp, horizon, n_knots):
    p = SplineControls(horizon, LOW, HIGH, n_knots, interp)
    # Small amplitude so cubic overshoot never reaches the clip.
    X = rng(3).uniform(-0.3, 0.3, size=(6, p.dim))
    U = p.decode(X)
    assert np.all((U > LOW) & (U < HIGH))
    K = X.reshape(6, n_knots, NU) * (HIGH - LOW) / 2 + (HIGH + LOW) / 2
    # Knot values exactly at integer knot times; the first and last knots always are.
    on_step = np.isclose(p.knot_times, np.round(p.knot_times))
    assert on_step[0] and on_step[-1]
    steps = np.round(p.knot_times[on_step]).astype(int)
    np.testing.assert_allclose(U[:, steps], K[:, on_step], atol=1e-12)
    np.testing.assert_allclose(p.encode(U), X, atol=1e-10)


@pytest.mark.parametrize("interp", INTERPOLATIONS)
def test_spline_basis_full_rank_for_every_valid_knot_count(interp):
    # encode is exact for decoded knots only if B has full column rank for all 2 <= K <= H.
    for horizon in range(2, 17):
        for n_knots in range(2, horizon + 1):
            p = SplineControls(horizon, LOW, HIGH, n_knots, interp)
            np.testing.assert_allclose(p.basis.sum(axis=1), 1.0, atol=1e-12)  # keeps constants
            assert np.linalg.matrix_rank(p.basis) == n_knots


def test_zero_order_hold_is_piecewise_constant():
    p = SplineControls(10, LOW, HIGH, n_knots=4, interp="zero")  # knots at 0, 3, 6, 9
    X = rng(4).uniform(-1, 1, size=(2, p.dim))
    U = p.decode(X)
    K = X.reshape(2, 4, NU) * (HIGH - LOW) / 2 + (HIGH + LOW) / 2
    owner = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    np.testing.assert_allclose(U, K[:, owner], atol=1e-12)
    # Non-integer knot times (0, 4/3, 8/3, 4): steps take the most recent knot.
    p = SplineControls(5, LOW, HIGH, n_knots=4, interp="zero")
    np.testing.assert_array_equal(np.argmax(p.basis, axis=1), [0, 0, 1, 2, 3])


def test_zero_order_hold_encode_is_segment_mean():
    p = SplineControls(10, LOW, HIGH, n_knots=4, interp="zero")
    Z = rng(5).uniform(-0.9, 0.9, size=(10, NU))
    U = Z * (HIGH - LOW) / 2 + (HIGH + LOW) / 2
    K = p.encode(U).reshape(4, NU)
    np.testing.assert_allclose(K[1], Z[3:6].mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(K[3], Z[9], atol=1e-12)


def test_linear_matches_np_interp():
    p = SplineControls(20, LOW, HIGH, n_knots=6, interp="linear")
    X = rng(6).uniform(-1, 1, size=(1, p.dim))
    U = p.decode(X)[0]
    K = X.reshape(6, NU) * (HIGH - LOW) / 2 + (HIGH + LOW) / 2
    for j in range(NU):
        np.testing.assert_allclose(U[:, j], np.interp(np.arange(20), p.knot_times, K[:, j]))


@pytest.mark.parametrize("n_knots", [2, 3, 4, 8])
def test_cubic_matches_scipy_not_a_knot(n_knots):
    p = SplineControls(40, LOW, HIGH, n_knots=n_knots, interp="cubic")
    X = rng(7).uniform(-0.3, 0.3, size=(3, p.dim))
    K = X.reshape(3, n_knots, NU) * (HIGH - LOW) / 2 + (HIGH + LOW) / 2
    ref = CubicSpline(p.knot_times, K, axis=1, bc_type="not-a-knot")(np.arange(40))
    np.testing.assert_allclose(p.decode(X), ref, atol=1e-12)
    if n_knots >= 4:  # smooth: second differences stay small compared with zero-order hold
        jump = np.abs(np.diff(p.decode(X), 2, axis=1)).max()
        zoh = SplineControls(40, LOW, HIGH, n_knots=n_knots, interp="zero").decode(X)
        assert jump < 0.2 * np.abs(np.diff(zoh, 2, axis=1)).max()


@pytest.mark.parametrize("interp", ["linear", "cubic"])
def test_spline_encode_is_least_squares_fit(interp):
    p = SplineControls(30, LOW, HIGH, n_knots=6, interp=interp)
    t = np.arange(30)
    Z = 0.5 * np.sin(t / 5.0)[:, None] * np.array([1.0, -0.5, 0.8])
    U = Z * (HIGH - LOW) / 2 + (HIGH + LOW) / 2
    x = p.encode(U)
    Zfit = (p.decode(x[None])[0] - (HIGH + LOW) / 2) / ((HIGH - LOW) / 2)
    err = np.sum((Zfit - Z) ** 2)
    # Any perturbation of the fitted knots makes the fit worse; the fit is decent.
    for seed in range(5):
        x2 = x + 1e-3 * rng(seed).normal(size=x.shape)
        Z2 = (p.decode(x2[None])[0] - (HIGH + LOW) / 2) / ((HIGH - LOW) / 2)
        assert np.sum((Z2 - Z) ** 2) > err
    assert np.max(np.abs(Zfit - Z)) < 0.05


# ---------------------------------------------------------------- factory, helpers, errors


def test_make_parameterization_kinds():
    kw = dict(horizon=10, ctrl_low=LOW, ctrl_high=HIGH)
    assert isinstance(make_parameterization("sequence", **kw), ControlSequence)
    s = make_parameterization("spline", n_knots=4, interp="linear", **kw)
    assert isinstance(s, SplineControls) and s.dim == 4 * NU and s.interp == "linear"
    pol = make_parameterization("policy", obs_dim=7, hidden=[4], **kw)
    assert isinstance(pol, MLPPolicy) and pol.obs_dim == 7 and pol.hidden == (4,)
    assert set(PARAMETERIZATIONS) == {"sequence", "spline", "policy"}
    with pytest.raises(ValueError, match="splin"):
        make_parameterization("splin", **kw)
    with pytest.raises(ValueError, match="n_knots"):
        make_parameterization("spline", **kw)
    with pytest.raises(ValueError, match="obs_dim"):
        make_parameterization("policy", **kw)


def test_ctrl_bounds_reads_model():
    xml = """<mujoco><worldbody><body><joint name="j" type="hinge"/><geom size=".1"/></body>
    </worldbody><actuator><motor joint="j" ctrlrange="-2 3"/><motor joint="j"/>
    <motor joint="j" ctrllimited="true" ctrlrange="0 0.5"/></actuator></mujoco>"""
    low, high = ctrl_bounds(mujoco.MjModel.from_xml_string(xml))
    np.testing.assert_array_equal(low, [-2.0, -1.0, 0.0])
    np.testing.assert_array_equal(high, [3.0, 1.0, 0.5])


@pytest.mark.parametrize(
    "make",
    [
        lambda: ControlSequence(10, np.zeros(2), np.zeros(2)),  # low == high
        lambda: ControlSequence(10, [0.0, np.inf], [1.0, 2.0]),  # not finite
        lambda: ControlSequence(10, np.zeros((2, 1)), np.ones((2, 1))),  # not (nu,)
        lambda: ControlSequence(10, np.zeros(2), np.ones(3)),  # shapes differ
        lambda: ControlSequence(10, [], []),  # no actuators
        lambda: ControlSequence(0, LOW, HIGH),
        lambda: ControlSequence(2.5, LOW, HIGH),
        lambda: SplineControls(10, LOW, HIGH, n_knots=1),
        lambda: SplineControls(10, LOW, HIGH, n_knots=11),
        lambda: SplineControls(10, LOW, HIGH, n_knots=4, interp="quadratic"),
        lambda: MLPPolicy(0, LOW, HIGH),
        lambda: MLPPolicy(3, LOW, HIGH, hidden=32),
        lambda: MLPPolicy(3, LOW, HIGH, hidden=(8, 0)),
    ],
)
def test_bad_construction_raises(make):
    with pytest.raises(ValueError):
        make()


def test_bad_shapes_raise():
    seq, spl = ControlSequence(10, LOW, HIGH), SplineControls(10, LOW, HIGH, 4)
    pol = MLPPolicy(3, LOW, HIGH)
    calls = [
        lambda: seq.decode(np.zeros(seq.dim)),  # 1-D
        lambda: spl.decode(np.zeros((2, spl.dim + 1))),
        lambda: seq.encode(np.zeros((9, NU))),
        lambda: spl.encode(np.zeros((2, 10, NU + 1))),
        lambda: pol.act(np.zeros(pol.dim), np.zeros((1, 3))),
        lambda: pol.act(np.zeros((2, pol.dim)), np.zeros((3, 3))),
        lambda: pol.act(np.zeros((2, pol.dim)), np.zeros((2, 4))),
        lambda: pol.unflatten(np.zeros(pol.dim - 1)),
        lambda: pol.flatten(pol.unflatten(np.zeros(pol.dim))[:1]),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
