"""ZeroGrads' options: sigma and lr as numbers or schedules, validation, the surrogate choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import iterate

import zg_control as zg
from zg_control.functions import sphere
from zg_control.optimizers.zerograds.mlp import MLPSurrogate
from zg_control.optimizers.zerograds.ridge import RidgeSurrogate


def test_a_sigma_schedule_sets_the_spread_of_each_batch():
    def sigma(n_evals):
        return 0.1 if n_evals < 32 else 0.01

    kw = dict(seed=4, inner_sigma=0.0)
    sched = zg.make_optimizer("zerograds", np.ones(5), sigma=sigma, **kw)
    const = zg.make_optimizer("zerograds", np.ones(5), sigma=0.1, adapt=False, **kw)
    for i in range(3):  # the same generator stream: the same E, scaled by each sigma
        theta_s, theta_c = sched.recommendation, const.recommendation
        Xs, Xc = sched.ask(), const.ask()
        expected = 0.1 if i < 2 else 0.01
        assert sched.sigma == expected
        np.testing.assert_allclose((Xs - theta_s) / expected, (Xc - theta_c) / 0.1, atol=1e-12)
        sched.tell(Xs, sphere(Xs))
        const.tell(Xc, sphere(Xc))


def test_an_lr_schedule_sets_the_step_and_is_called_with_the_episodes_told():
    calls = []

    def lr(n_evals):
        calls.append(n_evals)
        return 0.01 if n_evals <= 17 else 0.001  # 16 samples and theta per batch

    opt = zg.make_optimizer("zerograds", np.full(4, 2.0), seed=0, lr=lr, k_theta=1)
    steps = []
    for _ in range(2):
        before = opt.recommendation
        X = opt.ask()
        opt.tell(X, sphere(X))
        steps.append(np.abs(opt.recommendation - before))
    assert calls[-2:] == [17, 34] and opt.metrics["lr"] == 0.001
    # Adam's first step moves every coordinate by lr (m_hat / sqrt(v_hat) = sign(g))
    np.testing.assert_allclose(steps[0], 0.01, rtol=1e-4)
    assert np.all(steps[1] < 0.003)


def test_the_default_lr_follows_a_sigma_schedule():
    opt = zg.make_optimizer("zerograds", np.zeros(3), sigma=lambda n: 0.5 if n < 16 else 0.25)
    iterate(opt, sphere, 1)
    assert opt.metrics["lr"] == 0.1  # the batch told was drawn with sigma 0.5: lr = sigma / 5
    iterate(opt, sphere, 1)  # times the step-length factor the second batch set (zerograds/step.py)
    assert opt.metrics["lr"] == pytest.approx(0.05 * opt.lr_factor) and opt.lr_factor != 1.0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"sigma": "0.1"}, "sigma"),
        ({"lr": 0.0}, "lr"),
        ({"surrogate": "gp"}, "surrogate"),
        ({"nonfinite": "zero"}, "nonfinite"),
        ({"batch_size": 7}, "antithetic"),
        ({"sigma_final": 0.01}, "unknown option"),
        ({"optimizer": "sgd"}, "unknown option"),
    ],
)
def test_bad_options_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        zg.make_optimizer("zerograds", np.zeros(3), **options)


def test_a_schedule_that_returns_a_bad_value_raises_at_the_ask():
    opt = zg.make_optimizer("zerograds", np.zeros(3), sigma=lambda n: 0.1 if n < 16 else -1.0)
    iterate(opt, sphere, 1)
    with pytest.raises(ValueError, match=r"sigma\(16\) must be a positive finite float"):
        opt.ask()


def test_device_auto_picks_cpu_without_cuda():
    opt = zg.make_optimizer("zerograds", np.zeros(3), device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert opt.device.type == expected
    with pytest.raises(ValueError, match="device"):
        zg.make_optimizer("zerograds", np.zeros(3), device="tpu:9")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_mlp_surrogate_on_cuda_starts_from_the_cpu_weights_and_optimizes():
    """The seeded CPU generator draws the weights on every device (a CUDA tensor cannot take
    it), so the CUDA net starts where the CPU one does."""
    on = {d: zg.make_optimizer("zerograds", np.full(5, 2.0), device=d) for d in ("cpu", "cuda")}
    nets = (on["cpu"].surrogate.net.parameters(), on["cuda"].surrogate.net.parameters())
    for a, b in zip(*nets, strict=True):
        assert b.device.type == "cuda" and torch.equal(a, b.cpu())
    res = zg.minimize(sphere, np.full(5, 2.0), "zerograds", 800, 0, device="cuda")
    assert res.loss < 0.5 * sphere(np.full((1, 5), 2.0))[0]


def test_auto_surrogate_is_linear_ridge_above_the_buffer_size():
    opt = zg.make_optimizer("zerograds", np.zeros(64))
    assert isinstance(opt.surrogate, MLPSurrogate) and opt.surrogate.shaping == "none"
    opt = zg.make_optimizer("zerograds", np.zeros(65))
    assert isinstance(opt.surrogate, RidgeSurrogate) and opt.k_theta == 1
    assert opt.surrogate.shaping == "ranks"  # per-batch intercepts: ranks compared per batch

    # the default step is tied to sigma: smaller where most coordinates' gradient is noise
    def lr(dim, **options):
        return zg.make_optimizer("zerograds", np.zeros(dim), **options).current_lr()

    assert lr(64, sigma=0.3) == pytest.approx(0.06) and lr(65, sigma=0.3) == pytest.approx(0.03)
    assert lr(65, lr=0.5) == 0.5
    opt = zg.make_optimizer("zerograds", np.zeros(65), surrogate="mlp")
    assert isinstance(opt.surrogate, MLPSurrogate) and opt.k_theta == 3
    assert isinstance(
        zg.make_optimizer("zerograds", np.zeros(3), surrogate="ridge").surrogate, RidgeSurrogate
    )
