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


#: Where the service is called (kg.cds.service.SERVICE_ID).
HOOK_ROUTE = f"/cds-services/{service.SERVICE_ID}"


class Coded:
    """Random cases as an EHR can send them: the findings with a code in the ontology, as active
    conditions of an order-sign call for a PAMA-rated (CT or MR) order."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        book = code_book(kb)
        self.codes: dict[str, dict[str, str]] = {}
        for token, finding in book.findings.items():
            system, _, code = token.partition("|")
            self.codes.setdefault(finding, {"system": system, "code": code})
        self.order = book.coding(next(iter(sorted(book.pama_rated))))

    def hook(self, case: dict[str, Any]) -> dict[str, Any]:
        """The case as an order-sign call."""
        return hook_body(case, self.codes, self.order)

    def case(self, case: dict[str, Any]) -> dict[str, Any]:
        """The case as ``POST /recommendations`` gets it from the same data: coded findings, whole years."""
        age = {"age": float(int(case["age"]))} if case.get("age") is not None else {}
        return {"findings": [f for f in case["findings"] if f in self.codes], **age}

    def pairs(self, stream: CaseStream, count: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """``count`` distinct cases that kg answers from their coded findings (a rejected case
        is a 422 at /recommendations), each as a hook call and as a case body."""
        pairs = []
        while len(pairs) < count:
            body = next(stream)
            case = self.case(body)
            try:
                self._kb.recommend(Case(**case))
            except (CaseError, ValidationError):
                continue
            pairs.append((self.hook(body), case))
        return pairs


def hook_latencies(kb: KnowledgeBase, stream: CaseStream, count: int) -> tuple[float, float]:
    """The p50 (ms) of ``count`` hook calls and of kb.recommend on the same coded cases."""
    coded = Coded(kb)
    hooks, recommends = [], []
    # distinct cases on each side (a case's work is kept once done: neither side may reuse it),
    # taken in turn, so that both meet the rows the cases before them left kept alike
    for hooked, other in zip(stream.bodies(count), stream.bodies(count), strict=True):
        start = time.perf_counter()
        service.call(kb, service.SERVICE_ID, coded.hook(hooked))
        hooks.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        with contextlib.suppress(
            CaseError, ValidationError
        ):  # no coded finding: rejected, as the hook skips it
            kb.recommend(Case(**coded.case(other)))
        recommends.append((time.perf_counter() - start) * 1000)
    return statistics.median(hooks), statistics.median(recommends)
