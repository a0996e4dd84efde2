"""Chunks of a batch on Ray actors, surviving lost actors (a killed worker, a lost node).

Ray's own mechanisms do the restarting: the actors are created with ``max_restarts``, so Ray reruns
an actor's constructor after its process dies (on another node if the cluster has room), and with
``max_task_retries=0``, so a lost chunk comes back to the driver as a ``RayActorError`` instead of
waiting for that actor. The driver then runs the chunk again on the next idle actor: another
healthy one, or this one once it is back. An actor whose chunk was lost gets no work until its
health check (``ping`` with ``max_task_retries=-1``, which waits out a restart) answers; if Ray
reports it dead (its restarts used up), it is dropped. Episodes are deterministic given their
rows, so a chunk run again returns the same bits and the batch equals the native backend's.

Bounds: a chunk runs at most ``1 + max_retries`` times per batch; an actor restarts at most
``max_restarts`` times (Ray); :class:`WorkersLostError` when a chunk's retries are used up, when
no actor is left, or when none answers within ``restart_timeout`` seconds while nothing else runs.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

log = logging.getLogger("zg_control")

RESUME_HINT = (
    "the run stops here; `zg-control resume RUN_DIR` continues it from its last checkpoint"
)


class WorkersLostError(RuntimeError):
    """Ray workers were lost beyond the bounds of :class:`ActorPool`; the batch is incomplete."""


class ActorPool:
    """Live actors and a work queue over them; see the module docstring.

    Args:
        ray: the ``ray`` module.
        actors: handles of actors with a ``ping()`` method, created with ``max_restarts`` and
            ``max_task_retries=0``.
        max_restarts: the actors' ``max_restarts`` (for messages).
        max_retries: runs of a chunk after its first, per batch.
        restart_timeout: seconds to wait for a restarting actor when no other one works.

    Attributes:
        actors: the actors not known dead. lost_chunks: chunks run again so far.
    """

    def __init__(
        self, ray, actors: list, *, max_restarts: int, max_retries: int, restart_timeout: float
    ):
        self._ray = ray
        self.actors, self._idle = list(actors), list(actors)
        self._pings: dict[Any, Any] = {}  # ping ref -> actor out of dispatch until it answers
        self._created, self.lost_chunks = len(actors), 0
        self.max_restarts, self.max_retries = max_restarts, max_retries
        self.restart_timeout = float(restart_timeout)

    def map(self, method: str, calls: list[tuple], sizes: list[int]) -> list:
        """``actor.<method>(*calls[i])`` for every ``i`` on some actor; results in order.

        ``sizes[i]``: rows of chunk ``i`` (for messages). Raises :class:`WorkersLostError`.
        """
        out: list = [None] * len(calls)
        tries = [0] * len(calls)
        todo, running = deque(range(len(calls))), {}
        try:
            while todo or running:
                while todo and self._idle:
                    i, actor = todo.popleft(), self._idle.pop(0)
                    running[getattr(actor, method).remote(*calls[i])] = (i, actor)
                ref = self._wait(running)
                if ref is None:  # an actor is back; give it work
                    continue
                i, actor = running.pop(ref)
                try:
                    out[i] = self._ray.get(ref)
                except self._ray.exceptions.RayActorError as err:
                    tries[i] += 1
                    self._lost(actor, err, sizes[i], tries[i])
                    todo.appendleft(i)
                except Exception:  # raised by the task (e.g. a ValueError): the actor is fine
                    self._idle.append(actor)
                    raise
                else:
                    self._idle.append(actor)
        finally:  # after an error: actors still running a chunk take new work after it
            self._idle.extend(actor for _, actor in running.values())
        return out

    def close(self) -> None:
        """Kill the actors (for good: no restart)."""
        for actor in self.actors:
            self._ray.kill(actor, no_restart=True)
        self.actors, self._idle, self._pings = [], [], {}

    def _wait(self, running: dict):
        """The next finished chunk's ref, or ``None`` after a health check came back."""
        if not running and not self._pings:
            raise WorkersLostError(
                f"all {self._created} Ray workers are gone (Ray restarted each up to "
                f"max_restarts={self.max_restarts} times); {RESUME_HINT} once the cluster has "
                "workers again"
            )
        timeout = None if running else self.restart_timeout  # Ray fails chunks of lost nodes
        done, _ = self._ray.wait([*running, *self._pings], num_returns=1, timeout=timeout)
        if not done:
            raise self._not_back()
        if done[0] in running:
            return done[0]
        self._checked(done[0])
        return None

    def settle(self) -> None:
        """Wait until every restarting actor is back (or gone): none left out of dispatch."""
        while self._pings:
            done, _ = self._ray.wait(list(self._pings), num_returns=1, timeout=self.restart_timeout)
            if not done:
                raise self._not_back()
            self._checked(done[0])

    def _not_back(self) -> WorkersLostError:
        k = len(self._pings)
        return WorkersLostError(
            f"{k} restarting Ray worker{'s' if k > 1 else ''} did not answer within "
            f"restart_timeout={self.restart_timeout:g} s (no room on the cluster?); {RESUME_HINT}"
        )

    def _checked(self, ref) -> None:
        """A health check came back: its actor works again, or is gone for good."""
        actor = self._pings.pop(ref)
        try:
            self._ray.get(ref)
        except self._ray.exceptions.RayActorError as err:
            self.actors.remove(actor)
            log.warning(
                "Ray worker gone for good (%s); %d of %d left",
                type(err).__name__,
                len(self.actors),
                self._created,
            )
        else:
            self._idle.append(actor)

    def _lost(self, actor, err: Exception, rows: int, tries: int) -> None:
        """A chunk of ``rows`` episodes was lost with ``actor`` for the ``tries``-th time."""
        if getattr(err, "actor_init_failed", False):  # e.g. the task does not unpickle there
            cause = str(err).strip().splitlines()[-1]  # the constructor's exception
            raise WorkersLostError(
                f"a Ray worker could not start: {cause} (the task and its loss must load on "
                "every node of the cluster)"
            ) from err
        self.lost_chunks += 1
        self._pings[actor.ping.options(max_task_retries=-1).remote()] = actor
        if tries > self.max_retries:
            times = "once" if tries == 1 else f"{tries} times"
            raise WorkersLostError(
                f"a chunk of {rows} episodes was lost with its Ray worker {times} "
                f"({type(err).__name__}; out of memory? a crash in the simulation?), more than "
                f"max_retries={self.max_retries} allows; {RESUME_HINT}"
            ) from err
        log.warning(
            "Ray worker lost (%s); its %d episodes run again (retry %d of %d)",
            type(err).__name__,
            rows,
            tries,
            self.max_retries,
        )
