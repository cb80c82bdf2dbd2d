"""A kg answer and an imaging order into CDS Hooks cards (CDS Hooks 2.0, "CDS Service Response").

- The order is kg's first recommendation: no card at order-sign, an ``info`` card at order-select.
- The order is something else: a ``warning`` card (``critical`` when the answer is emergent) whose
  summary says what and why, whose detail gives the urgency, the justification chain and the
  sources, and whose one suggestion replaces the order by the recommended one (delete, then
  create a draft ServiceRequest with its codes, the answer's priority and the order's reasons).
- No imaging is recommended: a ``warning`` card saying so, with the red flags to assess next.

Every card and suggestion carries a uuid (the EHR echoes them in feedback); optional fields that
would be empty are left out, as the specification requires. The uuids are derived from the hook
instance and the order, so the same call gives the same cards.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from kg.answer.rating import Verdict, rate
from kg.cds.codes import CodeBook
from kg.cds.fhir import Order
from kg.model.answer import Answer

SOURCE = {"label": "kg imaging decision support (ACR Appropriateness Criteria, low back pain)"}
SUMMARY_MAX = 139  # "<140 characters"
#: Why a clinician may override a card (CDS Hooks 3.0 ballot's non-adherence reason codes).
OVERRIDE_SYSTEM = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
OVERRIDE_REASONS = (
    ("cds-not-applicable", "The advice does not apply to this patient"),
    ("recipient-disagrees-evidence", "I disagree with the evidence behind this advice"),
)


@dataclass(frozen=True)
class Call:
    """What of the hook call the cards depend on."""

    hook: str
    hook_instance: str
    patient_id: str
    book: CodeBook
    notes: tuple[str, ...]  # data that was not to be had, said in the detail
    missing: frozenset[str] = frozenset()  # the data keys that could not be had


def cards_for(order: Order, answer: Answer, call: Call) -> list[dict[str, Any]]:
    """The cards for one order."""
    hook, hook_instance, notes = call.hook, call.hook_instance, call.notes
    first = answer.recommendations[0] if answer.recommendations else None
    ordered = order.procedure
    label = {r.procedure: r.label for r in answer.recommendations}
    if first is not None and ordered == first.procedure:
        if hook == "order-sign":
            alerts = call.book.alerts_at_signing(ordered, [c.id for c in answer.caveats])
            if not alerts:
                return []
            summary = next(c.text for c in answer.caveats if c.id == alerts[0])  # the order stands
            return [_card(hook_instance, order, "warning", summary, _detail(answer, notes))]
        summary = f"{first.label} matches the guideline ({answer.urgency}: {answer.urgency_meaning})"
        return [_card(hook_instance, order, "info", summary, _detail(answer, notes))]
    indicator = "critical" if answer.urgency == "emergent" else "warning"
    if first is None:
        summary = f"Imaging is not indicated now: {_reason_not(order, answer)}"
        detail = _detail(answer, notes)
        return [_card(hook_instance, order, "warning", summary, detail, override=True)]
    why = _reason_not(order, answer) or f"{first.label} is recommended first"
    lacking = sorted(call.book.suggested_with.get(first.procedure, set()) & call.missing)
    if lacking:  # no suggestion of a study whose safety depends on data the EHR did not give
        summary = f"{first.label} is recommended; give the {', '.join(lacking)} before ordering it"
        return [_card(hook_instance, order, indicator, summary, _detail(answer, notes), override=True)]
    summary = f"Order {label.get(first.procedure, first.procedure)} instead: {why}"
    card = _card(hook_instance, order, indicator, summary, _detail(answer, notes), override=True)
    card["suggestions"] = [_replacement(call, order, first.procedure, first.label, answer)]
    card["selectionBehavior"] = "at-most-one"
    return [card]


def _reason_not(order: Order, answer: Answer) -> str:
    """Why the ordered procedure is not the one to order: kg's do-not-order reason, if it has one."""
    for advice in answer.do_not_order:
        if advice.procedure == order.procedure:
            return advice.reason
    return ""


def _card(
    hook_instance: str, order: Order, indicator: str, summary: str, detail: str, override: bool = False
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "uuid": _uuid(hook_instance, order.reference, "card"),
        "summary": _short(summary),
        "indicator": indicator,
        "detail": detail,
        "source": dict(SOURCE),
    }
    if override:
        card["overrideReasons"] = [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS
        ]
    return card


