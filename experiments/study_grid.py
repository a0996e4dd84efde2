"""Study helper: a grid of (task, method, options) variants x seeds, in a process pool.

Each variant is ``"<label>=<method>:<json options>"`` (options on top of the ones compare.py
would use, ``resolve_options``); every run is one ``zg_control.compare.run_one``. Results are
appended to ``--out`` (JSON lines, one per run, with the label) and a table of median final
losses per (task, label) is printed at the end, from every record in that file.

    python experiments/study_grid.py --tasks hopper-seq walker-seq --seeds 0 1 2 \
        --variants 'zg=zerograds:{}' 'zg-lr03=zerograds:{"lr": 0.03}' 'cma=cmaes:{}'
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from _common import cli

from zg_control.bench.runner import _THREAD_VARS, _init_worker, get_task, resolve_options, run_one


def parse_variant(text: str) -> tuple[str, str, dict]:
    """``"<label>=<method>:<json options>"`` -> (label, method, options); ValueError if not."""
    label, eq, rest = text.partition("=")
    method, _, opts = rest.partition(":")
    if not (eq and label and method):
        raise ValueError(
            f"variant {text!r}: expected '<label>=<method>:<json options>', "
            "e.g. 'zg-lr03=zerograds:{\"lr\": 0.03}' (the options may be left out)"
        )
    options = json.loads(opts or "{}")
    if not isinstance(options, dict):
        raise ValueError(f"variant {text!r}: the options must be a JSON object, got {opts!r}")
    return label, method, options


def _run(task: str, label: str, method: str, seed: int, budget: int, opts: dict) -> dict:
    rec = run_one(task, method, seed, budget, opts, quick=False)
    rec["label"] = label
    return rec


def table(path: Path) -> str:
    """Median [min, max] final loss per (task, label) of all records in ``path``."""
    runs: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r.get("status") == "ok":
            runs[(r["task"], r["label"])][r["seed"]] = r["final_loss"]
    lines = []
    for (task, label), by_seed in sorted(runs.items()):
        v = np.array(list(by_seed.values()))
        lines.append(
            f"{task:16s} {label:28s} n={len(v)} median {np.median(v):+.4f} "
            f"[{v.min():+.4f}, {v.max():+.4f}] mean {v.mean():+.4f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="+", required=True, help="suite tasks, e.g. ant-seq")
    p.add_argument("--variants", nargs="+", required=True,
                   help="'<label>=<method>:<json options>' each")  # fmt: skip
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="(default: 0 1 2)")
    p.add_argument("--budget", type=int, default=0, help="episodes; 0: the task's budget")
    p.add_argument("--workers", type=int, default=2, help="processes (default: 2)")
    p.add_argument("--out", default="/tmp/study_grid.jsonl",
                   help="JSON lines, appended; runs already in it are skipped")  # fmt: skip
    a = p.parse_args(argv)
    out = Path(a.out)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            if r.get("status") == "ok":
                done.add((r["task"], r["label"], r["seed"], r["budget"]))
    jobs = []
    for task in a.tasks:
        spec = get_task(task)
        budget = a.budget or spec.budget
        for v in a.variants:
            label, method, opts = parse_variant(v)
            opts = resolve_options(method, spec, budget, opts)
            for s in a.seeds:
                if (task, label, s, budget) not in done:
                    jobs.append((task, label, method, s, budget, opts))
    os.environ.update({v: "1" for v in _THREAD_VARS})  # inherited by the spawned workers
    with ProcessPoolExecutor(
        a.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker
    ) as pool:
        futs = [pool.submit(_run, *j) for j in jobs]
        for i, fut in enumerate(as_completed(futs), 1):
            rec = fut.result()
            with out.open("a") as fh:
                fh.write(json.dumps(rec, default=str) + "\n")
            print(
                f"[{i}/{len(jobs)}] {rec['task']} {rec['label']} seed {rec['seed']}: "
                f"{rec.get('final_loss', float('nan')):.4f} ({rec.get('wall_time', 0):.0f}s) "
                f"{rec.get('error', '')}",
                flush=True,
            )
    print(table(out))


if __name__ == "__main__":
    cli(main)
