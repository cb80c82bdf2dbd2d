"""``kg bench``: the compiled fast path against owlrl, over HTTP, at cold start, in batch, in memory;
and the SPARQL endpoint against the Oxigraph server on the same data.

Every number is measured in the run, on distinct random cases drawn from a seeded generator
(1-10 findings of the vocabulary, age 0-130 or absent, eGFR 0-200 or absent). Try it with
``kg bench [--quick] [--json]``. Progress goes to standard error; standard output gets
the table, or one JSON object with ``--json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kg.config import Settings
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools.bench.hooks import HOOK_ROUTE, Coded, hook_latencies
from kg.tools.bench.load import (
    Load,
    Request,
    drive_load,
    example_queries,
    http_request,
    measure_http,
    sparql_loads,
    wrk_path,
)
from kg.tools.bench.measure import (
    FULL,
    KEYS,
    QUICK,
    Plan,
    answered_bodies,
    cold_start_s,
    compare_engines,
    in_process,
    peak_rss_mb,
    percentile,
    progress,
)
from kg.tools.bench.servers import server_env
from kg.tools.cases import CaseStream

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Results:
    """The JSON object (``metrics``, keyed by KEYS) and what the table shows besides."""

    metrics: dict[str, Any]
    plan: Plan
    differences: list[tuple[dict[str, Any], list[str]]]
    loads: tuple[Load, Load, Load, Load, Load]  # kg, bare, kg with one case repeated, hook, coded cases
    sparql_loads: tuple[Load, Load]  # kg's /sparql, the Oxigraph server's
    sparql_queries: int  # the example queries the SPARQL load cycles through
    bodies: int  # distinct HTTP case bodies prepared
    load_average: tuple[float, float, float]  # of the machine, before the run


def benchmark(args: argparse.Namespace, settings: Settings) -> Results:
    """Every measurement."""
    from kg.knowledge_base import KnowledgeBase  # here, so that the bare app's server does not load rdflib
    from kg.sparql.dataset import nquads
    from kg.tools.bench.audit import audit_rates

    plan = QUICK if args.quick else FULL
    wrk_path()  # before minutes of measuring in process, not after them
    load_average = os.getloadavg()
    start = time.perf_counter()
    kb = KnowledgeBase.from_settings(settings)
    progress(f"knowledge base loaded in {time.perf_counter() - start:.1f} s; engines: {kb.reasoners}")
    # as kg serve does once it has loaded (kg.api.main): the graphs stay out of full collections,
    # which would otherwise walk them every so often in the middle of a case (80-120 ms here)
    gc.freeze()
    if "compiled" not in kb.reasoners:
        raise RuntimeError("this ontology has no compiled engine: nothing to compare owlrl with")

    def compiled(case: Case) -> object:
        """The answer, or the rejection of a case out of scope or contradictory (also an outcome)."""
        try:
            return kb.recommend(case, "compiled")
        except CaseError as error:
            return error

    stream = CaseStream([f.id for f in kb.findings], args.seed)
    fast, batch, rss, steady = in_process(
        compiled, stream, plan
    )  # first, so that owlrl's memory is not in the RSS
    comparison = compare_engines(kb, stream.bodies(plan.naive_cases))
    hook_p50, hook_recommend_p50 = hook_latencies(kb, stream, plan.fast_cases // 2)
    progress(f"CDS hook p50 {hook_p50:.3f} ms, kb.recommend p50 {hook_recommend_p50:.3f} ms (coded cases)")
    # the HTTP load must get 200s: its bodies are cases this process answers (the servers' caches stay cold)
    requests = [http_request(body) for body in answered_bodies(kb, stream, plan.http_bodies)]
    pairs = Coded(kb).pairs(stream, plan.http_bodies)
    kg_load, bare_load, repeat_load, hook_load, coded_load = http_loads(
        requests, pairs, args, plan, server_env(settings)
    )
    queries = example_queries()
    sparql, oxigraph = sparql_loads(nquads(kb.ontology, kb.closed), queries, args, plan, server_env(settings))
    cold = cold_start_s(settings, answered_bodies(kb, stream, 1 + plan.cold_runs))
    audit_one, audit_pool, audit_dask = audit_rates(settings, plan.audit_orders, args.seed)

    owlrl_p50, fast_p50 = statistics.median(comparison.owlrl_ms), statistics.median(fast)
    metrics = {
        "speedup_vs_owlrl": round(owlrl_p50 / fast_p50, 1),
        "owlrl_p50_ms": round(owlrl_p50, 1),
        "fast_p50_ms": round(fast_p50, 3),
        "fast_p99_ms": round(percentile(fast, 99), 3),
        "steady_p50_ms": round(statistics.median(steady), 3),
        "steady_p99_ms": round(percentile(steady, 99), 3),
        "identical_answers": not comparison.differences,
        "http_rps": round(kg_load.rps, 1),
        "bare_fastapi_rps": round(bare_load.rps, 1),
        "http_ratio": round(kg_load.rps / bare_load.rps, 4),
        "http_repeat_rps": round(repeat_load.rps, 1),
        "http_repeat_ratio": round(repeat_load.rps / bare_load.rps, 4),
        "hook_p50_ms": round(hook_p50, 3),
        "hook_recommend_p50_ms": round(hook_recommend_p50, 3),
        "hook_ratio": round(hook_p50 / hook_recommend_p50, 3),
        "hook_http_rps": round(hook_load.rps, 1),
        "hook_http_coded_rps": round(coded_load.rps, 1),
        "hook_http_ratio": round(hook_load.rps / coded_load.rps, 4),
        "cold_start_s": round(cold, 3),
        "batch_cases_per_s": round(batch, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_after_1k_mb": round(rss[0], 1),
        "rss_after_100k_mb": round(rss[1], 1),
        "sparql_qps": round(sparql.rps, 1),
        "oxigraph_qps": round(oxigraph.rps, 1),
        "sparql_ratio": round(sparql.rps / oxigraph.rps, 4),
        "audit_orders_per_s": round(audit_one, 1),
        "audit_workers_orders_per_s": round(audit_pool, 1),
        "audit_dask_orders_per_s": round(audit_dask, 1),
    }
    assert tuple(metrics) == KEYS
    return Results(
        metrics,
        plan,
        comparison.differences,
        (kg_load, bare_load, repeat_load, hook_load, coded_load),
        (sparql, oxigraph),
        len(queries),
        len(requests),
        load_average,
    )


def http_loads(
    requests: list[Request],
    pairs: list[tuple[dict[str, Any], dict[str, Any]]],
    args: argparse.Namespace,
    plan: Plan,
    env: dict[str, str],
) -> tuple[Load, Load, Load, Load, Load]:
    """The kg server's load, then the bare app's: the same wrk load, requests, connections
    and duration, and the same uvicorn command and workers. Then a fresh kg server sent the first
    case again and again: what a request costs once a case's work is kept (the HTTP layer, the
    classification, the kept rows), as an EHR asking twice about one order sees it. Then a fresh
    kg server sent ``pairs``' order-sign calls, and another the same cases as
    ``POST /recommendations`` (coded findings, whole years): what the hook's FHIR costs over HTTP."""

    def load(sent: list[Request]) -> Callable[[int], Load]:
        return lambda port: drive_load(port, sent, args.connections, plan.http_seconds)

    def measured(factory: str, sent: list[Request], what: str) -> Load:
        result = measure_http(factory, args.workers, env, load(sent))
        progress(f"{what}: {result.rps:.1f} requests/s")
        return result

    kg_app = "kg.api.main:create_app"
    loads = (
        measured(kg_app, requests, "kg server"),
        measured("kg.tools.bench.servers:create_bare_app", requests, "bare FastAPI server"),
        measured(kg_app, requests[:1] * args.connections, "kg server, one case repeated"),
        measured(
            kg_app, [http_request(hook, HOOK_ROUTE) for hook, _ in pairs], "kg server, order-sign calls"
        ),
        measured(
            kg_app,
            [http_request(case) for _, case in pairs],
            "kg server, the same cases as /recommendations",
        ),
    )
    if max(loads[0].sent, loads[1].sent) > len(requests):
        progress(f"warning: more requests were sent than the {len(requests)} distinct bodies: some repeated")
    return loads


