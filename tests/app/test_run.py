"""Runs end to end: the files of a run directory, exact resume (after --stop-after, Ctrl-C, or
with a larger budget), and parity with zg.minimize."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import imageio.v2 as imageio
import numpy as np
import pytest

import zg_control as zg
from zg_control.app.cli import main
from zg_control.app.run import RunConfig, start_run
from zg_control.functions import get_function
from zg_control.optimizers import resolve_config
from zg_control.sim.objective import make_objective

KEYFRAME = ["optimize", "zg_control/Keyframe-v0", "-p", "spline", "--n-knots", "4", "-q"]
TIMING = ("evals_per_s", "time")  # the only columns allowed to differ across a resume


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, MUJOCO_GL="egl", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "zg_control", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def rows(run_dir, timing=False):
    with open(run_dir / "history.csv") as f:
        return [
            {k: v for k, v in r.items() if timing or k not in TIMING} for r in csv.DictReader(f)
        ]


def same_best(a, b):
    with np.load(a / "best.npz") as x, np.load(b / "best.npz") as y:
        assert x.files == y.files
        for key in x.files:
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


@pytest.mark.slow
def test_optimize_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    args = ["zg_control/Keyframe-v0", "-p", "spline", "--n-knots", "6", "--budget", "160"]
    proc = cli(
        "optimize", *args, "--width", "64", "--height", "48", "--out", str(out), "--opt", "lr=0.05"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "done: best loss" in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == json.loads((out / "run.json").read_text())["status"] == "completed"
    # 16 samples and theta per iteration, one episode kept for the final recommendation: 9.
    hist = rows(out, timing=True)
    assert len(hist) == summary["iterations"] == 9
    assert [int(r["n_evals"]) for r in hist] == [17 * (i + 1) for i in range(9)]
    best = [float(r["best_loss"]) for r in hist]
    assert best == sorted(best, reverse=True) and all(r["sigma"] and r["fit_error"] for r in hist)
    assert summary["n_evals"] == 154 <= 160
    config = RunConfig.from_file(out / "config.json")  # every option pinned, as run
    assert config.options == dataclasses.asdict(resolve_config("zerograds", {"lr": 0.05}))
    assert imageio.imread(out / "loss.png").ndim == 3
    with np.load(out / "best.npz") as npz:
        x, loss, controls = npz["x"], float(npz["loss"]), npz["controls"]
    assert x.shape == (18,) and controls.shape == (75, 3) and loss == summary["best_loss"]
    f = make_objective("zg_control/Keyframe-v0", parameterization="spline", n_knots=6)
    assert f(x[None])[0] == loss  # the saved parameters reproduce the recorded loss exactly
    np.testing.assert_array_equal(f.decode(x), controls)
    f.close()
    if "render_error" in summary:  # no headless GL here: the run still completed and says why
        assert "OpenGL" in summary["render_error"] and "no video" in proc.stderr
        return
    assert summary["gl_backend"] in ("egl", "osmesa") and summary["video_frames"] == 76
    reader = imageio.get_reader(out / summary["files"]["video"])
    assert reader.count_frames() == 76 and reader.get_meta_data()["size"] == (64, 48)
    reader.close()
    assert imageio.imread(out / "strip.png").shape == (24, 6 * 32, 3)
    # `render` replays saved parameters into another directory.
    proc = cli(
        "render", str(out), "--out", str(tmp_path / "again"), "--width", "32", "--height", "32"
    )
    assert proc.returncode == 0, proc.stderr
    assert imageio.get_reader(tmp_path / "again" / "video.mp4").count_frames() == 76


def test_run_is_zg_minimize_plus_files():
    cfg = RunConfig(function="rosenbrock", dim=4, budget=300, seed=2, options={"sigma": 0.2})
    res = start_run(cfg)
    fn, x0 = get_function("rosenbrock", 4)
    ref = zg.minimize(fn, x0, "zerograds", budget=300, seed=2, sigma=0.2)
    np.testing.assert_array_equal(res.x, ref.x)
    assert (res.loss, res.n_evals, len(res.history)) == (ref.loss, ref.n_evals, len(ref.history))
    assert [r["best_loss"] for r in res.history] == [r["best_loss"] for r in ref.history]


@pytest.mark.parametrize(
    "method,opts",
    [
        ("zerograds", ["--opt", "sigma=0.05", "--opt", "k_phi=3"]),
        ("cmaes", []),
        ("spsa", ["--opt", "batch_size=16"]),  # expected_iters from the budget, kept on resume
    ],
)
def test_stop_and_resume_equals_uninterrupted(tmp_path, method, opts):
    a, b = tmp_path / "a", tmp_path / "b"
    common = [*KEYFRAME, "--method", method, *opts, "--budget", "192", "--no-render"]
    assert main([*common, "--out", str(a)]) == 0
    assert main([*common, "--out", str(b), "--stop-after", "96", "--checkpoint-every", "2"]) == 0
    assert json.loads((b / "run.json").read_text())["status"] == "stopped"
    part = rows(b)
    assert not (b / "summary.json").exists() and part == rows(a)[: len(part)]
    assert int(part[-1]["n_evals"]) >= 96 > int(part[-2]["n_evals"])
    assert main(["resume", str(b), "-q"]) == 0
    assert rows(a) == rows(b) and len(rows(a)) > len(part)
    same_best(a, b)
    assert json.loads((b / "summary.json").read_text())["status"] == "completed"


def test_resume_extends_a_finished_run_only_with_a_larger_budget(tmp_path, capsys):
    out = tmp_path / "r"
    args = ["minimize", "sphere", "--dim", "3", "-m", "spsa", "--budget", "100", "-q"]
    assert main([*args, "--out", str(out)]) == 0
    assert main(["resume", str(out), "-q"]) == 2
    assert "is complete (budget 100); pass a larger --budget" in capsys.readouterr().err
    assert main(["resume", str(out), "--budget", "200", "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget"] == 200 and 100 < summary["n_evals"] <= 200
    assert len(rows(out)) == summary["iterations"]
    # SPSA's gains were set for the first budget (expected_iters = 100 // 2) and stay so
    assert RunConfig.from_file(out / "config.json").options["expected_iters"] == 50


@pytest.mark.slow
def test_ctrl_c_checkpoints_exits_130_and_resumes_exactly(tmp_path):
    out, ref = tmp_path / "int", tmp_path / "ref"
    args = [*KEYFRAME, "--budget", "5000", "--no-render", "--checkpoint-every", "1000"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zg_control", *args, "--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if (out / "history.csv").exists() and len(rows(out)) >= 3:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "resume" in err and "Traceback" not in err
    status = json.loads((out / "run.json").read_text())
    assert status["status"] == "interrupted" and not (out / "summary.json").exists()
    done = status["checkpoint_iteration"] * 17  # 16 samples and theta per iteration
    assert done == status["n_evals"] >= 51  # the checkpoint is the interrupted iteration
    assert (out / "loss.png").exists()
    # Resume to a few iterations past the interrupt; compare with an uninterrupted run.
    assert main(["resume", str(out), "--stop-after", str(done + 34), "-q"]) == 0
    assert main([*args, "--out", str(ref), "--stop-after", str(done + 34)]) == 0
    assert rows(out) == rows(ref) and len(rows(ref)) == done // 17 + 2
    same_best(out, ref)


def test_video_falls_back_to_gif_and_the_strip_tiles_frames(tmp_path, monkeypatch):
    from zg_control.sim import render

    frames = np.random.default_rng(0).integers(0, 255, (9, 16, 24, 3), dtype=np.uint8)
    assert render.write_video(frames, tmp_path / "a", fps=25.0).name == "a.mp4"
    assert imageio.get_reader(tmp_path / "a.mp4").count_frames() == 9

    def no_ffmpeg(*args, **kwargs):
        raise RuntimeError("ffmpeg missing")

    monkeypatch.setattr(imageio, "get_writer", no_ffmpeg)
    video = render.write_video(frames, tmp_path / "b", fps=25.0)
    assert video.name == "b.gif" and not (tmp_path / "b.mp4").exists()
    assert len(imageio.mimread(video)) == 9
    strip = imageio.imread(render.write_strip(frames, tmp_path / "s.png", n=4))
    assert strip.shape == (8, 4 * 12, 3)
    np.testing.assert_array_equal(strip[:, -12:], frames[-1, ::2, ::2])  # last frame included


SCALE_KEY = {"zerograds": "sigma", "prdpt": "sigma", "cmaes": "sigma", "ga": "mutation_sigma",
             "spsa": "c_k", "sa": "step", "random": None}  # fmt: skip


@pytest.mark.parametrize("method", sorted(zg.OPTIMIZERS))
def test_history_rows_and_the_plotted_sampling_scale(method):
    from zg_control.app.plots import scale_key

    def fn(X):
        y = (X**2).sum(axis=1)
        y[0] = np.nan  # a failed episode: left out of batch_mean / batch_min
        return y

    res = zg.minimize(fn, np.full(4, 0.5), method, budget=80, seed=0)
    row, opt = res.history[0], res.optimizer
    assert list(row)[:7] == [
        "iteration",
        "n_evals",
        "best_loss",
        "batch_mean",
        "batch_min",
        "time",
        "evals_per_s",
    ]
    assert (row["iteration"], row["n_evals"]) == (1, opt.n_evals / opt.n_iters)
    assert np.isfinite(row["batch_mean"]) and row["batch_min"] <= row["batch_mean"]
    assert row["evals_per_s"] == row["n_evals"] / row["time"]
    key = SCALE_KEY[method]
    assert scale_key(res.history) == key
    assert key is None or res.history[-1][key] == opt.metrics[key] != 0


def test_history_csv_columns_are_the_history_keys(tmp_path):
    out = tmp_path / "run"
    cfg = RunConfig(function="rosenbrock", dim=4, budget=200, method="spsa", render=False)
    res = start_run(cfg, out)
    with open(out / "history.csv") as f:
        header, *lines = list(csv.reader(f))
    assert header == list(dict.fromkeys(k for row in res.history for k in row))
    assert len(lines) == len(res.history) == int(res.summary["iterations"])
    assert [float(v) for v in lines[-1]] == list(res.history[-1].values())  # exact values
    fn, x0 = get_function("rosenbrock", 4)
    ref = zg.minimize(fn, x0, "spsa", budget=200, seed=0)
    assert [r["best_loss"] for r in ref.history] == [float(r[2]) for r in lines]
    assert set(ref.history[0]) == set(header)
