"""Atomic, pickle-free checkpoints of nested state (optimizer ``state_dict`` + run state).

A checkpoint is one ``.npz`` file: every numpy array (and numpy scalar) of the state tree is an
entry of its own, and the tree itself — dicts, lists, tuples, str, int (any size, e.g. a PCG64
state), float (NaN/inf too), bool, None — is a JSON document stored as the ``__tree__`` entry,
with arrays replaced by ``{"__array__": key}``. Loading uses ``np.load(allow_pickle=False)`` and
``json.loads`` only, so a checkpoint can never run code; the round trip is exact (dtypes,
Fortran order, dict key order, non-string dict keys such as torch's parameter indices).

Writes are atomic: a temporary file in the same directory, ``fsync``, then ``os.replace``; a
crash leaves either the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "zg_control.checkpoint"
VERSION = 1
_TREE = "__tree__"


# ------------------------------------------------------------------- tree <-> JSON + arrays
def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
        if isinstance(obj, np.ndarray) and obj.dtype == object:
            raise ValueError("cannot checkpoint object arrays (they would need pickle)")
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj) if isinstance(obj, np.ndarray) else np.array(obj)
        return {"__array__": key, "scalar": isinstance(obj, np.generic)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays) for v in obj]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, arrays) for k, v in obj.items()}
        return {"__items__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    raise ValueError(
        f"cannot checkpoint a {type(obj).__name__}; state must hold only numpy arrays, "
        "python scalars, strings, lists, tuples and dicts"
    )


def _decode(obj: Any, arrays: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__array__" in obj:
        arr = arrays[obj["__array__"]]
        return arr[()] if obj.get("scalar") else arr
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in obj["__items__"]}
    return {k: _decode(v, arrays) for k, v in obj.items()}


def _hashable(key: Any) -> Any:
    return key.item() if isinstance(key, np.generic) else key


# ----------------------------------------------------------------------------- file I/O
def atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> Path:
    """Call ``write(binary_file)`` on a temporary file next to ``path``, then rename it over
    ``path``. Returns ``path``. The temporary file is removed if ``write`` fails."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def save(path: str | os.PathLike, state: dict[str, Any], kind: str = "state") -> Path:
    """Write the nested ``state`` to ``path`` (``.npz``) atomically; ``kind`` tags the content."""
    arrays: dict[str, np.ndarray] = {}
    tree = {"format": FORMAT, "version": VERSION, "kind": kind, "state": _encode(state, arrays)}
    text = json.dumps(tree, allow_nan=True)
    arrays[_TREE] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load(path: str | os.PathLike, kind: str = "state") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save` with the same ``kind``.

    Raises:
        ValueError: the file is missing, corrupt, pickled, or not a zg_control checkpoint of
            this ``kind``; the message names the file and what to do.
    """
    path = Path(path)
    fix = "delete it and start a new run, or point to the right run directory"
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist; {fix}")
    try:
        npz = np.load(path, allow_pickle=False)
    except ValueError:  # numpy would have to unpickle it: never done here
        raise ValueError(
            f"{path} is not an .npz checkpoint (pickled or unknown data); {fix}"
        ) from None
    except Exception as err:  # untrusted bytes; any parse failure means corrupt
        raise ValueError(f"{path} is corrupt or unreadable ({err}); {fix}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a bare .npy array, not a zg_control checkpoint; {fix}")
    try:
        with npz:
            if _TREE not in npz.files:
                raise ValueError("it has no __tree__ entry")
            tree = json.loads(bytes(npz[_TREE]).decode("utf-8"))
            if not isinstance(tree, dict) or tree.get("format") != FORMAT:
                raise ValueError("its format tag is missing")
            arrays = {k: npz[k] for k in npz.files if k != _TREE}
    except Exception as err:  # untrusted bytes; any parse failure means corrupt
        raise ValueError(
            f"{path} is corrupt or not a zg_control checkpoint ({err}); {fix}"
        ) from None
    if tree.get("version") != VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {tree.get('version')}, this zg_control reads "
            f"version {VERSION}; resume it with the zg_control version that wrote it"
        )
    if tree.get("kind") != kind:
        raise ValueError(f"{path} holds a {tree.get('kind')!r} checkpoint, not {kind!r}; {fix}")
    try:
        return _decode(tree["state"], arrays)
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path} is corrupt (dangling entry {err}); {fix}") from None
