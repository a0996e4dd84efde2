"""Checkpoint files: exact round trip, every optimizer resumes identically, atomic writes, and
corrupt / foreign / pickled files rejected with a clear ValueError (never unpickled)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from helpers import iterate, same_run

import zg_control as zg
from zg_control.app import checkpoint
from zg_control.functions import sphere


def test_round_trip_is_exact(tmp_path):
    state = {
        "ints": {0: {"step": np.float32(3.0)}, 7: [1, 2]},  # torch-style int keys
        "__dunder__": "kept",
        "pcg": 2**127 + 12345,  # PCG64 state: a 128-bit python int
        "floats": [0.1, float("inf"), -float("inf"), float("nan"), -0.0],
        "flags": (True, False, None),
        "arrays": {
            "f64": np.linspace(0, 1, 7),
            "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
            "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
            "u8": np.arange(5, dtype=np.uint8),
            "empty": np.zeros((0, 3)),
        },
        "scalars": [np.int64(-4), np.float64(2.5), np.bool_(True)],
        "text": "naïve ✓",
    }
    path = checkpoint.save(tmp_path / "c.npz", state, kind="test")
    got = checkpoint.load(path, kind="test")
    assert list(got) == list(state)  # key order kept
    assert got["ints"] == {0: {"step": np.float32(3.0)}, 7: [1, 2]}
    assert type(got["ints"][0]["step"]) is np.float32
    assert got["__dunder__"] == "kept" and got["pcg"] == 2**127 + 12345
    np.testing.assert_array_equal(got["floats"], state["floats"])
    assert np.signbit(got["floats"][4]) and got["flags"] == (True, False, None)
    for key, arr in state["arrays"].items():
        assert got["arrays"][key].dtype == arr.dtype and got["arrays"][key].shape == arr.shape
        np.testing.assert_array_equal(got["arrays"][key], arr)
    assert got["arrays"]["fortran"].flags.f_contiguous
    assert [type(v) for v in got["scalars"]] == [np.int64, np.float64, np.bool_]
    assert got["text"] == "naïve ✓"
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind


@pytest.mark.parametrize("method", sorted(zg.OPTIMIZERS))
def test_every_optimizer_resumes_bit_identically(tmp_path, method):
    x0 = np.full(6, 0.5)

    a = zg.make_optimizer(method, x0, seed=3)
    iterate(a, sphere, 3)
    checkpoint.save(tmp_path / "opt.npz", {"optimizer": a.state_dict()}, kind="run")
    want_X, got_X = [], []
    want_rec = iterate(a, sphere, 3, want_X)
    b = zg.make_optimizer(method, x0, seed=3)
    b.load_state_dict(checkpoint.load(tmp_path / "opt.npz", kind="run")["optimizer"])
    got_rec = iterate(b, sphere, 3, got_X)
    assert same_run((got_rec, got_X), (want_rec, want_X))


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = checkpoint.save(tmp_path / "c.npz", {"v": 1})

    def crash(f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        checkpoint.atomic_write(path, crash)
    assert checkpoint.load(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_unsupported_values_are_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot checkpoint a set"):
        checkpoint.save(tmp_path / "c.npz", {"s": {1, 2}})
    with pytest.raises(ValueError, match="object arrays"):
        checkpoint.save(tmp_path / "c.npz", {"a": np.array([None, 1], dtype=object)})
    assert not (tmp_path / "c.npz").exists()


class _Evil:
    """Unpickling this would create a file: the loader must never do it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_bad_files_give_one_clear_value_error(tmp_path):
    good = checkpoint.save(tmp_path / "good.npz", {"v": np.arange(3)}, kind="run")
    marker = tmp_path / "pwned"
    cases = {
        "missing.npz": (None, "does not exist"),
        "garbage.npz": (b"not a checkpoint at all", "not an .npz checkpoint"),
        "pickle.npz": (pickle.dumps(_Evil(marker)), "not an .npz checkpoint"),
        "truncated.npz": (good.read_bytes()[:200], "corrupt"),
    }
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message) as err:
            checkpoint.load(tmp_path / name, kind="run")
        assert name in str(err.value)
    assert not marker.exists()
    np.savez(tmp_path / "foreign.npz", weights=np.ones(3))
    with pytest.raises(ValueError, match="not a zg_control checkpoint"):
        checkpoint.load(tmp_path / "foreign.npz", kind="run")
    np.save(tmp_path / "bare.npy", np.ones(3))
    with pytest.raises(ValueError, match="bare .npy"):
        checkpoint.load(tmp_path / "bare.npy", kind="run")
    with pytest.raises(ValueError, match="holds a 'run' checkpoint, not 'state'"):
        checkpoint.load(good, kind="state")
