"""CDS Hooks 2.0 (kg.cds, /cds-services): the integrator scenarios of the brief's section 5 that
this stage covers, over HTTP, with the FHIR kg writes validated by fhir.resources (R4B)."""

from __future__ import annotations

import copy
import http.server
import json
import threading
import uuid
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.servicerequest import ServiceRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import JSON

from kg.api.main import create_app
from kg.cds import service
from kg.config import Settings
from kg.tools.bench import hooks
from kg.tools.cases import CaseStream

SNOMED, LOINC, CPT = "http://snomed.info/sct", "http://loinc.org", "http://www.ama-assn.org/go/cpt"
LBP = {"coding": [{"system": SNOMED, "code": "279039007", "display": "Low back pain"}]}


def order(identifier: str, system: str, code: str, intent: str = "order", status: str = "draft") -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": identifier,
        "status": status,
        "intent": intent,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]},
        "reasonCode": [LBP],
    }


def condition(code: str, status: str = "active") -> dict:
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]
        },
        "code": {"coding": [{"system": SNOMED, "code": code}]},
    }


def searchset(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def observation(code: str, **value: object) -> dict:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": "2026-11-30",
        **value,
    }


def call(
    orders: list[dict],
    conditions: list[dict],
    hook: str = "order-select",
    selections: list[str] | None = None,
    **prefetch: object,
) -> dict:
    context: dict = {
        "userId": "Practitioner/u1",
        "patientId": "p1",
        "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": o} for o in orders]},
    }
    if hook == "order-select":
        context["selections"] = (
            selections if selections is not None else [f"ServiceRequest/{orders[0]['id']}"]
        )
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"},
            "conditions": searchset(*conditions),
            **prefetch,
        },
    }


def post(client: TestClient, body: object, service: str = "kg-imaging"):
    return client.post(f"/cds-services/{service}", json=body)


def no_empty_optional(value: object) -> bool:
    """CDS Hooks: never null, "", [] or {} for an optional field (cards: [] excepted)."""
    if isinstance(value, dict):
        return all(
            v not in (None, "", [], {}) and no_empty_optional(v) for k, v in value.items() if k != "cards"
        )
    if isinstance(value, list):
        return all(no_empty_optional(v) for v in value)
    return True


def test_discovery_names_one_service_for_both_hooks_with_prefetch(client: TestClient) -> None:
    answer = client.get("/cds-services")
    assert answer.status_code == 200
    services = answer.json()["services"]
    assert {s["hook"] for s in services} == {"order-select", "order-sign"} and {
        s["id"] for s in services
    } == {"kg-imaging"}
    for entry in services:
        assert entry["title"] and entry["description"]
        assert all("{{context.patientId}}" in t for t in entry["prefetch"].values())
        assert "98979-8" in entry["prefetch"]["egfr"] and "82810-3" in entry["prefetch"]["pregnancy"]
    assert no_empty_optional(answer.json())


