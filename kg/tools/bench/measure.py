"""What ``kg bench`` measures in process and in fresh processes: latencies, batch rate, memory,
the engines' agreement, the cold start."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.config import PROJECT_ROOT, Settings
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools.bench.servers import server_env
from kg.tools.cases import CaseStream

if TYPE_CHECKING:
    from kg.knowledge_base import KnowledgeBase


Recommend = Callable[[Case], object]  # one engine's kb.recommend


KEYS = (
    "speedup_vs_owlrl",
    "owlrl_p50_ms",
    "fast_p50_ms",
    "fast_p99_ms",
    "steady_p50_ms",  # new cases after the RSS marks' (10,000 or 100,000) distinct cases were served
    "steady_p99_ms",
    "identical_answers",
    "http_rps",
    "bare_fastapi_rps",
    "http_ratio",
    "http_repeat_rps",  # one case sent again and again: the HTTP layer plus a case's kept work
    "http_repeat_ratio",  # that against the bare app under the same load
    "hook_p50_ms",  # a CDS Hooks order-sign call with prefetch, in process
    "hook_recommend_p50_ms",  # kb.recommend on as many other cases with the same (coded) findings
    "hook_ratio",  # the first over the second: the goal is 2 at most
    "hook_http_rps",  # order-sign calls over HTTP (distinct coded cases, a fresh server)
    "hook_http_coded_rps",  # the same cases as POST /recommendations (a fresh server)
    "hook_http_ratio",  # the first over the second: the goal is 0.5 at least (a hook costs 2 at most)
    "cold_start_s",
    "batch_cases_per_s",
    "peak_rss_mb",
    "rss_after_1k_mb",  # (with --quick, the RSS marks are 1,000 and 10,000 requests)
    "rss_after_100k_mb",
    "sparql_qps",
    "oxigraph_qps",
    "sparql_ratio",
    "audit_orders_per_s",  # kg audit end to end in one process (NDJSON in, the four files out)
    "audit_workers_orders_per_s",  # the same with --workers 2
    "audit_dask_orders_per_s",  # the same on a 2-worker Dask LocalCluster
)


# The same command for the answer as `kg recommend --input -` (the console script calls kg.cli.main).
RECOMMEND_CLI = "import sys; from kg.cli import main; sys.exit(main(sys.argv[1:]))"


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
) -> tuple[list[float], float, list[float], list[float]]:
    """The compiled latencies (ms) of the first cases after the start, the batch rate (cases/s),
    the RSS at the plan's marks (MB), and the latencies (ms) of as many new cases once the last
    mark's cases are served: the service after its first minutes, its kept rows grown.

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
    steady = latencies_ms(recommend, stream, plan.fast_cases, meter)
    progress(
        f"compiled latency after {meter.requests - plan.fast_cases} cases: "
        f"p50 {statistics.median(steady):.3f} ms"
    )
    return latencies, batch, meter.samples, steady


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


def progress(message: str) -> None:
    """A progress line on standard error."""
    print(f"kg bench: {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method; with fewer than 2 values, the value)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


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
    audit_orders: int  # orders of the synthetic export kg audit rates


QUICK = Plan("quick", 3, 2_000, 5_000, (1_000, 10_000), 5.0, 20_000, 1, 5.0, 20_000)


FULL = Plan("full", 20, 20_000, 50_000, (1_000, 100_000), 15.0, 60_000, 3, 15.0, 100_000)
