"""``kg bench``: the compiled fast path against owlrl, over HTTP, at cold start, in batch, in memory;
and the SPARQL endpoint against the Oxigraph server on the same data.

Every number is measured in the run, on distinct random cases drawn from a seeded generator
(1-10 findings of the vocabulary, age 0-130 or absent, eGFR 0-200 or absent). Try it with
``python3 -m kg.bench [--quick] [--json]``. Progress goes to standard error; standard output gets
the table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from kg.case import Case
from kg.config import PROJECT_ROOT, QUERIES_DIR, Settings
from kg.errors import CaseError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kg.knowledge_base import KnowledgeBase

Recommend = Callable[[Case], object]  # one engine's kb.recommend

HOST = "127.0.0.1"
ROUTE = "/recommendations"
KEYS = (
    "speedup_vs_owlrl",
    "owlrl_p50_ms",
    "fast_p50_ms",
    "fast_p99_ms",
    "identical_answers",
    "http_rps",
    "bare_fastapi_rps",
    "http_ratio",
    "cold_start_s",
    "batch_cases_per_s",
    "peak_rss_mb",
    "rss_after_1k_mb",  # (with --quick, the RSS marks are 1,000 and 10,000 requests)
    "rss_after_100k_mb",
    "sparql_qps",
    "oxigraph_qps",
    "sparql_ratio",
)
SEEN_BITS = 1 << 23  # 1 MiB: the generator's memory of the cases it has drawn (see CaseStream)
SERVER_START_TIMEOUT_S = 180.0
HTTP_WARMUP_S = 1.0
# The same command for the answer as `kg recommend --input -` (the console script calls kg.cli.main).
RECOMMEND_CLI = "import sys; from kg.cli import main; sys.exit(main(sys.argv[1:]))"


@dataclass(frozen=True)
class Plan:
    """How much of each measurement a mode does."""

    name: str
    naive_cases: int  # owlrl, and the compiled answer compared with it
    fast_cases: int  # compiled, timed one by one
    batch_cases: int  # compiled, timed as one loop
    rss_marks: tuple[int, int]  # current RSS after this many compiled requests
    http_seconds: float  # per server, after HTTP_WARMUP_S
    http_bodies: int  # distinct case bodies prepared for the load
    cold_runs: int  # warm-cache process starts
    sparql_seconds: float  # per SPARQL server, after HTTP_WARMUP_S


QUICK = Plan("quick", 3, 2_000, 5_000, (1_000, 10_000), 5.0, 20_000, 1, 5.0)
FULL = Plan("full", 20, 20_000, 50_000, (1_000, 100_000), 15.0, 60_000, 3, 15.0)


# --- the cases -----------------------------------------------------------------------------------------


#: The share of drawn cases given low back pain, the usual presenting complaint (a case without one is
#: out of scope and rejected, unless it reaches an emergent or urgent presentation).
PAIN, PAIN_SHARE = "low-back-pain", 0.9


class CaseStream:
    """Distinct random case bodies (dicts of the case JSON), reproducible from the seed.

    Distinct means no two drawn cases have the same set of findings, age and eGFR. The cases
    already drawn are remembered as one bit of a fixed bit array per case hash, so the memory
    does not grow with the number of cases (and does not show in the RSS measurements); a case
    whose bit is set already is skipped, even if only its hash collides.
    """

    def __init__(self, finding_ids: list[str], seed: int) -> None:
        self._ids = sorted(finding_ids)
        self._rng = random.Random(seed)
        self._seen = bytearray(SEEN_BITS // 8)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        while True:
            body = self._draw()
            key = (sorted(body["findings"]), body.get("age"), body.get("egfr"))
            bit = zlib.crc32(repr(key).encode()) % SEEN_BITS
            if not self._seen[bit >> 3] & (1 << (bit & 7)):
                self._seen[bit >> 3] |= 1 << (bit & 7)
                return body

    def _draw(self) -> dict[str, Any]:
        rng = self._rng
        findings = rng.sample(self._ids, rng.randint(1, min(10, len(self._ids))))
        if rng.random() < PAIN_SHARE and PAIN in self._ids and PAIN not in findings:
            findings.insert(0, PAIN)  # the usual presenting complaint, as in most real cases
        body: dict[str, Any] = {"findings": findings}
        if rng.random() < 0.8:
            body["age"] = round(rng.uniform(0, 130), 1)
        if rng.random() < 0.7:
            body["egfr"] = round(rng.uniform(0, 200), 1)
        return body

    def bodies(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` case bodies."""
        return [next(self) for _ in range(count)]

    def cases(self, count: int) -> list[Case]:
        """The next ``count`` cases."""
        return [Case(**body) for body in self.bodies(count)]


