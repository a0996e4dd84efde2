"""The paper's VAE through a non-differentiable spline renderer (Fischer & Ritschel 2024).

    python experiments/vae.py            # three methods at equal renders (~7 min on one core)
    python experiments/vae.py --quick    # tiny budgets (tests)

A VAE encodes a digit (scikit-learn's 8x8 digits, upsampled to 16x16); its decoder emits
``K`` spline support points ``y (2K,)`` in ``[-1, 1]^2``; a numpy renderer draws the
Catmull-Rom curve through them with hard coverage (a pixel is ink iff its centre is within
``radius`` of the densely sampled curve: no anti-aliasing, no gradient). Loss = per-pixel MSE
to the digit + ``beta`` KL. Three gradients through the renderer, at equal renders:

- ``soft`` (the upper bound): the curve drawn by a differentiable soft rasterizer instead
  (torch); one render per digit per step, so more steps in the same renders;
- ``prdpt``: the antithetic Stein estimator of the Gaussian-smoothed loss (Fischer & Ritschel
  2023) from ``n_samples`` hard renders around each digit's ``y``;
- ``zerograds``: :class:`zg_control.torch.BlackBox` on the hard renderer, the target digit as
  the surrogate's context (the same renders per step as prdpt).

Each is scored by the hard renderer on 300 held-out digits (the encoder's means). Writes
``--out_dir`` (default ``experiments/results/vae``): ``summary.md``, ``curves.png`` (held-out
MSE vs training renders), ``reconstructions.png``, ``samples.png`` (decoded ``z ~ N(0, I)``)
and ``history.csv``.
"""

from __future__ import annotations

import csv
import dataclasses
import time
from itertools import pairwise
from pathlib import Path

import matplotlib
import numpy as np
import torch
from _common import RESULTS, arg, cli, command_line, parse_args
from scipy.ndimage import zoom
from sklearn.datasets import load_digits
from torch import nn

from zg_control.torch import BlackBox

matplotlib.use("Agg")
import matplotlib.pyplot as plt

METHODS = ("soft", "prdpt", "zerograds")
RES = 16  # image side in pixels


@dataclasses.dataclass
class Args:
    methods: tuple[str, ...] = arg(METHODS, "gradient methods to compare")
    renders: int = arg(400_000, "training renders per method")
    batch: int = arg(32, "digits per step")
    n_samples: int = arg(4, "renders around each digit per step (prdpt, zerograds; even)")
    sigma: float = arg(0.06, "std of those samples, in support-point units (1 px = 0.125)")
    points: int = arg(12, "spline support points K")
    latent: int = arg(4, "latent dimensions")
    beta: float = arg(1e-3, "weight of the KL term")
    lr: float = arg(1e-3, "Adam's learning rate on the VAE")
    radius: float = arg(1.5, "stroke radius in pixels (<= 1.5)")
    width: int = arg(128, "zerograds surrogate width")
    evals: int = arg(10, "held-out evaluations along each run")
    seed: int = arg(0, "seed of the data split, the VAE and the samples")
    out_dir: str | None = arg(None, "results folder (default experiments/results/vae)")
    quick: bool = arg(False, "tiny budgets (tests)")


