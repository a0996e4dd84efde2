"""The comparison runner (zg_control.bench.runner) and the task suite, end to end, tiny. Labelled
variants and resume: test_variants.py; the experiment scripts: test_experiment_scripts.py."""

from __future__ import annotations

import json

import mujoco
import numpy as np
import pytest
from compare_outputs import check_outputs

from zg_control.bench.record import config_dict, load_runs, run_one, source_files
from zg_control.bench.report import episodes_to
from zg_control.bench.runner import resolve_options, run_comparison
from zg_control.bench.suite import DEFAULT_TASKS, SUITE, get_task
from zg_control.optimizers import OPTIMIZERS


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
        assert len(r["code"]) == 10 and "label" not in r
        assert r["versions"]["mujoco"] == mujoco.__version__ and "numpy" in r["versions"]
        assert r["config"] == config_dict(r["method"], r["options"], r["budget"])
    assert {r["dim"] for r in runs if r["task"] == "staircase-1000"} == {50}  # quick shrinks d
    # the summary's final-loss cell is the median over seeds
    key = ("keyframe-spline", "cmaes")
    finals = [r["final_loss"] for r in runs if (r["task"], r["method"]) == key]
    assert f"{np.median(finals):.4g}" in (out / "summary.md").read_text()


def test_failed_runs_are_recorded_and_resume_skips_done_runs(tmp_path, monkeypatch):
    from zg_control import lockstep

    real = lockstep.minimize_many

    def crash_sa(fn, x0, method, *args, **kwargs):  # e.g. a simulation that blew up
        if method == "sa":
            raise RuntimeError("simulated crash")
        return real(fn, x0, method, *args, **kwargs)

    monkeypatch.setattr(lockstep, "minimize_many", crash_sa)
    kw = dict(out_dir=tmp_path, quick=True, workers=1, verbose=False)
    out = run_comparison(["toy"], ["sa", "random"], [0], **kw)
    runs = {r["method"]: r for r in load_runs(out / "runs.jsonl")}
    assert runs["random"]["status"] == "ok"
    assert runs["sa"]["status"] == "failed" and "simulated crash" in runs["sa"]["error"]
    assert "Failed runs" in (out / "summary.md").read_text()
    n_lines = len((out / "runs.jsonl").read_text().splitlines())
    monkeypatch.setattr(lockstep, "minimize_many", real)
    run_comparison(["toy"], ["sa", "random"], [0], **kw)
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == n_lines + 1  # only the failed run was repeated, now without the crash
    assert json.loads(lines[-1])["method"] == "sa"
    assert all(r["status"] == "ok" for r in load_runs(out / "runs.jsonl"))


def test_resume_reruns_runs_whose_options_changed(tmp_path):
    """Resume skips a run only when it was recorded with the same config; a run with other
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
    kw = dict(quick=True, out_dir=tmp_path / "out", workers=1)
    for bad, message in [
        ({"sa": {"no_such_option": 1}}, "unknown option(s) no_such_option for method 'sa'"),
        ({"sa": {"step": -1.0}}, "step"),
        ({"cmaes": {"sigma": 0.1}}, "options given for cmaes, which this comparison does not"),
    ]:
        with pytest.raises(ValueError) as info:
            run_comparison(
                ["toy", "staircase-1000"], ["sa", "random"], [0, 1], method_options=bad, **kw
            )
        assert message in str(info.value)
    assert not (tmp_path / "out").exists()


def test_suite_covers_the_required_problems():
    kinds = {spec.kind for spec in SUITE.values()}
    assert kinds == {"analytic", "animation", "gym", "outside", "heldout"}
    # dm-control's models are opt-in
    assert not any(SUITE[t].kind in ("outside", "heldout") for t in DEFAULT_TASKS)
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
    toy, cheetah = SUITE["toy"], SUITE["cheetah-seq"]
    # the config defaults, except that a task's scale multiplies the sigma-like ones
    assert resolve_options("prdpt", cheetah, 3000) == {}
    assert resolve_options("sa", toy, 400) == {"step": pytest.approx(0.1 * toy.scale)}
    assert resolve_options("prdpt", cheetah, 3000, {"lr": 0.5}) == {"lr": 0.5}
    assert (
        config_dict("spsa", resolve_options("spsa", cheetah, 3000), 3000)["expected_iters"] == 1500
    )
    curve = [[16, 3.0], [32, 1.0], [48, 0.5]]
    assert episodes_to(curve, 1.0) == 32 and episodes_to(curve, 0.1) == float("inf")


@pytest.mark.parametrize("task", ["hopper-policy", "keyframe-spline"])
def test_seeds_in_lockstep_record_what_each_run_alone_records(tmp_path, task):
    """The runner runs a task's seeds together (zg.minimize_many); each record's outcome is
    the one of the run alone, also where every seed starts elsewhere (a policy's weights)."""
    out = run_comparison([task], ["zerograds"], [0, 1], out_dir=tmp_path, quick=True,
                         workers=1, verbose=False)  # fmt: skip
    runs = {r["seed"]: r for r in load_runs(out / "runs.jsonl")}
    for seed, rec in runs.items():
        alone = run_one(task, "zerograds", seed, rec["budget"], {}, True)
        assert rec["lockstep"] == 2 and alone["lockstep"] == 1
        assert rec["final_loss"] == alone["final_loss"] and rec["curve"] == alone["curve"]
        assert rec["loss_x0"] == alone["loss_x0"]
    assert runs[0]["loss_x0"] != runs[1]["loss_x0"] or task != "hopper-policy"


def test_a_record_s_code_hash_covers_the_method_s_own_subpackage():
    """ZeroGrads' step rules live beside its class (zerograds/step.py): a change there must show
    in the records' ``code``; a one-file method hashes its own file (and its config's) only."""
    zg_files = {f.name for f in source_files(OPTIMIZERS["zerograds"][0])}
    assert {"core.py", "config.py", "step.py", "near_plateau.py", "ridge.py"} <= zg_files
    assert {f.name for f in source_files(OPTIMIZERS["cmaes"][0])} == {"cma_es.py"}
