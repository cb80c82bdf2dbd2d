"""A pool of query worker processes, each holding the dataset; the time limit is enforced by killing.

pyoxigraph cannot cancel a query, and a thread cannot be stopped, so a query runs in a worker
process: when it overruns its time, the worker is killed and a fresh one takes its place, while the
service and the other workers go on answering. Workers start on first use, each as a fresh
``python -m kg.sparql`` (not a fork, which would copy the server's threads and locks
mid-flight, nor multiprocessing's spawn, which would re-import the server's main module).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from kg.model.errors import QueryUnfinished, SparqlError
from kg.sparql.worker import QueryRequest, Result


@dataclass(frozen=True)
class Limits:
    """How long one query may take (seconds) and how large its serialized result may be (bytes)."""

    timeout_s: float
    max_result_bytes: int


class _Worker:
    """One worker process and the parent's end of the socket to it; the dataset is its first message."""

    def __init__(self, dump: bytes, limits: Limits) -> None:
        ours, theirs = socket.socketpair()
        with ours, theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kg.sparql", str(theirs.fileno())], pass_fds=[theirs.fileno()]
            )
            self.connection = Connection(ours.detach())
        self.connection.send((dump, limits.max_result_bytes))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.connection.close()


class QueryWorkers:
    """At most ``size`` workers over one dataset (N-Quads ``dump``); one query per worker at a time."""

    def __init__(self, dump: bytes, size: int, limits: Limits) -> None:
        self._dump = dump
        self._size = size
        self._limits = limits
        self._idle: list[_Worker] = []
        self._running = 0
        self._closed = False
        self._changed = threading.Condition()

    def run(self, request: QueryRequest) -> Result:
        """The worker's answer to ``request``; raises the SparqlError it sends, or QueryUnfinished."""
        worker = self._acquire()
        try:
            worker.connection.send(request)
            if not worker.connection.poll(self._limits.timeout_s):
                raise QueryUnfinished(
                    f"query: stopped after {self._limits.timeout_s:g} s (KG_SPARQL_TIMEOUT); "
                    "narrow it or add a LIMIT"
                )
            reply: Result | SparqlError = worker.connection.recv()
        except (EOFError, OSError):
            self._discard(worker)
            raise QueryUnfinished(
                "query: its worker process stopped while answering "
                f"(exit status {worker.process.returncode}); the query was not answered: simplify it"
            ) from None
        except BaseException:
            self._discard(worker)
            raise
        self._release(worker)
        if isinstance(reply, SparqlError):
            raise reply
        return reply

    def close(self) -> None:
        """Stop the idle workers now and each busy one when its query ends."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._running -= len(idle)
            self._changed.notify_all()
        for worker in idle:
            worker.stop()

    def _acquire(self) -> _Worker:
        """An idle worker, or a new one while fewer than ``size`` run; waits at most the time limit."""
        deadline = time.monotonic() + self._limits.timeout_s
        with self._changed:
            while not self._idle and self._running >= self._size:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    raise QueryUnfinished(
                        f"all {self._size} SPARQL workers stayed busy for {self._limits.timeout_s:g} s; "
                        "try again later"
                    )
                self._changed.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._running += 1
        try:
            return _Worker(self._dump, self._limits)
        except BaseException:
            with self._changed:
                self._running -= 1
                self._changed.notify()
            raise

    def _release(self, worker: _Worker) -> None:
        with self._changed:
            if not self._closed:
                self._idle.append(worker)
                self._changed.notify()
                return
            self._running -= 1
        worker.stop()

    def _discard(self, worker: _Worker) -> None:
        """Stop a worker whose query failed to come back (killed mid-query, or broken); free its place."""
        worker.stop()
        with self._changed:
            self._running -= 1
            self._changed.notify()
