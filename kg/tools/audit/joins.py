"""FHIR Bulk Data resources joined into orders: each ServiceRequest (an imaging order) with its
patient's data as of its date. An order's case is what the CDS Hooks service would make of the same
data at signing (:func:`kg.cds.fhir.case_of`): the findings its reasonCode names, the patient's
active conditions recorded by the order's date, the latest final observations by that date, the
age on that date. Codes are the ontology's (:class:`kg.cds.codes.CodeBook`); a code that names
nothing kg knows is counted, never dropped silently."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kg.cds.codes import CodeBook
from kg.cds.fhir import (
    PatientData,
    age_on,
    case_of,
    condition_findings,
    observations,
    procedure_of,
    reason_findings,
    tokens,
)
from kg.tools.audit.orders import Order, Problem, Read, day, patient_of

#: Resource types an audit reads; others are counted as problems (once per type and file).
READ_TYPES = ("Patient", "Condition", "Observation", "ServiceRequest")


def by_type(
    resources: Iterable[tuple[str, int, dict[str, Any]]], read: Read
) -> dict[str, list[tuple[str, int, dict[str, Any]]]]:
    """Resources by type (a type an audit does not read is a problem)."""
    fhir: dict[str, list[tuple[str, int, dict[str, Any]]]] = {kind: [] for kind in READ_TYPES}
    for path, line, resource in resources:
        kind = resource.get("resourceType")
        if kind in fhir:
            fhir[kind].append((path, line, resource))
        else:
            read.problems.append(Problem(path, line, f"resource type {kind!r} is not read by an audit"))
    return fhir


def read_fhir(fhir: dict[str, list[tuple[str, int, dict[str, Any]]]], book: CodeBook, read: Read) -> None:
    """The ServiceRequests as orders, each with its patient's data as of its date."""
    patients = {str(r.get("id")): r for _, _, r in fhir["Patient"]}
    records: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for kind, slot in (("Condition", 0), ("Observation", 1)):
        for _, _, resource in fhir[kind]:
            patient = patient_of(resource)
            if patient is not None:
                records.setdefault(patient, ([], []))[slot].append(resource)
    histories: dict[str, History] = {}
    today = date.today()
    for path, line, request in fhir["ServiceRequest"]:
        order_id = str(request.get("id") or f"{Path(path).name}:{line}")
        codes = tokens(request.get("code"))
        procedure = procedure_of(codes, book)
        if procedure is None:
            read.unmapped.update(f"ServiceRequest code {t}" for t in codes or ["(none)"])
        when = day(request.get("authoredOn")) or day(request.get("occurrenceDateTime"))
        requester = request.get("requester") if isinstance(request.get("requester"), dict) else {}
        service = str(requester.get("display") or requester.get("reference") or "")
        patient_id = patient_of(request)
        order = Order(
            order_id, when.isoformat() if when else "", procedure, codes[0] if codes else "", service, None
        )
        if patient_id is None or patient_id not in patients:
            read.problems.append(
                Problem(
                    path, line, f"ServiceRequest {order_id}: its patient {patient_id!r} is not in the export"
                )
            )
            order.rejected = "patient not in the export"
            read.orders.append(order)
            continue
        history = histories.get(patient_id)
        if history is None:
            history = histories[patient_id] = History(
                patients[patient_id], *records.get(patient_id, ([], [])), book
            )
        data = history.on(when or today)
        try:
            order.case = case_of(reason_findings(request, book), data)
        except ValidationError as error:
            order.rejected = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        read.orders.append(order)


class History:
    """A patient's conditions and observations, with the days each resource gives read once, and
    the patient's data on each day an order asks for (kept: a patient's orders of one day share it)."""

    def __init__(
        self,
        patient: dict[str, Any],
        conditions: list[dict[str, Any]],
        observations: list[dict[str, Any]],
        book: CodeBook,
    ) -> None:
        self.patient = patient
        self._book = book
        self._conditions = [  # (begun, ended, findings): the findings found once per Condition
            (
                _first_day(c, "onsetDateTime", "recordedDate"),
                day(c.get("abatementDateTime")),
                findings,
            )
            for c in conditions
            if (findings := condition_findings(c, book))
        ]
        self._observations = [(_first_day(o, "effectiveDateTime", "issued"), o) for o in observations]
        self._on: dict[date, PatientData] = {}

    def on(self, when: date) -> PatientData:
        """The patient's data on ``when``: conditions recorded (or begun) by then and not abated
        before, observations made by then, the age on that day."""
        data = self._on.get(when)
        if data is None:
            found = [
                finding
                for begun, ended, findings in self._conditions
                if (begun is None or begun <= when) and (ended is None or ended > when)
                for finding in findings
            ]
            made = [o for day, o in self._observations if day is None or day <= when]
            data = PatientData(
                age=age_on(self.patient.get("birthDate"), when), conditions=list(dict.fromkeys(found))
            )
            data.observed, data.measurements = observations(made, self._book) if made else ([], {})
            self._on[when] = data
        return data


def _first_day(resource: dict[str, Any], *keys: str) -> date | None:
    """The day of the first of ``keys`` the resource gives a date for."""
    for key in keys:
        found = day(resource.get(key))
        if found is not None:
            return found
    return None
