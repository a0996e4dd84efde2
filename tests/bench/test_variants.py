"""Labelled variants (``"<label>=<method>:<json options>"``) and how resume matches recorded
runs to planned ones: by the effective config, not by how the options were written."""

from __future__ import annotations

import csv
import json

import pytest

from zg_control.bench.record import config_dict, load_runs, same_config
from zg_control.bench.runner import Variant, parse_method, plan_runs, run_comparison

KW = dict(quick=True, workers=1, verbose=False)


def test_parse_method_entries():
    assert parse_method("cmaes") == Variant("cmaes", "cmaes", {})
    assert parse_method("wide=random") == Variant("wide", "random", {})
    assert parse_method('wide=random:{"sigma": 2.0}') == Variant("wide", "random", {"sigma": 2.0})
    for bad, message in [
        ("=random", "expected '<label>=<method>:<json>'"),
        ("wide=random:{bad", "options are not valid JSON"),
        ("wide=random:[1]", "must be a JSON object"),
    ]:
        with pytest.raises(ValueError, match=message.replace("[", r"\[")):
            parse_method(bad)


def test_a_labelled_variant_runs_and_is_reported_under_its_label(tmp_path):
    methods = ["random", 'wide=random:{"sigma": 2.0}']
    out = run_comparison(["toy"], methods, [0, 1], out_dir=tmp_path, **KW)
    runs = {(r.get("label", r["method"]), r["seed"]): r for r in load_runs(out / "runs.jsonl")}
    assert sorted(runs) == [("random", 0), ("random", 1), ("wide", 0), ("wide", 1)]
    wide, plain = runs[("wide", 0)], runs[("random", 0)]
    assert wide["method"] == "random" and wide["options"] == {"sigma": 2.0}
    assert wide["config"]["sigma"] == 2.0 and plain["config"]["sigma"] != 2.0
    assert wide["final_loss"] != plain["final_loss"]
    summary = (out / "summary.md").read_text()
    assert "| task | d | budget | loss at x0 | random | wide |" in summary
    assert "Best median per task: random " in summary and ", wide " in summary
    with (out / "runs.csv").open() as fh:
        assert sorted(row["label"] for row in csv.DictReader(fh)) == ["", "", "wide", "wide"]
    # method_options address a variant by its label, on top of its own options
    recs = load_runs(out / "runs.jsonl")
    more = {"wide": {"batch_size": 8}}
    todo = plan_runs(["toy"], methods, [0], quick=True, method_options=more, recorded=recs)
    assert [(r.label, r.options) for r in todo] == [("wide", {"sigma": 2.0, "batch_size": 8})]
    with pytest.raises(ValueError, match="method labels must differ"):
        plan_runs(["toy"], ["random", "random=sa"], [0])
    with pytest.raises(ValueError, match=r"unknown methods \['nope'\]"):
        plan_runs(["toy"], ["x=nope"], [0])


def _rewrite(jsonl, change) -> list[dict]:
    recs = [json.loads(line) for line in jsonl.read_text().splitlines()]
    for r in recs:
        change(r)
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return recs


def test_resume_matches_recorded_runs_by_their_effective_config(tmp_path):
    """A run recorded with its options spelled out (as the committed runs store the old
    per-method defaults) is the same run; a record whose options the method no longer takes,
    or whose recorded config differs on a field the current config fixes, is not."""
    out = run_comparison(["staircase-1000"], ["prdpt", "sa"], [0, 1], out_dir=tmp_path, **KW)
    jsonl = out / "runs.jsonl"
    explicit = {"prdpt": {"sigma": 0.1, "lr": 0.05}, "sa": {"step": 0.1}}
    recs = _rewrite(jsonl, lambda r: r.update(options=explicit[r["method"]]))
    assert plan_runs(["staircase-1000"], ["prdpt", "sa"], [0, 1], quick=True, recorded=recs) == []

    def stale(r):
        if r["seed"] == 0:  # a field that left the config, set by the run: another run
            r["options"] = {**r["options"], "no_longer_an_option": 1}
        elif r["method"] == "sa":  # the config recorded says the run had another batch size
            r["config"]["batch_size"] = 8

    recs = _rewrite(jsonl, stale)
    todo = plan_runs(["staircase-1000"], ["prdpt", "sa"], [0, 1], quick=True, recorded=recs)
    assert sorted((r.method, r.seed) for r in todo) == [("prdpt", 0), ("sa", 0), ("sa", 1)]
    # a field the current config leaves to the run (None: decided while it runs) is not compared
    sa = next(r for r in recs if r["method"] == "sa")
    config = config_dict("sa", {}, sa["budget"])
    assert config["T0"] is None  # SA calibrates its start temperature
    ran = {**sa, "options": {}, "config": {**config, "T0": 0.37}}
    assert same_config(ran, "sa", config)
    assert not same_config({**ran, "config": {**config, "step": 0.2}}, "sa", config)
    assert not same_config(ran, "ga", config)
