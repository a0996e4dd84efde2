"""The scripts in experiments/ (compare, scaling, the benchmarks' --help), end to end, tiny:
their outputs, the commands their result files name, their --help texts and their one-line
errors on bad input."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest
from compare_outputs import check_outputs

from zg_control.bench.record import label_of, load_runs

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


def test_compare_script_quick(tmp_path, capsys):
    """A comparison with a labelled variant; its summary names the command; a dry run plans
    from the recorded runs and writes nothing."""
    compare = load_script("compare")
    methods = ["zerograds", "random", 'far=random:{"sigma": 1.5}']
    argv = ["--quick", "--tasks", "toy", "keyframe-spline", "--methods", *methods]
    argv += ["--seeds", "0", "--workers", "1", "--out_dir", str(tmp_path)]
    out = compare.main(argv)
    runs = check_outputs(out, ["toy", "keyframe-spline"], ["zerograds", "random", "far"], [0])
    assert all(r["status"] == "ok" for r in runs)
    assert {r["options"]["sigma"] for r in runs if label_of(r) == "far"} == {1.5}
    summary = (out / "summary.md").read_text()
    assert "| zerograds | random | far |" in summary
    assert "Made by `python experiments/compare.py --quick --tasks toy keyframe-spline" in summary
    assert "'far=random:{\"sigma\": 1.5}'" in summary  # quoted as one would type it
    capsys.readouterr()
    before = (out / "runs.jsonl").read_text()
    compare.main([*argv[:-6], "--seeds", "0", "1", "--dry_run", "--out_dir", str(out)])
    printed = capsys.readouterr().out
    assert "6 of 12 runs to do" in printed and "  toy far seed 1" in printed
    assert "seed 0" not in printed and (out / "runs.jsonl").read_text() == before


def test_devset_script_quick(tmp_path, capsys):
    """The development set's plateau part, tiny: its comparison, then devset.md's tables from
    the runs; a dry run afterwards has nothing left to do."""
    devset = load_script("devset")
    argv = ["--quick", "--parts", "plateau", "--seeds", "0", "--out_dir", str(tmp_path)]
    out = devset.main([*argv, "--workers", "1"])
    text = (out / "devset.md").read_text()
    assert "Made by `python experiments/devset.py --quick --parts plateau" in text
    for task in devset.PLATEAU:
        assert f"| {task} | 1 |" in text
    assert "| push-spline (the puck in the disc" in text
    runs = load_runs(out / "runs.jsonl")
    assert {label_of(r) for r in runs} == {"zerograds", "cmaes", "sa", "random"}
    capsys.readouterr()
    devset.main([*argv, "--dry_run"])
    assert "plateau: 0 runs to make" in capsys.readouterr().out
    variants = devset.scale_variants()
    assert 'zg-sigma-x10=zerograds:{"sigma": 1}' in variants and len(variants) == 4
    # the policies have no part with their defaults but this one: its cost table needs them
    assert devset.part_plan("policy") == (
        devset.POLICY,
        ["zerograds", "cmaes", "random", *variants],
    )


def test_devset_scale_table_compares_on_the_seeds_both_ran(tmp_path):
    """A variant run on 2 seeds is compared with its default's median on those 2 seeds, not
    on all 5; the table also gives each variant's median loss."""
    report = load_script("devset_report")

    def rec(label, method, seed, loss):
        return {"task": "t", "method": method, "label": label, "seed": seed,
                "final_loss": loss, "status": "ok"}  # fmt: skip

    records = [rec("zerograds", "zerograds", s, x) for s, x in enumerate([0, 0, 9, 9, 9])]
    records += [rec("cmaes", "cmaes", s, 1.0) for s in range(5)]
    records += [rec("zg-sigma-x10", "zerograds", s, 0.5) for s in (0, 1)]
    records += [rec("cma-sigma-x10", "cmaes", s, 2.0) for s in (0, 1, 2)]
    text = report.write_devset_report(records, tmp_path, "cmd")
    assert "| t | x10 | 2 / 3 | 0.5 | 1 | yes | 0.5 | 2 |" in text
    assert (tmp_path / "devset.md").read_text() == text


def test_scaling_script_quick(tmp_path):
    scaling = load_script("scaling")
    # one process (a fresh process per run, the script's default, is slow to start)
    argv = "--quick --methods zerograds cmaes --seeds 0 --workers 1 --out_dir".split()
    argv.append(str(tmp_path))
    out = scaling.main(argv)
    runs = load_runs(out / "runs.jsonl")
    expected = [(d, m) for d in (10, 100) for m in ("cmaes", "zerograds")]
    assert sorted((r["dim"], r["method"]) for r in runs) == expected
    for r in runs:
        assert r["status"] == "ok" and r["peak_rss_mb"] > 10 and r["overhead_per_iter"] > 0
    table = (out / "scaling.md").read_text()
    assert "d = 100" in table and "zerograds" in table and "peak RSS MB" in table
    assert "Made by `python experiments/scaling.py --quick --methods zerograds cmaes" in table
    assert mpimg.imread(out / "scaling.png").ndim == 3


def test_compare_script_large_seeds(tmp_path):
    """--large_seeds: the d >= 1000 tasks get their own seeds (the README's one command)."""
    argv = "--quick --tasks toy staircase-1000 --methods random --seeds 0 --large_seeds 0 1".split()
    argv += ["--workers", "1", "--out_dir", str(tmp_path)]
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
        (["--methods", "a=nope"], "unknown methods ['nope']"),
        (["--methods", "=random"], "expected '<label>=<method>:<json>'"),
        (["--methods", "a=random:[1]"], "the options must be a JSON object"),
        (["--methods", "random", "random=sa"], "method labels must differ"),
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


def test_compare_groups_name_the_outside_and_held_out_models():
    from zg_control.bench import heldout, outside

    compare = load_script("compare")
    assert sorted(compare.GROUPS["heldout"]) == sorted(heldout.SIZES)
    assert sorted(compare.GROUPS["outside"]) == sorted(outside.SIZES)
    assert set(heldout.SIZES) <= set(compare.GROUPS["all"])
    assert not set(heldout.SIZES) & set(compare.GROUPS["default"])


def test_experiment_scripts_document_every_argument(capsys):
    """--help gives every argument of the scripts a text, and defaults as one would type them."""
    shown = {
        "compare": "seeds of every (task, method) (default: 0 1 2)",
        "scaling": "dimensions to sweep (default: 10 100 1000 10000 35000)",
        "bench_episodes": "seed of the random controls and policy weights (default: 0)",
        "bench_lockstep": "one run per seed (default: 0 1 2 3 4 5 6 7)",
        "amortized": "held-out contexts (default: 20)",
        "devset": "parts of the set: animation, large, scale, plateau, outside, policy "
        "(default: animation large scale plateau outside policy)",
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
