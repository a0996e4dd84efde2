"""ZeroGrads' sigma from the samples' success against theta (zerograds/step.py): each batch also
evaluates theta, and the fraction of samples that beat it moves sigma (a 1/5 success rule), so
a sigma given x0.01 or x10 off is corrected, and a narrow optimum shrinks sigma."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import iterate, same_run

import zg_control as zg
from zg_control.functions import sphere
from zg_control.optimizers.zerograds.pairs import success_rate
from zg_control.optimizers.zerograds.step import (
    MIN_SCALE,
    SUCCESS_GAIN,
    SUCCESS_MAX_DIM,
    SUCCESS_TARGET,
    SigmaScale,
)


def test_success_rate_counts_ties_half_and_skips_nonfinite_rows():
    losses = np.array([0.0, 1.0, 2.0, 1.0, 5.0])
    finite = np.array([True, True, True, True, False])
    assert success_rate(losses, finite, 1.0, paired=False) == pytest.approx((1 + 0.5 * 2) / 4)
    assert np.isnan(success_rate(losses, np.zeros(5, bool), 1.0, paired=False))


def test_a_pair_that_both_beat_the_centre_counts_as_two_failures():
    # pairs (rows k, k + 4): one wins / both win / a tie and a loss / a pair with a NaN
    losses = np.array([0.0, 0.0, 1.0, 0.0, 2.0, 0.5, 2.0, np.nan])
    finite = np.isfinite(losses)
    assert success_rate(losses, finite, 1.0) == pytest.approx((0.5 + 0.0 + 0.25) / 3)
    assert np.isnan(success_rate(losses, np.zeros(8, bool), 1.0))


def test_the_factor_moves_by_the_gain_and_stays_within_its_bounds():
    s = SigmaScale(cap=4.0)
    s.success(0.5)
    assert s.value == pytest.approx(np.exp(SUCCESS_GAIN * (0.5 - SUCCESS_TARGET)))
    for _ in range(100):
        s.success(1.0)
    assert s.value == pytest.approx(4.0)
    for _ in range(1000):
        s.success(0.0)
    assert s.value == pytest.approx(MIN_SCALE)


def test_every_batch_ends_with_theta():
    opt = zg.make_optimizer("zerograds", np.full(6, 0.3), seed=0)
    X = opt.ask()
    assert X.shape == (17, 6) and opt.batch_size == 17
    np.testing.assert_array_equal(X[-1], opt.recommendation)


def test_the_rule_acts_below_its_dimension_and_not_with_a_sigma_schedule():
    """Above SUCCESS_MAX_DIM (and for a callable sigma) no theta row is asked and sigma moves
    on flat batches only."""
    big = zg.make_optimizer("zerograds", np.zeros(SUCCESS_MAX_DIM + 1), seed=0)
    assert big.ask().shape == (16, SUCCESS_MAX_DIM + 1)
    edge = zg.make_optimizer("zerograds", np.zeros(SUCCESS_MAX_DIM), seed=0)
    assert edge.ask().shape == (17, SUCCESS_MAX_DIM)  # the README's demo: d = 300
    sched = zg.make_optimizer("zerograds", np.zeros(5), seed=0, sigma=lambda n: 0.1)
    assert sched.ask().shape == (16, 5)
    res = zg.minimize(sphere, np.full(SUCCESS_MAX_DIM + 1, 1.0), "zerograds", 400, seed=0)
    assert all(h["sigma"] == 0.1 and np.isnan(h["success"]) for h in res.history)


def test_sigma_grows_where_the_loss_is_linear_and_shrinks_at_a_minimum():
    """On a plane one sample of every antithetic pair wins (p = 1/2 > 1/5): sigma grows. At the
    minimum of a sphere every sample loses to theta (p = 0): sigma shrinks."""
    plane = zg.minimize(lambda X: X.sum(axis=1), np.zeros(10), "zerograds", 170, seed=0)
    assert plane.history[-1]["sigma"] > 0.1 * np.exp(2)
    bowl = zg.minimize(sphere, np.zeros(10), "zerograds", 170, seed=0)
    assert bowl.history[-1]["sigma"] < 0.05


@pytest.mark.parametrize(("sigma", "reached"), [(0.001, 1e-3), (1.0, 0.05)])
def test_a_sigma_off_by_a_factor_of_100_or_10_is_corrected(sigma, reached):
    """The optimum is 1 away in every coordinate (d = 20); the default sigma is 0.1. Too small
    a sigma grows and converges; too large a sigma shrinks (lr, which does not follow the
    success rule, comes down by the step length alone: slower, so a looser bound)."""
    fn = lambda X: np.mean((X - 1.0) ** 2, axis=1)  # noqa: E731
    x0 = np.zeros(20)
    res = zg.minimize(fn, x0, "zerograds", 2000, seed=0, sigma=sigma)
    fixed = zg.minimize(fn, x0, "zerograds", 2000, seed=0, sigma=sigma, adapt=False)
    assert res.loss < reached and fixed.loss > 0.5


def test_a_nonfinite_centre_leaves_sigma_alone():
    def fn(X: np.ndarray) -> np.ndarray:
        y = sphere(X)
        y[-1] = np.nan  # theta's own row
        return y

    opt = zg.make_optimizer("zerograds", np.full(5, 2.0), seed=0)
    for _ in range(5):
        X = opt.ask()
        opt.tell(X, fn(X))
        assert np.isnan(opt.metrics["success"]) and opt.scale == 1.0


def test_resume_with_a_moved_sigma_is_identical():
    x0 = np.full(6, 2.0)
    opt = zg.make_optimizer("zerograds", x0, seed=4)
    iterate(opt, sphere, 10)
    assert opt.scale != 1.0
    twin = zg.make_optimizer("zerograds", x0, seed=4)
    twin.load_state_dict(opt.state_dict())
    runs = [[], []]
    recs = [iterate(o, sphere, 8, runs[i]) for i, o in enumerate((opt, twin))]
    assert same_run((recs[0], runs[0]), (recs[1], runs[1]))
