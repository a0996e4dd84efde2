"""The effective configuration of a run, and the problem it builds.

:class:`RunConfig` is what ``config.json`` of a run directory holds. Values come from Python, a
config file (TOML, JSON, or YAML when PyYAML is installed) or ``key=value`` strings of the CLI;
all are coerced to the annotated field types (and method options to the types of the method's
config dataclass), so ``--opt sigma=0.05 --opt antithetic=false`` and ``sigma = 0.05`` in a
TOML file mean the same. Every problem is a name plus options: an env id or MJCF path (+ loss
``"module:function"`` or ``"file.py:function"``) for :func:`zg_control.objective.make_objective`,
or an analytic function of :mod:`zg_control.functions`.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import typing
from pathlib import Path
from typing import Any

import numpy as np

from .coerce import coerce, parse_literal

__all__ = [
    "Problem", "RunConfig", "build_problem", "coerce", "load_callable", "parse_literal",
    "read_config_file",
]  # fmt: skip


@dataclasses.dataclass
class RunConfig:
    """Everything that defines a run (see the module docstring); ``options`` are the method's.

    Exactly one of ``env`` (env id or MJCF path; a path needs ``loss``) and ``function``.
    ``checkpoint_every`` counts iterations; ``width``/``height`` are the video's pixels.
    """

    env: str | None = None
    function: str | None = None
    dim: int | None = None
    loss: str | None = None
    parameterization: str = "sequence"
    horizon: int | None = None
    n_knots: int | None = None
    interp: str = "cubic"
    hidden: tuple[int, ...] = (32,)
    frame_skip: int | None = None
    env_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    backend: str = "native"
    nthread: int | None = None
    method: str = "zerograds"
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    budget: int = 2000
    seed: int = 0
    device: str | None = None
    checkpoint_every: int = 10
    render: bool = True
    width: int = 480
    height: int = 480

    @property
    def name(self) -> str:
        """Short label, e.g. ``Keyframe-v0`` or ``rosenbrock``."""
        return Path(self.env).stem if self.env and _is_path(self.env) else (
            (self.env or self.function or "run").split("/")[-1]
        )  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        """Build from a mapping; unknown keys or wrong types raise ``ValueError``."""
        hints = typing.get_type_hints(cls)
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: "
                             f"{', '.join(hints)}")  # fmt: skip
        return cls(**{k: coerce(k, v, hints[k]) for k, v in data.items()})

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> RunConfig:
        return cls.from_dict(read_config_file(path), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    def validate(self) -> None:
        """Check names and ranges, coerce ``options`` to the method's field types."""
        from ..optimizers import OPTIMIZERS

        if (self.env is None) == (self.function is None):
            raise ValueError("give exactly one problem: an env id / MJCF path, or a function")
        if self.method not in OPTIMIZERS:
            raise ValueError(f"unknown method {self.method!r}; choose one of "
                             f"{', '.join(OPTIMIZERS)} (zg-control list)")  # fmt: skip
        for key, low in (("budget", 1), ("checkpoint_every", 1), ("width", 16), ("height", 16)):
            if getattr(self, key) < low:
                raise ValueError(f"{key} must be >= {low}, got {getattr(self, key)}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        cfg_cls = OPTIMIZERS[self.method][1]
        hints = typing.get_type_hints(cfg_cls)
        opts = dict(self.options)
        if self.device is not None:
            if "device" in hints:
                opts["device"] = self.device
            elif self.device not in ("cpu", "auto"):
                raise ValueError(f"method {self.method!r} runs on the CPU only; drop --device")
        unknown = sorted(set(opts) - set(hints))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)} for method "
                             f"{self.method!r}; valid: {', '.join(hints)}")  # fmt: skip
        self.options = {k: coerce(k, v, hints[k]) for k, v in opts.items()}
        device = str(self.options.get("device", ""))
        if device.startswith("cuda") and not _cuda():
            raise ValueError(f"device {device!r}: CUDA is not available here; use --device cpu "
                             "or auto")  # fmt: skip
        if self.env is not None and _is_path(self.env):
            self.env = os.path.abspath(self.env)
        if self.loss is not None:
            mod, _, fn = self.loss.rpartition(":")
            if mod.endswith(".py") or os.sep in mod:
                self.loss = f"{os.path.abspath(mod)}:{fn}"


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a ``.toml``, ``.json`` or ``.yaml``/``.yml`` file into a dict (``ValueError``)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(path.read_text())
        elif suffix == ".json":
            data = json.loads(path.read_text())
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise ValueError("YAML config files need PyYAML: pip install pyyaml") from None
            data = yaml.safe_load(path.read_text())
        else:
            raise ValueError(f"config file {path} must end in .toml, .json, .yaml or .yml")
    except ValueError as err:
        if "config file" in str(err) or "PyYAML" in str(err):
            raise
        raise ValueError(f"config file {path} is malformed: {err}") from None
    except Exception as err:  # noqa: BLE001 - e.g. yaml.YAMLError, UnicodeDecodeError
        raise ValueError(f"config file {path} is malformed: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a table of key = value settings")
    return data


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _is_path(env: str) -> bool:
    return env.endswith((".xml", ".mjb")) or os.path.isfile(env)