# --- in process ----------------------------------------------------------------------------------------


def current_rss_mb() -> float:
    """The resident set size of this process now (Linux /proc/self/statm)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """The peak resident set size of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class RssMeter:
    """Counts the compiled requests of the process; samples the current RSS as the count reaches each mark."""

    marks: tuple[int, ...]
    requests: int = 0
    samples: list[float] = field(default_factory=list)

    def tick(self, requests: int = 1) -> None:
        """``requests`` more requests are done."""
        self.requests += requests
        while len(self.samples) < len(self.marks) and self.requests >= self.marks[len(self.samples)]:
            self.samples.append(current_rss_mb())

    @property
    def remaining(self) -> int:
        """The requests still to do until the last mark."""
        return max(self.marks[-1] - self.requests, 0)


def latencies_ms(recommend: Recommend, stream: CaseStream, count: int, meter: RssMeter) -> list[float]:
    """The wall time in ms of each of ``count`` calls, each on a new case drawn (untimed) from ``stream``."""
    times = []
    for _ in range(count):
        case = Case(**next(stream))
        start = time.perf_counter()
        recommend(case)
        times.append((time.perf_counter() - start) * 1000)
        meter.tick()
    return times


def batch_rate(recommend: Recommend, cases: list[Case]) -> float:
    """Cases per second of one loop on one core: kb.recommend only (the pydantic Answer is built,
    not serialized to JSON)."""
    start = time.perf_counter()
    for case in cases:
        recommend(case)
    return len(cases) / (time.perf_counter() - start)


def in_process(
    recommend: Recommend, stream: CaseStream, plan: Plan
) -> tuple[list[float], float, list[float]]:
    """The compiled latencies (ms), the batch rate (cases/s) and the RSS at the plan's marks (MB).

    The RSS marks count the compiled requests from the first of the process: those of the latency
    loop, of the batch, then more until the last mark. The batch's cases are drawn before the first
    request and kept until the last mark, so both RSS samples hold them.
    """
    meter = RssMeter(plan.rss_marks)
    batch_cases = stream.cases(plan.batch_cases)
    latencies = latencies_ms(recommend, stream, plan.fast_cases, meter)
    progress(f"compiled latency over {plan.fast_cases} cases: p50 {statistics.median(latencies):.3f} ms")
    batch = batch_rate(recommend, batch_cases)
    meter.tick(len(batch_cases))
    progress(f"batch: {batch:.1f} cases/s")
    while meter.remaining:
        recommend(Case(**next(stream)))
        meter.tick()
    progress(f"RSS after {' and '.join(map(str, plan.rss_marks))} compiled requests: {meter.samples} MB")
    return latencies, batch, meter.samples


@dataclass
class Comparison:
    """owlrl against compiled on the same cases."""

    owlrl_ms: list[float] = field(default_factory=list)
    differences: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)


def outcome(kb: KnowledgeBase, case: Case, engine: str) -> dict[str, Any]:
    """The answer as ``model_dump()``, or ``{"rejected": [...problems]}`` for a rejected case."""
    try:
        return kb.recommend(case, engine).model_dump()
    except CaseError as error:
        return {"rejected": error.problems}


def answered_bodies(kb: KnowledgeBase, stream: CaseStream, count: int) -> list[dict[str, Any]]:
    """The next ``count`` drawn cases that ``kb`` answers (rejected ones skipped)."""
    bodies: list[dict[str, Any]] = []
    while len(bodies) < count:
        body = next(stream)
        if "rejected" not in outcome(kb, Case(**body), "compiled"):
            bodies.append(body)
    return bodies


