"""A batched numpy black box as a differentiable torch op (Fischer & Ritschel 2024).

Forward runs the black box at each row ``y`` and at local samples around it, learns the
surrogate ``h(y, context)`` online from a buffer of recent rows, and returns the black box's
true losses; backward hands on the surrogate's gradient at ``y``, so it flows into whatever
network produced ``y``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..optimizers.zerograds.mlp import resolve_device
from ..optimizers.zerograds.step import SigmaScale, is_flat
from ..optimizers.zerograds.threads import torch_threads
from .config import BlackBoxConfig
from .surrogate import ContextSurrogate

BlackBoxFn = Callable[[np.ndarray, "np.ndarray | None"], Any]
"""``fn(Y (n, dim), C (n, context_dim) or None) -> losses (n,)``, float64 numpy in and out."""


class _SurrogateGradient(torch.autograd.Function):
    """Returns the losses computed by the forward; backward scales the surrogate gradients
    ``gy (B, dim)`` and ``gc (B, context_dim)`` (or ``None``) by the incoming ``(B,)``."""

    @staticmethod
    def forward(ctx, y, context, losses, gy, gc):
        ctx.save_for_backward(gy, gc)
        return torch.as_tensor(losses, dtype=y.dtype, device=y.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        gy, gc = ctx.saved_tensors
        grad_c = g[:, None] * gc if gc is not None and ctx.needs_input_grad[1] else None
        return g[:, None] * gy, grad_c, None, None, None


class BlackBox(nn.Module):
    """``fn`` as a torch op whose gradient is a learnt surrogate's (ZeroGrads).

    ``loss = bb(y, context)`` with ``y (B, dim)`` and ``context (B, context_dim)`` (only when
    ``context_dim > 0``), float32 or float64 on any device, returns ``fn``'s losses at ``y``,
    shape ``(B,)``, in ``y``'s dtype and device. When a gradient is wanted (grad mode on and
    ``y`` requires grad, or the context with ``grad_context``), each forward also evaluates
    ``n_samples`` local samples per row (``y +/- sigma e``), adds all rows to the buffer, fits
    the surrogate and takes its gradient at ``y`` (saved for backward). Otherwise (e.g. under
    ``torch.no_grad()``) only ``fn(y)`` is called and the surrogate is untouched.

    The surrogate's weights are not parameters of this module (an optimiser over a model that
    holds a ``BlackBox`` never steps them, and ``.to()`` does not move them: the option
    ``device`` places the surrogate); its whole state (network, Adam, buffer, RNG, ``n_evals``)
    is the module's extra state, in ``state_dict()``.

    Args:
        fn: the batched black box ``fn(Y (n, dim), C (n, context_dim) | None) -> (n,)``;
            non-finite losses are returned as they are and kept out of the buffer.
        dim: width of ``y``. context_dim: width of the context (0: no context).
        seed: seeds the surrogate's initialisation, the samples and the minibatches.
        **options: fields of :class:`BlackBoxConfig`.

    Attributes:
        n_evals: rows ``fn`` has evaluated (every call, every row).
        sigma: the sigma of the next forward (``config.sigma`` times the plateau factor).
        fit_error: the surrogate's error on its last minibatch as a fraction of the target
            variance (``1 - R^2``; NaN before the first fit).
    """

    def __init__(
        self, fn: BlackBoxFn, dim: int, context_dim: int = 0, seed: int = 0, **options: Any
    ) -> None:
        super().__init__()
        if not callable(fn):
            raise ValueError(f"fn must be callable (Y, C) -> losses, got {type(fn).__name__}")
        for name, value, least in (("dim", dim, 1), ("context_dim", context_dim, 0)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        if not isinstance(seed, numbers.Integral):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.fn, self.dim, self.context_dim = fn, int(dim), int(context_dim)
        self.config = BlackBoxConfig.from_options(options)
        self.surrogate_device = resolve_device(self.config.device)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.surrogate = ContextSurrogate(
            self.dim, self.context_dim, self.config, self.generator, self.surrogate_device
        )
        self.n_evals = 0
        self.fit_error = float("nan")
        self.plateau = SigmaScale()

    @property
    def sigma(self) -> float:
        """The sigma of the next forward: ``config.sigma`` times the plateau factor (1 with
        ``adapt=False``)."""
        return self.config.sigma * self.plateau.value

    def forward(self, y: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """``fn``'s losses at the rows of ``y (B, dim)`` (with ``context (B, context_dim)``).
        Shape ``(B,)``; backward gives the surrogate's gradient; see the class docstring."""
        _check_tensor("y", y, self.dim)
        if (context is None) != (self.context_dim == 0):
            want = f"a context of shape (B, {self.context_dim})" if self.context_dim else "none"
            got = "none" if context is None else f"shape {tuple(context.shape)}"
            raise ValueError(f"BlackBox(context_dim={self.context_dim}) takes {want}, got {got}")
        if context is not None:
            _check_tensor("context", context, self.context_dim, len(y))
        Y = y.detach().to("cpu", torch.float64).numpy()
        C = None if context is None else context.detach().to("cpu", torch.float64).numpy()
        if not self._wants_grad(y, context):
            return torch.as_tensor(self._call(Y, C), dtype=y.dtype, device=y.device)
        losses, G = self._sample_and_fit(Y, C)
        G = G.to(device=y.device, dtype=y.dtype)
        gc = G[:, self.dim :] if context is not None and self.config.grad_context else None
        return _SurrogateGradient.apply(y, context, losses, G[:, : self.dim], gc)

    def _wants_grad(self, y: torch.Tensor, context: torch.Tensor | None) -> bool:
        ctx_grad = context is not None and self.config.grad_context and context.requires_grad
        return torch.is_grad_enabled() and (y.requires_grad or ctx_grad)

    def _sample_and_fit(self, Y: np.ndarray, C: np.ndarray | None) -> tuple[np.ndarray, Any]:
        """Evaluate ``Y (B, dim)`` and its local samples, fit, and take the gradient at the
        rows. Returns the losses at ``Y`` ``(B,)`` and the gradient ``(B, dim + context_dim)``
        (a float32 tensor on the surrogate's device)."""
        cfg, B = self.config, len(Y)
        k = cfg.n_samples // 2 if cfg.antithetic else cfg.n_samples
        E = torch.randn(B, k, self.dim, generator=self.generator, dtype=torch.float64).numpy()
        sigma = self.sigma
        offsets = [sigma * E, -sigma * E] if cfg.antithetic else [sigma * E]
        samples = [(Y[:, None, :] + e).reshape(-1, self.dim) for e in offsets if k]
        rows = np.concatenate([Y, *samples])
        reps = len(rows) // B
        ctx = None if C is None else np.concatenate([C] * reps)
        losses = self._call(rows, ctx)
        if cfg.adapt and k and _every_row_flat(losses, B, len(offsets), k):
            self.plateau.grow()
        X = rows if ctx is None else np.concatenate([rows, ctx], axis=1)
        ok = np.isfinite(losses)
        fresh = self.surrogate.add(X[ok], losses[ok])
        at = torch.as_tensor(X[:B], dtype=torch.float32).to(self.surrogate_device)
        with torch_threads(cfg.num_threads):
            self.fit_error = self.surrogate.fit(fresh)
            return losses[:B], self.surrogate.gradient(at)

    def _call(self, Y: np.ndarray, C: np.ndarray | None) -> np.ndarray:
        """``fn(Y, C)`` checked: shape ``(n,)``, at least one finite value. Counts the rows."""
        out = self.fn(Y, C)
        self.n_evals += len(Y)
        try:
            losses = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"fn must return {len(Y)} numbers, got {type(out).__name__}") from err
        if losses.shape != (len(Y),):
            raise ValueError(
                f"fn returned shape {losses.shape} for {len(Y)} rows; it must return one loss "
                f"per row, shape ({len(Y)},)"
            )
        if not np.isfinite(losses).any():
            raise ValueError(f"fn returned no finite loss for any of its {len(Y)} rows")
        return losses

    def get_extra_state(self) -> dict[str, Any]:
        """Surrogate (network, Adam, buffer, normalisation), RNG and ``n_evals``."""
        return {
            "shape": [self.dim, self.context_dim],
            "surrogate": self.surrogate.state_dict(),
            "generator": self.generator.get_state(),
            "n_evals": self.n_evals,
            "plateau": self.plateau.state_dict(),
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if list(state["shape"]) != [self.dim, self.context_dim]:
            raise ValueError(
                f"state of a BlackBox with (dim, context_dim) = {tuple(state['shape'])} cannot "
                f"load into one with {(self.dim, self.context_dim)}"
            )
        self.surrogate.load_state_dict(state["surrogate"])
        self.generator.set_state(state["generator"])
        self.n_evals = int(state["n_evals"])
        self.plateau.load_state_dict(state["plateau"])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, context_dim={self.context_dim}, n_evals={self.n_evals}"


def _every_row_flat(losses: np.ndarray, B: int, blocks: int, k: int) -> bool:
    """Whether each of the ``B`` rows ties with all its samples: ``losses`` holds the rows'
    ``(B,)``, then ``blocks`` blocks of ``(B, k)`` samples (row-major), as evaluated."""
    samples = losses[B:].reshape(blocks, B, k).transpose(1, 0, 2).reshape(B, -1)
    return all(is_flat(row) for row in np.concatenate([losses[:B, None], samples], axis=1))


def _check_tensor(name: str, t: Any, width: int, rows: int | None = None) -> None:
    """``ValueError`` unless ``t`` is a finite float32/float64 tensor of shape ``(rows, width)``
    (any ``rows >= 1`` when ``None``)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{name} must be float32 or float64, got {t.dtype}; use {name}.float()")
    want = f"({'B' if rows is None else rows}, {width})"
    if t.ndim != 2 or t.shape[1] != width or len(t) == 0 or (rows is not None and len(t) != rows):
        raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf")