def load_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The digits in ``[0, 1]`` upsampled (bilinear) to 16x16, split 1497 / 300 (seeded).
    Shapes ``(1497, 256)``, ``(300, 256)``."""
    images = load_digits().images / 16.0
    big = np.clip(np.stack([zoom(im, RES / 8, order=1) for im in images]), 0.0, 1.0)
    flat = big.reshape(len(big), -1)[np.random.default_rng(seed).permutation(len(big))]
    return flat[300:], flat[:300]


def catmull_rom(k: int, per_segment: int = 8) -> np.ndarray:
    """Weights of the uniform Catmull-Rom curve through ``k`` points (ends repeated), sampled
    ``per_segment`` times per segment. Shape ``(S, k)``: curve samples = basis @ points."""
    t = np.arange(per_segment) / per_segment
    m = 0.5 * np.array([[0, 2, 0, 0], [-1, 0, 1, 0], [2, -5, 4, -1], [-1, 3, -3, 1]])
    w = np.stack([t**0, t, t**2, t**3], 1) @ m  # (per_segment, 4) weights of 4 neighbours
    basis = np.zeros(((k - 1) * per_segment + 1, k))
    basis[-1, -1] = 1.0
    for i in range(k - 1):
        for j, idx in enumerate(np.clip(range(i - 1, i + 3), 0, k - 1)):
            basis[i * per_segment : (i + 1) * per_segment, idx] += w[:, j]
    return basis


def curve(Y: np.ndarray | torch.Tensor, basis: np.ndarray | torch.Tensor):
    """Curve samples in pixel units of support points ``Y (n, 2K)`` in ``[-1, 1]``.
    Shape ``(n, S, 2)``."""
    P = Y.reshape(len(Y), -1, 2)
    return basis @ ((P + 1.0) * (RES / 2))


def render_hard(Y: np.ndarray, basis: np.ndarray, radius: float) -> np.ndarray:
    """The non-differentiable renderer: pixel ``(row, col)`` is 1 iff its centre is within
    ``radius`` of a curve sample, else 0. ``Y (n, 2K)`` -> ``(n, RES * RES)``."""
    pts = curve(Y.astype(np.float32), basis.astype(np.float32))  # (n, S, 2): (column, row)
    r = np.arange(-np.ceil(radius), np.ceil(radius) + 1, dtype=np.float32)
    offsets = np.stack(np.meshgrid(r, r), -1).reshape(-1, 2)  # pixels near a sample
    cells = np.floor(pts)[:, :, None, :] + offsets  # (n, S, len(offsets), 2)
    near = ((cells + 0.5 - pts[:, :, None, :]) ** 2).sum(-1) < radius**2
    near &= ((cells >= 0) & (cells < RES)).all(-1)
    flat = cells[..., 1] * RES + cells[..., 0] + np.arange(len(Y))[:, None, None] * RES * RES
    img = np.zeros(len(Y) * RES * RES)
    img[flat[near].astype(np.int64)] = 1.0
    return img.reshape(len(Y), RES * RES)


def render_soft(y: torch.Tensor, basis: torch.Tensor, radius: float, tau: float = 0.15):
    """The differentiable stand-in: coverage ``A / (1 + A)``, ``A = sum_s exp((radius - d_s) /
    tau)`` with ``d_s`` a pixel centre's distance to curve sample ``s`` (a sigmoid of
    ``radius`` minus the soft-min distance), summed over the 5x5 pixels around each sample
    (torch; radius <= 1.5). ``y (n, 2K)`` -> ``(n, RES * RES)``."""
    pts = curve(y, basis)  # (n, S, 2)
    r = torch.arange(-2, 3, dtype=y.dtype)
    offsets = torch.stack(torch.meshgrid(r, r, indexing="xy"), -1).reshape(-1, 2)
    cells = torch.floor(pts.detach())[:, :, None, :] + offsets  # (n, S, 25, 2)
    d = ((cells + 0.5 - pts[:, :, None, :]).square().sum(-1) + 1e-12).sqrt()
    v = torch.exp((radius - d) / tau) * ((cells >= 0) & (cells < RES)).all(-1)
    flat = (cells[..., 1] * RES + cells[..., 0]).clamp(0, RES * RES - 1).long()
    flat = flat + torch.arange(len(y))[:, None, None] * RES * RES
    A = torch.zeros(len(y) * RES * RES, dtype=y.dtype)
    A = A.index_add(0, flat.reshape(-1), v.reshape(-1)).reshape(len(y), -1)
    return A / (1.0 + A)


def mlp(*sizes: int) -> list[nn.Module]:
    """Linear layers of ``sizes`` with ReLUs between them."""
    layers = [m for a, b in pairwise(sizes) for m in (nn.Linear(a, b), nn.ReLU())]
    return layers[:-1]


class VAE(nn.Module):
    """Encoder ``(n, 256) -> mu, logvar (n, latent)``; decoder ``z -> y (n, 2K)`` in
    ``(-1, 1)`` (tanh)."""

    def __init__(self, latent: int, points: int, hidden: int = 128) -> None:
        super().__init__()
        self.enc = nn.Sequential(*mlp(RES * RES, hidden, 2 * latent))
        self.dec = nn.Sequential(*mlp(latent, hidden, hidden, 2 * points), nn.Tanh())

    def forward(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Support points of a sample of ``q(z | x)`` and the KL to ``N(0, I)``. ``(n, 2K)``,
        ``(n,)``."""
        mu, logvar = self.enc(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen, dtype=mu.dtype)
        kl = -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)
        return self.dec(z), kl


