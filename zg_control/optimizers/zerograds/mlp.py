"""The ZeroGrads surrogate learner (Fischer & Ritschel 2024, Sec. 3.2).

An MLP ``h_phi`` is fitted online, self-supervised, to ``(x, f(x))`` samples drawn around the
current parameters, and its gradient stands in for the gradient of the Gaussian-smoothed loss.
This module knows nothing about sampling or about stepping ``theta``; it holds

- a ring buffer of recent samples (so every episode is reused while it is informative), each
  weighted by its distance to the current centre (locality);
- input normalisation ``z = (x - centre) / scale`` (centre = current theta, scale = sigma);
- target standardisation (optionally in log space);
- the network ``h(z) = b + w.z + MLP(enc(z))``: a linear skip (the first-order term, which is
  invariant to re-centring) plus an MLP (LeakyReLU by default) on the raw or Fourier-encoded
  inputs; ``depth = 0`` gives a pure linear-regression surrogate.

All samples are fitted in one batched forward/backward per step on a torch device.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .._torch_state import optimizer_state_from_numpy, optimizer_state_to_numpy

ACTIVATIONS = {"leaky_relu": nn.LeakyReLU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; anything else is passed to torch."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown torch device {device!r}; use 'auto', 'cpu' or 'cuda'") from err


class SurrogateNet(nn.Module):
    """``h(z) = b + w.z + MLP(enc(z))``. Shape ``(n, d) -> (n,)``."""

    def __init__(
        self,
        dim: int,
        width: int,
        depth: int,
        activation: str,
        n_features: int,
        feature_scale: float,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, 1, device="meta")
        in_dim = dim + 2 * n_features if n_features > 0 else dim
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(in_dim if i == 0 else width, width, device="meta")]
            layers += [ACTIVATIONS[activation]()]
        if depth > 0:
            layers += [nn.Linear(width, 1, device="meta")]
        self.mlp = nn.Sequential(*layers)
        self.to_empty(device=device)
        features = None
        if n_features > 0:  # random Fourier features of z (Tancik et al. 2020)
            features = torch.randn(n_features, dim, generator=generator) * feature_scale
            features = features.to(device)
        self.register_buffer("features", features)
        for layer in [self.linear, *self.mlp]:
            if isinstance(layer, nn.Linear):  # PyTorch's default init, from our own generator
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        with torch.no_grad():  # start flat: the first fit defines the function
            self.linear.weight.zero_()
            self.linear.bias.zero_()
            if depth > 0:
                self.mlp[-1].weight.mul_(0.1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.linear(z)
        if len(self.mlp):
            h = z
            if self.features is not None:
                proj = z @ self.features.T
                h = torch.cat([z, torch.sin(proj), torch.cos(proj)], dim=1)
            out = out + self.mlp(h)
        return out.squeeze(1)


class Surrogate:
    """Online local surrogate of a loss; see the module docstring.

    Args:
        dim: number of parameters ``d``.
        width, depth, activation: the MLP (``depth`` hidden layers of ``width``).
        n_features, feature_scale: random Fourier encoding (0 features = none).
        lr, weight_decay: Adam on ``phi``.
        buffer_size: samples kept (oldest are overwritten).
        locality: distance weighting; a sample at ``x`` gets weight
            ``exp(-0.5 * max(r2 - 1, 0) / locality^2)`` with ``r2 = |x - c|^2 / (scale^2 d)``,
            so fresh samples (``r2 ~ 1``) weigh 1; ``0`` disables weighting.
        log_targets: fit ``log(y - min(y) + eps)`` instead of ``y``.
        generator: seeded ``torch.Generator`` (CPU) for the weight init and features.
        device: torch device for the network and the buffer.
    """

    def __init__(
        self,
        dim: int,
        *,
        width: int = 64,
        depth: int = 3,
        activation: str = "leaky_relu",
        n_features: int = 0,
        feature_scale: float = 1.0,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        buffer_size: int = 64,
        locality: float = 1.0,
        log_targets: bool = False,
        generator: torch.Generator,
        device: torch.device,
    ) -> None:
        self.dim = dim
        self.device = device
        self.locality = locality
        self.log_targets = log_targets
        self.net = SurrogateNet(
            dim, width, depth, activation, n_features, feature_scale, generator, device
        )
        self.opt = torch.optim.Adam(
            self.net.parameters(), lr=lr, weight_decay=weight_decay, fused=True
        )
        self.X = torch.zeros(buffer_size, dim, dtype=torch.float32, device=device)
        self.y = torch.zeros(buffer_size, dtype=torch.float64, device=device)
        self.size = 0  # filled rows
        self.head = 0  # next row to overwrite
        self.y_mean = 0.0
        self.y_std = 1.0
        self.y_min = 0.0
        self.centre = torch.zeros(dim, dtype=torch.float32, device=device)
        self.scale = 1.0

    # ------------------------------------------------------------------ data
    def add(self, X: np.ndarray, y: np.ndarray) -> None:
        """Append samples ``X (n, d)`` with losses ``y (n,)`` to the ring buffer."""
        n, cap = X.shape[0], self.X.shape[0]
        if n >= cap:
            X, y, n = X[-cap:], y[-cap:], cap
        idx = (self.head + torch.arange(n)) % cap
        self.X[idx] = torch.as_tensor(X, dtype=torch.float32).to(self.device)
        self.y[idx] = torch.as_tensor(y, dtype=torch.float64).to(self.device)
        self.head = (self.head + n) % cap
        self.size = min(self.size + n, cap)

    def _normalise(self, centre: np.ndarray, scale: float) -> tuple[torch.Tensor, ...]:
        """Inputs ``z (m, d)``, standardised targets ``t (m,)`` and weights ``w (m,)``."""
        self.centre = torch.as_tensor(centre, dtype=torch.float32).to(self.device)
        self.scale = float(scale)
        z = (self.X[: self.size] - self.centre) / self.scale
        y = self.y[: self.size]
        if self.log_targets:
            self.y_min = float(y.min())
            eps = 1e-3 * float(y.std()) if self.size > 1 else 1e-3
            self.y_min -= eps + 1e-12
            y = torch.log(y - self.y_min)
        if self.locality > 0:
            r2 = z.square().sum(1) / self.dim
            w = torch.exp(-0.5 * torch.clamp(r2 - 1.0, min=0.0) / self.locality**2)
        else:
            w = torch.ones(self.size, device=self.device)
        w = w / w.sum()
        self.y_mean = float((w * y).sum())
        var = float((w * (y - self.y_mean) ** 2).sum())
        self.y_std = math.sqrt(var) if var > 1e-24 else 1.0
        t = ((y - self.y_mean) / self.y_std).float()
        return z, t, w.float()

    # ------------------------------------------------------------------- fit
    def fit(self, centre: np.ndarray, scale: float, steps: int) -> float:
        """Take ``steps`` Adam steps on ``phi`` over the whole buffer.

        Args:
            centre: shape ``(d,)``; the inputs are expressed relative to it.
            scale: the input scale (sigma).
            steps: number of full-batch steps (``k_phi``).

        Returns:
            The weighted fit error before the last step, as a fraction of the target variance
            (``1 - R^2``; 0 is a perfect fit, 1 is no better than the mean).
        """
        z, t, w = self._normalise(centre, scale)
        err = float("nan")
        for _ in range(steps):
            self.opt.zero_grad(set_to_none=True)
            loss = (w * (self.net(z) - t).square()).sum()
            loss.backward()
            self.opt.step()
            err = float(loss.detach())
        return err

    @torch.no_grad()
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Surrogate losses at ``X (n, d)`` under the current fit. Shape ``(n,)``."""
        xt = torch.as_tensor(X, dtype=torch.float32).to(self.device)
        h = self.net((xt - self.centre) / self.scale).double().cpu().numpy()
        h = h * self.y_std + self.y_mean
        return np.exp(h) + self.y_min if self.log_targets else h

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Surrogate loss and its gradient at ``x (d,)``, in the units of ``x`` and the loss.

        In log-target mode the value is back-transformed and the gradient is chained through
        ``exp``.
        """
        xt = torch.as_tensor(x, dtype=torch.float32).to(self.device)
        z = ((xt - self.centre) / self.scale).unsqueeze(0).requires_grad_(True)
        h = self.net(z).sum()
        (gz,) = torch.autograd.grad(h, z)
        val = float(h.detach()) * self.y_std + self.y_mean
        grad = gz[0].double().cpu().numpy() * (self.y_std / self.scale)
        if self.log_targets:
            ex = math.exp(val)
            val, grad = ex + self.y_min, grad * ex
        return val, grad

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser and buffer, as numpy arrays / scalars (no pickled code)."""
        return {
            "net": {k: v.detach().cpu().numpy().copy() for k, v in self.net.state_dict().items()},
            "opt": optimizer_state_to_numpy(self.opt.state_dict()),
            "X": self.X[: self.X.shape[0]].cpu().numpy().copy(),
            "y": self.y.cpu().numpy().copy(),
            "size": self.size,
            "head": self.head,
            "fit": [
                self.centre.cpu().numpy().copy(),
                self.scale,
                self.y_mean,
                self.y_std,
                self.y_min,
            ],  # fmt: skip
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict({k: torch.as_tensor(v) for k, v in state["net"].items()})
        self.opt.load_state_dict(optimizer_state_from_numpy(state["opt"]))
        self.X.copy_(torch.as_tensor(state["X"]))
        self.y.copy_(torch.as_tensor(state["y"]))
        self.size, self.head = int(state["size"]), int(state["head"])
        centre, self.scale, self.y_mean, self.y_std, self.y_min = state["fit"]
        self.centre = torch.as_tensor(centre, dtype=torch.float32).to(self.device)