def test_a_cors_preflight_allows_the_authorization_header(client: TestClient) -> None:
    headers = {
        "Origin": "https://ehr.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    answer = client.options("/cds-services/kg-imaging", headers=headers)
    assert answer.status_code == 204
    assert "Authorization" in answer.headers["access-control-allow-headers"]


def test_radiographs_for_foot_drop_get_a_warning_that_replaces_them_by_mri(client: TestClient) -> None:
    """Scenario 2: XR (LOINC 24972-2) for low back pain with an active foot drop."""
    xr = order("xr1", LOINC, "24972-2")
    answer = post(client, call([xr], [condition("6077001")]))
    assert answer.status_code == 200
    [card] = answer.json()["cards"]
    assert card["indicator"] == "warning" and len(card["summary"]) < 140
    assert card["source"]["label"] and card["uuid"] and card["selectionBehavior"] == "at-most-one"
    assert all(reason["display"] for reason in card["overrideReasons"])
    assert "**Urgency: urgent**" in card["detail"] and "foot-drop" in card["detail"]
    [suggestion] = card["suggestions"]
    assert suggestion["uuid"]
    delete, create = suggestion["actions"]
    assert (delete["type"], delete["resourceId"]) == ("delete", "ServiceRequest/xr1") and delete[
        "description"
    ]
    assert create["type"] == "create" and create["description"]
    created = create["resource"]
    ServiceRequest.model_validate(created)  # valid FHIR R4B
    assert {"system": LOINC, "code": "30679-5"} in created["code"]["coding"]
    assert (created["status"], created["intent"], created["priority"]) == ("draft", "order", "asap")
    assert created["subject"] == {"reference": "Patient/p1"} and created["reasonCode"] == [LBP]
    assert no_empty_optional(answer.json())


def test_the_suggested_order_is_what_kg_recommends_at_order_sign(client: TestClient) -> None:
    """A card's suggestion, applied to the draft, gives an order kg signs off without a card."""
    xr = order("xr1", LOINC, "24972-2")
    [card] = post(client, call([xr], [condition("6077001")])).json()["cards"]
    created = {**card["suggestions"][0]["actions"][1]["resource"], "id": "mri1"}
    answer = post(client, call([created], [condition("6077001")], hook="order-sign")).json()
    assert answer["cards"] == [] and ratings(answer) == ["appropriate"]
    at_select = post(client, call([created], [condition("6077001")])).json()["cards"]
    assert [c["indicator"] for c in at_select] == ["info"]


def test_mri_for_uncomplicated_low_back_pain_is_not_indicated(client: TestClient) -> None:
    """Scenario 3: MRI with low back pain only: imaging not indicated, no suggestion, red flags to ask."""
    [card] = post(client, call([order("mri1", LOINC, "30679-5")], [])).json()["cards"]
    assert card["indicator"] == "warning" and "not indicated" in card["summary"]
    assert "suggestions" not in card and "**Assess next:**" in card["detail"]


def test_an_active_order_at_re_sign_does_not_crash(client: TestClient) -> None:
    """Scenario 4: order-sign of an MRI for foot drop, status active (a re-sign)."""
    mri = order("mri1", LOINC, "30679-5", status="active")
    assert post(client, call([mri], [condition("6077001")], hook="order-sign")).json()["cards"] == []


def test_ct_for_a_pregnant_patient_is_replaced_by_mri(client: TestClient) -> None:
    """Scenario 5: CT (30620-9) for foot drop, pregnancy status Pregnant (SNOMED and the LOINC answer)."""
    for value in ({"system": SNOMED, "code": "77386006"}, {"system": LOINC, "code": "LA15173-0"}):
        pregnant = observation("82810-3", valueCodeableConcept={"coding": [value]})
        body = call([order("ct1", LOINC, "30620-9")], [condition("6077001")], pregnancy=searchset(pregnant))
        [card] = post(client, body).json()["cards"]
        assert card["indicator"] == "warning"
        created = card["suggestions"][0]["actions"][1]["resource"]
        assert {"system": LOINC, "code": "30679-5"} in created["code"]["coding"]


def test_missing_optional_data_is_said_in_the_detail(client: TestClient) -> None:
    """Scenario 6e: no eGFR given (and no FHIR server to ask): still cards, and the detail says so."""
    [card] = post(client, call([order("xr1", LOINC, "24972-2")], [condition("6077001")])).json()["cards"]
    assert "no egfr data could be had" in card["detail"]


def test_missing_required_prefetch_is_412_with_an_operation_outcome(client: TestClient) -> None:
    """Scenario 6b and 6d: no conditions prefetched (nor a FHIR server kg can fetch them from yet),
    or the client's fetch failed (an OperationOutcome)."""
    body = call([order("xr1", LOINC, "24972-2")], [])
    del body["prefetch"]["conditions"]
    answer = post(client, body)
    assert answer.status_code == 412 and answer.json()["resourceType"] == "OperationOutcome"
    body["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    assert post(client, body).status_code == 412


def test_null_conditions_mean_none(client: TestClient) -> None:
    """Scenario 6c: ``conditions: null`` is "no data", not a failure."""
    body = call([order("mri1", LOINC, "30679-5")], [])
    body["prefetch"]["conditions"] = None
    [card] = post(client, body).json()["cards"]
    assert "not indicated" in card["summary"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: b.pop("hook"), "hook"),
        (lambda b: b.pop("hookInstance"), "hookInstance"),
        (lambda b: b.pop("context"), "context"),
        (lambda b: b["context"].__setitem__("draftOrders", {"resourceType": "Patient"}), "draftOrders"),
        (lambda b: b["context"].__setitem__("selections", ["ServiceRequest/nope"]), "selections"),
        (lambda b: b.__setitem__("hook", "patient-view"), "patient-view"),
    ],
    ids=["no-hook", "no-hook-instance", "no-context", "not-a-bundle", "unknown-selection", "wrong-hook"],
)
def test_a_malformed_call_is_400_with_an_operation_outcome(client: TestClient, change, words: str) -> None:
    body = call([order("xr1", LOINC, "24972-2")], [])
    change(body)
    answer = post(client, body)
    assert answer.status_code == 400, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome" and words in outcome["issue"][0]["diagnostics"]


