"""Shared helpers of the experiment scripts: a dataclass of arguments turned into a CLI.

    @dataclasses.dataclass
    class Args:
        seeds: tuple[int, ...] = arg((0, 1, 2), "seeds of every run")
        quick: bool = arg(False, "tiny budgets (tests)")

    def main(argv=None):
        args = parse_args(Args, argv, "what the script does")  # --seeds 0 1 --quick; --help

    if __name__ == "__main__":
        cli(main)

``cli`` ends a script whose arguments or options are bad with one line on stderr (the
library's ``ValueError`` message) instead of a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shlex
import sys
from collections.abc import Callable
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


def arg(default: Any, help: str) -> Any:
    """A field of an ``Args`` dataclass with its ``--help`` text."""
    return dataclasses.field(default=default, metadata={"help": help})


def parse_args(cls: type[T], argv: list[str] | None = None, description: str = "") -> T:
    """Build ``cls`` (a dataclass with defaults) from command-line arguments ``--<field>``."""
    parser = argparse.ArgumentParser(description=description)
    for f in dataclasses.fields(cls):
        help_text = f.metadata.get("help", "")
        if not (f.default is None or f.default is False or f.default == ""):  # said in the text
            shown = " ".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
            help_text += f" (default: {shown})"
        parser.add_argument(f"--{f.name}", default=f.default, help=help_text, **_parser_kwargs(f))
    values = vars(parser.parse_args(argv))
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that runs ``experiments/<script>`` with ``argv`` (``None``: this process's
    arguments), as the result files name it."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", f"experiments/{script}", *args])


def cli(main: Callable[[], Any]) -> None:
    """Run a script's ``main()``. A ``ValueError`` (what the library raises for a bad task,
    method or option; also invalid JSON) ends the script with its message and exit status 2."""
    try:
        main()
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
