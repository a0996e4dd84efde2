"""SNRAdam (the opt-in theta optimizer of ZeroGrads): its step, and ZeroGrads using it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import iterate, same_run

import zg_control as zg
from zg_control.app import checkpoint
from zg_control.functions import staircase
from zg_control.optimizers.snr_adam import SNRAdam


def _walk(opt_cls, grads: torch.Tensor, lr: float, **kw) -> tuple[torch.Tensor, torch.Tensor]:
    """Parameters after one step per row of ``grads`` (steps, d), from zero, and each
    coordinate's mean absolute step (d,)."""
    p = torch.nn.Parameter(torch.zeros(grads.shape[1], dtype=torch.float64))
    opt = opt_cls([p], lr=lr, **kw)
    moved = torch.zeros_like(p)
    for g in grads:
        before = p.detach().clone()
        p.grad = g.clone()
        opt.step()
        moved += (p.detach() - before).abs()
    return p.detach(), moved / len(grads)


def test_consistent_coordinates_move_by_lr_noise_coordinates_much_less_than_adam():
    gen = torch.Generator().manual_seed(0)
    steps, d, lr = 200, 400, 0.01
    grads = torch.randn(steps, d, generator=gen, dtype=torch.float64)
    grads[:, :100] = 1.0  # a gradient that never changes: Adam's u = 1
    (snr, snr_step), (adam, adam_step) = _walk(SNRAdam, grads, lr), _walk(torch.optim.Adam,
                                                                          grads, lr)  # fmt: skip
    np.testing.assert_allclose(snr[:100].numpy(), -steps * lr, rtol=1e-9)
    np.testing.assert_allclose(adam[:100].numpy(), -steps * lr, rtol=1e-6)
    # pure-noise coordinates: Adam steps them by ~0.2 lr, the gated step by ~0.07 lr ...
    assert 0.12 * lr < adam_step[100:].mean() < 0.3 * lr
    assert 0.02 * lr < snr_step[100:].mean() < 0.08 * lr
    # ... so they drift less than half as far
    assert snr[100:].abs().mean() < 0.5 * adam[100:].abs().mean()


def test_power_one_takes_adams_steps():
    gen = torch.Generator().manual_seed(1)
    grads = torch.randn(50, 30, generator=gen, dtype=torch.float64) + 0.3
    ours = _walk(SNRAdam, grads, 0.05, power=1.0, eps=1e-12)[0]
    adam = _walk(torch.optim.Adam, grads, 0.05, eps=1e-12)[0]
    np.testing.assert_allclose(ours.numpy(), adam.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "kw", [{"lr": 0.0}, {"betas": (1.0, 0.999)}, {"eps": -1.0}, {"power": 0.0}]
)
def test_bad_arguments_are_one_value_error(kw):
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match="SNRAdam: need lr > 0"):
        SNRAdam([p], **{"lr": 0.01, **kw})


def test_zerograds_with_snr_adam_descends_and_resumes_bit_identically(tmp_path):
    # d > buffer_size: the linear surrogate, where the gate is meant to be used
    x0 = np.zeros(1000)
    res = zg.minimize(staircase, x0, "zerograds", budget=2000, seed=0, optimizer="snr_adam",
                      lr=0.02)  # fmt: skip
    assert staircase(res.optimizer.recommendation[None])[0] < 0.7 * staircase(x0[None])[0]

    kwargs = dict(seed=5, bounds=(-2.0, 2.0), optimizer="snr_adam", lr=0.02)
    ref = zg.make_optimizer("zerograds", np.zeros(200), **kwargs)
    ref_X: list = []
    full = iterate(ref, staircase, 12, ref_X)
    first = zg.make_optimizer("zerograds", np.zeros(200), **kwargs)
    iterate(first, staircase, 6)
    checkpoint.save(tmp_path / "zg.npz", {"optimizer": first.state_dict()}, kind="run")
    fresh = zg.make_optimizer("zerograds", np.zeros(200), **kwargs)
    fresh.load_state_dict(checkpoint.load(tmp_path / "zg.npz", kind="run")["optimizer"])
    got_X: list = []
    assert same_run((iterate(fresh, staircase, 6, got_X), got_X), (full[6:], ref_X[6:]))
