"""kg bench: the case generator, the HTTP client and server handling, the options (not the full run)."""

from __future__ import annotations

import argparse
import io
import json
import socket

import pytest

from kg.config import Settings
from kg.model.case import Case
from kg.tools import cases
from kg.tools.bench import load, measure, run, servers

IDS = [f"finding-{n}" for n in range(31)]


def test_cases_are_distinct_valid_and_reproducible() -> None:
    bodies = cases.CaseStream(IDS, seed=1).bodies(3000)
    keys = {(frozenset(b["findings"]), b.get("age"), b.get("egfr")) for b in bodies}
    assert len(keys) == len(bodies)
    for body in bodies:
        case = Case(**body)
        assert 1 <= len(case.findings) <= 10 and set(case.findings) <= set(IDS)
        assert case.age is None or 0 <= case.age <= 130
        assert case.egfr is None or 0 <= case.egfr <= 200
    assert any("age" not in b for b in bodies) and any("egfr" not in b for b in bodies)
    assert cases.CaseStream(IDS, seed=1).bodies(50) == bodies[:50]
    assert cases.CaseStream(IDS, seed=2).bodies(50) != bodies[:50]


def test_percentile() -> None:
    values = [float(n) for n in range(1, 101)]
    assert measure.percentile(values, 50) == pytest.approx(50.5)
    assert measure.percentile(values, 99) == pytest.approx(99.01)
    assert measure.percentile([3.0], 99) == 3.0


def test_a_whole_answer_is_recognized() -> None:
    answer = json.dumps({"urgency": "routine", "text": "}"}, indent=2).encode()
    assert measure._is_answer(bytearray(answer + b"\n"))
    assert not measure._is_answer(bytearray(answer[:-5]))
    assert not measure._is_answer(bytearray(b"{}"))


def test_options() -> None:
    parser = argparse.ArgumentParser()
    run.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.quick, args.json, args.workers, args.connections, args.seed) == (False, False, 1, 8, 0)
    args = parser.parse_args(["--quick", "--json", "--workers", "2"])
    assert (args.quick, args.json, args.workers) == (True, True, 2)
    with pytest.raises(SystemExit):
        parser.parse_args(["--workers", "0"])


def test_an_unknown_reasoner_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KG_REASONER", "nope")
    assert run.main(["--quick"]) == 2


def test_the_bare_app_is_loaded_and_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn serves the bare app; the client counts 200s in the window; the server is gone after."""
    monkeypatch.setattr(load, "HTTP_WARMUP_S", 0.2)
    requests = [load.http_request(body) for body in cases.CaseStream(IDS, seed=3).bodies(500)]
    with servers.served(
        "kg.tools.bench.servers:create_bare_app", 1, servers.server_env(Settings.from_env())
    ) as port:
        driven = load.drive_load(port, requests, connections=2, seconds=0.5)
    assert driven.completed > 0 and driven.failed == 0 and driven.sent >= driven.completed
    with pytest.raises(ConnectionRefusedError):
        load.drive_load(port, requests, connections=1, seconds=0.1)


class RunningServer:
    """A stand-in for the server process: still running."""

    returncode = None

    def poll(self) -> None:
        return None


def test_a_server_counts_as_started_once_it_listens_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """One uvicorn process starts the application before it binds the socket: both must be logged."""
    monkeypatch.setattr(servers, "SERVER_START_TIMEOUT_S", 0.3)
    started = b"INFO:     Application startup complete.\n"
    with pytest.raises(RuntimeError, match="did not start"):
        servers._wait_started(RunningServer(), io.BytesIO(started), 1)
    listening = b"INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)\n"
    servers._wait_started(RunningServer(), io.BytesIO(started + listening), 1)


def test_the_rss_is_sampled_once_per_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(measure, "current_rss_mb", lambda: 1.5)
    meter = measure.RssMeter((3, 10))
    meter.tick()
    meter.tick(2)
    assert (meter.samples, meter.remaining) == ([1.5], 7)
    meter.tick(20)
    assert (meter.samples, meter.remaining) == ([1.5, 1.5], 0)


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a;ext=1\r\n"
        + b"x" * 26
        + b"\r\n0\r\n\r\n",
    ],
)
def test_a_response_is_read_whole_whether_framed_or_chunked(response: bytes) -> None:
    client, server = socket.socketpair()
    with client, server:
        next_response = b"HTTP/1.1 503 Service Unavailable\r\n"
        server.sendall(response + next_response)
        buffer = bytearray()
        assert load._exchange(client, b"GET / HTTP/1.1\r\n\r\n", buffer) == 200
        assert server.recv(100) == b"GET / HTTP/1.1\r\n\r\n"
        assert bytes(buffer) == next_response


def test_a_sparql_request_asks_for_json_results() -> None:
    request = load.sparql_request("/sparql", "ASK { ?s ?p 'a b' }")
    assert request.startswith(b"GET /sparql?query=ASK+%7B+%3Fs+%3Fp+%27a+b%27+%7D HTTP/1.1\r\n")
    assert b"\r\nAccept: application/sparql-results+json\r\n\r\n" in request
