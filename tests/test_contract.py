"""The public contract, for every registered method (parametrized over the registry)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import zg_control as zg
from zg_control.functions import sphere
from zg_control.loop import NoFiniteLossWarning
from zg_control.problem import Problem

METHODS = sorted(zg.OPTIMIZERS)


def test_registry_names_and_dataclasses():
    assert set(METHODS) == {"zerograds", "prdpt", "spsa", "sa", "ga", "cmaes", "random"}
    for cls, cfg in zg.OPTIMIZERS.values():
        assert issubclass(cls, zg.Optimizer) and issubclass(cfg, zg.OptimizerConfig)
        assert cls.config_cls is cfg


@pytest.mark.parametrize("name", METHODS)
def test_ask_tell_shapes(name):
    opt = zg.make_optimizer(name, np.ones(6), seed=0)
    X = opt.ask()
    assert isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 6
    opt.tell(X, sphere(X))
    assert opt.recommendation.shape == (6,)
    assert opt.n_evals == X.shape[0]


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("budget", [37, 250])
def test_budget_counts_every_row(name, budget):
    calls = []

    def fn(X):
        calls.append(X.shape[0])
        return sphere(X)

    res = zg.minimize(fn, np.ones(5), method=name, budget=budget, seed=0)
    assert sum(calls) == res.n_evals <= budget
    assert res.loss == pytest.approx(sphere(res.x[None])[0])
    assert res.x.shape == (5,)


@pytest.mark.parametrize("name", METHODS)
def test_minimize_improves_and_handles_nan(name):
    def fn(X):
        y = sphere(X)
        y[0] = np.nan
        return y

    x0 = np.full(4, 1.0)
    res = zg.minimize(fn, x0, method=name, budget=600, seed=1)
    assert np.isfinite(res.loss) and res.loss < sphere(x0[None])[0]
    assert len(res.history) >= 1 and {"n_evals", "best_loss", "time"} <= set(res.history[0])


def test_callback_can_stop():
    seen = []

    def callback(opt, record):
        seen.append(record)
        return len(seen) >= 3

    res = zg.minimize(sphere, np.ones(3), budget=10_000, callback=callback)
    assert res.stopped_early and len(res.history) == 3


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: zg.make_optimizer("newton", np.zeros(2)), "unknown method"),
        (lambda: zg.make_optimizer("zerograds", np.zeros(2), sigmaa=1.0), "unknown option"),
        (lambda: zg.make_optimizer("zerograds", np.zeros(2), sigma=-1.0), "sigma"),
        (lambda: zg.make_optimizer("random", np.zeros((2, 2))), "1-D"),
        (lambda: zg.make_optimizer("random", [1.0, np.nan]), "finite"),
        (lambda: zg.make_optimizer("random", "abc"), "x0"),
        (lambda: zg.make_optimizer("random", np.zeros(2), bounds=(1.0, 0.0)), "bounds"),
        (lambda: zg.minimize(sphere, np.zeros(2), budget=0), "budget"),
        (lambda: zg.minimize(sphere, np.zeros(2), budget=2.5), "budget"),
        (lambda: zg.minimize(lambda X: X, np.zeros(2), budget=50), "shape"),
        (lambda: zg.minimize(sphere, np.zeros(2), seed=None), "seed must be an integer >= 0"),
        (lambda: zg.make_optimizer("sa", np.zeros(2), seed=-1), "seed must be an integer >= 0"),
        (lambda: zg.make_optimizer("ga", np.zeros(2), seed=1.5), "seed must be an integer >= 0"),
        (lambda: zg.make_optimizer("ga", np.zeros(2), batch_size=8.0), "batch_size=8.0 for"),
        (lambda: zg.make_optimizer("cmaes", np.zeros(2), diagonal="no"), "expected bool or None"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("name", METHODS)
def test_tell_rejects_wrong_shapes(name):
    opt = zg.make_optimizer(name, np.zeros(3), seed=0)
    X = opt.ask()
    with pytest.raises(ValueError, match="X must have shape"):
        opt.tell(X[:, :2], np.zeros(X.shape[0]))
    with pytest.raises(ValueError, match="losses must have shape"):
        opt.tell(X, np.zeros(X.shape[0] + 1))
    assert opt.n_evals == 0


def test_a_function_is_a_problem():
    closed = []
    p = Problem(sphere, np.ones(3), bounds=(-2.0, 2.0), close=lambda: closed.append(True))
    X = np.random.default_rng(0).standard_normal((4, 3))
    assert p.dim == 3 and p.controls(p.x0) is None
    np.testing.assert_array_equal(p(X), sphere(X))
    np.testing.assert_array_equal(p.fn(X), sphere(X))
    res = zg.minimize(p, p.x0, "cmaes", budget=120, bounds=p.bounds)
    ref = zg.minimize(sphere, np.ones(3), "cmaes", budget=120, bounds=(-2.0, 2.0))
    assert res.loss == ref.loss and np.array_equal(res.x, ref.x)
    with p:
        assert not closed
    assert closed == [True]
    with pytest.raises(ValueError, match="1-D"):
        Problem(sphere, np.ones((2, 2)))


@pytest.mark.parametrize("name", METHODS)
def test_an_option_of_the_wrong_type_is_named(name):
    field = next(f for f in dataclasses.fields(zg.OPTIMIZERS[name][1]) if "float" in str(f.type))
    with pytest.raises(
        ValueError, match=f"option {field.name}='big' for method '{name}': expected"
    ):
        zg.make_optimizer(name, np.zeros(3), **{field.name: "big"})


@pytest.mark.parametrize("name", METHODS)
def test_a_budget_below_one_batch_is_refused_with_the_minimum(name):
    n = zg.make_optimizer(name, np.ones(4), seed=0).batch_size
    with pytest.raises(ValueError, match=f"budget {n - 1} is smaller than one batch of {name} "):
        zg.minimize(sphere, np.ones(4), method=name, budget=n - 1)
    res = zg.minimize(sphere, np.ones(4), method=name, budget=n)  # the minimum: one batch
    assert res.n_evals == n and len(res.history) == 1


@pytest.mark.parametrize("name", METHODS)
def test_tell_takes_exactly_the_rows_of_the_latest_ask_in_any_order(name):
    a, b = (zg.make_optimizer(name, np.full(3, 0.7), seed=2) for _ in range(2))
    perm = np.random.default_rng(0).permutation
    for _ in range(4):
        Xa, Xb = a.ask(), b.ask()
        for bad in (Xa[:-1], Xa + 1e-9, np.vstack([Xa[:-1], Xa[:1]])):  # short, new, a twin
            with pytest.raises(ValueError, match="exactly the rows of the latest ask"):
                a.tell(bad, sphere(bad))
        p = perm(len(Xa))
        a.tell(Xa[p], sphere(Xa[p]))  # shuffled rows: the same as in the order asked
        b.tell(Xb, sphere(Xb))
        np.testing.assert_array_equal(a.recommendation, b.recommendation)
        assert a.n_evals == b.n_evals and a.best_loss == b.best_loss
    with pytest.raises(ValueError, match="no ask\\(\\) pending"):
        a.tell(Xa, sphere(Xa))  # each ask is told once
    assert a.n_evals == b.n_evals


def test_a_loss_that_is_never_finite_is_said_and_counted():
    with pytest.warns(NoFiniteLossWarning, match="no finite loss in 97 evaluations.*usually"):
        res = zg.minimize(lambda X: np.full(len(X), np.nan), np.ones(3), "sa", budget=100)
    assert res.n_finite == 0 and res.loss == np.inf and np.array_equal(res.x, np.ones(3))
    assert [h["n_finite"] for h in res.history] == [0] * len(res.history)

    def half(X):
        y = sphere(X)
        y[::2] = np.inf  # the final measurement, one row, too
        return y

    with warnings.catch_warnings():
        warnings.simplefilter("error", NoFiniteLossWarning)
        res = zg.minimize(half, np.ones(3), "sa", budget=100)
    assert res.n_finite == 48 and [h["n_finite"] for h in res.history] == [8] * 6


@pytest.mark.parametrize("name", METHODS)
@pytest.mark.parametrize("d", [8, 100])
def test_every_row_and_the_result_lie_inside_the_bounds(name, d):
    # a slope towards the box's lower corner, started near it: samples spill over the edge
    # unless the method keeps them in (ZeroGrads used to evaluate them as drawn)
    lo, hi = np.full(d, -1.0), np.linspace(0.5, 2.0, d)
    outside = []

    def fn(X):
        outside.append(float(np.maximum(lo - X, X - hi).max()))
        return X.sum(axis=1)

    x0 = np.full(d, -0.9)
    res = zg.minimize(fn, x0, method=name, budget=800, seed=0, bounds=(lo, hi))
    assert max(outside) <= 0.0
    for x in (res.x, res.optimizer.recommendation):
        assert np.all(x >= lo) and np.all(x <= hi)
    assert res.loss == pytest.approx(res.x.sum())
