"""Batched forward kinematics of a planar (x-z plane) MuJoCo body tree, in numpy.

Task losses may only read ``qpos``/``qvel`` (see :class:`zg_control.sim.task.Trajectory`), so
where a loss needs a point on the character (a foot, the head) it recomputes the point from
``qpos``. This module does that for whole batches at once, replicating ``mj_kinematics`` for the
planar case: slide joints along x/z, hinge joints about +-y, body frames rotated about y only.
The numbers are read from the compiled model, never typed in twice; ``tests/envs/test_envs.py``
checks the result against ``mujoco.mj_kinematics``.
"""

from __future__ import annotations

import mujoco
import numpy as np

_TOL = 1e-9


def _y_angle(quat: np.ndarray, what: str) -> float:
    """Angle of a rotation about +y given as a unit quaternion ``(w, x, y, z)``."""
    w, x, y, z = quat
    if abs(x) > _TOL or abs(z) > _TOL:
        raise ValueError(
            f"{what} is rotated about an axis other than y; only planar x-z models work"
        )
    return float(2.0 * np.arctan2(y, w))


class PlanarKinematics:
    """World x-z positions of named sites as a function of ``qpos``.

    Args:
        model: a model whose bodies on the way from the world to the sites only have slide joints
            along x/z and hinge joints about +-y, and body frames rotated about y (or not at all).
        site_names: the sites to report, in order.

    Raises:
        ValueError: a site does not exist or its body chain is not planar.
    """

    def __init__(self, model: mujoco.MjModel, site_names: list[str]) -> None:
        self.site_ids = []
        for name in site_names:
            sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, name)
            if sid < 0:
                raise ValueError(f"model has no site named {name!r}")
            self.site_ids.append(sid)
        needed: set[int] = set()
        for sid in self.site_ids:
            b = int(model.site_bodyid[sid])
            while b > 0:
                needed.add(b)
                b = int(model.body_parentid[b])
        # Body ids are topologically sorted: a parent always has a smaller id than its children.
        # (body, parent, offset x + iz, rotation angle, joints); a joint is (kind, qpos address,
        # qpos0, sign of the hinge axis, slide direction or hinge anchor as x + iz).
        self.bodies: list[tuple[int, int, complex, float, list[tuple]]] = []
        for b in sorted(needed):
            joints = []
            for j in range(model.body_jntadr[b], model.body_jntadr[b] + model.body_jntnum[b]):
                axis = model.jnt_axis[j]
                adr = int(model.jnt_qposadr[j])
                q0 = float(model.qpos0[adr])
                jtype = model.jnt_type[j]
                if jtype == mujoco.mjtJoint.mjJNT_SLIDE and abs(axis[1]) < _TOL:
                    joints.append(("slide", adr, q0, 1.0, complex(axis[0], axis[2])))
                elif (
                    jtype == mujoco.mjtJoint.mjJNT_HINGE
                    and abs(axis[0]) < _TOL
                    and abs(axis[2]) < _TOL
                ):
                    pos = model.jnt_pos[j]
                    sign = float(np.sign(axis[1]))
                    joints.append(("hinge", adr, q0, sign, complex(pos[0], pos[2])))
                else:
                    name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
                    raise ValueError(
                        f"joint {name!r} is not planar (slide in x-z or hinge about y)"
                    )
            angle = _y_angle(model.body_quat[b], f"body {b}")
            pos = model.body_pos[b]
            parent = int(model.body_parentid[b])
            self.bodies.append((b, parent, complex(pos[0], pos[2]), angle, joints))
        self.site_local = [
            (int(model.site_bodyid[s]), complex(model.site_pos[s][0], model.site_pos[s][2]))
            for s in self.site_ids
        ]

    def sites(self, qpos: np.ndarray) -> np.ndarray:
        """World (x, z) of every site. Shape ``(..., nq) -> (..., nsite, 2)``.

        A point ``(x, z)`` is the complex number ``x + iz``; a rotation by ``a`` about +y is the
        product with ``exp(-ia)``, so each joint costs a handful of numpy calls.
        """
        frames: dict[int, tuple] = {0: (1.0 + 0j, 0j)}  # body -> (rotation, origin)
        for b, parent, offset, angle, joints in self.bodies:
            rot, org = frames[parent]
            org = org + rot * offset
            rot = rot * np.exp(-1j * angle)
            for kind, adr, q0, sign, vec in joints:
                q = qpos[..., adr] - q0
                if kind == "slide":  # move along vec
                    org = org + rot * vec * q
                else:  # turn about sign * y through the anchor vec, which stays put
                    new_rot = rot * np.exp(-1j * sign * q)
                    org = org + (rot - new_rot) * vec
                    rot = new_rot
            frames[b] = (rot, org)
        pts = np.stack([frames[b][1] + frames[b][0] * local for b, local in self.site_local], -1)
        return np.stack([pts.real, pts.imag], axis=-1)