class Stein:
    """PRDPT's gradient through ``fn``: per row, ``fn`` at ``y`` (the loss) and at ``k`` pairs
    ``y +/- sigma e``; gradient ``sum_k (f(y + sigma e_k) - f(y - sigma e_k)) e_k / (2 k sigma)``
    (the antithetic Stein estimator of the Gaussian-smoothed loss). ``(B, d), (B, c) -> (B,)``."""

    def __init__(self, fn, dim: int, sigma: float, n_samples: int, seed: int) -> None:
        self.fn, self.dim, self.sigma, self.k = fn, dim, sigma, n_samples // 2
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, y: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        Y, C = y.detach().double().numpy(), context.double().numpy()
        E = torch.randn(len(Y), self.k, self.dim, generator=self.gen, dtype=torch.float64).numpy()
        rows = [Y] + [(Y[:, None] + s * self.sigma * E).reshape(-1, self.dim) for s in (1, -1)]
        losses = self.fn(np.concatenate(rows), np.concatenate([C] * (1 + 2 * self.k)))
        f0, fp, fm = losses[: len(Y)], *losses[len(Y) :].reshape(2, len(Y), self.k)
        g = ((fp - fm)[..., None] * E).sum(1) / (2 * self.k * self.sigma)
        g_t = torch.as_tensor(g, dtype=y.dtype)
        return torch.as_tensor(f0, dtype=y.dtype) + ((y - y.detach()) * g_t).sum(1)


def make_loss(method: str, args: Args, basis: np.ndarray):
    """The reconstruction loss of ``method``: ``(y (B, 2K), target (B, 256)) -> (B,)``."""

    def mse(Y: np.ndarray, C: np.ndarray) -> np.ndarray:
        return ((render_hard(Y, basis, args.radius) - C) ** 2).mean(1)

    if method == "soft":
        basis_t = torch.tensor(basis).float()
        return lambda y, x: (render_soft(y, basis_t, args.radius) - x).square().mean(1)
    if method == "prdpt":
        return Stein(mse, 2 * args.points, args.sigma, args.n_samples, args.seed)
    options = {"sigma": args.sigma, "n_samples": args.n_samples, "width": args.width}
    return BlackBox(mse, 2 * args.points, RES * RES, seed=args.seed, device="cpu", **options)


def decode(model: VAE, x: torch.Tensor | None = None, z: torch.Tensor | None = None):
    """Support points ``(n, 2K)`` (numpy) decoded from the encoder's means of ``x (n, 256)``
    or from latents ``z (n, latent)``."""
    with torch.no_grad():
        z = model.enc(x).chunk(2, dim=1)[0] if z is None else z
        return model.dec(z).double().numpy()


