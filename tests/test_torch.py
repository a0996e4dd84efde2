"""zg_control.torch.BlackBox: the surrogate's gradient through a black box, its bookkeeping,
its input checks and its state."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch

from zg_control.torch import BlackBox, BlackBoxConfig

STEP = 0.25


def staircase(Y: np.ndarray, C: np.ndarray | None = None) -> np.ndarray:
    """``|round(y / STEP) STEP - c|^2`` (``c = 0`` without context): zero gradient almost
    everywhere. ``(n, d) -> (n,)``."""
    q = np.round(Y / STEP) * STEP
    return ((q if C is None else q - C) ** 2).sum(1)


def smoothed_gradient(y0: np.ndarray, sigma: float, n: int = 100_000) -> np.ndarray:
    """Stein estimate of the gradient of ``E f(y0 + sigma e)`` from ``n`` antithetic samples."""
    E = np.random.default_rng(1).standard_normal((n // 2, len(y0)))
    diff = staircase(y0 + sigma * E) - staircase(y0 - sigma * E)
    return (diff[:, None] * E).mean(0) / (2 * sigma)


class Recorder:
    """A black box that records the rows of every call."""

    def __init__(self, fn=staircase) -> None:
        self.fn, self.calls = fn, []

    def __call__(self, Y, C):
        self.calls.append((Y.copy(), None if C is None else C.copy()))
        return self.fn(Y, C)


def step(bb: BlackBox, y0: torch.Tensor, context: torch.Tensor | None = None):
    """One forward and backward at ``y0``; returns (losses, gradient)."""
    y = y0.clone().requires_grad_(True)
    loss = bb(y, context)
    loss.sum().backward()
    return loss.detach(), y.grad


def test_gradient_matches_the_smoothed_gradient():
    """After 40 warm-up forwards at 4 rows (4 x 17 rows each; the buffer of 512 is full after
    8) the surrogate's gradient at every row points along the Gaussian-smoothed gradient (min
    cosine 0.99 here, 0.987 - 0.992 over seeds 0 - 2; after 20 forwards 0.91 - 0.98)."""
    sigma = 0.2
    Y0 = np.random.default_rng(0).uniform(-1, 1, (4, 4))
    G = np.array([smoothed_gradient(y, sigma) for y in Y0])
    bb = BlackBox(staircase, 4, sigma=sigma, n_samples=16, buffer_size=512)
    for _ in range(40):
        _, g = step(bb, torch.tensor(Y0))
    cos = (g.numpy() * G).sum(1) / np.linalg.norm(g.numpy(), axis=1) / np.linalg.norm(G, axis=1)
    assert cos.min() > 0.9, cos
    assert bb.n_evals == 40 * 4 * 17


def test_linear_trained_through_a_staircase_with_targets_as_context():
    """A torch Linear maps inputs to y; the black box scores rounded y against each row's target
    (the context). Its true gradient is zero almost everywhere; Adam on the surrogate's gradient
    cuts the held-out loss by >= 80% (to 9% here; 3 - 9% over seeds 0 - 3). With sigma below
    the step (0.1) the smoothed loss has flat steps and Adam random-walks on them."""
    g = torch.Generator().manual_seed(0)
    W, b = torch.randn(4, 3, generator=g), torch.randn(4, generator=g)
    x_test = torch.randn(256, 3, generator=g)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 4)
    bb = BlackBox(staircase, 4, context_dim=4, sigma=0.25, buffer_size=1024, fit_batch=256)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    with torch.no_grad():
        before = bb(model(x_test), x_test @ W.T + b).mean()
    for _ in range(200):
        x = torch.randn(32, 3, generator=g)
        opt.zero_grad()
        bb(model(x), x @ W.T + b).mean().backward()
        opt.step()
    with torch.no_grad():
        after = bb(model(x_test), x_test @ W.T + b).mean()
    assert after <= 0.2 * before, (float(before), float(after))


def test_n_evals_counts_every_row_and_no_grad_calls_fn_only_at_y():
    fn = Recorder()
    bb = BlackBox(fn, 2, n_samples=4)
    y0 = torch.tensor([[0.3, -0.2], [1.0, 0.5], [0.0, 0.0]])
    loss, _ = step(bb, y0)
    Y, C = fn.calls[-1]
    assert Y.shape == (3 * 5, 2) and C is None and bb.n_evals == 15
    np.testing.assert_array_equal(Y[:3], y0.numpy())  # the rows first, then their samples
    np.testing.assert_allclose(loss.numpy(), staircase(y0.double().numpy()), rtol=1e-6)
    pairs = Y[3:].reshape(2, 3, 2, 2) - y0.numpy()[None, :, None]  # (+/-, row, k, d)
    np.testing.assert_allclose(pairs[0], -pairs[1], atol=1e-6)  # antithetic
    buffered = bb.surrogate.buffer.size
    with torch.no_grad():
        bb(y0.requires_grad_(True))
    assert fn.calls[-1][0].shape == (3, 2) and bb.n_evals == 18
    assert bb.surrogate.buffer.size == buffered  # the surrogate learns nothing in no_grad
    bb(torch.zeros(1, 2))  # a y that needs no gradient: also fn only
    assert fn.calls[-1][0].shape == (1, 2) and bb.n_evals == 19


def test_seeded_runs_are_identical_and_seeds_differ():
    y0 = torch.tensor([[0.3, -0.2, 0.7]], dtype=torch.float64)
    runs = []
    for seed in (0, 0, 1):
        bb = BlackBox(staircase, 3, seed=seed)
        runs.append(torch.stack([step(bb, y0)[1] for _ in range(3)]))
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_and_context_gradient(dtype):
    """Losses and gradients come back in y's dtype; the context gets a gradient only with
    grad_context."""
    y0 = torch.tensor([[0.3, -0.2]], dtype=dtype)
    c = torch.tensor([[0.1]], dtype=dtype, requires_grad=True)
    loss, g = step(BlackBox(Recorder(lambda Y, C: staircase(Y) + C[:, 0]), 2, context_dim=1), y0, c)
    assert loss.dtype == g.dtype == dtype and g.shape == (1, 2) and c.grad is None
    bb = BlackBox(lambda Y, C: staircase(Y) + C[:, 0], 2, context_dim=1, grad_context=True)
    step(bb, y0, c)
    assert c.grad.dtype == dtype and c.grad.shape == (1, 1) and torch.isfinite(c.grad).all()


def test_nonfinite_losses_are_returned_and_kept_out_of_the_buffer():
    def fn(Y, C):
        out = staircase(Y)
        out[1::2] = np.nan
        return out

    bb = BlackBox(fn, 2, n_samples=2)
    loss, g = step(bb, torch.tensor([[0.3, 0.1], [0.5, 0.5]]))
    assert torch.isnan(loss[1]) and torch.isfinite(g).all()
    assert bb.surrogate.buffer.size == 3 and bb.n_evals == 6


def test_state_dict_round_trip_continues_identically():
    """The state (surrogate, its Adam, buffer, RNG, n_evals) survives torch.save and
    torch.load(weights_only=True); the resumed box continues as the original."""
    y0 = torch.tensor([[0.3, -0.2], [0.8, 0.1]])
    context = torch.tensor([[0.0], [1.0]])
    fn = lambda Y, C: staircase(Y) * (1 + C[:, 0])  # noqa: E731
    bb = BlackBox(fn, 2, context_dim=1, seed=3)
    for _ in range(3):
        step(bb, y0, context)
    buf = io.BytesIO()
    torch.save(bb.state_dict(), buf)
    buf.seek(0)
    resumed = BlackBox(fn, 2, context_dim=1, seed=99)
    resumed.load_state_dict(torch.load(buf, weights_only=True))
    assert resumed.n_evals == bb.n_evals == 3 * 2 * 5
    for _ in range(2):
        (la, ga), (lb, gb) = step(bb, y0, context), step(resumed, y0, context)
        assert torch.equal(la, lb) and torch.equal(ga, gb)
    with pytest.raises(ValueError, match=r"\(dim, context_dim\) = \(2, 1\)"):
        BlackBox(fn, 3, context_dim=1).load_state_dict(bb.state_dict())


def test_plateau_rule_grows_sigma_until_the_samples_leave_a_plateau():
    """``plateau`` is flat (1) within RMS 0.5 of the origin: with sigma 0.05 every sample
    ties. The plateau rule (default) grows sigma until the samples see the bowl beyond, and Adam
    on ``y`` gets far down it; with a fixed sigma only Adam's drift on the untrained surrogate
    moves ``y``. The grown sigma is in the state."""
    from zg_control.functions import plateau

    def train(**options):
        bb = BlackBox(lambda Y, C: plateau(Y), 10, seed=0, sigma=0.05, **options)
        y = torch.zeros(1, 10, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([y], lr=0.05)
        for _ in range(100):
            loss = bb(y)
            opt.zero_grad()
            loss.sum().backward()
            opt.step()
        return bb, float(plateau(y.detach().numpy())[0])

    (bb, adapted), (fixed_bb, fixed) = train(), train(adapt=False)
    assert adapted < 0.3 < 0.5 < fixed and bb.sigma > 0.5 and fixed_bb.sigma == 0.05
    resumed = BlackBox(lambda Y, C: plateau(Y), 10, seed=1)
    resumed.load_state_dict(bb.state_dict())
    assert resumed.sigma == bb.sigma


def test_surrogate_is_no_parameter_and_its_state_nests():
    """An optimiser over a model holding a BlackBox never steps the surrogate; the model's
    state_dict carries the box's state."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), BlackBox(staircase, 2))
    assert len(list(model.parameters())) == 2
    assert "1._extra_state" in model.state_dict()


