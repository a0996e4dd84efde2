"""ZeroGrads' tentative sigma restart (zerograds/restart.py): with the ridge plane (d > 64),
after PATIENCE batches without a new best sample sigma is tried wider for TRIAL batches; it stays
wider if they find a new best, else it returns, the patience doubles, the next trial goes GAIN
times wider and, above d = 300, lr gives back half of what the step length added to it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import iterate, same_run

import zg_control as zg
import zg_control.optimizers.zerograds.restart as restart
from zg_control.functions import sphere, staircase
from zg_control.optimizers.zerograds.restart import GAIN, PATIENCE, TRIAL, Restart
from zg_control.optimizers.zerograds.step import Anneal, SigmaScale, StepLength


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


def test_failed_trials_widen_geometrically_until_one_is_kept():
    rule, scale = Restart(least=10.0), SigmaScale(cap=100.0)  # sigma given x0.1 in a box
    rule.update(1.0, scale)
    widths = []
    for k in range(3):
        stall(rule, scale, PATIENCE * 2**k)
        widths.append(scale.value)
        stall(rule, scale, TRIAL)
        assert scale.value == pytest.approx(1.0)  # each failed: back to the sigma given
    assert widths == pytest.approx([10.0, 40.0, 100.0])  # the box's, 4x it, the cap
    stall(rule, scale, PATIENCE * 8)
    rule.update(0.5, scale)  # this trial (at the cap) is kept
    scale.log_scale = math.log(2.0)  # the success rule shrinks it afterwards
    stall(rule, scale, rule.patience)
    assert scale.value == pytest.approx(10.0)  # from the current factor again: max(4 x 2, 10)
    assert rule.state_dict()["log_failed"] == pytest.approx(math.log(10.0))


def test_without_a_box_or_up_to_d_300_every_trial_is_4x_the_current_sigma():
    assert not zg.make_optimizer("zerograds", np.zeros(400), seed=0).restart.widen
    assert not zg.make_optimizer("zerograds", np.zeros(300), seed=0, bounds=(-1, 1)).restart.widen
    assert zg.make_optimizer("zerograds", np.zeros(400), seed=0, bounds=(-1, 1)).restart.widen
    rule, scale = Restart(widen=False), SigmaScale()
    rule.update(1.0, scale)
    for k in range(2):
        stall(rule, scale, PATIENCE * 2**k)
        assert scale.value == pytest.approx(GAIN)
        stall(rule, scale, TRIAL)


@pytest.mark.parametrize("start, after", [(8.0, 4.0), (1.5, 1.0), (0.5, 0.5)])
def test_a_failed_trial_takes_back_half_of_lrs_growth_not_below_its_base(start, after):
    step = StepLength()
    rule, scale = Restart(step=step), SigmaScale(cap=100.0)
    step.log_factor = math.log(start)
    rule.update(1.0, scale)
    stall(rule, scale, PATIENCE + TRIAL - 1)
    assert step.value == pytest.approx(start)  # the trial is still under way
    stall(rule, scale, 1)
    assert step.value == pytest.approx(after) and rule.patience == 2 * PATIENCE


def test_a_trial_that_finds_a_new_best_keeps_lrs_growth():
    step = StepLength()
    rule, scale = Restart(step=step), SigmaScale(cap=100.0)
    step.log_factor = math.log(8.0)
    rule.update(1.0, scale)
    stall(rule, scale, PATIENCE)
    rule.update(0.5, scale)  # a new best during the trial
    stall(rule, scale, TRIAL + 1)
    assert step.value == pytest.approx(8.0)


def staircase_runs(d: int, seeds: range) -> list[float]:
    lo = np.full(d, -2.0)
    return [
        zg.minimize(staircase, np.zeros(d), "zerograds", 3000, seed=s, bounds=(lo, -lo)).loss
        for s in seeds
    ]


def test_above_d_300_failed_trials_end_the_travel_on_the_staircase(monkeypatch):
    """d = 400: the step length grows lr while theta travels from 0 to the target 1 and nothing
    brings it back, so theta's coordinates random-walk around the target at that lr. Taking
    back half the growth at each failed trial ends lower on every seed of 0-4 (0.15-0.27
    against 0.19-0.37, medians 0.17 and 0.27)."""
    with_take_back = staircase_runs(400, range(5))
    monkeypatch.setattr(StepLength, "take_back", lambda self: None)
    without = staircase_runs(400, range(5))
    assert all(a < b for a, b in zip(with_take_back, without, strict=True))
    assert np.median(with_take_back) < 0.8 * np.median(without)


@pytest.mark.parametrize("before, after", [(0.5, 8.0), (0.1, 4.0)])
def test_no_take_back_while_a_sigma_given_above_the_box_anneals(before, after):
    """A sigma given 10x the box's anneals to a factor of 0.1 (settled): a trial that fails
    while the factor is still above it (sigma too wide, not the travel ended) leaves lr."""
    step = StepLength()
    rule, scale = Restart(anneal=Anneal(0.1), step=step), SigmaScale(cap=100.0)
    scale.log_scale, step.log_factor = math.log(before), math.log(8.0)
    rule.update(1.0, scale)
    stall(rule, scale, PATIENCE + TRIAL)
    assert scale.value == pytest.approx(before) and step.value == pytest.approx(after)


def test_a_trial_that_finds_a_new_best_keeps_its_sigma_up_to_the_cap():
    rule, scale = Restart(), SigmaScale(cap=3.0)
    scale.log_scale = math.log(2.0)
    rule.update(1.0, scale)
    stall(rule, scale, PATIENCE)
    assert GAIN * 2.0 > 3.0 and scale.value == pytest.approx(3.0)  # held at the cap
    rule.update(0.5, scale)  # a new best during the trial
    stall(rule, scale, TRIAL + 1)
    assert scale.value == pytest.approx(3.0) and rule.patience == PATIENCE


@pytest.mark.parametrize("d", [100, 400])
def test_with_bounds_a_trial_reaches_the_box_sigma_whatever_sigma_is_given(d):
    """Sigma given at a tenth of the box's own (0.1 for [-1, 1]): a trial at 4x or at the sigma
    given would stay at 0.04; with the box it is tried at the box's sigma. Without bounds, or
    at a sigma given at the box's scale, trials start from the sigma given, as before."""

    def trial_sigma(**kw):
        opt = zg.make_optimizer("zerograds", np.zeros(d), seed=0, **kw)
        while opt.restart.count == 0:  # x0 is the minimum: the best stalls at once
            X = opt.ask()
            opt.tell(X, sphere(X))
        return opt.current_sigma()

    assert trial_sigma(sigma=0.01, bounds=(-1.0, 1.0)) == pytest.approx(0.1)
    assert trial_sigma(sigma=0.01) <= 0.04 + 1e-12
    assert trial_sigma(sigma=0.1, bounds=(-1.0, 1.0)) == pytest.approx(trial_sigma(sigma=0.1))


