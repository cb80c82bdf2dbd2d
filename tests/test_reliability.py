"""A real ``kg serve`` under hostile load: SPARQL floods must not starve the clinical routes.

Marked ``reliability`` so that it can run alone (``pytest -m reliability``); ``.ci/run`` runs it too.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from ontology_edits import NEW_RED_FLAG

from kg.config import DEFAULT_ONTOLOGY_DIR, Settings
from kg.tools.bench import servers

pytestmark = pytest.mark.reliability

#: A query no worker finishes: a three-way cross product of the dataset.
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CASE = {"findings": ["low-back-pain", "leg-weakness"], "age": 45}
FLOOD = 200
WARM_RELOADS = 4
RELOADS = 20  # each validates the folder, vignettes included: about 3 s under the suite's load


def test_a_flood_of_slow_sparql_queries_does_not_starve_recommendations_or_health() -> None:
    """Review: 200 concurrent endless queries stalled POST /recommendations and /health for 49.7 s.

    200 clients keep sending endless queries (after a 503 they wait half a second, less than the
    Retry-After asks); meanwhile one client asks for recommendations and health. The SPARQL
    endpoint admits its 2 workers' queries plus its queue and refuses the rest at once.
    """
    settings = replace(Settings(), sparql_workers=2, sparql_queue=4, sparql_timeout_s=3.0, watch=False)
    stop = threading.Event()
    sparql: Counter[int] = Counter()
    retry_after: set[str] = set()
    lock = threading.Lock()

    def flood(base: str) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                answer = client.get("/sparql", params={"query": ENDLESS})
                with lock:
                    sparql[answer.status_code] += 1
                    if answer.status_code == 503 and "retry-after" in answer.headers:
                        retry_after.add(answer.headers["retry-after"])
                if answer.status_code == 503:
                    time.sleep(0.5)

    with servers.served("kg.api.main:create_app", 1, servers.server_env(settings)) as port:
        base = f"http://{servers.HOST}:{port}"
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.post("/recommendations", json=CASE).status_code == 200  # warm
            with ThreadPoolExecutor(FLOOD) as pool:
                for _ in range(FLOOD):
                    pool.submit(flood, base)
                latencies, statuses = [], Counter()
                try:
                    time.sleep(2.0)  # the flood is on: the workers busy, the queue full
                    for _ in range(50):
                        start = time.perf_counter()
                        statuses[client.post("/recommendations", json=CASE).status_code] += 1
                        statuses[client.get("/health").status_code] += 1
                        latencies.append(time.perf_counter() - start)
                finally:
                    stop.set()
    assert statuses == Counter({200: 100})
    # Before the fix these took up to 50 s; the goal is a p99 under 100 ms on a quiet machine. Here
    # the 200 flooding clients share the same cores, so only starvation is checked.
    assert max(latencies) < 2.0, sorted(latencies)[-5:]
    assert set(sparql) <= {200, 503}
    assert sparql[503] >= FLOOD
    assert retry_after and all(value.isdigit() and int(value) >= 1 for value in retry_after)


def test_memory_is_flat_across_20_reloads_of_a_real_server(tmp_path: Path, warm_cache: Path) -> None:
    """Review: memory went from 92.6 to 154.9 MB over 4 reloads; after 20 it must be flat (a leak
    of a megabyte or more a reload breaks its 10% bound).

    A real ``kg serve`` reloads (``POST /admin/reload``) 20 times, between two versions of the
    folder (so each reload validates, vignettes included, and serves a new knowledge base; the
    disk cache makes each take seconds, not the minutes of 20 closures), answering cases after
    each. Its resident memory after the last is within 10% of what it settled at after a few (the
    caches of a knowledge base fill as it answers)."""
    folder = tmp_path / "ontology"
    shutil.copytree(DEFAULT_ONTOLOGY_DIR, folder)
    token = "reliability-token"
    settings = replace(Settings(), ontology_dir=folder, cache_dir=warm_cache, watch=False, admin_token=token)
    marks: dict[int, float] = {}
    env = servers.server_env(settings)
    with servers.served_process("kg.api.main:create_app", 1, env) as (port, server):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://{servers.HOST}:{port}", timeout=120) as client:
            for index in range(RELOADS):
                (folder / "extra.ttl").write_text(f"{NEW_RED_FLAG}\n# version {index % 2}\n")
                answer = client.post("/admin/reload", headers=headers)
                assert answer.status_code == 200 and answer.json()["reloaded"], answer.text
                for finding in ("fever", "history-of-cancer", "saddle-anesthesia", "urinary-urgency"):
                    body = {"findings": ["low-back-pain", finding], "age": 60}
                    assert client.post("/recommendations", json=body).status_code == 200
                marks[index] = process_rss_mb(server.pid)
    settled, last = marks[WARM_RELOADS - 1], marks[RELOADS - 1]
    print(f"RSS (MB) after reloads 1-{RELOADS}: {[round(mark) for mark in marks.values()]}")
    assert last <= settled * 1.10, marks


def process_rss_mb(pid: int | str = "self") -> float:
    """A process's resident set size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def test_hostile_requests_to_a_real_server_are_refused_at_once_and_it_goes_on() -> None:
    """An oversized body (declared, and streamed without a length), thousands of unknown keys, a
    query nested 5,000 levels deep: each refused with its documented 4xx, quickly, and the server
    then answers as before."""
    settings = replace(Settings(), watch=False)
    with servers.served("kg.api.main:create_app", 1, servers.server_env(settings)) as port:
        base = f"http://{servers.HOST}:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            before = client.post("/recommendations", json=CASE).json()
            big = b'{"findings": ["low-back-pain"]' + b" " * 12_000_000 + b"}"
            start = time.perf_counter()
            answer = client.post(
                "/recommendations", content=big, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 413 and "KG_MAX_BODY_BYTES" in answer.json()["detail"]

            def streamed():
                yield b'{"findings": ["low-back-pain"]'
                for _ in range(12_000):
                    yield b" " * 1_000

            answer = client.post(
                "/recommendations", content=streamed(), headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 413
            keys = {**CASE, **{f"k{i}": i for i in range(20_000)}}
            answer = client.post("/recommendations", json=keys)
            assert answer.status_code in (413, 422) and len(answer.content) < 10_000
            deep = "SELECT * WHERE " + "{" * 5_000 + " ?s ?p ?o " + "}" * 5_000
            answer = client.post(
                "/sparql", content=deep, headers={"Content-Type": "application/sparql-query"}
            )
            assert answer.status_code == 400 and "the limit is 128" in answer.json()["detail"]
            assert time.perf_counter() - start < 20
            assert client.get("/health").json()["status"] == "ok"
            assert client.post("/recommendations", json=CASE).json() == before
