"""The closed-loop MLP policy parameterisation (zg_control.sim.policy.MLPPolicy)."""

from __future__ import annotations

import numpy as np

from zg_control.sim.parameterization import Parameterization
from zg_control.sim.policy import MLPPolicy

LOW = np.array([-1.0, 0.0, -0.4])
HIGH = np.array([1.0, 2.0, 0.6])
NU = LOW.size


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_policy_dims_x0_and_bounds():
    p = MLPPolicy(5, LOW, HIGH, hidden=(8, 4))
    assert p.closed_loop is True and isinstance(p, Parameterization)
    assert p.dim == (8 * 5 + 8) + (4 * 8 + 4) + (NU * 4 + NU)
    assert p.bounds() is None
    w0 = p.x0(seed=1)
    assert w0.shape == (p.dim,)
    np.testing.assert_array_equal(w0, p.x0(seed=1))
    assert not np.array_equal(w0, p.x0(seed=2))
    a = p.act(w0[None], rng(8).normal(size=(64, 5)))
    np.testing.assert_allclose(a, np.broadcast_to((LOW + HIGH) / 2, a.shape), atol=0.05)


def test_policy_act_batched_equals_per_row_loop():
    p = MLPPolicy(6, LOW, HIGH, hidden=(16, 8))
    W = rng(9).normal(size=(11, p.dim))
    obs = rng(10).normal(size=(11, 6))
    A = p.act(W, obs)
    assert A.shape == (11, NU) and np.all((A >= LOW) & (A <= HIGH))
    for i in range(11):
        h = obs[i]
        for Wl, b in p.unflatten(W[i]):
            h = np.tanh(Wl @ h + b)
        np.testing.assert_allclose(A[i], (LOW + HIGH) / 2 + (HIGH - LOW) / 2 * h, atol=1e-12)
        np.testing.assert_allclose(A[i], p.act(W[i : i + 1], obs[i : i + 1])[0], atol=1e-12)
    # One policy broadcast over many observations.
    np.testing.assert_allclose(p.act(W[:1], obs), p.act(np.repeat(W[:1], 11, 0), obs))


def test_policy_flatten_unflatten_round_trip():
    p = MLPPolicy(3, LOW, HIGH, hidden=(5,))
    w = rng(11).normal(size=p.dim)
    layers = p.unflatten(w)
    assert [(Wl.shape, b.shape) for Wl, b in layers] == [((5, 3), (5,)), ((NU, 5), (NU,))]
    np.testing.assert_array_equal(layers[0][0], w[:15].reshape(5, 3))  # weight row-major first
    np.testing.assert_array_equal(layers[0][1], w[15:20])
    np.testing.assert_array_equal(p.flatten(layers), w)
