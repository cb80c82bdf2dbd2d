"""The REST interface against the public contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kg import DISCLAIMER
from kg.api.main import create_app
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase
from kg.model.errors import OntologyError

# The contract's finding IDs with their SNOMED CT codes, where it gives one.
CONTRACT_FINDINGS = {
    "low-back-pain": "279039007",
    "radicular-leg-pain": None,
    "leg-weakness": None,
    "foot-drop": "6077001",
    "bilateral-leg-weakness": None,
    "progressive-motor-deficit": None,
    "severe-sensory-loss": None,
    "reflex-change": None,
    "saddle-anesthesia": None,
    "urinary-retention": "267064002",
    "urinary-incontinence": None,
    "fecal-incontinence": "72042002",
    "history-of-cancer": "266987004",
    "unexplained-weight-loss": None,
    "fever": "386661006",
    "iv-drug-use": None,
    "immunosuppression": "38013005",
    "recent-bacterial-infection": None,
    "elevated-inflammatory-markers": None,
    "low-velocity-trauma": None,
    "osteoporosis": None,
    "chronic-steroid-use": None,
    "older-age": None,
    "prior-lumbar-surgery": None,
    "failed-conservative-management": None,
    "surgery-or-intervention-candidate": None,
    "mri-contraindicated": None,
    "mri-unavailable": None,
    "pregnancy": None,
    "gadolinium-allergy": None,
    "severe-renal-impairment": None,
}
# The contract's procedures: (modality, contrast, LOINC).
CONTRACT_PROCEDURES = {
    "mri-lumbar-without-contrast": ("MRI", "without", "30679-5"),
    "mri-lumbar-without-and-with-contrast": ("MRI", "without-and-with", "24967-2"),
    "ct-lumbar-without-contrast": ("CT", "without", "30620-9"),
    "ct-myelography-lumbar": ("CT", "intrathecal", "24965-6"),
    "xr-lumbar": ("XR", "none", "24972-2"),
}
SEED = {"findings": ["low-back-pain", "leg-weakness"], "age": 45, "symptom_duration_weeks": 1}


def test_health(client: TestClient, kb: KnowledgeBase) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "degraded_by": [],
        "ontology_version": kb.version,
        "reasoner": "compiled",
        "cds_authentication": "off",
        "last_reload_at": None,
        "last_reload_error": None,
    }


def test_findings_cover_the_contract(client: TestClient) -> None:
    findings = {f["id"]: f for f in client.get("/findings").json()}
    assert set(CONTRACT_FINDINGS) <= set(findings)
    for id_, snomed in CONTRACT_FINDINGS.items():
        assert findings[id_]["label"], id_
        assert isinstance(findings[id_]["kinds"], list), id_
        if snomed:
            assert findings[id_]["snomed"] == snomed, id_


def test_procedures_follow_the_contract(client: TestClient) -> None:
    procedures = {p["id"]: p for p in client.get("/procedures").json()}
    for id_, (modality, contrast, loinc) in CONTRACT_PROCEDURES.items():
        p = procedures[id_]
        assert (p["modality"], p["contrast"], p["loinc"]) == (modality, contrast, loinc), id_
        assert p["label"], id_


def test_seed_case(client: TestClient, kb: KnowledgeBase) -> None:
    response = client.post("/recommendations", json=SEED)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["urgency"] == "urgent"
    assert answer["recommendations"][0]["procedure"] == "mri-lumbar-without-contrast"
    assert answer["ontology_version"] == kb.version
    assert answer["disclaimer"] == DISCLAIMER


def test_unknown_finding_names_itself_and_the_vocabulary(client: TestClient) -> None:
    response = client.post("/recommendations", json={"findings": ["low-back-pain", "leg-weakness", "xyz"]})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "findings", 2]
    assert "xyz" in error["msg"]
    assert "GET /findings" in error["msg"]


@pytest.mark.parametrize(
    ("body", "loc", "says"),
    [
        ({"findings": []}, ["body", "findings"], "/findings"),
        ({"age": 45}, ["body", "findings"], "/findings"),
        ({**SEED, "age": 131}, ["body", "age"], "130"),
        ({**SEED, "egfr": -1}, ["body", "egfr"], "greater than or equal to 0"),
        ({**SEED, "sex": "x"}, ["body", "sex"], "'female', 'male', 'other' or 'unknown'"),
        ({**SEED, "age": "45"}, ["body", "age"], "number"),
        ({**SEED, "weight": 70}, ["body", "weight"], "valid fields are findings, age, sex"),
        ({"findings": ["low-back-pain", 3]}, ["body", "findings", 1], "/findings"),
    ],
    ids=["empty-findings", "no-findings", "age-131", "egfr-negative", "sex-x", "age-string", "extra", "int"],
)
def test_rejected_case_names_the_field(client: TestClient, body: dict, loc: list, says: str) -> None:
    response = client.post("/recommendations", json=body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert says in error["msg"]


def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/recommendations", content='{"findings": [', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][0] == "body"
    assert error["type"] == "json_invalid"
    assert "JSON" in error["msg"]


def test_body_that_is_no_object(client: TestClient) -> None:
    response = client.post("/recommendations", json=["low-back-pain"])
    assert response.status_code == 422
    assert "JSON object" in response.json()["detail"][0]["msg"]


def test_service_keeps_answering_after_bad_input(client: TestClient) -> None:
    client.post("/recommendations", content="{", headers={"Content-Type": "application/json"})
    client.post("/recommendations", json={"findings": ["xyz"]})
    assert client.post("/recommendations", json=SEED).status_code == 200


def test_unexpected_error_is_json_without_traceback() -> None:
    class Broken:
        def recommend(self, case: object) -> None:
            raise RuntimeError("secret internals")

    with TestClient(create_app(knowledge_base=Broken()), raise_server_exceptions=False) as client:
        response = client.post("/recommendations", json=SEED)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; the request was not processed"}
    assert "secret" not in response.text


def test_docs_and_examples(client: TestClient) -> None:
    assert "swagger" in client.get("/docs").text.lower()
    operation = client.get("/openapi.json").json()["paths"]["/recommendations"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert "seed-leg-weakness" in examples
    assert len(examples) >= 4
    assert "422" in operation["responses"]


def test_app_loads_its_own_knowledge_base(kb: KnowledgeBase) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/health").json()["ontology_version"] == kb.version


def test_missing_ontology_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(OntologyError), TestClient(create_app(Settings(ontology_dir=tmp_path / "missing"))):
        pass


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["age", "egfr", "symptom_duration_weeks"])
def test_nan_and_infinity_are_refused_as_not_finite(client: TestClient, field: str, value: str) -> None:
    """Review: NaN and Infinity got a misleading range message."""
    body = f'{{"findings": ["low-back-pain"], "{field}": {value}}}'
    answer = client.post("/recommendations", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["body", field]
    assert "finite number" in problem["msg"]