def train(method: str, args: Args, data: tuple[np.ndarray, np.ndarray], basis: np.ndarray):
    """Train the VAE with ``method``'s gradient for ``args.renders`` renders. Returns the
    model, its history rows and the wall and CPU seconds."""
    train_x, test_x = (torch.tensor(d, dtype=torch.float32) for d in data)
    with torch.random.fork_rng():
        torch.manual_seed(args.seed)
        model = VAE(args.latent, args.points)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn, gen = make_loss(method, args, basis), torch.Generator().manual_seed(args.seed)
    per_row = 1 if method == "soft" else 1 + args.n_samples
    steps = max(1, args.renders // (args.batch * per_row))
    marks = set(np.linspace(0, steps, args.evals + 1).round().astype(int).tolist())
    history, t0, c0 = [], time.perf_counter(), time.process_time()
    for step in range(steps + 1):
        if step in marks:
            recon = render_hard(decode(model, test_x), basis, args.radius)
            mse = float(((recon - test_x.numpy()) ** 2).mean())
            renders = step * args.batch * per_row  # = BlackBox.n_evals for zerograds
            row = dict(step=step, renders=renders, cpu_s=time.process_time() - c0)
            history.append({"method": method, **row, "held_out_mse": mse})
        if step == steps:
            break
        x = train_x[torch.randint(len(train_x), (args.batch,), generator=gen)]
        y, kl = model(x, gen)
        loss = (loss_fn(y, x) + args.beta * kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, history, time.perf_counter() - t0, time.process_time() - c0


def image_grid(rows: dict[str, np.ndarray], path: Path, title: str) -> None:
    """One labelled row of 16x16 images per entry of ``rows`` (each ``(n, 256)``)."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(12, 1.1 * len(rows) + 0.4))
    for ax, (label, imgs) in zip(np.atleast_1d(axes), rows.items(), strict=True):
        pad = np.pad(imgs.reshape(-1, RES, RES), ((0, 0), (1, 1), (1, 1)), constant_values=0.5)
        ax.imshow(np.concatenate(list(pad), axis=1), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def plot_curves(history: list[dict], path: Path) -> None:
    """Held-out MSE (hard renderer) vs training renders, one line per method."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(h["method"] for h in history):
        rows = [h for h in history if h["method"] == method]
        x = [h["renders"] / 1000 for h in rows]
        ax.plot(x, [h["held_out_mse"] for h in rows], "o-", label=method)
    ax.set(xlabel="training renders (thousands)", ylabel="held-out MSE (hard renderer)")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(Args, argv, __doc__.split("\n")[0])
    if args.quick:
        args = dataclasses.replace(args, renders=2000, evals=2, width=32)
    if unknown := sorted(set(args.methods) - set(METHODS)):
        raise ValueError(f"unknown methods {unknown}; choose from {list(METHODS)}")
    if args.n_samples < 2 or args.n_samples % 2:
        raise ValueError(f"--n_samples must be even and >= 2, got {args.n_samples}")
    torch.set_num_threads(1)  # the budget: one core
    out = Path(args.out_dir) if args.out_dir else RESULTS / "vae"
    out.mkdir(parents=True, exist_ok=True)
    train_x, test_x = load_data(args.seed)
    test_x = test_x[:60] if args.quick else test_x
    basis = catmull_rom(args.points)
    shown, z = test_x[:16], torch.randn(16, args.latent, generator=torch.Generator().manual_seed(1))
    history, table, recons, samples = [], [], {"digit": shown}, {}
    for method in args.methods:
        model, hist, wall, cpu = train(method, args, (train_x, test_x), basis)
        history += hist
        table.append(
            f"| {method} | {hist[-1]['held_out_mse']:.4f} | {hist[-1]['renders']} | "
            f"{hist[-1]['step']} | {wall:.0f} | {cpu:.0f} |"
        )
        recons[method] = render_hard(decode(model, torch.tensor(shown).float()), basis, args.radius)
        samples[method] = render_hard(decode(model, z=z), basis, args.radius)
        print(table[-1], flush=True)
    with open(out / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    plot_curves(history, out / "curves.png")
    image_grid(recons, out / "reconstructions.png", "held-out digits and their hard renders")
    image_grid(samples, out / "samples.png", "decoded z ~ N(0, I), hard renders")
    blank = float((test_x**2).mean())
    (out / "summary.md").write_text(
        f"# VAE through a spline renderer\n\nMade by `{command_line('vae.py', argv)}`.\n\n"
        "| method | held-out MSE | renders | steps | wall s | CPU s |\n|---|---|---|---|---|---|\n"
        + "\n".join(table)
        + f"\n| (blank image) | {blank:.4f} | | | | |\n"
    )
    return out


if __name__ == "__main__":
    cli(main)
