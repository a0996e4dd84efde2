"""Every method keeps a finite theta whatever losses it is told: NaN, +-inf, losses near the
float limit (a simulator that diverged without being caught returns such values), tiny ones
and ties (a property test over the registry, seeded)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import zg_control as zg
from zg_control.functions import sphere
from zg_control.optimizers.zerograds.surrogates import Standardisation

METHODS = sorted(zg.OPTIMIZERS)
EXTREME = np.array([np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300])


def draw_losses(rng: np.random.Generator, X: np.ndarray) -> np.ndarray:
    """Losses ``(n,)`` for the batch ``X (n, d)``: one of several hostile patterns."""
    n = len(X)
    pattern = rng.integers(5)
    if pattern == 0:  # anything goes
        return rng.choice(EXTREME, n)
    if pattern == 1:  # ties: the whole batch scores one value
        return np.full(n, rng.choice(EXTREME))
    if pattern == 2:  # the case: NaN mixed with 1e300
        return rng.choice([np.nan, 1e300], n)
    if pattern == 3:  # huge finite losses of both signs, and a tiny one
        return rng.choice([-1e300, 1e300, 1e-300], n)
    y = sphere(X)  # an ordinary batch with a few failures
    y[rng.random(n) < 0.3] = rng.choice(EXTREME)
    return y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", METHODS)
def test_ask_and_recommendation_stay_finite_whatever_the_losses(name, seed):
    rng = np.random.default_rng(100 + seed)
    opt = zg.make_optimizer(name, np.full(3, 0.5), seed=seed)
    for _ in range(8):
        X = opt.ask()
        assert np.isfinite(X).all()
        opt.tell(X, draw_losses(rng, X))
        assert np.isfinite(opt.recommendation).all()
        assert not math.isnan(opt.best_loss)
    assert np.isfinite(opt.ask()).all()


@pytest.mark.parametrize("first", ["all -1e300", "nan and 1e300"])
@pytest.mark.parametrize("name", METHODS)
def test_the_first_tell_of_huge_losses_keeps_the_recommendation(name, first):
    opt = zg.make_optimizer(name, np.ones(4), seed=0)
    X = opt.ask()
    if first == "all -1e300":
        y = np.full(len(X), -1e300)
    else:
        y = np.where(np.arange(len(X)) % 3 == 0, np.nan, 1e300)
    opt.tell(X, y)
    assert np.isfinite(opt.recommendation).all()
    X = opt.ask()
    opt.tell(X, sphere(X))  # and it goes on from there
    assert np.isfinite(opt.recommendation).all() and np.isfinite(opt.ask()).all()


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_standardisation_of_huge_losses_is_finite_and_ordinary_ones_unchanged(kind):
    wrap = np.asarray if kind == "numpy" else torch.as_tensor
    w = wrap(np.full(4, 0.25))
    s = Standardisation()
    t = np.asarray(s.fit(wrap(np.array([1e300, -1e300, 3e299, 0.0])), w))
    assert np.isfinite(t).all() and math.isfinite(s.mean) and math.isfinite(s.std)
    np.testing.assert_allclose(t * s.std + s.mean, [1e300, -1e300, 3e299, 0.0], rtol=1e-12)
    t = np.asarray(s.fit(wrap(np.full(4, -1e300)), w))  # equal losses: zero targets, std 1
    assert np.array_equal(t, np.zeros(4)) and (s.mean, s.std) == (-1e300, 1.0)
    y = np.array([1.5, -0.25, 3.0, 0.125])  # ordinary losses: exactly the plain formula
    t = np.asarray(s.fit(wrap(y), w))
    mean = float(np.full(4, 0.25) @ y)
    std = math.sqrt(float(np.full(4, 0.25) @ (y - mean) ** 2))
    assert (s.mean, s.std) == (mean, std) and np.array_equal(t, (y - mean) / std)


@pytest.mark.parametrize("name", METHODS)
def test_losses_at_the_float_limit_keep_theta_finite(name):
    """Differences of such losses overflow: a tiny first difference calibrates SPSA's gain to
    ~1e300, then +-1.7e308 give an infinite gradient; neither may reach theta."""
    opt = zg.make_optimizer(name, np.ones(3), seed=0)
    for k in range(6):
        X = opt.ask()
        sign = np.where(np.arange(len(X)) < len(X) // 2, 1.0, -1.0)  # antithetic halves differ
        opt.tell(X, np.where(sign > 0, 1e-300, 0.0) if k == 0 else 1.7e308 * sign)
        assert np.isfinite(opt.recommendation).all() and np.isfinite(opt.ask()).all()
