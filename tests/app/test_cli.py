"""The zg-control command: entry points, list, minimize, config files + flags, and every bad
input -> one clear message, exit code 2, no traceback, no run directory that looks complete."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zg_control.app.cli import main
from zg_control.app.run import RunConfig
from zg_control.optimizers import resolve_config

KEYFRAME = ["optimize", "zg_control/Keyframe-v0", "-p", "spline", "--n-knots", "4", "-q"]


@pytest.mark.slow
def test_entry_points_help_and_a_bad_input_in_a_real_process(tmp_path):
    script = Path(sys.executable).with_name("zg-control")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "zg_control"]
    proc = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for sub in ("list", "optimize", "compare", "render", "resume", "minimize"):
        assert sub in proc.stdout
    out = tmp_path / "never"
    proc = subprocess.run(
        [sys.executable, "-m", "zg_control", *KEYFRAME, "--method", "nope", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "zg-control optimize: error: unknown method 'nope'; choose one of zerograds, random, "
        "prdpt, spsa, sa, ga, cmaes (zg-control list)"
    ]
    assert not out.exists()


def test_every_argument_of_every_command_says_what_it_does():
    import argparse

    from zg_control.app.parser import build_parser

    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, parser in sub.choices.items()
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert sorted(sub.choices) == ["compare", "list", "minimize", "optimize", "render", "resume"]
    assert missing == []


def test_list_shows_envs_with_dimensions_methods_and_parameterizations(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if "zg_control/Keyframe-v0" in s)
    assert line.split()[1:] == ["3", "75", "6", "225", "323"]  # nu, T, obs, d seq, d policy
    for word in ("zerograds", "cmaes", "sigma=0.1", "sequence", "spline", "policy", "rosenbrock"):
        assert word in out


def test_minimize_an_analytic_function(capsys):
    assert main(["minimize", "sphere", "--dim", "4", "--budget", "400", "--opt", "lr=0.2"]) == 0
    out = capsys.readouterr().out.split()
    assert out[0] == "loss" and float(out[1]) < 0.05  # from x0 = (3, 3, 3, 3): f = 36
    assert out[2] == "episodes" and int(out[3]) <= 400


@pytest.mark.parametrize("fmt", ["toml", "yaml", "json"])
def test_config_file_with_flags_overriding_it(tmp_path, fmt):
    pytest.importorskip("yaml") if fmt == "yaml" else None
    settings = {
        "env": "zg_control/Keyframe-v0", "parameterization": "spline", "n_knots": 4,
        "budget": 999, "seed": 5, "render": False, "options": {"sigma": 0.3, "k_phi": 2},
    }  # fmt: skip
    path = tmp_path / f"run.{fmt}"
    if fmt == "toml":
        path.write_text(
            'env = "zg_control/Keyframe-v0"\nparameterization = "spline"\nn_knots = 4\n'
            "budget = 999\nseed = 5\nrender = false\n[options]\nsigma = 0.3\nk_phi = 2\n"
        )
    elif fmt == "yaml":
        import yaml

        path.write_text(yaml.safe_dump(settings))
    else:
        path.write_text(json.dumps(settings))
    out = tmp_path / "run"
    args = ["optimize", "--config", str(path), "--budget", "40", "--opt", "k_phi=3", "-q"]
    assert main([*args, "--out", str(out)]) == 0
    cfg = RunConfig.from_file(out / "config.json")
    assert (cfg.budget, cfg.seed, cfg.n_knots, cfg.render) == (40, 5, 4, False)
    assert cfg.options == dataclasses.asdict(
        resolve_config("zerograds", {"sigma": 0.3, "k_phi": 3})
    )
    assert json.loads((out / "summary.json").read_text())["n_evals"] <= 40


def test_run_options_are_the_comparisons_with_budget_aware_defaults(tmp_path):
    out = tmp_path / "spsa"
    args = ["minimize", "sphere", "--dim", "3", "-m", "spsa", "--budget", "301", "-q"]
    assert main([*args, "--out", str(out)]) == 0
    options = RunConfig.from_file(out / "config.json").options
    assert options == dataclasses.asdict(resolve_config("spsa", {}, budget=301))
    assert (options["first_step"], options["expected_iters"]) == (0.05, 150)


def _finished_run(tmp_path: Path, name: str, method: str) -> Path:
    out = tmp_path / name
    assert (
        main(
            [
                "minimize",
                "sphere",
                "--dim",
                "3",
                "--method",
                method,
                "--budget",
                "64",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    (out / "summary.json").unlink()  # make it resumable
    return out


def _bad_cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    (tmp_path / "bad.toml").write_text('env = "zg_control/Keyframe-v0"\nbudget = [\n')
    (tmp_path / "typo.toml").write_text('env = "zg_control/Keyframe-v0"\nbugdet = 3\n')
    (tmp_path / "a_file").write_text("")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "config.json").write_text("{}")
    run = _finished_run(tmp_path, "zg", "zerograds")
    names = ("garbage", "foreign", "pickled", "other", "busy")
    garbage, foreign, pickled, other, busy = (shutil.copytree(run, tmp_path / n) for n in names)
    (garbage / "checkpoint.npz").write_bytes(b"\x00garbage")
    np.savez(foreign / "checkpoint.npz", weights=np.ones(3))
    (pickled / "checkpoint.npz").write_bytes(b"\x80\x04\x95" + b"\x00" * 20)
    shutil.copy(_finished_run(tmp_path, "rs", "random") / "checkpoint.npz", other)
    status = json.loads((busy / "run.json").read_text())
    status.update(status="running", pid=os.getppid())  # another live process on this host
    (busy / "run.json").write_text(json.dumps(status))
    (tmp_path / "slider.xml").write_text(SLIDER)
    (tmp_path / "losses.py").write_text(LOSSES)
    mjcf = ["optimize", str(tmp_path / "slider.xml"), "--horizon", "10", "--no-render", "-q"]
    out = str(tmp_path / "new")
    return {
        "unknown env": (["optimize", "zg_control/Nope-v0", "--out", out], "unknown env id"),
        "unknown method": ([*KEYFRAME, "--method", "adamw", "--out", out], "unknown method"),
        "unknown option": ([*KEYFRAME, "--opt", "sigmaa=1", "--out", out],
                           "unknown option(s) sigmaa for method 'zerograds'; valid: sigma"),
        "bad option value": ([*KEYFRAME, "--opt", "sigma=big", "--out", out],
                             "option sigma='big': expected float"),
        "bad option range": ([*KEYFRAME, "--opt", "sigma=-1", "--out", out], "sigma must be"),
        "missing config": (["optimize", "--config", str(tmp_path / "no.toml"), "--out", out],
                           "no.toml does not exist"),
        "malformed config": (["optimize", "--config", str(tmp_path / "bad.toml"), "--out", out],
                             "bad.toml is malformed"),
        "unknown config key": (["optimize", "--config", str(tmp_path / "typo.toml"), "--out",
                                out], "unknown key(s) bugdet"),
        "no env": (["optimize", "--out", out], "give an env id"),
        "unwritable out": ([*KEYFRAME, "--out", str(tmp_path / "a_file" / "x")],
                           "cannot write to output directory"),
        "occupied out": ([*KEYFRAME, "--out", str(tmp_path / "taken")], "holds a run"),
        "not a run dir": (["resume", str(tmp_path / "a_file")], "is not a run directory"),
        "corrupt checkpoint": (["resume", str(garbage)], "is not an .npz checkpoint"),
        "pickled checkpoint": (["resume", str(pickled)], "is not an .npz checkpoint"),
        "foreign checkpoint": (["resume", str(foreign)], "not a zg_control checkpoint"),
        "other run's checkpoint": (["resume", str(other)], "belongs to another run"),
        "run still going": (["resume", str(busy)], "is still being written by process"),
        "unknown flag": ([*KEYFRAME, "--bogus"], "unrecognized arguments: --bogus"),
        "bad flag type": ([*KEYFRAME, "--budget", "many"], "invalid int value: 'many'"),
        "render a function run": (["render", str(run)], "nothing to render"),
        "unknown env option": ([*KEYFRAME, "--env-opt", "nonsense=1", "--out", out],
            "unknown env option(s) nonsense for 'zg_control/Keyframe-v0'; valid: frame_skip"),
        "knots without spline": (["optimize", "zg_control/Keyframe-v0", "--n-knots", "4", "--out",
            out], "n_knots=4 is only used by the spline parameterization, not 'sequence'"),
        "budget below a batch": ([*KEYFRAME, "--budget", "9", "--out", out],
            "budget 9 is smaller than one batch of zerograds (17 rows)"),
        "ray address without ray": ([*KEYFRAME, "--ray-address", "auto", "--out", out],
            "ray_address='auto' needs the Ray backend: add --backend ray"),
        "frame skip 0": ([*mjcf, "--loss", f"{tmp_path}/losses.py:reach", "--frame-skip", "0",
            "--out", out], "frame_skip must be a positive integer, got 0"),
        "loss of the wrong shape": ([*mjcf, "--loss", f"{tmp_path}/losses.py:wide", "--out", out],
            "loss_fn must return shape (17,), got (17, 2)"),
    }  # fmt: skip


def test_each_bad_input_gives_one_clear_message_and_exit_2(tmp_path, capsys):
    cases = _bad_cases(tmp_path)
    capsys.readouterr()
    for name, (argv, message) in cases.items():
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, name
        assert message in err, (name, err)
        assert "Traceback" not in err, name
        assert not (tmp_path / "new").exists(), name  # nothing written for a bad command
    for run in ("garbage", "foreign", "pickled", "other"):  # failed resumes change nothing
        assert not (tmp_path / run / "summary.json").exists()
        assert json.loads((tmp_path / run / "run.json").read_text())["status"] == "completed"


def test_a_peer_method_is_refused_with_the_reason_and_what_to_use(tmp_path, capsys):
    out = tmp_path / "peer"
    assert main([*KEYFRAME, "--method", "cmaes-sepcma", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "peer library's method, which the CLI cannot checkpoint" in err
    assert "zg.minimize or experiments/compare.py" in err and not out.exists()


SLIDER = """<mujoco><option timestep="0.01"/>
  <worldbody><body><joint name="x" type="slide" axis="1 0 0"/>
    <geom type="sphere" size="0.1" mass="1"/></body></worldbody>
  <actuator><motor joint="x" ctrlrange="-1 1"/></actuator></mujoco>"""
LOSSES = """import numpy as np

