"""The ``zg-control`` command (also ``python -m zg_control``); ``zg-control --help`` lists it all.

Exit codes: 0 done (or stopped by ``--stop-after``), 1 the run failed, 2 bad input (the message
names the problem and the fix), 130 interrupted by Ctrl-C (SIGINT) and 143 by SIGTERM (a
checkpoint was written; ``zg-control resume`` continues).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .parser import build_parser

log = logging.getLogger("zg_control")


def _setup_logging(quiet: bool, verbose: bool) -> tuple[list[logging.Handler], int, bool]:
    """Log ``zg_control`` messages (bare text) to stderr; returns the state to restore."""
    before = (list(log.handlers), log.level, log.propagate)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    return before


_NOT_CONFIG = ("command", "config", "quiet", "verbose", "stop_after", "opt", "env_opt", "out")


def make_run_config(ns: argparse.Namespace, problem_key: str) -> tuple[Any, Path | None]:
    """The config file (if any) overridden by the flags given, as a validated ``RunConfig``,
    and the output directory (``--out``, else ``out`` of the file, else ``None``)."""
    from .runconfig import RunConfig, parse_literal, read_config_file

    args = vars(ns)
    data = read_config_file(args["config"]) if args.get("config") else {}
    out = args.get("out", data.pop("out", None))
    data.update({k: v for k, v in args.items() if k not in _NOT_CONFIG})
    if problem_key == "env" and not data.get("env"):
        raise ValueError("give an env id or MJCF path (zg-control list), or env = ... in --config")
    cfg = RunConfig.from_dict(data, source=args.get("config") or "arguments")
    cfg.options.update(dict(args.get("opt", [])))
    cfg.env_options.update({k: parse_literal(v) for k, v in args.get("env_opt", [])})
    cfg.validate()
    return cfg, None if out is None else Path(out)


def cmd_run(ns: argparse.Namespace, problem_key: str) -> int:
    from .run import start_run

    cfg, out = make_run_config(ns, problem_key)
    if out is None and problem_key == "env":
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{cfg.name}-{cfg.method}-s{cfg.seed}-{stamp}"
    res = start_run(cfg, out, stop_after=ns.stop_after, progress=_progress(ns))
    if problem_key == "function":
        x = np.array2string(res.x, precision=6, threshold=20)
        print(f"loss {res.loss:.10g}  episodes {res.n_evals}  x {x}")
    return 0


def _progress(ns: argparse.Namespace) -> bool:
    return not getattr(ns, "quiet", False)


def cmd_resume(ns: argparse.Namespace) -> int:
    from .run import resume_run

    resume_run(
        ns.run_dir,
        budget=ns.budget,
        stop_after=ns.stop_after,
        progress=_progress(ns),
        render=ns.render,
    )
    return 0


def cmd_render(ns: argparse.Namespace) -> int:
    from ..sim.render import render
    from .runconfig import RunConfig, build_problem

    run_dir = Path(ns.run_dir)
    if not (run_dir / "config.json").is_file():
        raise ValueError(f"{run_dir} is not a run directory (no config.json)")
    cfg = RunConfig.from_file(run_dir / "config.json")
    if cfg.env is None:
        raise ValueError(f"{run_dir} optimized the function {cfg.function!r}: nothing to render")
    params = Path(ns.params) if ns.params else run_dir / "best.npz"
    try:
        with np.load(params, allow_pickle=False) as npz:
            x = np.asarray(npz["x"], dtype=np.float64)
    except Exception as err:  # missing, corrupt, or without x
        raise ValueError(
            f"cannot read parameters x from {params} ({err}); pass --params "
            "FILE.npz holding an array x"
        ) from None
    with build_problem(cfg) as problem:
        if x.shape != (problem.dim,):
            raise ValueError(f"{params}: x has shape {x.shape}, the run needs ({problem.dim},)")
        out = Path(ns.out) if ns.out else run_dir
        out.mkdir(parents=True, exist_ok=True)
        res = render(
            problem,
            x,
            out,
            env=cfg.env,
            width=ns.width or cfg.width,
            height=ns.height or cfg.height,
        )
    print(res["trajectory"])
    print(res["video"])
    return 0


def cmd_compare(ns: argparse.Namespace) -> int:
    from ..bench import runner as compare
    from .coerce import coerce_options

    tasks = ns.tasks or list(compare.DEFAULT_TASKS)
    methods = ns.methods or list(compare.DEFAULT_METHODS)
    per_method: dict[str, dict[str, Any]] = {}
    for key, value in ns.opt:
        method, dot, name = key.partition(".")
        if not (dot and method and name):
            raise ValueError(f"--opt {key}={value}: write METHOD.KEY=VALUE, e.g. sa.step=0.2")
        per_method.setdefault(method, {})[name] = value
    per_method = {m: coerce_options(m, opts) for m, opts in per_method.items()}
    # run_comparison checks the rest before any run: e.g. options for a method not compared
    result = compare.run_comparison(
        tasks,
        methods,
        ns.seeds,
        budget=ns.budget,
        out_dir=ns.out,
        workers=ns.workers,
        quick=ns.quick,
        method_options=per_method or None,
        verbose=_progress(ns),
    )
    result = Path(result)
    print(result / "summary.md" if result.is_dir() else result)
    return 0


def cmd_list(ns: argparse.Namespace) -> int:
    import dataclasses

    from ..optimizers import OPTIMIZERS

    print("envs (d = parameters; spline: n_knots x nu; policy: MLP with one hidden layer of 32)")
    print(f"  {'env id':26s} {'nu':>3s} {'T':>5s} {'obs':>4s} {'d sequence':>11s} {'d policy':>9s}")
    _list_envs()
    print(
        "  any other Gymnasium MuJoCo env id runs with --backend gymnasium; an MJCF path with "
        "--loss module:function"
    )
    print("\nmethods (--method NAME, options --opt KEY=VALUE; budget-aware options left None):")
    for name, (cls, cfg_cls) in OPTIMIZERS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        opts = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(cfg_cls))
        print(f"  {name:10s} {doc}\n  {'':10s} {opts}")
    print("\nparameterizations (--parameterization):")
    print("  sequence   one control vector per control step (d = T x nu)")
    print("  spline     --n-knots K knots, --interp zero|linear|cubic (d = K x nu)")
    print("  policy     closed-loop MLP obs -> action, --hidden 32 (d = its weights)")
    print("\nfunctions (zg-control minimize NAME): toy, sphere, rosenbrock, rastrigin, staircase")
    return 0


def _list_envs() -> None:
    """One line per native task: id, nu, horizon, observation size and both dimensions."""
    from ..sim.task import TASKS, make_task

    for env_id in sorted(TASKS):
        try:
            t = make_task(env_id)
        except Exception as err:  # list what works, say what does not
            print(f"  {env_id:26s} (unavailable: {err})")
            continue
        nu, T = t.model.nu, t.horizon
        q0, v0 = t.initial_state()
        obs = np.shape(t.observation(np.asarray(q0)[None], np.asarray(v0)[None]))[1]
        d_pol = obs * 32 + 32 + 32 * nu + nu
        print(f"  {env_id:26s} {nu:3d} {T:5d} {obs:4d} {T * nu:11d} {d_pol:9d}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module docstring)."""
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return int(exc.code or 0)
    quiet, verbose = getattr(ns, "quiet", False), getattr(ns, "verbose", False)
    before = _setup_logging(quiet, verbose)
    try:
        return _dispatch(ns, verbose)
    finally:
        log.handlers, log.level, log.propagate = before


def _dispatch(ns: argparse.Namespace, verbose: bool) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    from .run import RunInterrupted

    commands = {
        "list": cmd_list,
        "resume": cmd_resume,
        "render": cmd_render,
        "compare": cmd_compare,
        "optimize": lambda n: cmd_run(n, "env"),
        "minimize": lambda n: cmd_run(n, "function"),
    }
    try:
        with logging_redirect_tqdm(loggers=[log]):
            return commands[ns.command](ns)
    except ValueError as err:
        log.error("zg-control %s: error: %s", ns.command, err)
        log.debug("details", exc_info=True)
        return 2
    except (RunInterrupted, KeyboardInterrupt) as err:
        out, signum = err.args if isinstance(err, RunInterrupted) else ("", signal.SIGINT)
        hint = f"; a checkpoint is kept, continue with: zg-control resume {out}" if out else ""
        log.error("zg-control: interrupted by %s%s", signal.Signals(signum).name, hint)
        return 128 + signum
    except Exception as err:  # one clear line; the traceback with -v
        log.error(
            "zg-control %s: failed: %s: %s%s",
            ns.command,
            type(err).__name__,
            err,
            "" if verbose else " (run with -v for the traceback)",
        )
        log.debug("traceback", exc_info=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
