"""Reloading the ontology: only a validated edit is served, atomically, by hand or when the folder changes."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from ontology_edits import NEW_RED_FLAG

from kg.api.main import create_app
from kg.api.serving import Serving
from kg.config import DEFAULT_ONTOLOGY_DIR, Settings
from kg.knowledge_base import KnowledgeBase
from kg.tools.bench import servers

TOKEN = "s3cret-token"
SYNTAX_ERROR = NEW_RED_FLAG + '\nkg:broken a owl:Class ; rdfs:label "unterminated .\n'
UNION_AS_SUPERCLASS = (
    NEW_RED_FLAG
    + '\nkg:Odd a owl:Class ; rdfs:label "odd" ;\n'
    + "    rdfs:subClassOf [ a owl:Class ; owl:unionOf ( kg:CaudaEquinaRedFlag kg:RedFlag ) ] .\n"
)
DUPLICATE_ID = (
    NEW_RED_FLAG
    + '\nkg:NumbBottom a owl:Class ; rdfs:label "numb bottom" ; skos:notation "saddle-anesthesia" .\n'
)
CASE = {"findings": ["low-back-pain", "saddle-anesthesia"], "age": 50}


@pytest.fixture
def ontology(tmp_path: Path) -> Path:
    """A copy of the shipped ontology folder to edit."""
    return Path(shutil.copytree(DEFAULT_ONTOLOGY_DIR, tmp_path / "ontology"))


@pytest.fixture
def settings(ontology: Path, warm_cache: Path) -> Settings:
    return replace(Settings(), ontology_dir=ontology, cache_dir=warm_cache, admin_token=TOKEN, watch=False)


@pytest.fixture
def serving(settings: Settings) -> Serving:
    return Serving(settings, KnowledgeBase.from_settings(settings))


def finding_ids(kb: KnowledgeBase) -> set[str]:
    return {finding.id for finding in kb.findings}


# --- Serving ----------------------------------------------------------------------------------------------


def test_an_unchanged_folder_changes_nothing(serving: Serving) -> None:
    before = serving.knowledge_base
    outcome = serving.reload()
    assert (outcome.reloaded, outcome.error, outcome.ontology_version) == (False, None, before.version)
    assert serving.knowledge_base is before


def test_a_good_edit_is_served(serving: Serving, ontology: Path) -> None:
    before = serving.knowledge_base
    (ontology / "extra.ttl").write_text(NEW_RED_FLAG)
    outcome = serving.reload()
    assert outcome.reloaded and outcome.error is None
    assert serving.knowledge_base.version == outcome.ontology_version != before.version
    assert "urinary-urgency" in finding_ids(serving.knowledge_base)
    assert "urinary-urgency" not in finding_ids(before)  # a request holding the old one is unaffected


@pytest.mark.parametrize(
    ("edit", "says"),
    [(SYNTAX_ERROR, "extra.ttl"), (UNION_AS_SUPERCLASS, "unionOf"), (DUPLICATE_ID, "saddle-anesthesia")],
)
def test_a_broken_edit_never_replaces_the_last_good_version(
    serving: Serving, ontology: Path, edit: str, says: str
) -> None:
    before = serving.knowledge_base
    (ontology / "extra.ttl").write_text(edit)
    outcome = serving.reload()
    assert not outcome.reloaded
    assert says in outcome.error or any(says in v.message for v in outcome.report.violations)
    assert serving.knowledge_base is before
    assert serving.last_reload is outcome


def test_a_reload_that_fails_unexpectedly_keeps_serving(
    serving: Serving, ontology: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("kg.api.serving.validate", fails)
    before = serving.knowledge_base
    (ontology / "extra.ttl").write_text(NEW_RED_FLAG)
    outcome = serving.reload()
    assert (outcome.reloaded, outcome.error) == (False, "reload failed: disk on fire")
    assert serving.knowledge_base is before


# --- POST /admin/reload and /health -------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings, serving: Serving) -> Iterator[TestClient]:
    with TestClient(create_app(settings, serving.knowledge_base)) as client:
        yield client


@pytest.mark.parametrize(
    ("headers", "status", "says"),
    [
        ({}, 401, "Authorization: missing"),
        ({"Authorization": "Bearer wrong"}, 403, "wrong bearer token"),
        ({"Authorization": f"Basic {TOKEN}"}, 401, "Authorization: missing"),
    ],
)
def test_reload_needs_the_admin_token(client: TestClient, headers: dict, status: int, says: str) -> None:
    answer = client.post("/admin/reload", headers=headers)
    assert answer.status_code == status
    assert says in answer.json()["detail"]
    if status == 401:
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {TOKEN}"}, {}], ids=["token", "no-token"])
def test_without_a_configured_token_reload_is_refused_alike(ontology: Path, headers: dict) -> None:
    """Review: with no admin token set, a wrong token got 403 but a missing one 401."""
    settings = replace(Settings(), ontology_dir=ontology, admin_token=None, watch=False)
    with TestClient(create_app(settings)) as client:
        answer = client.post("/admin/reload", headers=headers)
    assert answer.status_code == 403
    assert answer.json()["detail"].startswith("admin is disabled")
    assert "KG_ADMIN_TOKEN" in answer.json()["detail"]


def test_reload_by_hand_and_health(client: TestClient, ontology: Path) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = client.get("/health").json()
    assert first["last_reload_at"] is None and first["last_reload_error"] is None

    (ontology / "extra.ttl").write_text(SYNTAX_ERROR)
    refused = client.post("/admin/reload", headers=auth)
    assert refused.status_code == 422
    assert refused.json()["reloaded"] is False
    assert refused.json()["ontology_version"] == first["ontology_version"]
    assert "extra.ttl" in refused.json()["error"]
    health = client.get("/health").json()
    assert health["ontology_version"] == first["ontology_version"]
    assert "extra.ttl" in health["last_reload_error"]

    (ontology / "extra.ttl").write_text(NEW_RED_FLAG)
    done = client.post("/admin/reload", headers=auth)
    assert done.status_code == 200
    assert done.json()["reloaded"] is True
    health = client.get("/health").json()
    assert health["ontology_version"] == done.json()["ontology_version"] != first["ontology_version"]
    assert health["last_reload_error"] is None
    assert "urinary-urgency" in {f["id"] for f in client.get("/findings").json()}
    ask = "ASK { ?c <http://www.w3.org/2004/02/skos/core#notation> 'urinary-urgency' }"
    assert client.get("/sparql", params={"query": ask}).json()["boolean"] is True


# --- the live service: concurrent requests, the watcher ---------------------------------------------------


def live_env(settings: Settings, **changes: object) -> dict[str, str]:
    return servers.server_env(replace(settings, **changes))


class Traffic:
    """Threads sending answerable requests until stopped; every status they saw."""

    def __init__(self, base: str, threads: int = 4) -> None:
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(base, i)) for i in range(threads)]

    def _run(self, base: str, index: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while not self._stop.is_set():
                if index % 2:
                    answer = http.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
                else:
                    answer = http.post("/recommendations", json=CASE)
                self.statuses.append(answer.status_code)

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def test_no_request_fails_while_a_good_then_a_broken_edit_are_reloaded(
    settings: Settings, ontology: Path
) -> None:
    with servers.served("kg.api.main:create_app", 1, live_env(settings)) as port:
        base = f"http://{servers.HOST}:{port}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with Traffic(base) as traffic:
            time.sleep(0.5)
            (ontology / "extra.ttl").write_text(NEW_RED_FLAG)
            good = httpx.post(f"{base}/admin/reload", headers=auth, timeout=120)
            (ontology / "extra.ttl").write_text(SYNTAX_ERROR)
            broken = httpx.post(f"{base}/admin/reload", headers=auth, timeout=120)
            time.sleep(0.5)
        health = httpx.get(f"{base}/health").json()
    assert good.status_code == 200 and good.json()["reloaded"] is True
    assert broken.status_code == 422 and broken.json()["reloaded"] is False
    assert health["ontology_version"] == good.json()["ontology_version"]
    assert traffic.statuses and set(traffic.statuses) == {200}


def test_the_service_reloads_when_the_folder_changes(settings: Settings, ontology: Path) -> None:
    with servers.served("kg.api.main:create_app", 1, live_env(settings, watch=True)) as port:
        base = f"http://{servers.HOST}:{port}"
        before = httpx.get(f"{base}/health").json()["ontology_version"]
        (ontology / "extra.ttl").write_text(NEW_RED_FLAG)
        served = wait_for(base, lambda h: h["ontology_version"] != before)
        assert served["last_reload_error"] is None
        (ontology / "extra.ttl").write_text(SYNTAX_ERROR)
        refused = wait_for(base, lambda h: h["last_reload_error"] is not None)
        assert refused["ontology_version"] == served["ontology_version"]
        assert "extra.ttl" in refused["last_reload_error"]


def wait_for(base: str, condition, seconds: float = 90.0) -> dict:
    """/health once ``condition`` holds for it; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health = httpx.get(f"{base}/health").json()
        if condition(health):
            return health
        time.sleep(0.2)
    pytest.fail(f"/health did not change within {seconds:.0f} s: {health}")
