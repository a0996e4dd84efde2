"""ZeroGrads' step-size control: the path-length rule (null calibration, growth on a persistent
slope, shrinkage on noise), plateau cuts and lr schedules."""

import numpy as np
import pytest
from helpers import iterate

import zg_control as zg
from zg_control.app.coerce import coerce
from zg_control.functions import sphere, staircase
from zg_control.optimizers import make_config
from zg_control.optimizers.step_rule import PathLengthRule, fresh_slope


@pytest.mark.parametrize("antithetic", [True, False])
def test_fresh_slope_is_standard_normal_when_losses_carry_no_information(antithetic):
    rng = np.random.default_rng(0)
    d, n, reps = 50, 16, 400
    sq = []
    for _ in range(reps):
        U = rng.standard_normal((n // 2 if antithetic else n, d))
        E = np.concatenate([U, -U]) if antithetic else U
        z = fresh_slope(E, rng.random(n), antithetic)
        sq.append(z @ z)
    # E|z|^2 = d under the null; the mean of 400 chi^2_50 draws is within ~1 % (5 std: 2.5)
    assert abs(np.mean(sq) - d) < 2.5


def test_fresh_slope_of_constant_targets_is_none():
    assert fresh_slope(np.ones((4, 3)), np.zeros(4), antithetic=False) is None


def test_rule_grows_on_a_persistent_direction_and_shrinks_on_noise():
    rng = np.random.default_rng(1)
    d = 500
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    kw = dict(c=0.1, gain=0.1, threshold=1.0, low=0.25, high=4.0)
    signal, noise = PathLengthRule(d, **kw), PathLengthRule(d, **kw)
    for _ in range(150):
        signal.update(rng.standard_normal(d) + 3.0 * u)  # |signal|^2 ~ 9 per slope
        noise.update(rng.standard_normal(d))
    assert signal.scale == 4.0 and signal.score > 5.0
    assert noise.scale == 0.25 and abs(noise.score) < 4.0


def test_rule_rejects_bad_constants():
    with pytest.raises(ValueError, match="path rule"):
        PathLengthRule(10, c=0.0, gain=0.1, threshold=1.0, low=0.5, high=2.0)


def test_zerograds_path_rule_raises_the_step_on_a_smooth_high_dimensional_task():
    x0 = np.zeros(1000)
    kw = dict(seed=0, shaping="none", step_rule="path", path_gain=0.1)
    res = zg.minimize(staircase, x0, "zerograds", budget=3000, **kw)
    plain = zg.minimize(staircase, x0, "zerograds", budget=3000, seed=0, shaping="none")
    assert res.optimizer.lr_scale > 2.0 and res.history[-1]["lr"] > 0.02
    assert res.loss < 0.8 * plain.loss  # the plain step (lr 0.01) travels too slowly


def test_plateau_cuts_and_the_path_rule_multiply():
    # on pure noise both shrink the step; neither may overwrite the other
    rng = np.random.default_rng(0)
    kw = dict(seed=0, sigma=0.2, lr=0.05, plateau_patience=3, step_rule="path", path_gain=0.1)
    opt = zg.make_optimizer("zerograds", np.zeros(100), **kw)
    iterate(opt, lambda X: rng.standard_normal(len(X)), 40)
    plateau = opt.lr_scale / opt.path_rule.scale
    assert plateau <= 0.25 and opt.path_rule.scale < 1.0
    assert opt.metrics["lr"] == pytest.approx(0.05 * plateau * opt.path_rule.scale)


@pytest.mark.parametrize(
    "options",
    [{"step_rule": "csa"}, {"path_c": 0.0}, {"path_gain": -1.0}, {"path_low": 2.0},
     {"path_high": 0.5}],
)  # fmt: skip
def test_bad_path_options_are_rejected(options):
    with pytest.raises(ValueError, match="step_rule|path_"):
        zg.make_optimizer("zerograds", np.zeros(3), **options)


def test_plateau_cuts_the_learning_rate_only_when_the_loss_stalls():
    kw = dict(seed=0, sigma=0.2, lr=0.05, plateau_patience=3, plateau_factor=0.5)
    descending = zg.make_optimizer("zerograds", np.full(10, 2.0), **kw)
    iterate(descending, sphere, 20)
    assert descending.lr_scale == 1.0 and descending.metrics["lr"] == pytest.approx(0.05)

    rng = np.random.default_rng(0)
    stalled = zg.make_optimizer("zerograds", np.zeros(10), **kw)
    iterate(stalled, lambda X: rng.standard_normal(len(X)), 40)  # pure noise: nothing to gain
    assert stalled.lr_scale <= 0.25 and stalled.metrics["lr"] == pytest.approx(
        0.05 * stalled.lr_scale
    )


def test_lr_schedule_reaches_lr_final():
    opt = zg.make_optimizer(
        "zerograds", np.zeros(5), lr=0.1, lr_final=0.01, lr_schedule="exp", schedule_evals=160
    )
    assert opt.current_lr() == pytest.approx(0.1)
    iterate(opt, sphere, 5)  # 80 evaluations: half way, on a log scale
    assert opt.theta_opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.1**0.5)
    iterate(opt, sphere, 5)
    assert opt.current_lr() == pytest.approx(0.01) == opt.theta_opt.param_groups[0]["lr"]


@pytest.mark.parametrize(
    ("value", "mode"),
    [(False, "none"), (True, "down"), ("true", "down"), ("off", "none"), ("down", "down"),
     ("both", "both")],
)  # fmt: skip
def test_path_sigma_modes_and_the_booleans_of_older_configs(value, mode):
    """Values as the CLI and config files pass them: coerced to the field's ``str | bool``
    (a string that reads as a bool is the bool), then mapped by the config."""
    value = coerce("path_sigma", value, str | bool)
    assert make_config("zerograds", step_rule="path", path_sigma=value).path_sigma == mode


def test_coerce_tries_each_type_of_a_union_and_str_last():
    assert coerce("x", "3", int | float) == 3 and isinstance(coerce("x", "3", int | float), int)
    assert coerce("x", "0.5", int | float) == 0.5
    assert coerce("x", "true", str | bool) is True and coerce("x", "up", str | bool) == "up"
    assert coerce("x", "none", int | str | None) is None
    assert coerce("x", 2.0, float | str) == 2.0  # already one of the types: kept as it is
    with pytest.raises(ValueError, match="option x='many': expected int or float"):
        coerce("x", "many", int | float)


def test_path_sigma_rejects_an_unknown_mode_or_a_missing_rule():
    with pytest.raises(ValueError, match="path_sigma must be one of"):
        make_config("zerograds", step_rule="path", path_sigma="up")
    with pytest.raises(ValueError, match="set step_rule='path' too"):
        make_config("zerograds", path_sigma="both")  # silently ignored before


@pytest.mark.parametrize("mode", ["down", "both"])
def test_sigma_follows_the_path_rule_on_a_smooth_task(mode):
    # the staircase's slope persists, so the rule's scale climbs above 1: "both" lets sigma
    # (and, with lr = sigma / 10, the step) grow with it; "down" keeps sigma at its base
    kw = dict(seed=0, shaping="none", step_rule="path", path_gain=0.1, path_sigma=mode)
    res = zg.minimize(staircase, np.zeros(1000), "zerograds", budget=3000, **kw)
    scale, hist = res.optimizer.path_rule.scale, res.history
    assert scale > 2.0
    sigmas, lrs = np.array([h["sigma"] for h in hist]), np.array([h["lr"] for h in hist])
    if mode == "down":
        assert sigmas.max() == 0.1 and sigmas[-1] == 0.1
    else:  # each batch is drawn with the scale the previous update left: sigma_t = 10 lr_(t-1)
        assert sigmas.max() > 0.2 and np.allclose(sigmas[1:], 10 * lrs[:-1])
