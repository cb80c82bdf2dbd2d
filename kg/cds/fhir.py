"""A hook call's FHIR data read into a kg case: the orders, the patient's age, conditions, eGFR and
pregnancy status, by the codes of :mod:`kg.cds.codes`.

EHRs send strange but legal FHIR (a draftOrders Bundle without ``type``, vendor extensions,
partial birth dates), so resources are read leniently, field by field, and only what kg needs is
checked; the hook envelope itself (:class:`HookRequest`) is checked strictly. Prefetch follows
CDS Hooks 2.0: a key that is absent must be fetched, ``null`` means no data, an OperationOutcome
(or a Bundle of them) means the client's fetch failed.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kg.cds.codes import CodeBook
from kg.model.case import Case
from kg.model.errors import CdsDataMissing, CdsRequestInvalid

#: Condition clinical statuses that count (FHIR condition-clinical), and verification statuses that do not.
ACTIVE = {"active", "recurrence", "relapse"}
REFUTED = {"refuted", "entered-in-error"}
#: Observation statuses whose value counts.
FINAL = {"final", "amended", "corrected"}
#: The prefetch keys without which no case can be built (the others, one per observed measurement
#: or finding of the code book, only change contrast and radiation advice).
REQUIRED_KEYS = ("patient", "conditions")
_KINDS = {"patient": "Patient", "conditions": "Condition"}  # the others hold Observations


def invalid(error: ValidationError) -> CdsRequestInvalid:
    """A 400 naming the first five fields pydantic refused and why."""
    listed = error.errors()[:5]
    return CdsRequestInvalid(
        "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in listed)
    )


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 service request: the fields kg reads are checked, others are allowed."""

    model_config = ConfigDict(extra="allow")

    hook: str = Field(min_length=1, max_length=100)
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = Field(default=None, max_length=2000)
    fhirAuthorization: dict[str, Any] | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


@dataclass(frozen=True)
class Order:
    """A ServiceRequest of the draft, as kg reads it."""

    reference: str  # "ServiceRequest/<id>"
    resource: dict[str, Any]
    procedure: str | None  # the kg procedure its code names, if any
    reason_findings: tuple[str, ...]  # the kg findings its reasonCode names


def tokens(concept: object) -> list[str]:
    """The ``system|code`` tokens of a CodeableConcept (ignoring what is not one)."""
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding")
    return [
        f"{c['system']}|{c['code']}"
        for c in (codings if isinstance(codings, list) else [])
        if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str)
    ]


def draft_orders(context: dict[str, Any], book: CodeBook) -> list[Order]:
    """The ServiceRequests of ``context.draftOrders``; raises CdsRequestInvalid if it is no Bundle."""
    bundle = context.get("draftOrders")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise CdsRequestInvalid("context.draftOrders: must be a FHIR Bundle of the draft orders")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise CdsRequestInvalid("context.draftOrders.entry: must be a list of Bundle entries")
    orders = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "ServiceRequest":
            continue  # MedicationRequest, NutritionOrder, ...: not imaging
        identifier = resource.get("id")
        if not isinstance(identifier, str) or not identifier:
            raise CdsRequestInvalid(
                "context.draftOrders: a ServiceRequest without an id cannot be referred to"
            )
        procedure = procedure_of(tokens(resource.get("code")), book)
        orders.append(
            Order(f"ServiceRequest/{identifier}", resource, procedure, reason_findings(resource, book))
        )
    return orders


def procedure_of(codes: list[str], book: CodeBook) -> str | None:
    """The kg procedure the first code that names one names (None: none does)."""
    return next((book.procedures[t] for t in codes if t in book.procedures), None)


def reason_findings(request: dict[str, Any], book: CodeBook) -> tuple[str, ...]:
    """The kg findings a ServiceRequest's reasonCode names."""
    reasons = request.get("reasonCode")
    findings = [
        book.findings[t]
        for concept in (reasons if isinstance(reasons, list) else [])
        for t in tokens(concept)
        if t in book.findings
    ]
    return tuple(dict.fromkeys(findings))


def selected(orders: list[Order], hook: str, context: dict[str, Any]) -> list[Order]:
    """The orders a hook is about: order-select's ``selections``, order-sign's whole draft."""
    if hook == "order-sign":
        return orders
    selections = context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        raise CdsRequestInvalid('context.selections: order-select needs a list of "Type/id" references')
    by_reference = {order.reference: order for order in orders}
    chosen = []
    for reference in selections:
        if reference.startswith("ServiceRequest/") and reference not in by_reference:
            raise CdsRequestInvalid(f"context.selections: {reference} is not in context.draftOrders")
        if reference in by_reference:
            chosen.append(by_reference[reference])
    return chosen


def resources(value: object, kind: str) -> list[dict[str, Any]] | None:
    """The resources of type ``kind`` in a prefetch value (a resource, or a searchset Bundle);
    None when the value is an OperationOutcome (or a Bundle holding one): the client's fetch failed."""
    if not isinstance(value, dict):
        return None
    if value.get("resourceType") == "OperationOutcome":
        return None
    if value.get("resourceType") == kind:
        return [value]
    if value.get("resourceType") != "Bundle":
        return None
    found = []
    for entry in value.get("entry", []) if isinstance(value.get("entry"), list) else []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome":
            return None
        if isinstance(resource, dict) and resource.get("resourceType") == kind:
            found.append(resource)
    return found