def load_callable(spec: str) -> Any:
    """``"package.module:function"`` or ``"path/to/file.py:function"`` -> the function."""
    mod_name, sep, attr = spec.rpartition(":")
    if not sep or not mod_name or not attr:
        raise ValueError(f"loss {spec!r} must look like 'module:function' or 'file.py:function'")
    try:
        if mod_name.endswith(".py") or os.sep in mod_name:
            if not os.path.isfile(mod_name):
                raise ValueError(f"loss file {mod_name} does not exist")
            module_spec = importlib.util.spec_from_file_location(Path(mod_name).stem, mod_name)
            module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
            module_spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(mod_name)
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - user code: report, don't crash
        raise ValueError(f"could not import loss module {mod_name!r}: {err}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"loss {spec!r}: {mod_name} has no function {attr!r}")
    return fn


class Problem:
    """The batched loss ``fn: (n, d) -> (n,)`` of a run, its ``x0 (d,)`` and ``bounds``, and for
    env runs the :class:`~zg_control.objective.Objective` (``objective``; else ``None``)."""

    def __init__(self, fn: Any, x0: np.ndarray, bounds: Any, objective: Any = None):
        self.fn, self.x0, self.bounds, self.objective = fn, np.asarray(x0, float), bounds, objective

    def decode(self, x: np.ndarray) -> np.ndarray | None:
        """Open-loop controls ``(T, nu)`` of ``x (d,)``, or ``None`` (policy, function)."""
        obj = self.objective
        if obj is None or obj.parameterization.closed_loop:
            return None
        return obj.decode(x)

    def controls(self, x: np.ndarray) -> np.ndarray | None:
        """Controls ``(T, nu)`` that ``x`` applies (a policy's from one episode), or ``None``."""
        obj = self.objective
        if obj is not None and obj.parameterization.closed_loop:
            return obj.rollout(x).ctrl[0]
        return self.decode(x)

    def state_dict(self) -> dict[str, Any]:
        param = getattr(self.objective, "parameterization", None)
        sd = getattr(param, "state_dict", None)
        return {"parameterization": sd() if sd else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("parameterization") is not None:
            self.objective.parameterization.load_state_dict(state["parameterization"])

    def close(self) -> None:
        if self.objective is not None:
            self.objective.close()


def build_problem(config: RunConfig) -> Problem:
    """The problem of ``config`` (``ValueError`` for unknown envs, functions, options)."""
    if config.function is not None:
        from ..functions import get_function

        fn, x0 = get_function(config.function, config.dim)
        return Problem(fn, x0, None)
    from ..sim.objective import make_objective

    loss_fn = load_callable(config.loss) if config.loss else None
    objective = make_objective(
        config.env, parameterization=config.parameterization, backend=config.backend,
        horizon=config.horizon, n_knots=config.n_knots, interp=config.interp,
        hidden=tuple(config.hidden), loss_fn=loss_fn, frame_skip=config.frame_skip,
        nthread=config.nthread, seed=config.seed, **config.env_options,
    )  # fmt: skip
    return Problem(objective, objective.x0, objective.bounds, objective)
