"""Coercion of option values (CLI strings, TOML/JSON values) to annotated field types."""

from __future__ import annotations

import collections.abc
import json
import types
import typing
from typing import Any

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class _Bad(ValueError):
    """``value`` is not of the type asked for (the caller names the option)."""


def coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` (a string from the CLI, or a parsed TOML/JSON value) as type ``hint``;
    ``ValueError`` naming option ``name`` if it is not one."""
    try:
        return _coerce(value, hint)
    except _Bad:
        raise ValueError(f"option {name}={value!r}: expected {_type_name(hint)}") from None


def coerce_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of ``method`` coerced to the types of its config dataclass's fields;
    ``ValueError`` for unknown methods or options (the effective options, defaults and
    budget-aware ones, are :func:`zg_control.optimizers.resolve_config`'s)."""
    from ..optimizers import OPTIMIZERS, PEERS

    if method in PEERS:
        raise ValueError(
            f"{method!r} is a peer library's method, which the CLI cannot checkpoint; run it "
            "with zg.minimize or experiments/compare.py --methods " + method
        )
    if method not in OPTIMIZERS:
        raise ValueError(
            f"unknown method {method!r}; choose one of {', '.join(OPTIMIZERS)} (zg-control list)"
        )
    hints = typing.get_type_hints(OPTIMIZERS[method][1])
    unknown = sorted(set(options) - set(hints))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for method {method!r}; "
            f"valid: {', '.join(hints)}"
        )
    return {k: coerce(k, v, hints[k]) for k, v in options.items()}


def parse_literal(text: str) -> Any:
    """A CLI value of unknown type: JSON if it parses (``3``, ``true``, ``[1, 2]``), else str."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _type_name(hint: Any) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if _is_union(hint):
        return " or ".join(_type_name(a) for a in args)
    if typing.get_origin(hint) is collections.abc.Callable:
        return "a callable"
    return getattr(hint, "__name__", str(hint))


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _coerce(value: Any, hint: Any) -> Any:
    if _is_union(hint):
        return _union(value, hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return _tuple(value, typing.get_args(hint)[0])
    if origin is dict:
        return _dict(value)
    if origin is collections.abc.Callable:  # e.g. a schedule: only from Python, as is
        if not callable(value):
            raise _Bad
        return value
    convert = _SCALARS.get(hint)
    return value if convert is None else convert(value)


def _union(value: Any, hint: Any) -> Any:
    args = typing.get_args(hint)
    if type(None) in args and (value is None or _is_none_text(value)):
        return None
    inner = [a for a in args if a is not type(None)]
    if len(inner) == 1:
        return _coerce(value, inner[0])
    if not isinstance(value, str) and any(type(value) is a for a in inner):
        return value  # already one of them (a TOML/JSON value)
    # a string: the other types first ("true" in ``str | bool`` is the bool), str last
    for kind in sorted(inner, key=lambda a: a is str):
        try:
            return _coerce(value, kind)
        except _Bad:
            continue
    raise _Bad


def _is_none_text(value: Any) -> bool:
    return isinstance(value, str) and value.lower() in ("none", "null")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    raise _Bad


def _int(value: Any) -> int:
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise _Bad from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad
    return value


def _float(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise _Bad from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad
    return float(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad
    return value


_SCALARS = {bool: _bool, int: _int, float: _float, str: _str}


def _tuple(value: Any, item: Any) -> tuple:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise _Bad
    return tuple(_coerce(v.strip() if isinstance(v, str) else v, item) for v in items)


def _dict(value: Any) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _Bad from None
    if not isinstance(value, dict):
        raise _Bad
    return dict(value)
