"""kg bench: the case generator, the HTTP client and server handling, the options (not the full run)."""

from __future__ import annotations

import argparse
import io
import json
import shutil

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


@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="kg bench's HTTP loads need wrk (.ci/run installs it)"
)
def test_the_bare_app_is_loaded_and_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn serves the bare app; wrk counts its 200s in the window, and its refusals (422s) as
    failures; the server is gone after."""
    monkeypatch.setattr(load, "HTTP_WARMUP_S", 0.2)
    requests = [load.http_request(body) for body in cases.CaseStream(IDS, seed=3).bodies(500)]
    with servers.served(
        "kg.tools.bench.servers:create_bare_app", 1, servers.server_env(Settings.from_env())
    ) as port:
        driven = load.drive_load(port, requests, connections=2, seconds=0.5)
        refused = load.drive_load(
            port, [load.Request("POST", servers.ROUTE, "[]")], connections=1, seconds=0.5
        )
    assert driven.completed > 0 and driven.failed == 0 and driven.sent >= driven.completed
    assert refused.completed == 0 and refused.failed == refused.sent > 0
    with pytest.raises(RuntimeError, match="wrk failed"):
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


def test_a_sparql_request_asks_for_json_results() -> None:
    request = load.sparql_request("/sparql", "ASK { ?s ?p 'a b' }")
    assert request.line() == (
        "GET\t/sparql?query=ASK+%7B+%3Fs+%3Fp+%27a+b%27+%7D\tapplication/sparql-results+json\t"
    )


def test_a_request_wrk_cannot_read_back_is_refused() -> None:
    """wrk.lua reads one request a line, its fields tab-separated: neither may be in a field."""
    assert (
        load.http_request({"findings": ["a"]}).line()
        == 'POST\t/recommendations\tapplication/json\t{"findings": ["a"]}'
    )
    assert "\t" not in load.http_request({"findings": ["a\tb\nc"]}).body  # JSON escapes both
    with pytest.raises(ValueError, match="tab or a newline"):
        load.Request("GET", "/sparql?query=a\nb").line()


def test_without_wrk_the_bench_stops_at_once_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The HTTP loads need wrk: its absence is said before any measurement, not minutes later."""
    monkeypatch.setattr(load.shutil, "which", lambda name: None)

    def no_loading(*_: object) -> None:
        raise AssertionError("the knowledge base was loaded before wrk was looked for")

    monkeypatch.setattr("kg.knowledge_base.KnowledgeBase.from_settings", no_loading)
    assert run.main(["--quick"]) == 1
    assert "apt-get install wrk" in capsys.readouterr().err
