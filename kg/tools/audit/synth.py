"""Synthetic FHIR Bulk Data exports for the audit's demo and tests, reproducible from a seed.

Patients with a birth date; Conditions and eGFR Observations coded with the ontology's codes (the
code book of the CDS Hooks service), some recorded after the order (so the order's case must not
see them); ServiceRequests for lumbar imaging with the ontology's procedure codes, low back pain as
their reason, a date in one year and an ordering service. The procedure is drawn at random, so the
orders mix appropriate and not appropriate ones; a few carry a local code kg does not know. No
clinical judgement is made here: the audit rates whatever was drawn.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kg.cds.codes import CodeBook

SERVICES = ("Emergency department", "Primary care", "Orthopaedics", "Neurosurgery", "Sports medicine")
#: A local code of the demo's own system: an order kg has no procedure for (counted as unmapped).
LOCAL_CODE = ("urn:kg:demo:local-order-codes", "lumbar-imaging-other")
YEAR = 2025
KINDS = ("Patient", "Condition", "Observation", "ServiceRequest")


def _concept(token: str) -> dict[str, Any]:
    system, _, code = token.partition("|")
    return {"coding": [{"system": system, "code": code}]}


def synthesize(book: CodeBook, orders: int, seed: int = 1) -> dict[str, list[dict[str, Any]]]:
    """The resources of an export with ``orders`` ServiceRequests, by resource type."""
    export: dict[str, list[dict[str, Any]]] = {
        "Patient": [],
        "Condition": [],
        "Observation": [],
        "ServiceRequest": [],
    }
    for kind, resource in generate(book, orders, seed):
        export[kind].append(resource)
    return export


def generate(book: CodeBook, orders: int, seed: int = 1) -> Iterator[tuple[str, dict[str, Any]]]:
    """The resources of :func:`synthesize`, one at a time (an export larger than memory)."""
    rng = random.Random(seed)
    finding_tokens = {finding: token for token, finding in sorted(book.findings.items(), reverse=True)}
    pain = finding_tokens.get("low-back-pain")
    other = sorted(f for f in finding_tokens if f != "low-back-pain")
    egfr = next((t for t, field in sorted(book.measurements.items()) if field == "egfr"), None)
    procedures = sorted(book.procedures)
    start = date(YEAR, 1, 1)
    patients = max(1, orders // 2)
    for p in range(patients):
        pid = f"p{p}"
        born = date(YEAR - rng.randint(12, 95), rng.randint(1, 12), rng.randint(1, 28))
        yield (
            "Patient",
            (
                {
                    "resourceType": "Patient",
                    "id": pid,
                    "birthDate": born.isoformat(),
                    "gender": rng.choice(["female", "male"]),
                }
            ),
        )
        for c, finding in enumerate(rng.sample(other, rng.choice([0, 0, 1, 1, 2, 3]))):
            recorded = start + timedelta(days=rng.randint(-400, 364))
            yield (
                "Condition",
                (
                    {
                        "resourceType": "Condition",
                        "id": f"{pid}-c{c}",
                        "subject": {"reference": f"Patient/{pid}"},
                        "code": _concept(finding_tokens[finding]),
                        "recordedDate": recorded.isoformat(),
                        "clinicalStatus": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                    "code": "active",
                                }
                            ]
                        },
                    }
                ),
            )
        if egfr is not None and rng.random() < 0.3:
            yield (
                "Observation",
                (
                    {
                        "resourceType": "Observation",
                        "id": f"{pid}-egfr",
                        "status": "final",
                        "subject": {"reference": f"Patient/{pid}"},
                        "code": _concept(egfr),
                        "effectiveDateTime": (start + timedelta(days=rng.randint(-200, 300))).isoformat(),
                        "valueQuantity": {"value": round(rng.uniform(8, 120), 1), "unit": "mL/min/{1.73_m2}"},
                    }
                ),
            )
    for o in range(orders):
        code = _concept("|".join(LOCAL_CODE)) if rng.random() < 0.03 else _concept(rng.choice(procedures))
        request: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "id": f"o{o}",
            "status": "completed",
            "intent": "order",
            "subject": {"reference": f"Patient/p{rng.randrange(patients)}"},
            "code": code,
            "authoredOn": (start + timedelta(days=rng.randint(0, 364))).isoformat(),
            "requester": {"display": rng.choice(SERVICES)},
        }
        if pain is not None and rng.random() < 0.92:
            request["reasonCode"] = [_concept(pain)]
        yield "ServiceRequest", request


def write_export(
    export: dict[str, list[dict[str, Any]]] | Iterable[tuple[str, dict[str, Any]]], folder: Path
) -> list[Path]:
    """One NDJSON file per resource type, as ``$export`` writes them; from :func:`synthesize`'s
    lists or, a resource at a time, from :func:`generate`."""
    folder.mkdir(parents=True, exist_ok=True)
    items = (
        ((kind, r) for kind, resources in export.items() for r in resources)
        if isinstance(export, dict)
        else export
    )
    files: dict[str, Any] = {}
    try:
        for kind, resource in items:
            if kind not in files:
                files[kind] = (folder / f"{kind}.ndjson").open("w")
            files[kind].write(json.dumps(resource, separators=(",", ":")) + "\n")
    finally:
        for file in files.values():
            file.close()
    return [folder / f"{kind}.ndjson" for kind in files]