def test_only_the_plane_restarts_and_only_a_sigma_it_controls():
    for d in (100, 301):
        assert zg.make_optimizer("zerograds", np.zeros(d), seed=0).restart is not None
    assert zg.make_optimizer("zerograds", np.zeros(20), seed=0).restart is None  # the MLP
    assert zg.make_optimizer("zerograds", np.zeros(100), seed=0, adapt=False).restart is None
    schedule = lambda n: 0.1  # noqa: E731
    assert zg.make_optimizer("zerograds", np.zeros(100), seed=0, sigma=schedule).restart is None


def ramp(X: np.ndarray, start: float) -> np.ndarray:
    """``X (n, d)`` -> ``(n,)``: a bowl at 0, and a better region beyond ``x_1 = start``, down
    to about ``start - 1`` at ``x_1 = 1``; a point outside the box [-1, 1] scores as its
    projection (as MuJoCo clips a control to its range)."""
    X = np.clip(X, -1.0, 1.0)
    return np.mean(X * X, axis=1) - np.maximum(0.0, X[:, 0] - start)


def ramp_runs(d: int, start: float, seeds: range) -> list[float]:
    lo = np.full(d, -1.0)
    fn = lambda X: ramp(X, start)  # noqa: E731
    return [
        zg.minimize(fn, np.zeros(d), "zerograds", 1500, seed=s, bounds=(lo, -lo)).loss
        for s in seeds
    ]


def test_a_stalled_run_finds_the_better_region_its_sigma_cannot_see(monkeypatch):
    """d = 100: from the bowl's bottom the success rule shrinks sigma (every sample loses to
    theta), so the region past x_1 = 0.2 (two default sigmas) goes unseen; trials at the sigma
    given find it. Seeds 0-9, 1500 episodes: below the bowl on 8 with the restart, 3 without."""
    found = sum(loss < -1e-3 for loss in ramp_runs(100, 0.2, range(10)))
    monkeypatch.setattr(restart, "PATIENCE", 10**9)
    found_without = sum(loss < -1e-3 for loss in ramp_runs(100, 0.2, range(10)))
    assert found >= 7 and found_without <= 4


def test_above_d_300_a_trial_finds_what_the_sigma_given_is_too_small_for(monkeypatch):
    """d = 400, the region past x_1 = 0.3 (three default sigmas; nothing shrinks sigma here):
    with the restart every seed of 0-4 ends near -0.55, theta following the trial's find to
    x_1 = 1; without it the best stays above -0.1."""
    with_restart = ramp_runs(400, 0.3, range(5))
    monkeypatch.setattr(restart, "PATIENCE", 10**9)
    without = ramp_runs(400, 0.3, range(5))
    assert max(with_restart) < -0.5 and min(without) > -0.1


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


@pytest.mark.parametrize("d", [400, 1000])
def test_widening_trials_find_what_the_boxs_sigma_cannot_see(d, monkeypatch):
    """Sigma given 0.01 in [-1, 1], the better region past x_1 = 0.5 (five box sigmas): trials at
    the box's sigma alone never reach it (every seed of 0-4 stays at the bowl's 0); widening
    after each failed trial (0.1, 0.4, 1) finds it on every seed (-0.35 to -0.36)."""
    lo = np.full(d, -1.0)
    fn = lambda X: ramp(X, 0.5)  # noqa: E731

    def run(seed: int) -> zg.Result:
        return zg.minimize(
            fn, np.zeros(d), "zerograds", 1500, seed=seed, bounds=(lo, -lo), sigma=0.01
        )

    widening = [run(s).loss for s in range(5)]
    update = Restart.update

    def box_only(self, *args):
        self.log_failed = -math.inf  # every trial as if the first
        return update(self, *args)

    monkeypatch.setattr(Restart, "update", box_only)
    box_sigma_only = [run(s).loss for s in range(5)]
    assert max(widening) < -0.1 and min(box_sigma_only) > -1e-9
