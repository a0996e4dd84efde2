"""Faults a run meets: SIGTERM from a scheduler, a loss that is never finite, a loss of the
wrong shape found on the first batch."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from zg_control.app.cli import main

SLIDER = """<mujoco><option timestep="0.01"/>
  <worldbody><body><joint name="x" type="slide" axis="1 0 0"/>
    <geom type="sphere" size="0.1" mass="1"/></body></worldbody>
  <actuator><motor joint="x" ctrlrange="-1 1"/></actuator></mujoco>"""
LOSSES = """import time
import numpy as np

def slow(traj):  # 50 ms per batch: the run lasts long enough to be sent a signal
    time.sleep(0.05)
    return np.abs(traj.qpos[:, -1, 0] - 0.5)

def nan(traj):
    return np.full(traj.n, np.nan)

def wide(traj):
    return np.zeros((traj.n, 2))
"""


@pytest.fixture
def model(tmp_path):
    (tmp_path / "slider.xml").write_text(SLIDER)
    (tmp_path / "losses.py").write_text(LOSSES)
    return lambda loss: [
        "optimize", str(tmp_path / "slider.xml"), "--loss", f"{tmp_path}/losses.py:{loss}",
        "--horizon", "10", "--no-render",
    ]  # fmt: skip


def rows(run_dir):
    """``history.csv`` without the timing columns."""
    with open(run_dir / "history.csv") as f:
        timing = ("time", "evals_per_s")
        return [{k: v for k, v in r.items() if k not in timing} for r in csv.DictReader(f)]


def status(run_dir):
    try:
        return json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return {}


@pytest.mark.slow
def test_sigterm_checkpoints_exits_143_and_resumes_exactly(tmp_path, model):
    out, ref = tmp_path / "term", tmp_path / "ref"
    args = [*model("slow"), "-m", "sa", "--budget", "480", "--checkpoint-every", "2", "-q"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MUJOCO_GL="egl")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zg_control", *args, "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and status(out).get("n_evals", 0) < 48:
        time.sleep(0.02)  # run.json counts the episodes of every checkpoint while it runs
    assert status(out)["status"] == "running"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "SIGTERM: finishing this iteration, then writing a checkpoint" in err
    hint = f"interrupted by SIGTERM; a checkpoint is kept, continue with: zg-control resume {out}"
    assert hint in err
    assert "Traceback" not in err
    info = status(out)
    assert info["status"] == "interrupted" and not (out / "summary.json").exists()
    assert info["n_evals"] == 16 * info["checkpoint_iteration"] == 16 * len(rows(out)) < 464
    assert main(["resume", str(out), "-q"]) == 0
    assert main([*args, "--out", str(ref)]) == 0
    assert rows(out) == rows(ref) and len(rows(ref)) == 29
    with np.load(out / "best.npz") as a, np.load(ref / "best.npz") as b:
        assert all(np.array_equal(a[k], b[k]) for k in b.files) and a.files == b.files
    assert status(out)["status"] == "completed" and status(out)["n_evals"] == 464


def test_a_loss_that_is_never_finite_says_so(tmp_path, model, capsys):
    out = tmp_path / "nan"
    assert main([*model("nan"), "-m", "sa", "--budget", "64", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "no finite loss in 49 evaluations (each NaN/inf or diverged); usually" in err
    assert "done: no finite loss after 49 episodes" in err and "best loss" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_finite"] == 0 and summary["best_loss"] == 1000.0  # the diverged stand-in
    assert [int(r["n_finite"]) for r in rows(out)] == [0, 0, 0]


def test_a_loss_of_the_wrong_shape_leaves_an_empty_out_dir_empty(tmp_path, model, capsys):
    out = tmp_path / "given"
    out.mkdir()
    assert main([*model("wide"), "--budget", "64", "--out", str(out), "-q"]) == 2
    assert "error: loss_fn must return shape (17,), got (17, 2)" in capsys.readouterr().err
    assert out.is_dir() and not any(out.iterdir())