def compare_engines(kb: KnowledgeBase, bodies: list[dict[str, Any]]) -> Comparison:
    """Time owlrl per case and compare its outcome with the compiled one (the answer's
    ``model_dump()``, or the rejection's problems)."""
    result = Comparison()
    for index, body in enumerate(bodies, 1):
        case = Case(**body)
        start = time.perf_counter()
        normative = outcome(kb, case, "owlrl")
        result.owlrl_ms.append((time.perf_counter() - start) * 1000)
        fast = outcome(kb, case, "compiled")
        if fast != normative:
            fields = [key for key in normative.keys() | fast.keys() if normative.get(key) != fast.get(key)]
            result.differences.append((body, sorted(fields)))
        progress(f"owlrl case {index}/{len(bodies)}: {result.owlrl_ms[-1] / 1000:.1f} s")
    return result


# --- HTTP ----------------------------------------------------------------------------------------------


def create_bare_app() -> FastAPI:
    """The baseline: a bare FastAPI app with the same route and body model, answering a tiny dict."""
    from fastapi import FastAPI  # only the server process needs it: `kg` starts without the HTTP stack

    app = FastAPI()

    @app.post(ROUTE)
    def recommend(case: Case) -> dict[str, int]:
        return {"findings": len(case.findings)}

    return app


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process: this checkout of kg, and the settings the bench was given."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    env.update(settings.environment())
    return env


@contextmanager
def served(factory: str, workers: int, env: dict[str, str]) -> Iterator[int]:
    """Run ``uvicorn --factory`` the way ``kg serve`` serves (default loop, protocol and access log),
    until every worker has started; yield its port, then stop it and its workers."""
    with served_process(factory, workers, env) as (port, _):
        yield port


