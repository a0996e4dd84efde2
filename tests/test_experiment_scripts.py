"""The scripts in experiments/ (compare, scaling, the study helpers), end to end, tiny: their
outputs, their --help texts and their one-line errors on bad input."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest
from compare_outputs import check_outputs

from zg_control.bench.runner import SUITE, load_runs, resolve_options

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
    from zg_control.bench.runner import run_one

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
