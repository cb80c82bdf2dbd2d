"""HTTP load with wrk (Debian's ``wrk``): keep-alive connections sending prepared requests, each
a distinct case, as fast as the server answers, and the SPARQL load of the example queries.

wrk runs as a child process with a Lua script (``wrk.lua`` beside this module) that reads the
requests from a file, one per line, and has each of its threads send every n-th of them; the 200s
that arrive within the timed window, after a warm-up, are counted (in one run, so that nothing
sent during the warm-up is still in the server when the window opens).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from kg.config import QUERIES_DIR
from kg.tools.bench.measure import Plan, progress
from kg.tools.bench.servers import HOST, ROUTE, oxigraph_served, served

HTTP_WARMUP_S = 1.0
#: wrk's threads (the issue's load: 2 threads, 32 connections).
WRK_THREADS = 2
WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
_RESULT = re.compile(r"^KG-RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class Request:
    """One HTTP request for wrk: method, path with its query string, body (JSON), Accept."""

    method: str
    path: str
    body: str = ""
    accept: str = "application/json"

    def line(self) -> str:
        """The request as one line of wrk.lua's file (no field holds a tab or a newline)."""
        fields = (self.method, self.path, self.accept, self.body)
        if any("\t" in field or "\n" in field for field in fields):
            raise ValueError(f"a request field holds a tab or a newline: {self.path}")
        return "\t".join(fields)


def http_request(body: dict[str, Any], route: str = ROUTE) -> Request:
    """A POST of ``body`` as JSON to ``route`` (``POST /recommendations``)."""
    return Request("POST", route, json.dumps(body))


@dataclass(frozen=True)
class Load:
    """What the load client saw in the timed window."""

    completed: int  # 200 responses completed in the window
    failed: int  # non-200 responses or socket errors, window or warm-up
    sent: int  # requests answered, warm-up included
    seconds: float
    client_cpu: float  # wrk's CPU time / wall time of the run, in cores

    @property
    def rps(self) -> float:
        """200 responses per second of the timed window."""
        return self.completed / self.seconds


def wrk_path() -> str:
    """wrk's executable; raises RuntimeError naming how to install it."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("kg bench needs wrk for its HTTP loads (Debian: apt-get install wrk)")
    return wrk


def drive_load(port: int, requests: list[Request], connections: int, seconds: float) -> Load:
    """Keep ``connections`` keep-alive connections busy with wrk, one request in flight on each,
    for HTTP_WARMUP_S (not counted) and then ``seconds`` (counted): every request a distinct case,
    the same sequence for every server (reused from the start only if the list runs out). Raises
    RuntimeError when wrk is missing or fails (e.g. nothing listens on the port)."""
    wrk = wrk_path()
    threads = max(1, min(WRK_THREADS, connections))
    duration = math.ceil(HTTP_WARMUP_S + seconds + 0.5)  # the window closes before wrk stops
    with tempfile.TemporaryDirectory(prefix="kg-bench-") as folder:
        listed = Path(folder) / "requests.tsv"
        listed.write_text("\n".join(request.line() for request in requests) + "\n", encoding="utf-8")
        command = [
            wrk,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={duration}s",
            "--timeout=30s",
            f"--script={WRK_SCRIPT}",
            f"http://{HOST}:{port}",
            "--",
            str(listed),
            str(threads),
            str(HTTP_WARMUP_S),
            str(seconds),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = _RESULT.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}")
    completed, answered, failed, connect, read, write, timeout = map(int, found.groups())
    if connect:
        raise RuntimeError(f"wrk could not connect to {HOST}:{port} ({connect} connection errors)")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Load(completed, failed + read + write + timeout, answered, seconds, cpu / wall)


def measure_http(factory: str, workers: int, env: dict[str, str], load: Callable[[int], Load]) -> Load:
    """Start the server, load it from the client, stop it."""
    with served(factory, workers, env) as port:
        result = load(port)
    if result.failed:
        raise RuntimeError(f"{factory}: {result.failed} responses were not 200")
    return result


def example_queries() -> list[str]:
    """The competency questions in queries/examples/, in file name order."""
    queries = [path.read_text() for path in sorted((QUERIES_DIR / "examples").glob("*.rq"))]
    if not queries:
        raise RuntimeError(f"no example queries in {QUERIES_DIR / 'examples'} to measure SPARQL with")
    return queries


def sparql_request(path: str, query: str) -> Request:
    """A GET of ``query`` at ``path``, asking for SPARQL JSON results."""
    return Request("GET", f"{path}?{urlencode({'query': query})}", accept="application/sparql-results+json")


def sparql_loads(
    dump: bytes, queries: list[str], args: argparse.Namespace, plan: Plan, env: dict[str, str]
) -> tuple[Load, Load]:
    """kg's /sparql, then the Oxigraph server's /query, over the same dataset: the same load
    (example queries asked in turn, as SPARQL JSON), connections and duration."""

    def loader(path: str) -> Callable[[int], Load]:
        # each wrk thread sends every WRK_THREADS-th request: each query that many times in a
        # row makes every thread ask all of them in turn (a slow one does not go to one thread)
        requests = [sparql_request(path, query) for query in queries for _ in range(WRK_THREADS)]
        return lambda port: drive_load(port, requests, args.connections, plan.sparql_seconds)

    # kg refuses queries beyond its queue (503, Retry-After); here it queues every connection's
    # query, as the Oxigraph server does, so that both are measured answering the same load
    queued = {**env, "KG_SPARQL_QUEUE": str(max(args.connections, int(env.get("KG_SPARQL_QUEUE", "0") or 0)))}
    kg_load = measure_http("kg.api.main:create_app", args.workers, queued, loader("/sparql"))
    progress(f"kg /sparql: {kg_load.rps:.1f} queries/s")
    with oxigraph_served(dump) as port:
        oxigraph_load = loader("/query")(port)
    if oxigraph_load.failed:
        raise RuntimeError(f"the Oxigraph server: {oxigraph_load.failed} responses were not 200")
    progress(f"Oxigraph server /query: {oxigraph_load.rps:.1f} queries/s")
    return kg_load, oxigraph_load