@contextmanager
def served_process(
    factory: str, workers: int, env: dict[str, str]
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """:func:`served`, yielding the server process too (with one worker, the process that serves)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", factory]
    command += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_started(server, log, workers)
            yield port, server
        finally:
            _stop(server)


def _wait_started(server: subprocess.Popen[bytes], log: Any, workers: int) -> None:
    """Wait until the log says the socket listens and each worker's application has started;
    raise if the server dies.

    Both, since uvicorn logs them in either order: one process starts the application before it
    binds the socket, a process with workers binds it first.
    """
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        log.seek(0)
        text = log.read().decode(errors="replace")
        if "Uvicorn running on" in text and text.count("Application startup complete") >= workers:
            return
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}:\n{text[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start within {SERVER_START_TIMEOUT_S:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn's graceful shutdown), then SIGKILL to the server's own process group."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the server and its workers: its session's group
        server.wait()


def http_request(body: dict[str, Any]) -> bytes:
    """A keep-alive POST of ``body`` to the route, ready to send."""
    payload = json.dumps(body).encode()
    head = f"POST {ROUTE} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload


@dataclass(frozen=True)
class Load:
    """What the load client saw in the timed window."""

    completed: int  # 200 responses completed in the window
    failed: int  # non-200 responses, window or warm-up
    sent: int  # requests sent, warm-up included
    seconds: float
    client_cpu: float  # the client process's CPU time / wall time of the run, in cores

    @property
    def rps(self) -> float:
        """200 responses per second of the timed window."""
        return self.completed / self.seconds


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)


def _exchange(sock: socket.socket, request: bytes, buffer: bytearray) -> int:
    """Send one request and read its whole response (Content-Length framed or chunked); the status code."""
    sock.sendall(request)
    end = _read_until(sock, buffer, b"\r\n\r\n", 0)
    head = bytes(buffer[:end])
    length = _CONTENT_LENGTH.search(head)
    if length is not None:
        total = end + 4 + int(length.group(1))
    elif _CHUNKED.search(head):
        total = _chunked_end(sock, buffer, end + 4)
    else:
        raise RuntimeError(f"a response neither Content-Length framed nor chunked: {head[:200]!r}")
    while len(buffer) < total:
        buffer += _received(sock)
    del buffer[:total]
    return int(head[9:12])


def _read_until(sock: socket.socket, buffer: bytearray, marker: bytes, start: int) -> int:
    """The index of ``marker`` in ``buffer`` at or after ``start``, receiving until it arrives."""
    while (index := buffer.find(marker, start)) < 0:
        buffer += _received(sock)
    return index


def _chunked_end(sock: socket.socket, buffer: bytearray, position: int) -> int:
    """The end of a chunked body starting at ``position`` (no trailers), receiving until it is whole."""
    while True:
        line_end = _read_until(sock, buffer, b"\r\n", position)
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2 + size + 2
        if size == 0:
            return position
        while len(buffer) < position:
            buffer += _received(sock)


def _received(sock: socket.socket) -> bytes:
    chunk = sock.recv(1 << 16)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    return chunk


def drive_load(port: int, requests: list[bytes], connections: int, seconds: float) -> Load:
    """Keep ``connections`` keep-alive connections busy, one request in flight on each, for
    HTTP_WARMUP_S (not counted) and then ``seconds`` (counted). Runs in the client process.

    Connection i sends requests[i], requests[i + connections], ...: every request a distinct case,
    the same sequence for every server (reused from the start only if the list runs out).
    """
    sockets = [socket.create_connection((HOST, port)) for _ in range(connections)]
    for sock in sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    window = (wall_start + HTTP_WARMUP_S, wall_start + HTTP_WARMUP_S + seconds)
    tallies: list[tuple[int, int, int]] = [(0, 0, 0)] * connections
    errors: list[Exception] = []

    def loop(index: int) -> None:
        mine = requests[index::connections]
        completed = failed = sent = 0
        buffer = bytearray()
        try:
            while True:
                status = _exchange(sockets[index], mine[sent % len(mine)], buffer)
                sent += 1
                now = time.perf_counter()
                if status != 200:
                    failed += 1
                elif window[0] <= now < window[1]:
                    completed += 1
                if now >= window[1]:
                    break
        except Exception as error:  # reported by the caller: a broken connection invalidates the run
            errors.append(error)
        tallies[index] = (completed, failed, sent)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    for sock in sockets:
        sock.close()
    if errors:
        raise RuntimeError(f"the load client failed: {errors[0]!r}")
    completed, failed, sent = (sum(t[i] for t in tallies) for i in range(3))
    return Load(completed, failed, sent, seconds, cpu)


def measure_http(factory: str, workers: int, env: dict[str, str], load: Callable[[int], Load]) -> Load:
    """Start the server, load it from the client, stop it."""
    with served(factory, workers, env) as port:
        result = load(port)
    if result.failed:
        raise RuntimeError(f"{factory}: {result.failed} responses were not 200")
    return result


# --- SPARQL ---------------------------------------------------------------------------------------------


def example_queries() -> list[str]:
    """The competency questions in queries/examples/, in file name order."""
    queries = [path.read_text() for path in sorted((QUERIES_DIR / "examples").glob("*.rq"))]
    if not queries:
        raise RuntimeError(f"no example queries in {QUERIES_DIR / 'examples'} to measure SPARQL with")
    return queries


def sparql_request(path: str, query: str) -> bytes:
    """A keep-alive GET of ``query`` at ``path``, asking for SPARQL JSON results."""
    head = f"GET {path}?{urlencode({'query': query})} HTTP/1.1\r\nHost: {HOST}\r\n"
    return f"{head}Accept: application/sparql-results+json\r\n\r\n".encode()


def oxigraph_binary() -> str:
    """The ``oxigraph`` command (PyPI package ``oxigraph``, a test dependency), on PATH or beside this
    Python; raises RuntimeError if it is not installed."""
    scripts = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    binary = shutil.which("oxigraph", path=scripts)
    if binary is None:
        raise RuntimeError("the Oxigraph server is not installed: pip install -e '.[test]'")
    return binary


@contextmanager
def oxigraph_served(dump: bytes) -> Iterator[int]:
    """The Oxigraph server (read-only) over a store loaded from the N-Quads ``dump``; yields its port."""
    binary = oxigraph_binary()
    with tempfile.TemporaryDirectory() as directory:
        data, location = Path(directory) / "dataset.nq", Path(directory) / "store"
        data.write_bytes(dump)
        for command in (["load", "--file", str(data)], ["optimize"]):
            done = subprocess.run([binary, *command, "--location", str(location)], capture_output=True)
            if done.returncode:
                raise RuntimeError(f"oxigraph {command[0]} failed: {done.stderr.decode(errors='replace')}")
        port = free_port()
        command = [binary, "serve-read-only", "--location", str(location), "--bind", f"{HOST}:{port}"]
        server = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            _wait_listening(server, port)
            yield port
        finally:
            _stop(server)


def _wait_listening(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Oxigraph server exited with status {server.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the Oxigraph server did not listen within {SERVER_START_TIMEOUT_S:.0f} s")


def sparql_loads(
    dump: bytes, queries: list[str], args: argparse.Namespace, plan: Plan, env: dict[str, str]
) -> tuple[Load, Load]:
    """kg's /sparql, then the Oxigraph server's /query, over the same dataset: the same client
    process, example queries (each asked in turn, as SPARQL JSON), connections and duration."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as client:

        def loader(path: str) -> Callable[[int], Load]:
            # Connection i asks queries i, i + 1, ... in turn (drive_load gives it every connections-th).
            count, connections = len(queries), args.connections
            asked = [
                queries[(j // connections + j % connections) % count] for j in range(count * connections)
            ]
            requests = [sparql_request(path, query) for query in asked]
            return lambda port: client.submit(
                drive_load, port, requests, args.connections, plan.sparql_seconds
            ).result()

        kg_load = measure_http("kg.api.main:create_app", args.workers, env, loader("/sparql"))
        progress(f"kg /sparql: {kg_load.rps:.1f} queries/s")
        with oxigraph_served(dump) as port:
            oxigraph_load = loader("/query")(port)
        if oxigraph_load.failed:
            raise RuntimeError(f"the Oxigraph server: {oxigraph_load.failed} responses were not 200")
        progress(f"Oxigraph server /query: {oxigraph_load.rps:.1f} queries/s")
    return kg_load, oxigraph_load


# --- cold start ----------------------------------------------------------------------------------------


def answer_in_new_process(env: dict[str, str], body: dict[str, Any]) -> float:
    """Seconds from launching ``kg recommend --input -`` to its whole JSON answer on its standard output.

    The child runs unbuffered (``-u``), so the answer arrives as it is printed and the time leaves out
    the interpreter's teardown; the exit status is checked afterwards.
    """
    command = [sys.executable, "-u", "-c", RECOMMEND_CLI, "recommend", "--input", "-"]
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=env, cwd=PROJECT_ROOT
        )
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(body).encode())
        child.stdin.close()
        output, answered = bytearray(), None
        while chunk := child.stdout.read1(1 << 16):
            output += chunk
            if answered is None and _is_answer(output):
                answered = time.perf_counter()
        child.wait()
        errors.seek(0)
        if child.returncode != 0 or answered is None:
            raise RuntimeError(f"kg recommend failed ({child.returncode}): {errors.read().decode()[-2000:]}")
    return answered - start


def _is_answer(output: bytearray) -> bool:
    """Whether ``output`` is a whole JSON answer."""
    if not output.rstrip().endswith(b"}"):
        return False
    try:
        return "urgency" in json.loads(output)
    except ValueError:
        return False


def cold_start_s(settings: Settings, bodies: list[dict[str, Any]]) -> float:
    """The median start-to-answer time over ``bodies[1:]``, after ``bodies[0]`` warmed a fresh cache."""
    with tempfile.TemporaryDirectory(prefix="kg-bench-cache-") as cache:
        env = server_env(settings)
        env["KG_CACHE_DIR"] = cache
        warming = answer_in_new_process(env, bodies[0])
        progress(f"cold start: {warming:.2f} s building the cache")
        times = [answer_in_new_process(env, body) for body in bodies[1:]]
        if len(list(Path(cache).glob("*.json"))) > 1:
            progress("warning: kg's code changed during the cold start runs, so a run rebuilt the cache")
    return statistics.median(times)


# --- the run -------------------------------------------------------------------------------------------


def progress(message: str) -> None:
    """A progress line on standard error."""
    print(f"kg bench: {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method; with fewer than 2 values, the value)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


@dataclass(frozen=True)
class Results:
    """The JSON object (``metrics``, keyed by KEYS) and what the table shows besides."""

    metrics: dict[str, Any]
    plan: Plan
    differences: list[tuple[dict[str, Any], list[str]]]
    loads: tuple[Load, Load]  # kg, bare
    sparql_loads: tuple[Load, Load]  # kg's /sparql, the Oxigraph server's
    sparql_queries: int  # the example queries the SPARQL load cycles through
    bodies: int  # distinct HTTP case bodies prepared
    load_average: tuple[float, float, float]  # of the machine, before the run


def benchmark(args: argparse.Namespace, settings: Settings) -> Results:
    """Every measurement."""
    from kg.knowledge_base import KnowledgeBase  # here, so that the bare app's server does not load rdflib
    from kg.sparql.dataset import nquads

    plan = QUICK if args.quick else FULL
    load_average = os.getloadavg()
    start = time.perf_counter()
    kb = KnowledgeBase.from_settings(settings)
    progress(f"knowledge base loaded in {time.perf_counter() - start:.1f} s; engines: {kb.reasoners}")
    if "compiled" not in kb.reasoners:
        raise RuntimeError("this ontology has no compiled engine: nothing to compare owlrl with")

    def compiled(case: Case) -> object:
        """The answer, or the rejection of a case out of scope or contradictory (also an outcome)."""
        try:
            return kb.recommend(case, "compiled")
        except CaseError as error:
            return error

    stream = CaseStream([f.id for f in kb.findings], args.seed)
    fast, batch, rss = in_process(compiled, stream, plan)  # first, so that owlrl's memory is not in the RSS
    comparison = compare_engines(kb, stream.bodies(plan.naive_cases))
    # the HTTP load must get 200s: its bodies are cases this process answers (the servers' caches stay cold)
    requests = [http_request(body) for body in answered_bodies(kb, stream, plan.http_bodies)]
    kg_load, bare_load = http_loads(requests, args, plan, server_env(settings))
    queries = example_queries()
    sparql, oxigraph = sparql_loads(nquads(kb.ontology, kb.closed), queries, args, plan, server_env(settings))
    cold = cold_start_s(settings, answered_bodies(kb, stream, 1 + plan.cold_runs))

    owlrl_p50, fast_p50 = statistics.median(comparison.owlrl_ms), statistics.median(fast)
    metrics = {
        "speedup_vs_owlrl": round(owlrl_p50 / fast_p50, 1),
        "owlrl_p50_ms": round(owlrl_p50, 1),
        "fast_p50_ms": round(fast_p50, 3),
        "fast_p99_ms": round(percentile(fast, 99), 3),
        "identical_answers": not comparison.differences,
        "http_rps": round(kg_load.rps, 1),
        "bare_fastapi_rps": round(bare_load.rps, 1),
        "http_ratio": round(kg_load.rps / bare_load.rps, 4),
        "cold_start_s": round(cold, 3),
        "batch_cases_per_s": round(batch, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_after_1k_mb": round(rss[0], 1),
        "rss_after_100k_mb": round(rss[1], 1),
        "sparql_qps": round(sparql.rps, 1),
        "oxigraph_qps": round(oxigraph.rps, 1),
        "sparql_ratio": round(sparql.rps / oxigraph.rps, 4),
    }
    assert tuple(metrics) == KEYS
    return Results(
        metrics,
        plan,
        comparison.differences,
        (kg_load, bare_load),
        (sparql, oxigraph),
        len(queries),
        len(requests),
        load_average,
    )


def http_loads(
    requests: list[bytes], args: argparse.Namespace, plan: Plan, env: dict[str, str]
) -> tuple[Load, Load]:
    """The kg server's load, then the bare app's: the same client process, requests, connections
    and duration, and the same uvicorn command and workers."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as client:

        def load(port: int) -> Load:
            return client.submit(drive_load, port, requests, args.connections, plan.http_seconds).result()

        kg_load = measure_http("kg.api.main:create_app", args.workers, env, load)
        progress(f"kg server: {kg_load.rps:.1f} requests/s")
        bare_load = measure_http("kg.bench:create_bare_app", args.workers, env, load)
        progress(f"bare FastAPI server: {bare_load.rps:.1f} requests/s")
    if max(kg_load.sent, bare_load.sent) > len(requests):
        progress(f"warning: more requests were sent than the {len(requests)} distinct bodies: some repeated")
    return kg_load, bare_load


def table(results: Results, args: argparse.Namespace, settings: Settings) -> str:
    """The results as an aligned two-column table, with the machine and the plan."""
    m, plan = results.metrics, results.plan
    kg_load, bare_load = results.loads
    low, high = plan.rss_marks
    http = f"{args.workers} worker(s), {args.connections} connections, {plan.http_seconds:.0f} s"
    rows = [
        ("machine", f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"),
        ("load average", " ".join(f"{x:.2f}" for x in results.load_average) + " (before the run)"),
        ("mode", f"{plan.name} (seed {args.seed}; server engine {settings.reasoner})"),
        ("owlrl p50", f"{m['owlrl_p50_ms']:.1f} ms ({plan.naive_cases} cases)"),
        ("compiled p50", f"{m['fast_p50_ms']:.3f} ms ({plan.fast_cases} cases)"),
        ("compiled p99", f"{m['fast_p99_ms']:.3f} ms"),
        ("speedup vs owlrl", f"{m['speedup_vs_owlrl']:.1f}x (p50 / p50)"),
        ("identical answers", f"{m['identical_answers']} ({plan.naive_cases} cases)"),
        ("HTTP kg", f"{m['http_rps']:.1f} requests/s ({http}; client CPU {kg_load.client_cpu:.2f})"),
        ("HTTP bare app", f"{m['bare_fastapi_rps']:.1f} requests/s (client CPU {bare_load.client_cpu:.2f})"),
        ("HTTP kg / bare", f"{m['http_ratio']:.4f}"),
        ("HTTP bodies", f"{results.bodies} distinct; sent {kg_load.sent} (kg), {bare_load.sent} (bare)"),
        ("cold start", f"{m['cold_start_s']:.3f} s (median of {plan.cold_runs}, warm disk cache)"),
        ("batch", f"{m['batch_cases_per_s']:.1f} cases/s ({plan.batch_cases} cases, kb.recommend only)"),
        (f"RSS after {low:,} requests", f"{m['rss_after_1k_mb']:.1f} MB"),
        (f"RSS after {high:,} requests", f"{m['rss_after_100k_mb']:.1f} MB"),
        ("RSS ratio", f"{m['rss_after_100k_mb'] / m['rss_after_1k_mb']:.3f} (both hold the batch's cases)"),
        ("peak RSS", f"{m['peak_rss_mb']:.1f} MB (this process)"),
        (
            "SPARQL kg",
            f"{m['sparql_qps']:.1f} queries/s ({results.sparql_queries} example queries in turn, "
            f"{args.workers} worker(s), {args.connections} connections, {plan.sparql_seconds:.0f} s; "
            f"client CPU {results.sparql_loads[0].client_cpu:.2f})",
        ),
        (
            "SPARQL Oxigraph server",
            f"{m['oxigraph_qps']:.1f} queries/s (same queries and data; "
            f"client CPU {results.sparql_loads[1].client_cpu:.2f})",
        ),
        ("SPARQL kg / Oxigraph", f"{m['sparql_ratio']:.4f}"),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines + difference_lines(results.differences))


def difference_lines(differences: list[tuple[dict[str, Any], list[str]]]) -> list[str]:
    """One line per case whose compiled answer differs from owlrl's, with the fields that differ."""
    return [f"DIFFERS {json.dumps(body)}: {', '.join(fields)}" for body, fields in differences]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kg bench``."""
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 2 minutes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--workers", type=_positive, default=1, help="uvicorn --workers for both servers")
    parser.add_argument("--connections", type=_positive, default=8, help="concurrent HTTP connections")
    parser.add_argument("--seed", type=int, default=0, help="the seed of the random cases")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Measure and print; 0 on success, 1 if a measurement could not be made."""
    try:
        results = benchmark(args, settings)
    except (RuntimeError, OSError) as exc:
        print(f"kg bench: {exc}", file=sys.stderr)
        return 1
    if args.json:
        for line in difference_lines(results.differences):
            print(line, file=sys.stderr)
        print(json.dumps(results.metrics))
    else:
        print(table(results, args, settings))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kg.bench [--quick] [--json]``."""
    parser = argparse.ArgumentParser(prog="kg bench", description="Measure kg: latency, HTTP, start, memory.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"kg bench: {exc}", file=sys.stderr)
        return 2
    return run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
