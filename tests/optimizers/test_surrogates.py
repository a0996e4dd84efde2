"""The surrogates of ZeroGrads and the parts they share: the buffer, the locality weights, the
target standardisation; both recover the gradient of a function with a known one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zg_control.optimizers.zerograds.mlp import MLPSurrogate
from zg_control.optimizers.zerograds.ridge import RidgeSurrogate
from zg_control.optimizers.zerograds.surrogates import (
    SampleBuffer,
    Standardisation,
    locality_weights,
)

CPU = torch.device("cpu")


def mlp(dim: int, seed: int = 0, **kw) -> MLPSurrogate:
    return MLPSurrogate(dim, generator=torch.Generator().manual_seed(seed), device=CPU, **kw)


class RawRidge(RidgeSurrogate):
    """The ridge solver on the raw losses, so its slope can be checked against a known one."""

    shaping = "none"


def test_buffer_is_a_ring_of_the_latest_rows_with_their_batch():
    buf = SampleBuffer(4, 2, CPU)
    buf.add(np.arange(6.0).reshape(3, 2), np.array([0.0, 1.0, 2.0]))
    idx = buf.add(np.arange(6.0, 12.0).reshape(3, 2), np.array([3.0, 4.0, 5.0]))
    assert idx.tolist() == [3, 0, 1] and (buf.size, buf.head) == (4, 2)
    assert buf.y.tolist() == [4.0, 5.0, 2.0, 3.0] and buf.batch.tolist() == [2, 2, 1, 2]
    assert buf.X[0].tolist() == [8.0, 9.0]
    buf.add(np.arange(12.0).reshape(6, 2), np.arange(6.0))  # more rows than room: the last 4
    assert sorted(buf.y.tolist()) == [2.0, 3.0, 4.0, 5.0] and set(buf.batch) == {3}
    other = SampleBuffer(4, 2, CPU)
    other.load_state_dict(buf.state_dict())
    assert torch.equal(other.X, buf.X) and other.state_dict()["counts"] == [4, 2, 3]


@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy])
def test_locality_weights_keep_fresh_samples_equal_and_fade_far_ones(to):
    r2 = to(np.array([0.2, 1.0, 3.0, 9.0]))
    w = np.asarray(locality_weights(r2, 1.0))
    assert w.sum() == pytest.approx(1.0) and w[0] == w[1]
    np.testing.assert_allclose(w[2:] / w[0], [np.exp(-1.0), np.exp(-4.0)])
    wide = np.asarray(locality_weights(r2, 2.0))
    np.testing.assert_allclose(wide[2] / wide[0], np.exp(-0.25))
    assert np.array_equal(np.asarray(locality_weights(r2, 0.0)), np.full(4, 0.25))
    assert type(locality_weights(r2, 1.0)) is type(r2)


@pytest.mark.parametrize("to", [np.asarray, torch.from_numpy])
def test_standardisation_round_trip(to):
    rng = np.random.default_rng(0)
    y, w = 3.0 + 5.0 * rng.standard_normal(20), rng.uniform(size=20)
    w /= w.sum()
    s = Standardisation()
    t = np.asarray(s.fit(to(y), to(w)))
    assert w @ t == pytest.approx(0.0, abs=1e-12) and w @ t**2 == pytest.approx(1.0)
    np.testing.assert_allclose(s.value(t), y)
    assert s.value(0.0) == s.mean and s.grad(np.ones(2), 0.5).tolist() == [2 * s.std] * 2
    flat = Standardisation()
    t = np.asarray(flat.fit(to(np.full(3, 7.0)), to(np.full(3, 1 / 3))))
    np.testing.assert_allclose(t, 0.0, atol=1e-12)
    assert flat.std == 1.0 and flat.mean == pytest.approx(7.0)


def test_ridge_recovers_a_linear_gradient_whatever_the_offset_of_each_batch():
    # m = 64 samples in d = 32 pin down a plane: the slope must be the true gradient, even with
    # a different offset per batch (which the per-batch intercepts ignore)
    rng = np.random.default_rng(0)
    d, g = 32, rng.standard_normal(32)
    sur = RawRidge(d, buffer_size=64, ridge=1e-6)
    for k in range(4):
        X = 0.1 * rng.standard_normal((16, d))
        sur.add(X, X @ g + 5.0 * k)
    err = sur.fit(np.zeros(d), 0.1)
    value, grad = sur.value_and_grad(np.zeros(d))
    assert err < 1e-6 and np.allclose(grad, g, atol=1e-3)
    X = rng.standard_normal((3, d))
    assert np.allclose(sur.predict(X) - sur.predict(np.zeros((1, d))), X @ g, atol=1e-2)


def test_ridge_on_ranks_points_along_the_gradient():
    rng = np.random.default_rng(1)
    d, g = 32, rng.standard_normal(32)
    sur = RidgeSurrogate(d)
    for _ in range(4):
        X = 0.1 * rng.standard_normal((16, d))
        sur.add(X, np.exp(X @ g))  # ranks: a monotone transform of a plane is the same fit
    sur.fit(np.zeros(d), 0.1)
    grad = sur.value_and_grad(np.zeros(d))[1]
    assert grad @ g / np.linalg.norm(grad) / np.linalg.norm(g) > 0.9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mlp_recovers_the_gradient_of_a_quadratic(seed):
    rng = np.random.default_rng(seed)
    a, c = np.array([1.0, 2.0, 0.5, 1.5]), np.array([1.0, -0.5, 2.0, 0.3])

    def f(X):
        return (a * (X - c) ** 2).sum(1)

    sur = mlp(4, seed, buffer_size=256)
    for _ in range(16):
        X = 0.1 * rng.standard_normal((16, 4))
        sur.add(X, f(X))
    assert sur.fit(np.zeros(4), 0.1, 300) < 1e-3
    value, grad = sur.value_and_grad(np.zeros(4))
    true = -2 * a * c
    assert grad @ true / np.linalg.norm(grad) / np.linalg.norm(true) > 0.99
    assert np.linalg.norm(grad) == pytest.approx(np.linalg.norm(true), rel=0.15)
    assert value == pytest.approx(f(np.zeros((1, 4)))[0], rel=0.01)
    X = 0.1 * rng.standard_normal((5, 4))
    np.testing.assert_allclose(sur.predict(X), f(X), atol=0.05)


@pytest.mark.parametrize("make", [lambda d: mlp(d, depth=1), lambda d: RidgeSurrogate(d)])
def test_state_dict_restores_the_fit_and_the_next_one(make):
    rng = np.random.default_rng(2)
    a, b = make(6), make(6)
    for _ in range(3):
        X = rng.standard_normal((16, 6))
        a.add(X, (X**2).sum(1))
        a.fit(np.zeros(6), 1.0, 3)
    b.load_state_dict(a.state_dict())
    X = rng.standard_normal((5, 6))
    assert np.array_equal(a.predict(X), b.predict(X))
    for s in (a, b):
        s.add(X, X.sum(1))
        s.fit(np.ones(6), 0.5, 3)
    assert np.array_equal(a.value_and_grad(X[0])[1], b.value_and_grad(X[0])[1])