def test_not_json_is_400_and_an_unknown_service_404(client: TestClient) -> None:
    answer = client.post(
        "/cds-services/kg-imaging", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400 and answer.json()["resourceType"] == "OperationOutcome"
    answer = post(client, call([order("xr1", LOINC, "24972-2")], []), service="nope")
    assert answer.status_code == 404 and answer.json()["resourceType"] == "OperationOutcome"


def test_the_sandboxs_shapes_pass(client: TestClient) -> None:
    """Scenario 10: CPT 72148 with intent plan, a Bundle without type and with a vendor extension,
    a MedicationRequest beside it, and two ServiceRequests of which one is selected."""
    mri = order("mri1", CPT, "72148", intent="plan")
    other = order("xr2", LOINC, "24972-2")
    medication = {"resourceType": "MedicationRequest", "id": "m1", "status": "draft", "intent": "order"}
    body = call([mri, other, medication], [], selections=["ServiceRequest/mri1"])
    body["context"]["draftOrders"]["extension"] = [{"url": "https://vendor.example/x", "valueString": "y"}]
    [card] = post(client, body).json()["cards"]
    assert "not indicated" in card["summary"]  # the MRI, for uncomplicated low back pain; not the XR
    foot_drop = call([copy.deepcopy(mri)], [condition("6077001")])
    [card] = post(client, foot_drop).json()["cards"]
    assert card["indicator"] == "info"  # CPT 72148 is the MRI kg recommends


class FhirServer:
    """A real local HTTP server standing in for the EHR's FHIR server: it answers the queries it is
    given (the Condition search in two pages) and records each request's path and Authorization."""

    def __init__(self, pages: dict[str, dict]) -> None:
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Authorization")))
                page = next((p for q, p in pages.items() if self.path.startswith(q)), None)
                body = json.dumps(page or {"resourceType": "OperationOutcome", "issue": []}).encode()
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FhirServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_absent_prefetch_is_fetched_from_the_fhir_server_with_the_token(client: TestClient) -> None:
    """Scenario 6a and 6f: no prefetch; kg GETs the patient and the conditions (two pages, the
    second by link[next]) with the bearer token, and answers as with the prefetch (scenario 2)."""
    pages: dict[str, dict] = {}
    with FhirServer(pages) as fhir:
        first = searchset(condition("279039007"))
        first["link"] = [{"relation": "next", "url": f"{fhir.base}/Condition-page-2"}]
        pages.update(
            {
                "/fhir/Patient/p1": {"resourceType": "Patient", "id": "p1", "birthDate": "1980-05-01"},
                "/fhir/Condition?patient=p1": first,
                "/fhir/Condition-page-2": searchset(condition("6077001")),
            }
        )
        body = call([order("xr1", LOINC, "24972-2")], [])
        del body["prefetch"]
        body["fhirServer"] = fhir.base
        body["fhirAuthorization"] = {
            "access_token": "secret-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "kg",
        }
        [card] = post(client, body).json()["cards"]
    assert card["indicator"] == "warning" and "30679-5" in json.dumps(card["suggestions"])
    paths = [path for path, _ in fhir.requests]
    assert "/fhir/Patient/p1" in paths and "/fhir/Condition-page-2" in paths
    assert {auth for _, auth in fhir.requests} == {"Bearer secret-token"}


def test_a_failed_prefetch_is_fetched_and_a_next_link_elsewhere_is_not_followed(client: TestClient) -> None:
    """Scenario 6d: conditions prefetched as an OperationOutcome are fetched; a next link to
    another server is not followed (the token goes to fhirServer only)."""
    pages: dict[str, dict] = {}
    with FhirServer(pages) as fhir:
        first = searchset(condition("6077001"))
        first["link"] = [{"relation": "next", "url": "http://elsewhere.example/steal"}]
        pages["/fhir/Condition?patient=p1"] = first
        body = call([order("xr1", LOINC, "24972-2")], [])
        body["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
        body["fhirServer"] = fhir.base
        [card] = post(client, body).json()["cards"]
    assert card["indicator"] == "warning"
    assert [path for path, _ in fhir.requests if "Condition" in path] == ["/fhir/Condition?patient=p1"]


def ratings(answer: dict) -> list[str]:
    """The PAMA ratings of the systemActions."""
    return [
        e["valueCodeableConcept"]["coding"][0]["code"]
        for action in answer.get("systemActions", [])
        for e in action["resource"]["extension"]
        if e["url"] == "http://fhir.org/argonaut/Extension/pama-rating"
    ]


def test_ct_and_mr_orders_get_a_pama_rating_that_changes_nothing_else(client: TestClient) -> None:
    """Scenario 3's rating: MRI for low back pain alone is not appropriate; the update action
    carries the order unchanged but for the rating and the consult id; XR is not rated."""
    mri = order("mri1", LOINC, "30679-5")
    mri["extension"] = [{"url": "https://vendor.example/x", "valueString": "kept"}]
    answer = post(client, call([mri], [])).json()
    [action] = answer["systemActions"]
    assert action["type"] == "update" and action["description"] and ratings(answer) == ["not-appropriate"]
    updated = dict(action["resource"])
    added = updated.pop("extension")
    assert updated == {k: v for k, v in mri.items() if k != "extension"}
    assert added[0] == mri["extension"][0] and added[2]["valueUri"].startswith("urn:uuid:")
    ServiceRequest.model_validate(action["resource"])
    assert "extension" not in answer  # the sandbox mirror is off by default
    xr = post(client, call([order("xr1", LOINC, "24972-2")], [condition("6077001")])).json()
    assert "systemActions" not in xr


def test_a_case_outside_the_criteria_is_rated_no_criteria_apply(client: TestClient) -> None:
    mri = order("mri1", LOINC, "30679-5")
    mri.pop("reasonCode")  # no low back pain anywhere: outside kg's scope
    answer = post(client, call([mri], [])).json()
    assert answer["cards"] == [] and ratings(answer) == ["no-criteria-apply"]


def test_the_sandbox_switch_mirrors_the_ratings_under_the_extension(kb) -> None:
    """Scenario 10: the sandbox reads ratings only from extension.systemActions (KG_CDS_SANDBOX=1)."""
    settings = replace(Settings(), cds_sandbox=True, watch=False)
    with TestClient(create_app(settings, kb)) as sandbox:
        answer = post(sandbox, call([order("ct1", CPT, "72131", intent="plan")], [])).json()
    assert answer["extension"]["systemActions"] == answer["systemActions"]
    assert ratings(answer) == ["not-appropriate"]


def test_feedback_is_kept_once_and_read_back_by_the_admin(kb, tmp_path) -> None:
    """Scenario 9: accepted with its suggestion, overridden with a reason (code alone, as the sandbox
    sends it) and a comment; the same post twice keeps one copy; the admin reads them back."""
    settings = replace(Settings(), cds_feedback_db=tmp_path / "feedback.sqlite", admin_token="t", watch=False)
    reports = {
        "feedback": [
            {
                "card": "c1",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "s1"}],
                "outcomeTimestamp": "2026-12-05T10:00:00Z",
            },
            {
                "card": "c2",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-12-05T10:01:00Z",
                "overrideReason": {"reason": {"code": "cds-not-applicable"}, "userComment": "seen last week"},
            },
        ]
    }
    with TestClient(create_app(settings, kb)) as app:
        for _ in range(2):
            assert app.post("/cds-services/kg-imaging/feedback", json=reports).status_code == 200
        assert app.get("/cds-services/kg-imaging/feedback").status_code == 401
        kept = app.get("/cds-services/kg-imaging/feedback", headers={"Authorization": "Bearer t"}).json()
        for bad in (
            {"feedback": [{"card": "c3", "outcome": "accepted", "outcomeTimestamp": "2026-12-05T10:00:00Z"}]},
            {"feedback": [{"card": "c3", "outcome": "ignored", "outcomeTimestamp": "2026-12-05T10:00:00Z"}]},
            {"feedback": []},
        ):
            answer = app.post("/cds-services/kg-imaging/feedback", json=bad)
            assert answer.status_code == 400 and answer.json()["resourceType"] == "OperationOutcome"
        assert app.post("/cds-services/nope/feedback", json=reports).status_code == 404
    assert [(r["card"], r["outcome"]) for r in kept["feedback"]] == [("c2", "overridden"), ("c1", "accepted")]
    assert kept["feedback"][0]["overrideReason"] == {
        "reason": {"code": "cds-not-applicable"},
        "userComment": "seen last week",
    }
    assert kept["feedback"][1]["acceptedSuggestions"] == [{"id": "s1"}]


