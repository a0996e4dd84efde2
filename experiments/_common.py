"""Shared helpers of the experiment scripts: a dataclass of arguments turned into a CLI."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path
from typing import Any, TypeVar

RESULTS = Path(__file__).resolve().parent / "results"
_SCALARS = {"int": int, "float": float, "str": str}
T = TypeVar("T")


def _parser_kwargs(field: dataclasses.Field) -> dict[str, Any]:
    """argparse options for one field, from its annotation (a string under postponed
    evaluation): ``bool`` -> ``--x/--no-x``; ``tuple[int, ...]`` -> ``nargs="+"`` of ints;
    ``int | None`` -> int (default ``None``)."""
    kind = str(field.type).replace(" ", "")
    if kind == "bool":
        return {"action": argparse.BooleanOptionalAction}
    if kind.startswith(("tuple[", "list[")):
        inner = re.match(r"\w+\[(\w+)", kind).group(1)
        return {"nargs": "+", "type": _SCALARS[inner]}
    scalar = kind.split("|")[0]
    if scalar not in _SCALARS:
        raise ValueError(f"field {field.name}: unsupported annotation {field.type!r}")
    return {"type": _SCALARS[scalar]}


def parse_args(cls: type[T], argv: list[str] | None = None, description: str = "") -> T:
    """Build ``cls`` (a dataclass with defaults) from command-line arguments ``--<field>``."""
    parser = argparse.ArgumentParser(description=description)
    for f in dataclasses.fields(cls):
        parser.add_argument(f"--{f.name}", default=f.default, **_parser_kwargs(f))
    values = vars(parser.parse_args(argv))
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
