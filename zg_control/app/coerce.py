"""Coercion of option values (CLI strings, TOML/JSON values) to annotated field types."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` (a string from the CLI, or a parsed TOML/JSON value) as type ``hint``."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return coerce(name, value, inner[0])
        if not isinstance(value, str) and any(type(value) is a for a in inner):
            return value  # already one of them (a TOML/JSON value)
        # a string: the other types first ("true" in ``str | bool`` is the bool), str last
        for kind in sorted(inner, key=lambda a: a is str):
            try:
                return coerce(name, value, kind)
            except ValueError:
                continue
        names = " or ".join(getattr(a, "__name__", str(a)) for a in inner)
        raise ValueError(f"option {name}={value!r}: expected {names}")
    bad = ValueError(f"option {name}={value!r}: expected {getattr(hint, '__name__', hint)}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
        raise bad
    if hint is int:
        if isinstance(value, str):
            try:
                value = float(value) if any(c in value for c in ".eE") else int(value)
            except ValueError:
                raise bad from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if hint is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise bad from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad
        return value
    origin = typing.get_origin(hint)
    if origin is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise bad
        return tuple(coerce(name, v.strip() if isinstance(v, str) else v, args[0]) for v in items)
    if origin is dict:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise bad from None
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    return value


def parse_literal(text: str) -> Any:
    """A CLI value of unknown type: JSON if it parses (``3``, ``true``, ``[1, 2]``), else str."""
    try:
        return json.loads(text)
    except ValueError:
        return text