def test_a_contrast_study_kg_recommends_stands_at_sign_with_its_renal_advice(client: TestClient) -> None:
    """Suspected malignancy (history of cancer, unexplained weight loss) with eGFR 25 (LOINC
    98979-8, and 62238-1): kg recommends MRI without and with contrast despite the eGFR; signing it
    gets no replacement but a card with the group II gadolinium advice. At eGFR 80: no card."""
    conditions = [condition("266987004"), condition("422868009")]
    for code, value, cards in (("98979-8", 25, 1), ("62238-1", 25, 1), ("98979-8", 80, 0)):
        egfr = observation(code, valueQuantity={"value": value, "unit": "mL/min/{1.73_m2}"})
        body = call([order("mri1", LOINC, "24967-2")], conditions, hook="order-sign", egfr=searchset(egfr))
        answer = post(client, body).json()
        assert len(answer["cards"]) == cards, answer["cards"]
        assert ratings(answer) == ["appropriate"]
        if cards:
            [card] = answer["cards"]
            assert "group II" in card["summary"] and "suggestions" not in card


def test_the_benchmarks_hook_calls_are_answered(kb) -> None:
    """kg bench times order-sign calls built from random cases: they are valid calls, answered."""
    stream = CaseStream([f.id for f in kb.findings], seed=4)
    hook_p50, recommend_p50 = hooks.hook_latencies(kb, stream, 5)
    assert hook_p50 > 0 and recommend_p50 > 0
    body = hooks.hook_body(
        {"findings": ["low-back-pain", "foot-drop"], "age": 40},
        {
            "low-back-pain": {"system": SNOMED, "code": "279039007"},
            "foot-drop": {"system": SNOMED, "code": "6077001"},
        },
        [{"system": LOINC, "code": "24972-2"}],
    )
    [card] = service.call(kb, service.SERVICE_ID, body)["cards"]
    assert card["indicator"] == "warning"


