"""ZeroGrads' tentative sigma restart (zerograds/restart.py): with the ridge plane up to d = 300,
after PATIENCE batches without a new best sample sigma is tried wider for TRIAL batches; it stays
wider if they find a new best, else it returns and the patience doubles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import iterate, same_run

import zg_control as zg
import zg_control.optimizers.zerograds.restart as restart
from zg_control.functions import sphere
from zg_control.optimizers.zerograds.restart import GAIN, PATIENCE, TRIAL, Restart
from zg_control.optimizers.zerograds.step import SigmaScale


def stall(rule: Restart, scale: SigmaScale, batches: int, best: float = 1.0) -> None:
    for _ in range(batches):
        rule.update(best, scale)


def test_a_failed_trial_returns_and_doubles_the_patience():
    rule, scale = Restart(), SigmaScale(cap=100.0)
    scale.log_scale = math.log(0.01)  # sigma collapsed to 1% of the sigma given
    rule.update(1.0, scale)  # the best so far
    stall(rule, scale, PATIENCE - 1)
    assert scale.value == pytest.approx(0.01) and rule.count == 0
    stall(rule, scale, 1)
    assert scale.value == pytest.approx(1.0) and rule.count == 1  # at least the sigma given
    scale.log_scale = math.log(0.5)  # the success rule moves it during the trial
    stall(rule, scale, TRIAL)
    assert scale.value == pytest.approx(0.01)  # nothing found: back to where it was
    stall(rule, scale, 2 * PATIENCE - 1)
    assert rule.count == 1
    stall(rule, scale, 1)
    assert rule.count == 2 and rule.patience == 2 * PATIENCE


def test_a_trial_that_finds_a_new_best_keeps_its_sigma_up_to_the_cap():
    rule, scale = Restart(), SigmaScale(cap=3.0)
    scale.log_scale = math.log(2.0)
    rule.update(1.0, scale)
    stall(rule, scale, PATIENCE)
    assert GAIN * 2.0 > 3.0 and scale.value == pytest.approx(3.0)  # held at the cap
    rule.update(0.5, scale)  # a new best during the trial
    stall(rule, scale, TRIAL + 1)
    assert scale.value == pytest.approx(3.0) and rule.patience == PATIENCE


def test_only_the_plane_up_to_d_300_restarts():
    assert zg.make_optimizer("zerograds", np.zeros(100), seed=0).restart is not None
    for d in (20, 301):  # the MLP; above the success rule
        assert zg.make_optimizer("zerograds", np.zeros(d), seed=0).restart is None
    assert zg.make_optimizer("zerograds", np.zeros(100), seed=0, adapt=False).restart is None


def ramp(X: np.ndarray) -> np.ndarray:
    """``X (n, d)`` -> ``(n,)``: a bowl at 0, and a better region beyond ``x_1 = 0.2`` (two
    default sigmas along one coordinate), down to -0.79 at ``x_1 = 1``."""
    return np.mean(X * X, axis=1) - np.maximum(0.0, X[:, 0] - 0.2)


def ramp_runs(seeds: range) -> list[float]:
    lo = np.full(100, -1.0)
    return [
        zg.minimize(ramp, np.zeros(100), "zerograds", 1500, seed=s, bounds=(lo, -lo)).loss
        for s in seeds
    ]


def test_a_stalled_run_finds_the_better_region_a_collapsed_sigma_cannot_see(monkeypatch):
    """From the bowl's bottom the success rule shrinks sigma (every sample loses to theta), so
    the region past x_1 = 0.2 goes unseen; trials at the sigma given find it. Seeds 0-9 (1500
    episodes): below the bowl on 8 with the restart, on 3 without."""
    seeds = range(10)
    found = sum(loss < -1e-3 for loss in ramp_runs(seeds))
    monkeypatch.setattr(restart, "PATIENCE", 10**9)
    found_without = sum(loss < -1e-3 for loss in ramp_runs(seeds))
    assert found >= 7 and found_without <= 4


def test_resume_during_a_trial_is_identical():
    x0 = np.zeros(100)
    opt = zg.make_optimizer("zerograds", x0, seed=3)
    iterate(opt, sphere, PATIENCE + 2)  # x0 is the minimum: the best stalls at once
    assert opt.restart.trial_left > 0
    twin = zg.make_optimizer("zerograds", x0, seed=3)
    twin.load_state_dict(opt.state_dict())
    runs = [[], []]
    recs = [iterate(o, sphere, 8, runs[i]) for i, o in enumerate((opt, twin))]
    assert same_run((recs[0], runs[0]), (recs[1], runs[1]))
