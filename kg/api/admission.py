"""Admission control for /sparql: its own bounded queue and threads, so SPARQL load never starves
the clinical routes.

Every route of kg but /sparql runs in the event loop or in AnyIO's shared thread pool. A SPARQL
query holds a thread while it waits for a query worker and while the worker runs it, so without a
bound a flood of slow queries would take every thread of that pool and stall
``POST /recommendations`` and ``/health``. Here a SPARQL request waits for its turn on the event
loop (holding no thread), runs on one of its own ``running`` threads (one per query worker), and
is refused at once, 503 with ``Retry-After``, when ``running + waiting`` requests are in already.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import anyio

from kg.model.errors import QueryUnfinished, SparqlBusy

T = TypeVar("T")


class Admission:
    """At most ``running`` calls at once, ``waiting`` more queued for at most ``wait_s``; the rest refused."""

    def __init__(self, running: int, waiting: int, wait_s: float) -> None:
        self._turns = anyio.CapacityLimiter(running)
        self._threads = anyio.CapacityLimiter(running)
        self._capacity = running + waiting
        self._wait_s = wait_s
        self._inside = 0  # admitted requests, queued or running (read and written on the event loop only)

    async def run(self, call: Callable[[], T]) -> T:
        """``call()``'s result, run on one of this gate's threads; raises SparqlBusy when full, or
        QueryUnfinished when no turn came within the wait."""
        if self._inside >= self._capacity:
            raise SparqlBusy(
                f"the SPARQL endpoint is full ({self._capacity} queries running or queued; "
                "KG_SPARQL_WORKERS, KG_SPARQL_QUEUE): try again shortly",
                retry_after_s=max(1, math.ceil(self._wait_s / 4)),
            )
        self._inside += 1
        try:
            try:
                with anyio.fail_after(self._wait_s):
                    await self._turns.acquire()
            except TimeoutError:
                raise QueryUnfinished(
                    f"no SPARQL worker was free within {self._wait_s:g} s (KG_SPARQL_TIMEOUT); "
                    "try again later"
                ) from None
            try:
                return await anyio.to_thread.run_sync(call, limiter=self._threads)
            finally:
                self._turns.release()
        finally:
            self._inside -= 1
