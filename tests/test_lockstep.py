"""zg.minimize_many: seeds in lockstep, each result minimize's bit for bit, one fn call per
iteration."""

from __future__ import annotations

import numpy as np
import pytest

import zg_control as zg
from zg_control.functions import get_function

SEEDS = [0, 3, 1]


class CountingFn:
    """A batched loss that counts its calls and rows."""

    def __init__(self, fn):
        self.fn, self.calls, self.rows = fn, 0, 0

    def __call__(self, X):
        self.calls += 1
        self.rows += len(X)
        return self.fn(X)


def same(a: zg.Result, b: zg.Result) -> bool:
    ha = [{k: v for k, v in h.items() if k not in ("time", "evals_per_s")} for h in a.history]
    hb = [{k: v for k, v in h.items() if k not in ("time", "evals_per_s")} for h in b.history]
    return (
        np.array_equal(a.x, b.x)
        and a.loss == b.loss
        and a.n_evals == b.n_evals
        and a.n_finite == b.n_finite
        and np.array_equal(a.optimizer.recommendation, b.optimizer.recommendation)
        and str(ha) == str(hb)
    )


@pytest.mark.parametrize("method", sorted(zg.OPTIMIZERS))
def test_each_seed_is_minimize_bit_for_bit(method):
    fn, x0 = get_function("rosenbrock", 6)
    counted = CountingFn(fn)
    many = zg.minimize_many(counted, x0, method, 300, SEEDS, bounds=(-3, 3))
    for s, res in zip(SEEDS, many, strict=True):
        assert same(res, zg.minimize(fn, x0, method, 300, s, bounds=(-3, 3)))
    iters = len(many[0].history)
    assert counted.calls == iters + 1  # one call per iteration, one for the recommendations
    assert counted.rows == sum(r.n_evals for r in many)


@pytest.mark.parametrize("surrogate", ["mlp", "ridge"])
def test_zerograds_surrogates_and_per_run_starts(surrogate):
    fn, x0 = get_function("staircase", 80)
    starts = np.stack([x0, x0 + 0.5, x0 - 0.25])
    kw = {"surrogate": surrogate, "inner_sigma": 0.0, "nonfinite": "drop"}
    many = zg.minimize_many(fn, starts, "zerograds", 400, SEEDS, **kw)
    for s, x, res in zip(SEEDS, starts, many, strict=True):
        assert same(res, zg.minimize(fn, x, "zerograds", 400, s, **kw))
    assert many[0].loss < fn(x0[None])[0]


def test_env_objective_rows_stack_bit_for_bit():
    """Episodes of several runs in one native rollout call score as they do alone."""
    obj = zg.make_objective("zg_control/Throw-v0", parameterization="spline", n_knots=4)
    try:
        many = zg.minimize_many(obj, obj.x0, "zerograds", 70, [0, 1], bounds=obj.bounds)
        for s, res in zip([0, 1], many, strict=True):
            assert same(res, zg.minimize(obj, obj.x0, "zerograds", 70, s, bounds=obj.bounds))
    finally:
        obj.close()


def test_callback_stops_one_run_and_the_others_go_on():
    fn, x0 = get_function("sphere", 5)

    def stop_run_1(r, opt, record):
        return r == 1 and record["iteration"] >= 3

    many = zg.minimize_many(fn, x0, "cmaes", 400, [0, 1, 2], callback=stop_run_1)
    assert many[1].stopped_early and len(many[1].history) == 3
    assert not many[0].stopped_early and len(many[0].history) > 3
    assert same(many[2], zg.minimize(fn, x0, "cmaes", 400, 2))


def test_nonfinite_everywhere_warns_per_run():
    def nan_fn(X):
        return np.full(len(X), np.nan)

    with pytest.warns(zg.loop.NoFiniteLossWarning):
        many = zg.minimize_many(nan_fn, np.zeros(3), "random", 50, [0, 1])
    assert [r.n_finite for r in many] == [0, 0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seeds": []}, "seeds must be a non-empty"),
        ({"seeds": 3}, "seeds must be a non-empty"),
        ({"seeds": [0, -1]}, "seed must be an integer >= 0"),
        ({"seeds": [0, 1], "x0": np.zeros((3, 4))}, "one row per seed"),
        ({"budget": 0}, "budget must be an integer"),
        ({"budget": 5}, "smaller than one batch"),
    ],
)
def test_bad_input_is_one_clear_error(kwargs, match):
    fn, x0 = get_function("sphere", 4)
    args = {"x0": x0, "budget": 100, "seeds": [0, 1], **kwargs}
    with pytest.raises(ValueError, match=match):
        zg.minimize_many(fn, args.pop("x0"), "zerograds", **args)
