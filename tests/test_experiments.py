"""The comparison runner (zg_control.compare) and the experiment scripts, end to end, tiny."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from zg_control.compare import (
    DEFAULT_TASKS,
    SUITE,
    episodes_to,
    get_task,
    load_runs,
    resolve_options,
    run_comparison,
)

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def load_script(name: str):
    """Import ``experiments/<name>.py`` as a module (its ``main(argv)`` is the entry point)."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        spec = importlib.util.spec_from_file_location(f"exp_{name}", EXPERIMENTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXPERIMENTS))
    return module


def check_outputs(out: Path, tasks: list[str], methods: list[str], seeds: list[int]) -> list:
    """Every expected output exists and is consistent; returns the run records."""
    runs = load_runs(out / "runs.jsonl")
    assert len(runs) == len(tasks) * len(methods) * len(seeds)
    assert {(r["task"], r["method"], r["seed"]) for r in runs} == {
        (t, m, s) for t in tasks for m in methods for s in seeds
    }
    with (out / "runs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(runs)
    summary = (out / "summary.md").read_text()
    for name in methods + tasks:
        assert name in summary
    assert "## Is the best median ahead? Two-sided Mann-Whitney U" in summary
    for t in tasks:
        img = mpimg.imread(out / f"curves_{t}.png")
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return runs


@pytest.mark.slow
def test_run_comparison_in_a_process_pool(tmp_path):
    tasks, methods, seeds = ["staircase-1000", "keyframe-spline"], ["prdpt", "cmaes"], [0, 1]
    out = run_comparison(tasks, methods, seeds, out_dir=tmp_path, quick=True, workers=2)
    runs = check_outputs(out, tasks, methods, seeds)
    for r in runs:
        assert r["status"] == "ok", r.get("error")
        assert r["n_evals"] <= r["budget"] == 40
        assert np.isfinite(r["final_loss"]) and r["final_loss"] <= r["curve"][0][1] + 1e-12
        losses = [c[1] for c in r["curve"]]
        assert losses == sorted(losses, reverse=True)  # best-so-far never increases
        assert r["wall_time"] > 0 and 0 <= r["fn_time"] <= r["wall_time"]
        assert len(r["code"]) == 10 and r["config"]["sigma"] == r["options"]["sigma"]
    assert {r["dim"] for r in runs if r["task"] == "staircase-1000"} == {50}  # quick shrinks d
    # the summary's final-loss cell is the median over seeds
    key = ("keyframe-spline", "cmaes")
    finals = [r["final_loss"] for r in runs if (r["task"], r["method"]) == key]
    assert f"{np.median(finals):.4g}" in (out / "summary.md").read_text()


def test_failed_runs_are_recorded_and_resume_skips_done_runs(tmp_path, monkeypatch):
    import zg_control

    real = zg_control.minimize

    def crash_sa(fn, x0, method, *args, **kwargs):  # e.g. a simulation that blew up
        if method == "sa":
            raise RuntimeError("simulated crash")
        return real(fn, x0, method, *args, **kwargs)

    monkeypatch.setattr(zg_control, "minimize", crash_sa)
    out = run_comparison(["toy"], ["sa", "random"], [0], out_dir=tmp_path, quick=True,
                         workers=1, verbose=False)  # fmt: skip
    runs = {r["method"]: r for r in load_runs(out / "runs.jsonl")}
    assert runs["random"]["status"] == "ok"
    assert runs["sa"]["status"] == "failed" and "simulated crash" in runs["sa"]["error"]
    assert "Failed runs" in (out / "summary.md").read_text()
    n_lines = len((out / "runs.jsonl").read_text().splitlines())
    monkeypatch.setattr(zg_control, "minimize", real)
    run_comparison(["toy"], ["sa", "random"], [0], out_dir=tmp_path, quick=True, workers=1,
                   verbose=False)  # fmt: skip
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == n_lines + 1  # only the failed run was repeated, now without the crash
    assert json.loads(lines[-1])["method"] == "sa"
    assert all(r["status"] == "ok" for r in load_runs(out / "runs.jsonl"))


def test_resume_reruns_runs_whose_options_changed(tmp_path):
    """Resume skips a run only when it was recorded with the same options; a run with other
    options replaces it, and a cell whose seeds ran with different options is flagged."""
    kw = dict(out_dir=tmp_path, quick=True, workers=1, verbose=False)
    out = run_comparison(["toy"], ["random"], [0, 1], **kw)
    jsonl = out / "runs.jsonl"
    first = {r["seed"]: r for r in load_runs(jsonl)}
    n_lines = len(jsonl.read_text().splitlines())
    run_comparison(["toy"], ["random"], [0, 1], **kw)  # the same options: nothing runs again
    assert len(jsonl.read_text().splitlines()) == n_lines
    assert "different options" not in (out / "summary.md").read_text()
    run_comparison(["toy"], ["random"], [0], method_options={"random": {"sigma": 0.05}}, **kw)
    assert len(jsonl.read_text().splitlines()) == n_lines + 1
    now = {r["seed"]: r for r in load_runs(jsonl)}
    assert now[0]["options"]["sigma"] == 0.05 and now[0]["final_loss"] != first[0]["final_loss"]
    assert now[1] == first[1]
    summary = (out / "summary.md").read_text()
    assert "## Cells whose seeds ran with different options" in summary
    old_sigma = first[0]["options"]["sigma"]  # random's default times the toy's scale
    assert f'- toy / random (budget 40): {{"sigma": 0.05}}; {{"sigma": {old_sigma}}}' in summary


def test_bad_options_are_rejected_before_any_run(tmp_path):
    """A bad option is a ValueError up front, not one failed run per seed in the results."""
    for bad, message in [
        ({"sa": {"no_such_option": 1}}, "unknown option(s) no_such_option for method 'sa'"),
        ({"sa": {"step": -1.0}}, "step"),
        ({"cmaes": {"sigma": 0.1}}, "options given for cmaes, which this comparison does not"),
    ]:
        with pytest.raises(ValueError) as info:
            run_comparison(["toy", "staircase-1000"], ["sa", "random"], [0, 1], quick=True,
                           out_dir=tmp_path / "out", workers=1, method_options=bad)  # fmt: skip
        assert message in str(info.value)
    assert not (tmp_path / "out").exists()


def test_suite_covers_the_required_problems():
    kinds = {spec.kind for spec in SUITE.values()}
    assert kinds == {"analytic", "animation", "gym"}
    dims = [SUITE[t].dim for t in DEFAULT_TASKS]
    assert min(dims) == 1 and max(dims) >= 6000
    for env in ("cheetah", "hopper", "walker", "ant"):
        assert f"{env}-spline" in SUITE and f"{env}-seq" in SUITE
    assert "hopper-policy" in DEFAULT_TASKS and "staircase-1000" in DEFAULT_TASKS


def test_suite_builds_the_dimension_it_declares():
    opt_in = ("cheetah-seq-12k", "walker-seq-12k")
    for name in ("cheetah-spline", "walker-seq", "hopper-policy", "jump-spline", *opt_in):
        problem = SUITE[name].build()
        try:
            assert problem.dim == SUITE[name].dim
            loss = problem.fn(problem.x0[None])
            assert loss.shape == (1,) and np.isfinite(loss[0])
        finally:
            problem.close()


def test_get_task_resolve_options_and_thresholds():
    spec = get_task("staircase-123")
    assert spec.dim == 123 and spec.build().dim == 123
    with pytest.raises(ValueError, match="unknown task"):
        get_task("nope-3")
    toy = SUITE["toy"]
    assert resolve_options("sa", toy, 400)["step"] == pytest.approx(0.1 * toy.scale)
    assert resolve_options("spsa", SUITE["cheetah-seq"], 3000)["expected_iters"] == 1500
    assert resolve_options("prdpt", SUITE["cheetah-seq"], 3000, {"lr": 0.5})["lr"] == 0.5
    curve = [[16, 3.0], [32, 1.0], [48, 0.5]]
    assert episodes_to(curve, 1.0) == 32 and episodes_to(curve, 0.1) == float("inf")


def test_compare_script_quick(tmp_path):
    compare = load_script("compare")
    argv = ["--quick", "--tasks", "toy", "keyframe-spline", "--methods", "zerograds", "random",
            "--seeds", "0", "--workers", "1", "--out_dir", str(tmp_path)]  # fmt: skip
    out = compare.main(argv)
    runs = check_outputs(out, ["toy", "keyframe-spline"], ["zerograds", "random"], [0])
    assert all(r["status"] == "ok" for r in runs)


def test_scaling_script_quick(tmp_path):
    scaling = load_script("scaling")
    # one process (a fresh process per run, the script's default, is slow to start)
    argv = "--quick --methods zerograds cmaes --seeds 0 --workers 1 --out_dir".split()
    argv.append(str(tmp_path))
    out = scaling.main(argv)
    runs = load_runs(out / "runs.jsonl")
    assert sorted((r["dim"], r["method"]) for r in runs) == [
        (10, "cmaes"), (10, "zerograds"), (100, "cmaes"), (100, "zerograds")
    ]  # fmt: skip
    for r in runs:
        assert r["status"] == "ok" and r["peak_rss_mb"] > 10 and r["overhead_per_iter"] > 0
    table = (out / "scaling.md").read_text()
    assert "d = 100" in table and "zerograds" in table and "peak RSS MB" in table
    assert mpimg.imread(out / "scaling.png").ndim == 3


def test_study_trace_prints_the_run_compare_would_record(capsys):
    """The trace uses compare's options (toy: sigma scaled x3), so its final loss is run_one's."""
    from zg_control.compare import run_one

    load_script("study_trace").main(["toy", "zerograds", "--budget", "120", "--rows", "4"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["n_evals", "best_loss", "batch_mean", "batch_min", "sigma", "lr"]
    assert 4 <= len(lines) - 2 <= 8 and float(lines[1].split()[4]) == pytest.approx(0.3)
    rec = run_one("toy", "zerograds", 0, 120, resolve_options("zerograds", SUITE["toy"], 120),
                  quick=False)  # fmt: skip
    assert lines[-1].startswith(f"final loss {rec['final_loss']:.4f} after {rec['n_evals']} ")


def test_compare_script_large_seeds(tmp_path):
    """--large_seeds: the d >= 1000 tasks get their own seeds (the README's one command)."""
    argv = ["--quick", "--tasks", "toy", "staircase-1000", "--methods", "random", "--seeds", "0",
            "--large_seeds", "0", "1", "--workers", "1", "--out_dir", str(tmp_path)]  # fmt: skip
    out = load_script("compare").main(argv)
    runs = sorted((r["task"], r["seed"]) for r in load_runs(out / "runs.jsonl"))
    assert runs == [("staircase-1000", 0), ("staircase-1000", 1), ("toy", 0)]
    summary = (out / "summary.md").read_text()
    assert "toy" in summary and "staircase-1000" in summary


@pytest.mark.parametrize(
    "bad, message",
    [
        (["--tasks", "nope"], "unknown task 'nope'"),
        (["--methods", "nope"], "unknown methods ['nope']"),
        (["--options", "{bad"], "--options is not valid JSON"),
        (["--options", "[1]"], "--options must map methods to options"),
        (["--options", '{"random": {"nope": 1}}'], "unknown option(s) nope for method 'random'"),
        (["--options", '{"prdpt": {"lr": 0.1}}'], "options given for prdpt, which this"),
        (["--options", '{"random": {"sigma": -1}}'], "sigma must be > 0"),
    ],
)
def test_compare_script_rejects_bad_input_before_writing_anything(tmp_path, capsys, bad, message):
    """One line on stderr and exit status 2, no traceback, and no results folder at all (a
    bad option used to be recorded as a failed run per seed, with a summary that looked done)."""
    compare, common = load_script("compare"), load_script("_common")
    out = tmp_path / "out"
    argv = ["--quick", "--tasks", "toy", "--methods", "random", "--out_dir", str(out), *bad]
    with pytest.raises(SystemExit) as exit_info:
        common.cli(lambda: compare.main(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not out.exists()


def test_experiment_scripts_document_every_argument(capsys):
    """--help gives every argument of the scripts a text, and defaults as one would type them."""
    shown = {
        "compare": "seeds of every (task, method) (default: 0 1 2)",
        "scaling": "dimensions to sweep (default: 10 100 1000 10000 35000)",
        "bench_episodes": "seed of the random controls and policy weights (default: 0)",
    }
    for name, default in shown.items():
        module = load_script(name)
        with pytest.raises(SystemExit):
            module.main(["--help"])
        text = " ".join(capsys.readouterr().out.split())
        for field in dataclasses.fields(module.Args):
            assert field.metadata.get("help"), f"{name}: --{field.name} has no help text"
            assert " ".join(field.metadata["help"].split()) in text
        assert default in text


@pytest.mark.parametrize(
    "script, bad, message",
    [
        ("study_grid", ["--tasks", "toy", "--variants", "zerograds"], "expected '<label>=<method>"),
        ("study_grid", ["--tasks", "toy", "--variants", "a=zerograds:[1]"], "a JSON object"),
        ("study_grid", ["--tasks", "nope", "--variants", "a=zerograds"], "unknown task 'nope'"),
        ("study_grid", ["--tasks", "toy", "--variants", "a=nope"], "unknown method"),
        ("study_run", ["--task", "walker5"], "unknown study task 'walker5'"),
        ("study_suite", ["--tasks", "nope"], "unknown task 'nope'"),
        ("study_trace", ["nope", "zerograds"], "unknown task 'nope'"),
        ("study_trace", ["toy", "zerograds", "--options", "{bad"], "Expecting property name"),
        ("study_cosine", ["--dim", "0"], "--dim must be >= 1"),
    ],
)
def test_study_helpers_reject_bad_input_with_one_line(tmp_path, capsys, script, bad, message):
    """The developer helpers end bad input like the experiment scripts: one ``error:`` line,
    exit status 2, no traceback, and study_grid writes nothing."""
    module, common = load_script(script), load_script("_common")
    if script == "study_grid":
        bad = [*bad, "--out", str(tmp_path / "grid.jsonl")]
    with pytest.raises(SystemExit) as exit_info:
        common.cli(lambda: module.main(bad))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "grid.jsonl").exists()


@pytest.mark.parametrize("script", ["study_grid", "study_run", "study_suite", "study_trace",
                                    "study_cosine"])  # fmt: skip
def test_study_helpers_document_every_argument(monkeypatch, script):
    """Every argument of the developer helpers has a --help text (the parser is caught as
    main() asks it to parse)."""
    import argparse

    parsers = []

    def catch(self, args=None, namespace=None):
        parsers.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", catch)
    with pytest.raises(SystemExit):
        load_script(script).main([])
    (parser,) = parsers
    actions = [a for a in parser._actions if a.dest != "help"]
    assert actions and parser.description
    assert all(a.help for a in actions), [a.dest for a in actions if not a.help]
