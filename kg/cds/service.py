"""The CDS service ``kg-imaging``: its discovery entries, and a hook call answered with cards.

One service id registered for both order-select and order-sign, so that an EHR replaces the
order-select cards when order-sign fires. The prefetch templates ask for the patient, the active
conditions and, per observed measurement or finding of the code book (eGFR, pregnancy status), its
latest Observation; their codes come from the ontology.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from kg.cds.cards import Call, cards_for, pama_rating, rating_action
from kg.cds.client import FhirClient
from kg.cds.codes import CodeBook, code_book
from kg.cds.fhir import HookRequest, case_of, draft_orders, invalid, patient_data, selected
from kg.knowledge_base import KnowledgeBase
from kg.model.errors import CaseError, CdsRequestInvalid, CdsServiceUnknown

SERVICE_ID = "kg-imaging"
#: Imaging orders answered in one call (each is a kg answer: a draft of more is refused, 400).
MAX_ORDERS = 20
HOOKS = ("order-select", "order-sign")
TITLE = "kg: imaging for low back pain"
DESCRIPTION = (
    "Checks a lumbar spine imaging order against the ACR Appropriateness Criteria for low back pain: "
    "suggests the recommended study and its urgency, with the justification and the sources."
)


def discovery(kb: KnowledgeBase) -> dict[str, Any]:
    """The discovery document: one service, once per hook."""
    prefetch = prefetch_templates(code_book(kb))
    return {
        "services": [
            {"hook": hook, "id": SERVICE_ID, "title": TITLE, "description": DESCRIPTION, "prefetch": prefetch}
            for hook in HOOKS
        ]
    }


def prefetch_templates(book: CodeBook) -> dict[str, str]:
    """Patient, active conditions, and the latest Observation of each observed thing."""
    templates = {
        "patient": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
    }
    for name, tokens in book.observations.items():
        templates[name] = (
            f"Observation?patient={{{{context.patientId}}}}&code={','.join(tokens)}&_sort=-date&_count=1"
        )
    return templates


def fill(template: str, context: dict[str, Any]) -> str:
    """A prefetch template with the context's tokens (``{{context.patientId}}``) filled, URL-quoted."""
    for name, value in context.items():
        if isinstance(value, str):
            template = template.replace(f"{{{{context.{name}}}}}", quote(value, safe=""))
    return template


def require(service_id: str) -> None:
    """Raise CdsServiceUnknown unless ``service_id`` is kg's service."""
    if service_id != SERVICE_ID:
        raise CdsServiceUnknown(f"no CDS service {service_id!r}; GET /cds-services lists {SERVICE_ID!r}")


def call(
    kb: KnowledgeBase, service_id: str, body: object, today: date | None = None, sandbox: bool = False
) -> dict[str, Any]:
    """The response to a hook call: cards, and a PAMA rating of each CT or MR order as a systemAction
    (with ``sandbox``, also under ``extension.systemActions``, where the CDS Hooks sandbox reads
    them). Raises CdsServiceUnknown, CdsRequestInvalid or CdsDataMissing."""
    require(service_id)
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as error:
        raise invalid(error) from None
    if request.hook not in HOOKS:
        raise CdsRequestInvalid(f"hook: {SERVICE_ID} answers {' and '.join(HOOKS)}, not {request.hook!r}")
    context = request.context
    patient_id = context.get("patientId")
    if not isinstance(patient_id, str) or not patient_id:
        raise CdsRequestInvalid("context.patientId: required, the FHIR Patient.id")
    book = code_book(kb)
    orders = selected(draft_orders(context, book), request.hook, context)
    orders = [order for order in orders if order.procedure is not None]  # imaging kg knows
    if len(orders) > MAX_ORDERS:
        raise CdsRequestInvalid(
            f"context.draftOrders: {len(orders)} imaging orders; at most {MAX_ORDERS} a call"
        )
    if not orders:
        return {"cards": []}
    authorization = request.fhirAuthorization or {}
    token = authorization.get("access_token") if isinstance(authorization.get("access_token"), str) else None
    client = FhirClient(request.fhirServer, token)
    templates = {key: fill(template, context) for key, template in prefetch_templates(book).items()}
    data = patient_data(request.prefetch, book, today or date.today(), lambda key: client.get(templates[key]))
    shared = Call(request.hook, request.hookInstance, patient_id, book, data.notes, data.missing)
    cards: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for order in orders:
        try:
            answer = kb.recommend(case_of(order.reason_findings, data))
        except (CaseError, ValidationError):
            answer = None  # out of kg's scope (no low back pain, a contradiction): no advice, no criteria
        if answer is not None:
            cards += cards_for(order, answer, shared)
        if order.procedure in book.pama_rated:
            actions.append(rating_action(order, pama_rating(order, answer), shared))
    response: dict[str, Any] = {"cards": cards}
    if actions:
        response["systemActions"] = actions
        if sandbox:
            response["extension"] = {"systemActions": actions}
    return response
