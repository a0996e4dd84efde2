"""Test-wide settings: small tensors run fastest (and without spin-waits on a busy machine) on
one torch thread; the code under test never depends on the thread count."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import torch

torch.set_num_threads(1)
