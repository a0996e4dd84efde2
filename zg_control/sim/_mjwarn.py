"""MuJoCo's own warnings (its C library prints them to the terminal) routed to the ``zg_control``
logger while a model compiles, so ``-q``/``-v`` and ``logging`` settings apply to them.

Deprecation notices go to DEBUG: MuJoCo 4 flags ``settotalmass`` in Gymnasium's Ant and
HalfCheetah XML on every compile, which a user cannot act on. Everything else is a WARNING.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import mujoco

log = logging.getLogger("zg_control")


def _to_log(message: str) -> None:
    level = logging.DEBUG if "deprecated" in message else logging.WARNING
    log.log(level, "MuJoCo: %s", message.strip())


@contextlib.contextmanager
def mujoco_warnings_logged() -> Iterator[None]:
    """Within the block MuJoCo's warnings go to the logger; the previous handler after it."""
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(_to_log)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)