def test_the_benchmarks_http_hook_calls_and_their_cases_are_answered(client: TestClient, kb) -> None:
    """kg bench sends the same random cases as order-sign calls and as POST /recommendations
    (coded findings, whole years): each is a valid call with a rated order, and an answered case."""
    pairs = hooks.Coded(kb).pairs(CaseStream([f.id for f in kb.findings], seed=5), 10)
    assert len(pairs) == 10
    for hook, case in pairs:
        answer = client.post(hooks.HOOK_ROUTE, json=hook)
        assert answer.status_code == 200 and ratings(answer.json()), answer.text
        assert client.post("/recommendations", json=case).status_code == 200


PLACES = (
    ("context", "draftOrders"),
    ("context", "draftOrders", "entry"),
    ("context", "selections"),
    ("context", "patientId"),
    ("prefetch", "patient"),
    ("prefetch", "conditions"),
    ("prefetch", "egfr"),
    ("prefetch",),
    ("fhirServer",),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(place=st.sampled_from(PLACES), value=JSON, resource_value=JSON)
def test_strange_fhir_never_crashes_the_service(
    client: TestClient, place: tuple, value: object, resource_value: object
) -> None:
    """Nothing crashes on a strange payload: whatever stands in a field of the call (or of the
    ordered ServiceRequest), the answer is cards, a 400 or a 412, never a 500."""
    body = call([order("xr1", LOINC, "24972-2")], [condition("6077001")])
    target = body
    for key in place[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target
    if isinstance(target, dict):
        target[place[-1]] = value
    entry = body["context"].get("draftOrders")
    if isinstance(entry, dict) and isinstance(entry.get("entry"), list) and entry["entry"]:
        first = entry["entry"][0]
        if isinstance(first, dict) and isinstance(first.get("resource"), dict):
            first["resource"]["reasonCode"] = resource_value
    answer = post(client, body)
    assert answer.status_code in (200, 400, 412), answer.text
    if answer.status_code != 200:
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_contrast_study_is_not_suggested_without_the_egfr(client: TestClient) -> None:
    """Scenario 6e: suspected malignancy, radiographs ordered, no eGFR to be had: the card names
    the recommended contrast MRI and asks for the eGFR, and suggests nothing; with the eGFR given,
    the suggestion is there."""
    conditions = [condition("266987004"), condition("422868009")]
    [card] = post(client, call([order("xr1", LOINC, "24972-2")], conditions)).json()["cards"]
    assert "suggestions" not in card and "give the egfr" in card["summary"]
    egfr = observation("33914-3", valueQuantity={"value": 80, "unit": "mL/min/{1.73_m2}"})
    body = call([order("xr1", LOINC, "24972-2")], conditions, egfr=searchset(egfr))
    [card] = post(client, body).json()["cards"]
    created = card["suggestions"][0]["actions"][1]["resource"]
    assert {"system": LOINC, "code": "24967-2"} in created["code"]["coding"]


def test_a_draft_of_more_imaging_orders_than_the_bound_is_refused(client: TestClient) -> None:
    """Each imaging order is a kg answer: one call answers at most service.MAX_ORDERS of them."""
    many = [order(f"xr{i}", LOINC, "24972-2") for i in range(service.MAX_ORDERS + 1)]
    answer = post(client, call(many, [], hook="order-sign"))
    assert answer.status_code == 400 and "at most" in answer.json()["issue"][0]["diagnostics"]
