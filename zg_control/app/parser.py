"""The argument parser of the ``zg-control`` command (:func:`build_parser`); the commands
themselves are in :mod:`zg_control.app.cli`."""

from __future__ import annotations

import argparse

S = argparse.SUPPRESS  # flags not given do not override the config file

EXAMPLES = """examples:
  zg-control list
  zg-control optimize zg_control/Keyframe-v0 --parameterization spline --n-knots 8 --budget 2000
  zg-control optimize robot.xml --loss my_losses.py:reach --method cmaes --opt sigma=0.2
  zg-control optimize --config run.toml --seed 3          (flags override the file)
  zg-control optimize HalfCheetah-v5 --backend ray --ray-address auto   (after `ray start`)
  zg-control resume runs/Keyframe-v0-zerograds-s0-...     (after Ctrl-C, or --budget to extend)
  zg-control render runs/Keyframe-v0-zerograds-s0-...
  zg-control minimize rosenbrock --dim 10 --budget 3000
  zg-control compare --tasks rosenbrock-10 --methods zerograds cmaes --seeds 0 1 --budget 500
"""


def _kv(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value.strip()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", default=S, help="no progress bar/info")
    p.add_argument("-v", "--verbose", action="store_true", default=S, help="debug log, tracebacks")


def _method_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML/JSON/YAML file of settings (keys as in config.json)")
    p.add_argument(
        "--method", "-m", default=S, help="optimizer (zg-control list); default zerograds"
    )
    p.add_argument(
        "--opt",
        action="append",
        type=_kv,
        default=S,
        metavar="KEY=VALUE",
        help="method option, repeatable, e.g. --opt sigma=0.05 --opt k_phi=10",
    )
    p.add_argument("--budget", type=int, default=S, help="episodes in total (default 2000)")
    p.add_argument("--seed", type=int, default=S, help="default 0")
    p.add_argument("--device", default=S, help="torch device of the surrogate: auto, cpu, cuda")
    p.add_argument(
        "--out", default=S, help="run directory (default runs/<env>-<method>-s<seed>-<time>)"
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=S,
        dest="checkpoint_every",
        metavar="N",
        help="iterations between checkpoints (default 10)",
    )
    p.add_argument(
        "--stop-after",
        type=int,
        metavar="EPISODES",
        help="stop with a checkpoint after this many episodes (resume later)",
    )
    _common(p)


def build_parser() -> argparse.ArgumentParser:
    """The ``zg-control`` parser: one subcommand per command of :mod:`zg_control.app.cli`."""
    parser = argparse.ArgumentParser(
        prog="zg-control",
        description="ZeroGrads and baselines for MuJoCo control: optimize, compare, render and "
        "resume runs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _common(sub.add_parser("list", help="envs (with dimensions), methods, parameterizations"))
    p = sub.add_parser("optimize", help="optimize an env's controls into a run directory")
    _env_args(p)
    _episode_args(p)
    _method_args(p)
    p = sub.add_parser("minimize", help="minimize an analytic function (zg_control.functions)")
    p.add_argument("function", help="toy, sphere, rosenbrock, rastrigin or staircase")
    p.add_argument("--dim", type=int, default=S, help="dimension (default: the function's)")
    _method_args(p)
    _resume_args(sub.add_parser("resume", help="continue a run from its directory"))
    p = sub.add_parser(
        "render", help="replay saved parameters to a video, a still strip and trajectory.npz"
    )
    p.add_argument("run_dir", help="a directory written by zg-control optimize")
    p.add_argument("--params", help="npz with x (default RUN_DIR/best.npz)")
    p.add_argument("--out", help="directory for video, strip, trajectory (default RUN_DIR)")
    p.add_argument("--width", type=int, help="video pixels (default: the run's)")
    p.add_argument("--height", type=int, help="video pixels (default: the run's)")
    _common(p)
    _compare_args(sub.add_parser("compare", help="methods x seeds x tasks at an equal budget"))
    return parser


def _env_args(p: argparse.ArgumentParser) -> None:
    """``optimize``: the env and what of it is optimized."""
    p.add_argument("env", nargs="?", default=S, help="env id (zg-control list) or MJCF path")
    p.add_argument("--loss", default=S, help="for an MJCF path: module:function or file.py:fn")
    p.add_argument(
        "--parameterization",
        "-p",
        default=S,
        choices=["sequence", "spline", "policy"],
        help="what is optimized: per-step controls, spline knots or MLP policy weights "
        "(default sequence)",
    )
    p.add_argument("--horizon", type=int, default=S, help="control steps per episode")
    p.add_argument("--n-knots", type=int, default=S, dest="n_knots", help="spline knots")
    p.add_argument(
        "--interp",
        default=S,
        choices=["zero", "linear", "cubic"],
        help="spline interpolation between knots (default cubic)",
    )
    p.add_argument("--hidden", default=S, help="policy hidden widths, e.g. 64,64")
    p.add_argument(
        "--frame-skip",
        type=int,
        default=S,
        dest="frame_skip",
        help="physics steps per control step (default: the env's)",
    )
    p.add_argument(
        "--env-opt",
        action="append",
        type=_kv,
        default=S,
        dest="env_opt",
        metavar="KEY=VALUE",
        help="task option, repeatable",
    )


def _episode_args(p: argparse.ArgumentParser) -> None:
    """``optimize``: how episodes run, and the video at the end."""
    p.add_argument(
        "--backend",
        default=S,
        choices=["native", "gymnasium", "ray"],
        help="how episodes run: mujoco.rollout threads, Gymnasium's step loop, or Ray workers "
        "(default native)",
    )
    p.add_argument(
        "--nthread",
        type=int,
        default=S,
        help="simulation threads (default all; with --backend ray: per worker, default 1)",
    )
    p.add_argument(
        "--ray-address",
        default=S,
        dest="ray_address",
        metavar="ADDRESS",
        help="with --backend ray: the cluster to join, 'auto' (the one `ray start` began on "
        "this machine) or HEAD_HOST:PORT; 'local' starts a new Ray here (default: as ray.init, "
        "$RAY_ADDRESS or the cluster started here, else a local Ray)",
    )
    p.add_argument(
        "--no-render",
        action="store_false",
        dest="render",
        default=S,
        help="skip the video and still strip at the end",
    )
    p.add_argument("--width", type=int, default=S, help="video pixels (default 480)")
    p.add_argument("--height", type=int, default=S, help="video pixels (default 480)")


def _resume_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a directory written by zg-control optimize")
    p.add_argument("--budget", type=int, help="new total budget (to extend a finished run)")
    p.add_argument(
        "--stop-after",
        type=int,
        metavar="EPISODES",
        help="stop with a checkpoint after this many episodes in total",
    )
    p.add_argument(
        "--no-render",
        action="store_false",
        dest="render",
        default=None,
        help="skip the video and still strip at the end",
    )
    _common(p)


def _compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", nargs="+", help="suite task names (default: the standard suite)")
    p.add_argument("--methods", nargs="+", help="default: all methods")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="default: 0 1 2")
    p.add_argument("--budget", type=int, help="episodes per run (default: each task's)")
    p.add_argument("--out", default="experiments/results", help="results directory")
    p.add_argument("--workers", type=int, default=2, help="parallel processes (default: 2)")
    p.add_argument("--quick", action="store_true", help="small problems (smoke test)")
    p.add_argument(
        "--opt",
        action="append",
        type=_kv,
        default=[],
        metavar="METHOD.KEY=VALUE",
        help="a method's option, repeatable, e.g. --opt prdpt.lr=0.05",
    )
    _common(p)
