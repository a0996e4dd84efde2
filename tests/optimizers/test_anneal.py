"""Above d = 300, a sigma given above the box's scale anneals to it while the best sample stalls
(zerograds/step.py, :class:`Anneal`); every default is left alone."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import iterate, same_run

import zg_control as zg
from zg_control.optimizers.zerograds.step import ANNEAL_PATIENCE, Anneal, SigmaScale

D = 400  # above the success rule's dimension
BOX = (-np.ones(D), np.ones(D))
C = np.linspace(-0.3, 0.3, D)


def lopsided(X: np.ndarray) -> np.ndarray:
    """``mean(g(x - c))`` with ``g(u) = u`` above 0, ``-3u`` below: minimum 0 at ``c``, but the
    minimum of its smoothing at sigma ``s`` lies ``0.67 s`` above ``c`` per coordinate, so a
    sigma held at 1 ends near 0.67 (loss 0.30 at ``x0 = 0``). Shape ``(n, D) -> (n,)``."""
    U = X - C
    return np.mean(np.where(U > 0, U, -3.0 * U), axis=1)


def test_the_factor_halves_after_stalled_batches_down_to_the_floor():
    scale, anneal = SigmaScale(), Anneal(0.1)
    ok = np.ones(4, bool)
    anneal.update(np.array([3.0, 2.0, 4.0, 5.0]), ok, False, scale)  # a new best: no count
    for _ in range(ANNEAL_PATIENCE - 1):
        anneal.update(np.array([3.0, 2.5, 4.0, 5.0]), ok, False, scale)
    anneal.update(np.full(4, 7.0), ok, True, scale)  # flat: not counted
    assert scale.value == 1.0 and anneal.stalled == ANNEAL_PATIENCE - 1
    anneal.update(np.array([3.0, 2.5, 4.0, 5.0]), ok, False, scale)
    assert scale.value == pytest.approx(0.5) and anneal.stalled == 0
    anneal.update(np.array([1.0, 9.0, np.nan, 5.0]), ok & [True, True, False, True], False, scale)
    assert anneal.best == 1.0 and anneal.stalled == 0
    for _ in range(20 * ANNEAL_PATIENCE):
        anneal.update(np.full(4, 2.0) + np.arange(4), ok, False, scale)
    assert scale.value == pytest.approx(0.1)  # never below the box's sigma


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sigma_given_ten_times_too_large_comes_down_to_the_box(seed):
    """sigma 1 in [-1, 1] at d = 400: the same sigma held (a schedule is followed as given)
    ends worse than x0; annealed, ZeroGrads ends within reach of its default (0.16-0.18)."""
    run = lambda sigma: zg.minimize(  # noqa: E731
        lopsided, np.zeros(D), "zerograds", budget=2000, seed=seed, bounds=BOX, sigma=sigma
    )
    held, annealed = run(lambda n: 1.0), run(1.0)
    assert held.loss > 0.6
    assert annealed.loss < 0.25
    assert annealed.history[-1]["sigma"] == pytest.approx(0.1)  # 1/20 of the box's width


@pytest.mark.parametrize(
    ("dim", "sigma", "bounds"),
    [(D, 0.1, BOX), (D, 0.2, (-2.0, 2.0)), (D, 1.0, None), (40, 1.0, (-1.0, 1.0))],
)
def test_it_is_off_where_sigma_is_within_the_box_or_the_success_rule_applies(dim, sigma, bounds):
    opt = zg.make_optimizer("zerograds", np.zeros(dim), sigma=sigma, bounds=bounds)
    assert opt.anneal is None


def test_resume_with_a_moved_anneal_is_identical():
    opt = zg.make_optimizer("zerograds", np.zeros(D), seed=3, bounds=BOX, sigma=1.0)
    iterate(opt, lopsided, 40)
    assert opt.scale < 1.0 and opt.anneal.best < np.inf
    twin = zg.make_optimizer("zerograds", np.zeros(D), seed=3, bounds=BOX, sigma=1.0)
    twin.load_state_dict(opt.state_dict())
    runs = [[], []]
    recs = [iterate(o, lopsided, 10, runs[i]) for i, o in enumerate((opt, twin))]
    assert same_run((recs[0], runs[0]), (recs[1], runs[1]))
    assert twin.anneal.stalled == opt.anneal.stalled and twin.scale == opt.scale