def _replacement(call: Call, order: Order, procedure: str, label: str, answer: Answer) -> dict[str, Any]:
    """Delete the order, create the recommended one (a draft, as the order's intent)."""
    book, original = call.book, order.resource
    created: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": original.get("intent") if isinstance(original.get("intent"), str) else "order",
        "code": {"coding": book.coding(procedure), "text": label},
        "subject": {"reference": f"Patient/{call.patient_id}"},
    }
    if answer.urgency in book.priorities:
        created["priority"] = book.priorities[answer.urgency]
    if isinstance(original.get("reasonCode"), list) and original["reasonCode"]:
        created["reasonCode"] = original["reasonCode"]
    return {
        "label": _short(f"Order {label} instead"),
        "uuid": _uuid(call.hook_instance, order.reference, "suggestion"),
        "isRecommended": True,
        "actions": [
            {
                "type": "delete",
                "description": f"Remove the draft order {order.reference}",
                "resourceId": order.reference,
            },
            {"type": "create", "description": f"Order {label}", "resource": created},
        ],
    }


def _detail(answer: Answer, notes: tuple[str, ...]) -> str:
    """Markdown: the urgency, what to order, the justification chain, what to assess next, caveats,
    sources."""
    lines = [f"**Urgency: {answer.urgency}** ({answer.urgency_meaning})", ""]
    if answer.recommendations:
        lines.append(
            "**Recommended:** "
            + "; ".join(f"{r.label} ({r.appropriateness})" for r in answer.recommendations)
        )
    else:
        lines.append("**Recommended:** no imaging now")
    steps = [s for s in answer.justification if not s.outranked]
    if steps:
        lines += ["", "**Why:**"]
        lines += [f"- {s.finding} → {s.presentation} → {s.urgency}: {s.axiom}" for s in steps]
    if answer.assess_next:
        lines += ["", "**Assess next:** " + ", ".join(answer.assess_next)]
    if answer.caveats:
        lines += ["", "**Caveats:**", *(f"- {c.text}" for c in answer.caveats)]
    if notes:
        lines += ["", "**Data:** " + "; ".join(notes) + "."]
    sources = sorted(
        {s for r in answer.recommendations for s in r.sources} | {s for j in steps for s in j.sources}
    )
    if sources:
        lines += ["", "**Sources:** " + ", ".join(sources)]
    lines += ["", f"_{answer.disclaimer}_ (ontology {answer.ontology_version})"]
    return "\n".join(lines)


def _short(text: str) -> str:
    """At most SUMMARY_MAX characters, cut at a word with an ellipsis."""
    if len(text) <= SUMMARY_MAX:
        return text
    return text[: SUMMARY_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _uuid(hook_instance: str, reference: str, what: str) -> str:
    """A uuid fixed by the hook instance, the order and the item."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:kg:cds:{hook_instance}:{reference}:{what}"))


#: The Argonaut CDS Hooks for PAMA extensions and rating codes.
PAMA = "http://fhir.org/argonaut/Extension/pama-rating"
PAMA_CONSULT_ID = "http://fhir.org/argonaut/Extension/pama-rating-consult-id"
PAMA_CODES = "http://fhir.org/argonaut/CodeSystem/pama-rating"


def pama_rating(order: Order, answer: Answer | None) -> str:
    """The order's PAMA rating (:func:`kg.answer.rating.rate`, whose ``may-be-appropriate`` PAMA
    counts as ``appropriate``: kg recommends it, first or as an alternative): ``not-appropriate``
    when kg does not recommend it or advises against it, ``no-criteria-apply`` when the case is
    outside kg's criteria (``answer`` None)."""
    rating = rate(order.procedure, None if answer is None else Verdict.of(answer))
    return "appropriate" if rating == "may-be-appropriate" else rating


def rating_action(order: Order, rating: str, call: Call) -> dict[str, Any]:
    """A systemAction updating the order with its rating only (no other change, as the guide requires)."""
    resource = copy.deepcopy(order.resource)
    extensions = resource.get("extension")
    kept = [
        e
        for e in (extensions if isinstance(extensions, list) else [])
        if not (isinstance(e, dict) and str(e.get("url", "")).startswith(PAMA))
    ]
    resource["extension"] = [
        *kept,
        {"url": PAMA, "valueCodeableConcept": {"coding": [{"system": PAMA_CODES, "code": rating}]}},
        {
            "url": PAMA_CONSULT_ID,
            "valueUri": f"urn:uuid:{_uuid(call.hook_instance, order.reference, 'rating')}",
        },
    ]
    return {
        "type": "update",
        "description": f"PAMA rating of {order.reference}: {rating}",
        "resource": resource,
    }
