"""The query worker pool: answers, errors sent back, the time limit, replacement, shutdown, orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from kg.model.errors import MalformedRequest, NotAcceptable, QueryUnfinished, ResultTooLarge
from kg.sparql.worker import QueryRequest
from kg.sparql.workers import Limits, QueryWorkers

DUMP = b"".join(f"<urn:s{i}> <urn:p> <urn:o{i % 7}> <urn:g> .\n".encode() for i in range(400))
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?a ?b ?c . ?d ?e ?f . ?h ?i ?j . ?k ?l ?m } }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <urn:g> { ?s ?p ?o } }"


@pytest.fixture
def workers() -> Iterator[QueryWorkers]:
    pool = QueryWorkers(DUMP, 1, Limits(timeout_s=1.0, max_result_bytes=2_000))
    yield pool
    pool.close()


def test_a_query_is_answered_in_the_negotiated_format(workers: QueryWorkers) -> None:
    result = workers.run(QueryRequest(COUNT, accept="text/csv"))
    assert (result.media_type, result.body) == ("text/csv; charset=utf-8", b"n\r\n400\r\n")


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (QueryRequest("SELECT WHERE"), MalformedRequest),
        (QueryRequest(COUNT, accept="text/turtle"), NotAcceptable),
        (QueryRequest("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"), ResultTooLarge),
    ],
)
def test_the_workers_errors_come_back_and_the_worker_stays(
    workers: QueryWorkers, request_: QueryRequest, error: type[Exception]
) -> None:
    with pytest.raises(error):
        workers.run(request_)
    assert workers.run(QueryRequest(COUNT)).body.count(b"400") == 1


def test_a_runaway_query_is_stopped_and_its_worker_replaced(workers: QueryWorkers) -> None:
    start = time.monotonic()
    with pytest.raises(QueryUnfinished, match="KG_SPARQL_TIMEOUT"):
        workers.run(QueryRequest(RUNAWAY))
    assert time.monotonic() - start < 5
    assert b"400" in workers.run(QueryRequest(COUNT)).body


def test_a_worker_that_dies_mid_query_is_a_503_and_is_replaced(workers: QueryWorkers) -> None:
    """A query nested far too deep makes pyoxigraph's parser overflow the worker's stack (the
    endpoint refuses such queries before they get here): the service answers, a new worker serves."""
    crash = "SELECT * WHERE " + "{" * 20_000 + " ?s ?p ?o " + "}" * 20_000
    with pytest.raises(QueryUnfinished, match="stopped while answering"):
        workers.run(QueryRequest(crash))
    assert b"400" in workers.run(QueryRequest(COUNT)).body


def test_a_closed_pool_stops_its_workers(workers: QueryWorkers) -> None:
    """Idle workers stop at once; a query that was already on its way still gets its answer (a
    request in flight when a reload swaps pools), and its worker stops after it."""
    workers.run(QueryRequest(COUNT))
    processes = [worker.process for worker in workers._idle]
    workers.close()
    assert processes
    assert all(process.poll() is not None for process in processes)
    assert b"400" in workers.run(QueryRequest(COUNT)).body
    assert not workers._idle
    assert not workers._running


def test_a_worker_ends_when_the_service_is_killed_mid_query(tmp_path) -> None:
    """A worker busy with a runaway query does not outlive a service killed with SIGKILL."""
    service = textwrap.dedent(f"""
        import threading, time
        from kg.sparql.worker import QueryRequest
        from kg.sparql.workers import Limits, QueryWorkers
        pool = QueryWorkers({DUMP!r}, 1, Limits(timeout_s=600.0, max_result_bytes=1000))
        threading.Thread(target=pool.run, args=(QueryRequest({RUNAWAY!r}),), daemon=True).start()
        while not pool._running:
            time.sleep(0.05)
        time.sleep(1)
        print(flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", service], stdout=subprocess.PIPE, text=True)
    try:
        parent.stdout.readline()
        children = subprocess.run(
            ["pgrep", "-P", str(parent.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 1
        worker = int(children[0])
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.1)
    assert not _alive(worker)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended; its parent (now init) reaps it
        return stat.read().split(") ")[1][0] != "Z"
