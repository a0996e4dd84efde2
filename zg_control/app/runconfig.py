"""The effective configuration of a run, and the problem it builds.

:class:`RunConfig` is what ``config.json`` of a run directory holds. Values come from Python, a
config file (TOML, JSON, or YAML when PyYAML is installed) or ``key=value`` strings of the CLI;
all are coerced to the annotated field types (and method options to the types of the method's
config dataclass), so ``--opt sigma=0.05 --opt antithetic=false`` and ``sigma = 0.05`` in a
TOML file mean the same. :meth:`RunConfig.validate` pins the method's effective options
(:func:`zg_control.optimizers.resolve_config`, budget-aware defaults included), so a resumed
run rebuilds its optimizer as it was. Every problem is a name plus options: an env id or MJCF
path (+ loss ``"module:function"`` or ``"file.py:function"``) for
:func:`zg_control.sim.objective.make_objective`, or an analytic function of
:mod:`zg_control.functions`; :func:`build_problem` makes it a :class:`~zg_control.problem.Problem`.
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

from ..problem import Problem
from ..sim.model_task import is_model_path
from .coerce import coerce, coerce_options, parse_literal

__all__ = ["RunConfig", "build_problem", "load_callable", "parse_literal", "read_config_file"]


@dataclasses.dataclass
class RunConfig:
    """Everything that defines a run (see the module docstring); ``options`` are the method's.

    Exactly one of ``env`` (env id or MJCF path; a path needs ``loss``) and ``function``.
    ``checkpoint_every`` counts iterations; ``width``/``height`` are the video's pixels;
    ``ray_address`` (``backend="ray"`` only): ``ray.init``'s address, ``"auto"``,
    ``"HOST:PORT"`` of a running cluster's head, ``"local"``, or ``None`` (Ray's default).
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
    ray_address: str | None = None
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
        if self.env and is_model_path(self.env):
            return Path(self.env).stem
        return (self.env or self.function or "run").split("/")[-1]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        """Build from a mapping; unknown keys or wrong types raise ``ValueError``."""
        hints = typing.get_type_hints(cls)
        unknown = sorted(set(data) - set(hints))
        if unknown:
            raise ValueError(
                f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(hints)}"
            )
        return cls(**{k: coerce(k, v, hints[k]) for k, v in data.items()})

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> RunConfig:
        return cls.from_dict(read_config_file(path), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    def validate(self) -> None:
        """Check names and ranges, make paths absolute and pin ``options`` to the method's
        effective options (every field, coerced; ``--device`` included)."""
        from ..optimizers import resolve_config

        if (self.env is None) == (self.function is None):
            raise ValueError("give exactly one problem: an env id / MJCF path, or a function")
        for key, low in (("budget", 1), ("checkpoint_every", 1), ("width", 16), ("height", 16)):
            if getattr(self, key) < low:
                raise ValueError(f"{key} must be >= {low}, got {getattr(self, key)}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.ray_address is not None and self.backend != "ray":
            raise ValueError(
                f"ray_address={self.ray_address!r} needs the Ray backend: add --backend ray "
                "(backend = 'ray'), or drop --ray-address"
            )
        cfg = resolve_config(self.method, self._method_options(), self.budget)
        self.options = dataclasses.asdict(cfg)
        if self.env is not None and is_model_path(self.env):
            self.env = os.path.abspath(self.env)
        if self.loss is not None:
            mod, _, fn = self.loss.rpartition(":")
            if mod.endswith(".py") or os.sep in mod:
                self.loss = f"{os.path.abspath(mod)}:{fn}"

    def _method_options(self) -> dict[str, Any]:
        """``options`` coerced to the method's field types, plus ``device`` from ``--device``."""
        from ..optimizers import OPTIMIZERS

        options = coerce_options(self.method, self.options)
        if self.device is not None:
            if "device" in {f.name for f in dataclasses.fields(OPTIMIZERS[self.method][1])}:
                options["device"] = self.device
            elif self.device not in ("cpu", "auto"):
                raise ValueError(f"method {self.method!r} runs on the CPU only; drop --device")
        device = str(options.get("device", ""))
        if device.startswith("cuda") and not _cuda():
            raise ValueError(
                f"device {device!r}: CUDA is not available here; use --device cpu or auto"
            )
        return options


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
    except Exception as err:  # e.g. yaml.YAMLError, UnicodeDecodeError
        raise ValueError(f"config file {path} is malformed: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a table of key = value settings")
    return data


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


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
    except Exception as err:  # user code: report, don't crash
        raise ValueError(f"could not import loss module {mod_name!r}: {err}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"loss {spec!r}: {mod_name} has no function {attr!r}")
    return fn


def build_problem(config: RunConfig) -> Problem:
    """The problem of ``config`` (``ValueError`` for unknown envs, functions, options): an
    analytic function, or the env's :class:`~zg_control.sim.objective.Objective`."""
    if config.function is not None:
        from ..functions import get_function

        return Problem(*get_function(config.function, config.dim))
    from ..sim.objective import make_objective

    loss_fn = load_callable(config.loss) if config.loss else None
    return make_objective(
        config.env,
        parameterization=config.parameterization,
        backend=config.backend,
        horizon=config.horizon,
        n_knots=config.n_knots,
        interp=config.interp,
        hidden=tuple(config.hidden),
        loss_fn=loss_fn,
        frame_skip=config.frame_skip,
        nthread=config.nthread,
        seed=config.seed,
        backend_options={"address": config.ray_address} if config.backend == "ray" else None,
        **config.env_options,
    )
