"""ZeroGrads on plateaus: flat batches grow sigma and lr (zerograds/step.py), so the method leaves
a region where every nearby sample scores the same; without flat batches sigma keeps its value."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import iterate, same_run

import zg_control as zg
from zg_control.functions import get_function, sphere
from zg_control.optimizers.zerograds.step import FLAT_GAIN, SigmaScale, is_flat


def plateau_bowl(X: np.ndarray) -> np.ndarray:
    """Flat (loss 1) within radius 2 of the origin, a bowl around (3, ..., 3) further out.
    ``X (n, d) -> (n,)``; the minimum 0 is at ``x = 3``."""
    r = np.linalg.norm(X, axis=1)
    bowl = np.minimum(1.0, np.sum((X - 3.0) ** 2, axis=1) / (9.0 * X.shape[1]))
    return np.where(r < 2.0, 1.0, bowl)


def test_is_flat():
    assert is_flat(np.array([1.0, 1.0, np.nan, 1.0]))
    assert is_flat(np.array([np.inf, np.nan]))
    assert not is_flat(np.array([1.0, 1.0 + 1e-12]))


def test_scale_grows_only_on_flat_batches_and_stops_at_the_cap():
    p = SigmaScale(cap=4.0)
    assert p.update(np.zeros(8)) and p.value == pytest.approx(np.exp(FLAT_GAIN))
    assert not p.update(np.arange(8.0)) and p.value == pytest.approx(np.exp(FLAT_GAIN))
    for _ in range(10):
        p.update(np.ones(8))
    assert p.value == pytest.approx(4.0)


@pytest.mark.parametrize(("dim", "reached"), [(5, 0.5), (200, 0.8)])  # MLP; ridge surrogate
def test_leaves_a_plateau_that_fixed_sigma_never_leaves(dim, reached):
    x0 = np.zeros(dim)
    fixed = zg.minimize(plateau_bowl, x0, "zerograds", budget=1600, seed=0, adapt=False)
    adaptive = zg.minimize(plateau_bowl, x0, "zerograds", budget=1600, seed=0)
    assert fixed.loss == 1.0  # sigma 0.1 never sees past the plateau's edge
    assert adaptive.loss < reached  # down the bowl beyond the plateau
    assert adaptive.history[0]["flat"] == 1.0 and max(h["scale"] for h in adaptive.history) > 1


def test_bounds_cap_sigma_at_half_the_box():
    x0 = np.zeros(5)
    res = zg.minimize(lambda X: np.ones(len(X)), x0, "zerograds", 800, 0, bounds=(-1.0, 1.0))
    assert max(h["sigma"] for h in res.history) == pytest.approx(1.0)


def test_without_adapt_sigma_keeps_its_value_and_no_centre_row_is_asked():
    res = zg.minimize(sphere, np.full(8, 1.5), "zerograds", budget=400, seed=3, adapt=False)
    assert all(h["scale"] == 1.0 and h["sigma"] == 0.1 for h in res.history)
    assert res.optimizer.ask().shape == (16, 8)


def test_resume_with_a_grown_scale_is_identical():
    x0 = np.zeros(6)
    opt = zg.make_optimizer("zerograds", x0, seed=1)
    iterate(opt, plateau_bowl, 6)
    assert opt.scale > 1.0
    state = opt.state_dict()
    twin = zg.make_optimizer("zerograds", x0, seed=1)
    twin.load_state_dict(state)
    runs = [[], []]
    recs = [iterate(o, plateau_bowl, 8, runs[i]) for i, o in enumerate((opt, twin))]
    assert same_run((recs[0], runs[0]), (recs[1], runs[1]))


@pytest.mark.parametrize("dim", [100, 1000])
def test_the_plateau_function_is_left_by_default_and_not_with_fixed_sigma(dim):
    """``zg_control.functions.plateau``: flat (1) near x0 = 0 for sigma 0.1; the default grows
    sigma until the bowl shows, fixed sigma stays at 1, and so does random search. The bowl just
    off the plateau's rim reads 0.08 (towards the minimum) to 0.2 (a random direction), so a
    loss below 0.15 has left it and moved towards the minimum."""
    fn, x0 = get_function("plateau", dim)
    rng = np.random.default_rng(0)
    assert np.all(fn(x0 + 0.1 * rng.standard_normal((32, dim))) == 1.0)
    kw = {"bounds": (-2.0, 2.0)}
    assert zg.minimize(fn, x0, "zerograds", 2000, 0, **kw).loss < 0.15
    assert zg.minimize(fn, x0, "zerograds", 2000, 0, adapt=False, **kw).loss == 1.0
    assert zg.minimize(fn, x0, "random", 2000, 0, **kw).loss == 1.0