@dataclass
class PatientData:
    """What kg reads of the patient: each None when the data was not to be had."""

    age: float | None = None
    conditions: list[str] | None = None  # finding IDs
    observed: list[str] | None = None  # finding IDs from Observations (pregnancy status)
    measurements: dict[str, float] | None = None  # case field -> value (eGFR)
    notes: tuple[str, ...] = ()
    missing: frozenset[str] = frozenset()  # the optional prefetch keys whose data could not be had


def age_on(birth_date: object, today: date) -> float | None:
    """Completed years from a FHIR date (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``). A partial date
    counts from its last possible day, so the age is never overstated; None if it is no date."""
    if not isinstance(birth_date, str):
        return None
    try:
        parts = [int(part) for part in birth_date[:10].split("-")]
        year, month = parts[0], parts[1] if len(parts) > 1 else 12
        day = parts[2] if len(parts) > 2 else calendar.monthrange(year, month)[1]
        born = date(year, month, day)
    except (ValueError, IndexError):
        return None
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return float(years) if years >= 0 else None


def conditions(value: list[dict[str, Any]], book: CodeBook) -> list[str]:
    """The findings of the active, not refuted Conditions."""
    return list(dict.fromkeys(f for condition in value for f in condition_findings(condition, book)))


def condition_findings(condition: dict[str, Any], book: CodeBook) -> list[str]:
    """The findings one Condition gives: none if it is not active or refuted."""
    clinical = {t.partition("|")[2] for t in tokens(condition.get("clinicalStatus"))}
    verification = {t.partition("|")[2] for t in tokens(condition.get("verificationStatus"))}
    if (clinical and not clinical & ACTIVE) or verification & REFUTED:
        return []
    return [book.findings[t] for t in tokens(condition.get("code")) if t in book.findings]


def observations(value: list[dict[str, Any]], book: CodeBook) -> tuple[list[str], dict[str, float]]:
    """The findings (by an Observation's coded value) and the measurements (by its quantity) of the
    final Observations, the most recent of each code first."""
    findings: list[str] = []
    measurements: dict[str, float] = {}
    latest = sorted(
        (o for o in value if isinstance(o.get("status"), str) and o["status"] in FINAL),
        key=lambda o: str(o.get("effectiveDateTime") or o.get("issued") or ""),
        reverse=True,
    )
    seen: set[str] = set()
    for observation in latest:
        for token in tokens(observation.get("code")):
            if token in seen:
                continue
            seen.add(token)
            if token in book.measurements:
                quantity = observation.get("valueQuantity")
                number = quantity.get("value") if isinstance(quantity, dict) else None
                if isinstance(number, int | float) and not isinstance(number, bool):
                    measurements.setdefault(book.measurements[token], float(number))
            if token in book.observed_findings:
                values = set(tokens(observation.get("valueCodeableConcept")))
                findings += [
                    f for f in book.observed_findings[token] if any(book.findings.get(v) == f for v in values)
                ]
    return list(dict.fromkeys(findings)), measurements


def patient_data(
    prefetch: dict[str, Any] | None, book: CodeBook, today: date, fetch: Callable[[str], object]
) -> PatientData:
    """What the prefetch gives, a key that is absent or failed (an OperationOutcome) fetched with
    ``fetch(key)`` (None: not to be had); raises CdsDataMissing when required data cannot be had.
    A key whose value is ``null`` means no data: it is not fetched."""
    prefetch = prefetch or {}
    values: dict[str, list[dict[str, Any]]] = {}
    notes, missing = [], []
    for key in [*REQUIRED_KEYS, *book.observations]:
        kind = _KINDS.get(key, "Observation")
        value = prefetch.get(key, _ABSENT)
        found = [] if value is None else resources(value, kind)
        if found is None:
            fetched = fetch(key)
            found = None if fetched is None else resources(fetched, kind)
        if found is not None:
            values[key] = found
        elif key in REQUIRED_KEYS:
            raise CdsDataMissing(f"prefetch {key}: required, and neither given nor fetchable from fhirServer")
        else:
            notes.append(f"no {key} data could be had")
            missing.append(key)
    patients = values["patient"]
    data = PatientData(
        age=age_on(patients[0].get("birthDate"), today) if patients else None,
        conditions=conditions(values["conditions"], book),
    )
    observed = [o for key in book.observations for o in values.get(key, [])]
    data.observed, data.measurements = observations(observed, book)
    data.notes = tuple(notes)
    data.missing = frozenset(missing)
    return data


def case_of(reason_findings: tuple[str, ...] | list[str], data: PatientData) -> Case:
    """The case of an order: the findings its reasons name, the patient's active conditions and
    coded observations, the patient's age and measurements. Raises ValidationError for a case the
    model refuses (no finding at all, an age out of range)."""
    findings = list(dict.fromkeys([*reason_findings, *(data.conditions or []), *(data.observed or [])]))
    return Case(findings=findings, age=data.age, **(data.measurements or {}))


_ABSENT = object()
Observation = dict[str, Any]
_KINDS = {"patient": "Patient", "conditions": "Condition"}
