"""ZeroGrads' step length (zerograds/step.py): the slope each antithetic batch measures along the
latest step moves lr, so a problem in other units converges without retuning."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import iterate, same_run

import zg_control as zg
from zg_control.optimizers.zerograds.pairs import slope_along
from zg_control.optimizers.zerograds.restart import Restart
from zg_control.optimizers.zerograds.step import STEP_RANGE, StepLength


def antithetic(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    E = rng.standard_normal((n // 2, d))
    return np.concatenate([E, -E])


def test_the_slope_statistic_is_calibrated_when_losses_ignore_the_step():
    rng = np.random.default_rng(0)
    z = []
    for _ in range(4000):
        E = antithetic(rng, 16, 20)
        losses = rng.standard_normal(16)  # no relation to E at all
        z.append(slope_along(E[:8], losses, np.ones(16, bool), rng.standard_normal(20)))
    assert abs(np.mean(z)) < 0.05 and abs(np.var(z) - 1.0) < 0.08


@pytest.mark.parametrize(("sign", "expected"), [(-1.0, -1.0), (1.0, 1.0)])
def test_the_slope_has_the_sign_of_the_loss_change_along_the_step(sign, expected):
    """On ``f(x) = g . x`` a step along ``-g`` ends where the loss still falls (negative)."""
    rng, g = np.random.default_rng(1), np.linspace(1.0, 2.0, 10)
    E = antithetic(rng, 16, 10)
    losses = E @ g
    z = slope_along(E[:8], losses, np.ones(16, bool), sign * g)
    assert np.sign(z) == expected and abs(z) > 2.0


def test_pairs_with_a_nonfinite_loss_are_left_out():
    rng = np.random.default_rng(2)
    E, step = antithetic(rng, 8, 5), rng.standard_normal(5)
    losses = E @ step
    finite = np.ones(8, bool)
    finite[[0, 5]] = False  # pair 0 (rows 0, 4) and pair 1 (rows 1, 5)
    z = slope_along(E[:4], np.where(finite, losses, 1e300), finite, step)
    keep = [2, 3, 6, 7]
    assert z == pytest.approx(slope_along(E[[2, 3]], losses[keep], np.ones(4, bool), step))
    assert slope_along(E[:4], losses, finite, np.zeros(5)) == 0.0


def test_the_factor_is_bounded_both_ways():
    s = StepLength()
    for _ in range(10_000):
        s.update(-10.0)
    assert s.value == pytest.approx(STEP_RANGE)
    for _ in range(10_000):
        s.update(10.0)
    assert s.value == pytest.approx(1.0 / STEP_RANGE)


def test_a_sphere_in_other_units_converges_by_default():
    """x100 units: the optimum sits at 100 from x0; lr sigma / 5 = 0.02 per step cannot get
    there in the budget, the step length's growth does."""

    def far_sphere(X: np.ndarray) -> np.ndarray:
        return np.sum((X / 100.0 - 1.0) ** 2, axis=1)

    x0 = np.zeros(50)
    fixed = zg.minimize(far_sphere, x0, "zerograds", budget=3000, seed=0, adapt=False)
    adaptive = zg.minimize(far_sphere, x0, "zerograds", budget=3000, seed=0)
    assert fixed.loss > 30.0  # of 50 at x0
    assert adaptive.loss < 1e-3
    assert adaptive.history[-1]["lr_factor"] > 30.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sigma_given_too_large_for_the_box_keeps_the_steps_in_its_scale(seed):
    """sigma 1 in the box [-1, 1] (x10 the default): lr's base stays 1/20 of the box's width
    / 5 (0.02, as at the default sigma), so a d = 10 quadratic still converges while the
    success rule brings sigma down (lr = sigma / 5 = 0.2 stalls it above 0.15)."""
    c = np.linspace(-0.6, 0.6, 10)
    box = (-np.ones(10), np.ones(10))
    res = zg.minimize(lambda X: np.sum((X - c) ** 2, axis=1), np.zeros(10), "zerograds",
                      budget=1000, seed=seed, bounds=box, sigma=1.0)  # fmt: skip
    assert res.history[0]["lr"] == pytest.approx(0.02 * res.history[0]["lr_factor"])
    assert res.loss < 0.02
    unbounded = zg.make_optimizer("zerograds", np.zeros(10), sigma=1.0)
    assert unbounded.current_lr() == pytest.approx(0.2)  # no box: lr follows the given sigma


def test_a_batch_without_pairs_leaves_lr_alone():
    res = zg.minimize(
        lambda X: np.sum(X**2, axis=1), np.ones(4), "zerograds", 320, 0, antithetic=False
    )
    assert all(h["lr_factor"] == 1.0 for h in res.history)


def test_resume_with_a_moved_factor_is_identical():
    fn = lambda X: np.sum((X / 10.0 - 1.0) ** 2, axis=1)  # noqa: E731
    x0 = np.zeros(80)  # the ridge surrogate (d > buffer)
    opt = zg.make_optimizer("zerograds", x0, seed=4)
    iterate(opt, fn, 12)
    assert opt.lr_factor > 1.0
    twin = zg.make_optimizer("zerograds", x0, seed=4)
    twin.load_state_dict(opt.state_dict())
    runs = [[], []]
    recs = [iterate(o, fn, 8, runs[i]) for i, o in enumerate((opt, twin))]
    assert same_run((recs[0], runs[0]), (recs[1], runs[1]))


def test_lr_follows_sigma_up_under_the_success_rule_never_down_nor_into_a_trial():
    d = 80  # the ridge plane, with restarts, under the success rule
    opt = zg.make_optimizer("zerograds", np.zeros(d), bounds=(-np.ones(d), np.ones(d)))
    base = 0.1 / 10 * opt.lr_factor
    opt.sigma_scale.log_scale = np.log(3.0)
    assert opt.current_lr() == pytest.approx(3.0 * base)
    opt.restart.trial_left, opt.restart.saved = 2, np.log(1.5)  # a trial: sigma 3x, was 1.5x
    assert opt.current_lr() == pytest.approx(1.5 * base)
    opt.restart.trial_left, opt.sigma_scale.log_scale = 0, np.log(0.2)
    assert opt.current_lr() == pytest.approx(base)
    high = zg.make_optimizer("zerograds", np.zeros(400), bounds=(-np.ones(400), np.ones(400)))
    high.sigma_scale.log_scale = np.log(3.0)  # above d = 300 only flat growth moves lr
    assert high.current_lr() == pytest.approx(0.01 * high.lr_factor)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sigma_given_too_small_travels_with_lr_following_it(seed, monkeypatch):
    """sigma 0.01 (x0.1) on a d = 100 sphere whose centre is 0.8 per coordinate from x0 (loss
    64 there): the success rule grows sigma and lr follows it to < 5; held at its base (the
    restart's steady factor patched to 1) lr reaches only the step length's growth, > 20."""
    box = (-np.ones(100), np.ones(100))

    def run() -> float:
        fn = lambda X: np.sum((X - 0.8) ** 2, axis=1)  # noqa: E731
        return zg.minimize(fn, np.zeros(100), "zerograds", 1000, seed, bounds=box, sigma=0.01).loss

    assert run() < 5.0
    monkeypatch.setattr(Restart, "steady", lambda self, factor: 1.0)
    assert run() > 20.0
