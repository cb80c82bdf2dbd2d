"""The CDS Hooks call against ``POST /recommendations``, in process: random cases as order-sign
calls for a CT or MR order with their findings as the patient's active conditions (prefetched,
as an EHR sends them), and as many other random cases through ``kb.recommend``. Findings without a
code in the ontology cannot travel in FHIR, so both sides get the coded findings only."""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from kg.cds import service
from kg.cds.codes import code_book
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools.cases import CaseStream

if TYPE_CHECKING:
    from kg.knowledge_base import KnowledgeBase


def hook_body(case: dict[str, Any], codes: dict[str, str], order: list[dict[str, str]]) -> dict[str, Any]:
    """An order-sign call whose conditions are the case's coded findings."""
    conditions = [
        {"resourceType": "Condition", "subject": {"reference": "Patient/p1"}, "code": {"coding": [codes[f]]}}
        for f in case["findings"]
        if f in codes
    ]
    request = {
        "resourceType": "ServiceRequest",
        "id": "o1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": order},
    }
    born = f"{2026 - int(case['age'])}-01-01" if case.get("age") is not None else None
    patient = {"resourceType": "Patient", "id": "p1", **({"birthDate": born} if born else {})}
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/u1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": request}]},
        },
        "prefetch": {
            "patient": patient,
            "conditions": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": c} for c in conditions],
            },
        },
    }


def hook_latencies(kb: KnowledgeBase, stream: CaseStream, count: int) -> tuple[float, float]:
    """The p50 (ms) of ``count`` hook calls and of kb.recommend on the same coded cases."""
    book = code_book(kb)
    codes = {}
    for token, finding in book.findings.items():
        system, _, code = token.partition("|")
        codes.setdefault(finding, {"system": system, "code": code})
    procedure = next(iter(sorted(book.pama_rated)))
    order = book.coding(procedure)
    hooks, recommends = [], []
    # distinct cases on each side (a case's work is kept once done: neither side may reuse it),
    # taken in turn, so that both meet the rows the cases before them left kept alike
    for hooked, other in zip(stream.bodies(count), stream.bodies(count), strict=True):
        start = time.perf_counter()
        service.call(kb, service.SERVICE_ID, hook_body(hooked, codes, order))
        hooks.append((time.perf_counter() - start) * 1000)
        age = {"age": float(int(other["age"]))} if other.get("age") is not None else {}
        coded = [f for f in other["findings"] if f in codes]
        start = time.perf_counter()
        with contextlib.suppress(
            CaseError, ValidationError
        ):  # no coded finding: rejected, as the hook skips it
            kb.recommend(Case(findings=coded, **age))
        recommends.append((time.perf_counter() - start) * 1000)
    return statistics.median(hooks), statistics.median(recommends)