BAD_INPUTS = [
    (lambda: BlackBox(staircase, 2)(np.zeros((1, 2))), "y must be a torch.Tensor"),
    (lambda: BlackBox(staircase, 2)(torch.zeros(1, 2, dtype=torch.int64)), "float32 or float64"),
    (lambda: BlackBox(staircase, 2)(torch.zeros(2)), r"shape \(B, 2\), got \(2,\)"),
    (lambda: BlackBox(staircase, 2)(torch.zeros(1, 3)), r"shape \(B, 2\), got \(1, 3\)"),
    (lambda: BlackBox(staircase, 2)(torch.zeros(0, 2)), r"shape \(B, 2\), got \(0, 2\)"),
    (lambda: BlackBox(staircase, 2)(torch.tensor([[np.nan, 0.0]])), "y contains NaN"),
    (lambda: BlackBox(staircase, 2, 3)(torch.zeros(1, 2)), r"takes a context of shape \(B, 3\)"),
    (lambda: BlackBox(staircase, 2)(torch.zeros(1, 2), torch.zeros(1, 1)), "takes none, got"),
    (
        lambda: BlackBox(staircase, 2, 3)(torch.zeros(1, 2), torch.zeros(1, 2)),
        r"context must have shape \(1, 3\), got \(1, 2\)",
    ),
    (
        lambda: BlackBox(staircase, 2, 3)(torch.zeros(2, 2), torch.zeros(1, 3)),
        r"context must have shape \(2, 3\), got \(1, 3\)",
    ),
    (lambda: BlackBox(lambda Y, C: Y, 2)(torch.zeros(1, 2)), r"fn returned shape \(1, 2\)"),
    (lambda: BlackBox(lambda Y, C: "x", 2)(torch.zeros(1, 2)), "fn must return 1 numbers"),
    (
        lambda: BlackBox(lambda Y, C: np.full(len(Y), np.inf), 2)(torch.zeros(1, 2)),
        "no finite loss",
    ),
    (lambda: BlackBox(staircase, 0), "dim must be an int >= 1"),
    (lambda: BlackBox(staircase, 2, context_dim=-1), "context_dim must be an int >= 0"),
    (lambda: BlackBox("f", 2), "fn must be callable"),
    (lambda: BlackBox(staircase, 2, sgima=0.1), "unknown BlackBox option.*sgima.*valid options"),
    (lambda: BlackBox(staircase, 2, sigma=-1.0), "sigma must be a positive"),
    (lambda: BlackBox(staircase, 2, n_samples=3), "n_samples must be even"),
    (lambda: BlackBox(staircase, 2, device="tpu9"), "unknown torch device"),
]


@pytest.mark.parametrize("make, message", BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_raises_a_value_error_naming_it(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_config_defaults_are_valid_and_documented():
    doc = BlackBoxConfig.__doc__
    for name in BlackBoxConfig().__dataclass_fields__:
        assert re.search(rf"^ +(\w+, )*{name}(, \w+)*:", doc, re.M), f"{name} undocumented"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_inputs_and_surrogate():
    """A CUDA y (surrogate on CUDA too, device='auto'): losses and gradient on y's device."""
    bb = BlackBox(staircase, 2, context_dim=1, device="auto")
    y0, c = torch.tensor([[0.3, -0.2]], device="cuda"), torch.zeros(1, 1, device="cuda")
    loss, g = step(bb, y0, c)
    assert loss.device.type == g.device.type == "cuda" and bb.surrogate_device.type == "cuda"
    cpu = BlackBox(staircase, 2, context_dim=1, device="cpu")
    loss_cpu, g_cpu = step(cpu, y0.cpu(), c.cpu())
    torch.testing.assert_close(loss.cpu(), loss_cpu)
    torch.testing.assert_close(g.cpu(), g_cpu, rtol=1e-3, atol=1e-5)
