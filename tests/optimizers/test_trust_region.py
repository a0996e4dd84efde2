"""ZeroGrads' trust region (zerograds/step.py): with the ridge plane up to d = 300, lr stays at
most sigma, so a step does not leave the region the plane was fitted in while the success rule
shrinks sigma; the MLP, which models curvature, is left alone."""

from __future__ import annotations

import numpy as np
import pytest

import zg_control as zg
import zg_control.optimizers.zerograds.core as core
from zg_control.optimizers.zerograds.step import SUCCESS_MAX_DIM, TRUST_RATIO, StepLength


def offset_sphere(X: np.ndarray) -> np.ndarray:
    """``X (n, d)`` -> ``(n,)``: minimum 0 at 0.3 in every coordinate."""
    return np.sum((X - 0.3) ** 2, axis=1)


def run_sphere(d: int = 100, budget: int = 1500) -> zg.Result:
    lo = np.full(d, -1.0)
    return zg.minimize(
        offset_sphere, np.full(d, -0.5), "zerograds", budget, seed=0, bounds=(lo, -lo)
    )


def test_limit_holds_the_factor_without_wind_up():
    s = StepLength()
    for _ in range(50):
        s.update(-3.0)  # the loss keeps falling: the factor grows
    s.limit(2.0)
    assert s.value == pytest.approx(2.0)
    s.update(3.0)  # one batch that overshot takes it below the cap at once
    assert s.value < 2.0
    s.limit(5.0)  # a cap above the factor leaves it alone
    assert s.value < 2.0


def test_lr_stays_within_sigma_up_to_d_300():
    lo = np.full(100, -1.0)
    opt = zg.make_optimizer("zerograds", np.full(100, -0.5), seed=0, bounds=(lo, -lo))
    ratios = []
    for _ in range(80):
        X = opt.ask()
        opt.tell(X, offset_sphere(X))
        ratios.append(opt.current_lr() / opt.current_sigma())
    assert max(ratios) <= TRUST_RATIO * (1 + 1e-9)
    assert max(ratios) > 0.9 * TRUST_RATIO  # the cap is reached on this bowl, not idle


@pytest.mark.parametrize("d", [SUCCESS_MAX_DIM + 1, 50])
def test_no_cap_above_the_success_rule_nor_with_the_mlp(d):
    """Above d = 300 sigma never shrinks below the box's scale, and the MLP (d <= 64) models
    curvature: lr may exceed sigma there."""
    opt = zg.make_optimizer("zerograds", np.zeros(d), seed=0)
    opt.step_length.log_factor = np.log(50.0)  # lr = 5 sigma (ridge), 10 sigma (MLP)
    X = opt.ask()
    opt.tell(X, offset_sphere(X))
    assert not opt.trust_region and opt.current_lr() / opt.current_sigma() > 4.0


def test_the_bowl_converges_far_closer_than_without_the_trust_region(monkeypatch):
    """d = 100 in [-1, 1], from 0.8 off the minimum per coordinate (loss 64), 1500 episodes:
    with lr <= sigma the loss ends below 2 (seed 0: 0.92); without the cap, above 5 (6.2)."""
    capped = run_sphere().loss
    monkeypatch.setattr(core, "TRUST_RATIO", 1e9)
    free = run_sphere().loss
    assert capped < 2.0 and free > 5.0