def reach(traj):
    return np.abs(traj.qpos[:, -1, 0] - 0.5)

def wide(traj):
    return np.zeros((traj.n, 2))

def broken(traj):
    if traj.n > 1:
        raise RuntimeError("the loss crashed")
    return np.zeros(traj.n)
"""


def test_mjcf_with_a_loss_file_and_a_run_that_fails(tmp_path, capsys):
    (tmp_path / "slider.xml").write_text(SLIDER)
    (tmp_path / "losses.py").write_text(LOSSES)
    base = ["optimize", str(tmp_path / "slider.xml"), "--horizon", "20", "--budget", "64"]
    base += ["--no-render", "-q"]
    out = tmp_path / "ok"
    assert main([*base, "--loss", f"{tmp_path / 'losses.py'}:reach", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    with np.load(out / "best.npz") as npz:
        assert npz["controls"].shape == (20, 1) and float(npz["loss"]) == summary["best_loss"]
    assert "video" not in summary["files"] and summary["n_evals"] <= 64
    capsys.readouterr()
    bad = tmp_path / "bad"
    code = main([*base, "--loss", f"{tmp_path / 'losses.py'}:broken", "--out", str(bad)])
    err = capsys.readouterr().err
    assert code == 1 and "RuntimeError: the loss crashed" in err and "Traceback" not in err
    assert json.loads((bad / "run.json").read_text())["status"] == "failed"
    assert not (bad / "summary.json").exists() and (bad / "checkpoint.npz").exists()
    assert main([*base, "--loss", "losses.py:missing", "--out", str(bad) + "2"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_compare_is_a_thin_wrapper(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", "--tasks", "sphere-3", "--methods", "random", "sa", "--seeds", "0", "1"]
    args += ["--budget", "32", "--workers", "1", "--out", str(out), "--opt", "sa.step=0.2", "-q"]
    assert main(args) == 0
    assert capsys.readouterr().out.strip() == str(out / "summary.md")
    assert (out / "summary.md").exists()
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 4 and {r["status"] for r in runs} == {"ok"}
    assert main([*args[:-3], "--opt", "sa.stepp=1", "-q"]) == 2
    assert "unknown option(s) stepp for method 'sa'" in capsys.readouterr().err
    assert main(["compare", "--tasks", "nope-task", "--out", str(out), "-q"]) == 2
    assert "unknown task 'nope-task'" in capsys.readouterr().err
    assert main([*args[:-3], "--opt", "step=0.2", "-q"]) == 2
    assert "write METHOD.KEY=VALUE, e.g. sa.step=0.2" in capsys.readouterr().err
    assert main([*args[:-3], "--opt", "ga.elite=1", "-q"]) == 2  # ga is not compared here
    assert "options given for ga, which this comparison does not run" in capsys.readouterr().err
