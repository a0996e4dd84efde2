"""ZeroGrads on problems with a known answer, plus determinism and exact resume."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from helpers import iterate

import zg_control as zg
from zg_control.functions import TOY_MINIMUM, TOY_START, akima_toy, rosenbrock, sphere, staircase


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_toy_crosses_the_local_dip(seed):
    # The paper's toy: from 1.1 the spline falls onto a nearly flat shelf around x = 3 (slope
    # ~0.01) before the minimum at 4; smoothing with an annealed sigma must carry theta across.
    res = zg.minimize(
        akima_toy, [TOY_START], "zerograds", budget=1000, seed=seed,
        sigma=1.0, sigma_final=0.02, sigma_schedule="exp", lr=0.1,
    )  # fmt: skip
    theta = res.optimizer.recommendation[0]
    assert abs(theta - TOY_MINIMUM) < 0.1


def test_staircase_has_no_autograd_gradient_yet_zerograds_descends():
    x = torch.zeros(100, requires_grad=True)
    torch.mean((torch.round(x / 0.1) * 0.1 - 1.0) ** 2).backward()
    assert torch.count_nonzero(x.grad) == 0  # the true gradient is useless

    x0 = np.zeros(100)
    start = staircase(x0[None])[0]
    res = zg.minimize(staircase, x0, "zerograds", budget=3000, seed=0, sigma=0.1, lr=0.02)
    final = staircase(res.optimizer.recommendation[None])[0]
    assert final <= 0.1 * start, (start, final)


def test_beats_random_search_on_rosenbrock():
    x0 = np.zeros(10)
    for seed in (0, 1):
        zg_res = zg.minimize(
            rosenbrock, x0, "zerograds", budget=6000, seed=seed,
            sigma=0.02, lr=0.003, k_phi=10,
        )  # fmt: skip
        rs_res = zg.minimize(rosenbrock, x0, "random", budget=6000, seed=seed, sigma=0.5)
        assert zg_res.loss < 0.3 * rs_res.loss, (zg_res.loss, rs_res.loss)
        assert zg_res.loss < rosenbrock(x0[None])[0] * 0.7  # real progress from the start


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"depth": 0},
        {"n_features": 16},
        {"log_targets": True},
        {"antithetic": False, "inner_sigma": 0.0},
        {"optimizer": "sgd", "lr": 0.05},
        {"optimizer": "snr_adam", "lr": 0.1},
        {"locality": 0.0, "buffer_size": 16},
        {"shaping": "ranks"},
        {"shaping": "normal"},
        {"shaping": "clip"},
        {"momentum": 0.5},
        {"lr_final": 0.01, "lr_schedule": "cosine"},
        {"plateau_patience": 3},
    ],
)
def test_variants_descend_on_sphere(options):
    x0 = np.full(20, 2.0)
    opts = {"sigma": 0.2, "lr": 0.05, **options}
    res = zg.minimize(sphere, x0, "zerograds", budget=1600, seed=0, **opts)
    assert sphere(res.optimizer.recommendation[None])[0] < 0.25 * sphere(x0[None])[0]


def test_same_seed_same_result_bit_for_bit():
    a = zg.minimize(rosenbrock, np.zeros(8), "zerograds", budget=400, seed=3, inner_sigma=0.1)
    b = zg.minimize(rosenbrock, np.zeros(8), "zerograds", budget=400, seed=3, inner_sigma=0.1)
    c = zg.minimize(rosenbrock, np.zeros(8), "zerograds", budget=400, seed=4, inner_sigma=0.1)
    assert np.array_equal(a.x, b.x) and a.loss == b.loss
    assert [h["best_loss"] for h in a.history] == [h["best_loss"] for h in b.history]
    assert not np.array_equal(a.optimizer.recommendation, c.optimizer.recommendation)


@pytest.mark.parametrize("between_ask_and_tell", [False, True])
def test_state_dict_resume_is_identical(between_ask_and_tell):
    kwargs = dict(seed=7, bounds=(-2.0, 2.0), sigma=0.1, sigma_final=0.02,
                  sigma_schedule="cosine", schedule_evals=640, n_features=8, lr_final=0.005,
                  lr_schedule="linear", plateau_patience=1, shaping="clip")  # fmt: skip
    x0 = np.full(12, 0.5)
    ref = zg.make_optimizer("zerograds", x0, **kwargs)
    full = iterate(ref, rosenbrock, 20)

    first = zg.make_optimizer("zerograds", x0, **kwargs)
    iterate(first, rosenbrock, 10)
    X_pending = first.ask() if between_ask_and_tell else None
    state = copy.deepcopy(first.state_dict())
    # a checkpoint holds only numpy arrays, scalars, strings, lists and dicts
    _assert_plain(state)

    fresh = zg.make_optimizer("zerograds", x0, **kwargs)
    fresh.load_state_dict(state)
    if X_pending is not None:
        X = X_pending  # the batch asked before saving, told after loading
        fresh.tell(X, rosenbrock(X))
        rest = np.vstack([fresh.recommendation[None], iterate(fresh, rosenbrock, 9)])
    else:
        rest = iterate(fresh, rosenbrock, 10)
    assert np.array_equal(rest, full[10:])
    assert fresh.n_evals == ref.n_evals and fresh.best_loss == ref.best_loss


def test_checkpoint_from_before_the_path_rule_resumes():
    """Older checkpoints name the plateau cuts "lr_scale" and have no "path_rule" entry."""
    kwargs = dict(seed=3, sigma=0.2, lr=0.05, plateau_patience=1)

    def rugged(X):  # deterministic, but no trend at sigma's scale: the plateau rule cuts
        return np.sin(40.0 * X).sum(axis=1)

    first = zg.make_optimizer("zerograds", np.full(6, 1.5), **kwargs)
    iterate(first, rugged, 12)
    assert first.lr_scale < 1.0  # a cut happened, so the renamed value matters
    state = copy.deepcopy(first.state_dict())
    state["algo"]["lr_scale"] = state["algo"].pop("plateau_scale")
    del state["algo"]["path_rule"]
    old = zg.make_optimizer("zerograds", np.full(6, 1.5), **kwargs)
    old.load_state_dict(state)
    assert old.lr_scale == first.lr_scale
    assert np.array_equal(iterate(old, rugged, 5), iterate(first, rugged, 5))


def _assert_plain(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            _assert_plain(v)
    elif isinstance(obj, list):
        for v in obj:
            _assert_plain(v)
    else:
        assert obj is None or isinstance(obj, (np.ndarray, int, float, str, bool, np.generic))


def test_load_state_of_other_dimension_is_rejected():
    a = zg.make_optimizer("zerograds", np.zeros(3))
    b = zg.make_optimizer("zerograds", np.zeros(4))
    with pytest.raises(ValueError, match="d=3"):
        b.load_state_dict(a.state_dict())


def test_random_nan_losses_are_dropped_and_never_best():
    def flaky(X):
        y = sphere(X)
        y[::3] = np.nan  # a third of the episodes fail at random
        y[1:2] = np.inf
        return y

    x0 = np.full(10, 2.0)
    res = zg.minimize(flaky, x0, "zerograds", budget=1600, seed=0, sigma=0.2, lr=0.05,
                      nonfinite="drop")  # fmt: skip
    assert np.isfinite(res.loss) and np.isfinite(res.optimizer.best_loss)
    assert sphere(res.optimizer.recommendation[None])[0] < 0.25 * sphere(x0[None])[0]
    assert all(h["n_nonfinite"] > 0 for h in res.history)


def test_nan_region_counts_as_worst_and_is_avoided():
    def walled(X):  # the "simulation diverges" beyond x_0 = 2.2, right next to the start
        y = sphere(X)
        y[X[:, 0] > 2.2] = np.nan
        return y

    x0 = np.full(10, 2.0)
    res = zg.minimize(walled, x0, "zerograds", budget=1600, seed=0, sigma=0.2, lr=0.05)
    assert sum(h["n_nonfinite"] for h in res.history) > 0
    assert np.isfinite(res.loss)
    assert sphere(res.optimizer.recommendation[None])[0] < 0.25 * sphere(x0[None])[0]


def test_all_nan_first_batch_is_skipped():
    opt = zg.make_optimizer("zerograds", np.zeros(4), seed=0)
    X = opt.ask()
    opt.tell(X, np.full(X.shape[0], np.nan))
    assert opt.best_loss == float("inf") and np.array_equal(opt.recommendation, np.zeros(4))
    X = opt.ask()
    opt.tell(X, sphere(X))
    assert np.isfinite(opt.best_loss)


def test_bounds_project_theta():
    res = zg.minimize(lambda X: -X.sum(1), np.zeros(5), "zerograds", budget=800, seed=0,
                      bounds=(-1.0, 0.5), sigma=0.1, lr=0.1)  # fmt: skip
    theta = res.optimizer.recommendation
    assert np.all(theta <= 0.5) and np.allclose(theta, 0.5, atol=1e-6)


def test_device_auto_picks_cpu_without_cuda():
    opt = zg.make_optimizer("zerograds", np.zeros(3), device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert opt.device.type == expected
    with pytest.raises(ValueError, match="device"):
        zg.make_optimizer("zerograds", np.zeros(3), device="tpu:9")


def test_auto_surrogate_is_linear_ridge_above_the_buffer_size():
    from zg_control.optimizers.zerograds.mlp import Surrogate
    from zg_control.optimizers.zerograds.ridge import RidgeSurrogate

    opt = zg.make_optimizer("zerograds", np.zeros(64))
    assert isinstance(opt.surrogate, Surrogate) and opt.shaping == "none"
    opt = zg.make_optimizer("zerograds", np.zeros(65))
    assert isinstance(opt.surrogate, RidgeSurrogate) and opt.k_theta == 1
    assert opt.shaping == "ranks"  # per-batch intercepts: ranks compared within a batch only
    assert zg.make_optimizer("zerograds", np.zeros(65), batch_intercepts=False).shaping == "none"
    # the default step is tied to sigma: smaller where most coordinates' gradient is noise
    assert zg.make_optimizer("zerograds", np.zeros(64), sigma=0.3).lr == pytest.approx(0.06)
    assert zg.make_optimizer("zerograds", np.zeros(65), sigma=0.3).lr == pytest.approx(0.03)
    assert zg.make_optimizer("zerograds", np.zeros(65), lr=0.5).lr == 0.5
    opt = zg.make_optimizer("zerograds", np.zeros(65), surrogate="mlp")
    assert isinstance(opt.surrogate, Surrogate) and opt.k_theta == 3


@pytest.mark.parametrize("batch_intercepts", [True, False])
def test_ridge_surrogate_recovers_a_linear_gradient(batch_intercepts):
    # m = 64 samples in d = 32 pin down a plane: the slope must be the true gradient, even with
    # a different offset per batch (which only per-batch intercepts may ignore)
    from zg_control.optimizers.zerograds.ridge import RidgeSurrogate

    rng = np.random.default_rng(0)
    d, g = 32, rng.standard_normal(32)
    sur = RidgeSurrogate(d, buffer_size=64, ridge=1e-6, batch_intercepts=batch_intercepts)
    for k in range(4):
        X = 0.1 * rng.standard_normal((16, d))
        sur.add(X, X @ g + (5.0 * k if batch_intercepts else 0.0))
    err = sur.fit(np.zeros(d), 0.1)
    value, grad = sur.value_and_grad(np.zeros(d))
    assert err < 1e-6 and np.allclose(grad, g, atol=1e-3)
    X = rng.standard_normal((3, d))
    assert np.allclose(sur.predict(X) - sur.predict(np.zeros((1, d))), X @ g, atol=1e-2)


def test_high_dimensional_staircase_descends_and_ridge_state_resumes():
    x0 = np.zeros(2000)
    res = zg.minimize(staircase, x0, "zerograds", budget=2000, seed=0, lr=0.03)
    assert staircase(res.optimizer.recommendation[None])[0] < 0.8 * staircase(x0[None])[0]

    # with the path-length step rule on, whose state (path, scale) must resume too
    kwargs = dict(seed=5, bounds=(-2.0, 2.0), sigma=0.1, step_rule="path", path_gain=0.2)
    ref = zg.make_optimizer("zerograds", np.zeros(200), **kwargs)
    full = iterate(ref, staircase, 12)
    first = zg.make_optimizer("zerograds", np.zeros(200), **kwargs)
    iterate(first, staircase, 6)
    state = copy.deepcopy(first.state_dict())
    _assert_plain(state)
    fresh = zg.make_optimizer("zerograds", np.zeros(200), **kwargs)
    fresh.load_state_dict(state)
    assert fresh.path_rule.scale == first.path_rule.scale != 1.0
    assert np.array_equal(iterate(fresh, staircase, 6), full[6:])


@pytest.mark.parametrize("shaping", ["clip", "ranks", "normal"])
def test_shaping_keeps_the_gradient_when_one_sample_per_batch_is_an_outlier(shaping):
    # a linear loss where one sample of every batch "crashes" (loss 1e4): the raw fit follows
    # the crashes, a shaped fit still points along the true gradient
    d, g = 200, np.linspace(-1.0, 1.0, 200)

    def crashy(X):
        y = X @ g
        y[0] = 1e4
        return y

    def cosine(opt):
        for _ in range(8):
            X = opt.ask()
            opt.tell(X, crashy(X))
        gr = opt.last_gradient
        return float(gr @ g / np.linalg.norm(gr) / np.linalg.norm(g))

    raw = cosine(zg.make_optimizer("zerograds", np.zeros(d), seed=0, shaping="none"))
    shaped = cosine(zg.make_optimizer("zerograds", np.zeros(d), seed=0, shaping=shaping))
    assert shaped > 0.3 and shaped > raw + 0.2


@pytest.mark.parametrize(
    "options", [{"shaping": "softmax"}, {"lr_schedule": "step"}, {"lr_final": -1.0}]
)
def test_bad_new_options_are_rejected(options):
    with pytest.raises(ValueError, match="shaping|lr_schedule|lr_final"):
        zg.make_optimizer("zerograds", np.zeros(3), **options)