def table(results: Results, args: argparse.Namespace, settings: Settings) -> str:
    """The results as an aligned two-column table, with the machine and the plan."""
    m, plan = results.metrics, results.plan
    kg_load, bare_load = results.loads[:2]
    low, high = plan.rss_marks
    http = f"{args.workers} worker(s), {args.connections} connections, {plan.http_seconds:.0f} s"
    rows = [
        ("machine", f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}"),
        ("load average", " ".join(f"{x:.2f}" for x in results.load_average) + " (before the run)"),
        ("mode", f"{plan.name} (seed {args.seed}; server engine {settings.reasoner})"),
        ("owlrl p50", f"{m['owlrl_p50_ms']:.1f} ms ({plan.naive_cases} cases)"),
        ("compiled p50", f"{m['fast_p50_ms']:.3f} ms ({plan.fast_cases} cases)"),
        ("compiled p99", f"{m['fast_p99_ms']:.3f} ms"),
        (
            "compiled p50, p99 later",
            f"{m['steady_p50_ms']:.3f} ms, {m['steady_p99_ms']:.3f} ms "
            f"(as many new cases, after {plan.rss_marks[-1]})",
        ),
        ("speedup vs owlrl", f"{m['speedup_vs_owlrl']:.1f}x (p50 / p50)"),
        ("identical answers", f"{m['identical_answers']} ({plan.naive_cases} cases)"),
        ("HTTP kg", f"{m['http_rps']:.1f} requests/s ({http}; client CPU {kg_load.client_cpu:.2f})"),
        ("HTTP bare app", f"{m['bare_fastapi_rps']:.1f} requests/s (client CPU {bare_load.client_cpu:.2f})"),
        ("HTTP kg / bare", f"{m['http_ratio']:.4f}"),
        ("HTTP bodies", f"{results.bodies} distinct; sent {kg_load.sent} (kg), {bare_load.sent} (bare)"),
        ("HTTP kg, one case repeated", f"{m['http_repeat_rps']:.1f} requests/s"),
        ("HTTP repeated / bare", f"{m['http_repeat_ratio']:.4f}"),
        ("CDS hook p50", f"{m['hook_p50_ms']:.3f} ms (order-sign with prefetch, in process)"),
        ("recommend p50, coded cases", f"{m['hook_recommend_p50_ms']:.3f} ms"),
        ("CDS hook / recommend", f"{m['hook_ratio']:.3f} (goal: 2 at most)"),
        ("HTTP CDS hook", f"{m['hook_http_rps']:.1f} requests/s (order-sign calls, distinct coded cases)"),
        ("HTTP kg, the same cases", f"{m['hook_http_coded_rps']:.1f} requests/s (as POST /recommendations)"),
        ("HTTP hook / recommendations", f"{m['hook_http_ratio']:.4f} (goal: 0.5 at least)"),
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
        (
            "kg audit",
            f"{m['audit_orders_per_s']:,.0f} orders/s in one process, {m['audit_workers_orders_per_s']:,.0f} "
            f"with 2 processes, {m['audit_dask_orders_per_s']:,.0f} on a 2-worker Dask LocalCluster "
            f"({plan.audit_orders:,} synthetic orders, NDJSON in, the four files out)",
        ),
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
    """``python -m kg.tools.bench [--quick] [--json]``."""
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
