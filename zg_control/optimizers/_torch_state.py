"""A ``torch.optim`` optimizer's state as numpy arrays and plain values, and back.

Optimizer checkpoints hold no tensors, so they can be saved without pickling code
(see :mod:`zg_control.app.checkpoint`).
"""

from __future__ import annotations

from typing import Any

import torch


def optimizer_state_to_numpy(state_dict: dict[str, Any]) -> dict[str, Any]:
    """``torch.optim.Optimizer.state_dict()`` -> the same tree with numpy arrays for tensors and
    string keys for the per-parameter ``state`` (so it is JSON-shaped)."""
    out = _to_numpy(state_dict)
    out["state"] = {str(k): v for k, v in out["state"].items()}
    return out


def optimizer_state_from_numpy(state: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`optimizer_state_to_numpy`, ready for ``load_state_dict``."""
    out = _from_numpy(state)
    out["state"] = {int(k): v for k, v in out["state"].items()}
    return out


def _to_numpy(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return {"__tensor__": obj.detach().cpu().numpy().copy()}
    if isinstance(obj, dict):
        return {k: _to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_numpy(v) for v in obj]
    return obj


def _from_numpy(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return torch.as_tensor(obj["__tensor__"])
        return {k: _from_numpy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_numpy(v) for v in obj]
    return obj
