"""ZeroGrads overhead per iteration (ask + tell, excluding the loss) and peak memory.

Each dimension runs in its own subprocess so that peak RSS is measured per dimension.
The loss is a cheap sphere; its time is excluded. Prints a markdown table.

    python experiments/bench_overhead.py                 # d = 100, 600, 1000, 10000, 35000
    python experiments/bench_overhead.py --dims 600 --iters 200 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(dim: int, iters: int, warmup: int, options: dict) -> dict:
    """Time ``iters`` ask+tell iterations at dimension ``dim`` (in this process)."""
    import numpy as np
    import torch

    import zg_control as zg

    opt = zg.make_optimizer("zerograds", np.zeros(dim), seed=0, **options)
    times = []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        X = opt.ask()
        t1 = time.perf_counter()
        y = np.sum(X * X, axis=1)
        t2 = time.perf_counter()
        opt.tell(X, y)
        t3 = time.perf_counter()
        if i >= warmup:
            times.append((t1 - t0) + (t3 - t2))
    times_ms = np.array(times) * 1e3
    return {
        "dim": dim,
        "batch": opt.config.batch_size,
        "median_ms": float(np.median(times_ms)),
        "p90_ms": float(np.percentile(times_ms, 90)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": opt.config.num_threads or torch.get_num_threads(),
        "surrogate": type(opt.surrogate).__name__,
        "device": str(opt.device),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dims", type=int, nargs="+", default=[100, 600, 1000, 10_000, 35_000])
    p.add_argument("--iters", type=int, default=0, help="0: 200 below d=10k, else 30")
    p.add_argument("--options", type=json.loads, default={}, help='JSON, e.g. {"k_phi": 10}')
    p.add_argument("--repeats", type=int, default=1, help="runs per d; the table shows medians")
    p.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        iters = args.iters or (200 if args.child < 10_000 else 30)
        print(json.dumps(measure(args.child, iters, warmup=5, options=args.options)))
        return
    rows = []
    for d in args.dims:
        cmd = [sys.executable, __file__, "--child", str(d), "--iters", str(args.iters)]
        cmd += ["--options", json.dumps(args.options)]
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        row = dict(runs[0])
        for key in ("median_ms", "p90_ms", "peak_rss_mb"):
            row[key] = sorted(r[key] for r in runs)[len(runs) // 2]
        rows.append(row)
    print(
        f"ZeroGrads overhead, options {args.options or 'default'}, batch {rows[0]['batch']}, "
        f"device {rows[0]['device']}, torch threads in ask/tell {rows[0]['torch_threads']}, "
        f"median of {args.repeats} run(s) per d"
    )
    print("| d | surrogate | median ms / iter | p90 ms / iter | peak RSS MB |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['dim']} | {r['surrogate']} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} "
            f"| {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
