"""The orders an audit reads, each with its case as of the order's date.

Two layouts. **FHIR Bulk Data** NDJSON (the ``$export`` format, a resource a line; any file name):
ServiceRequest (the imaging orders), Patient, Condition and Observation; an order's case is what
the CDS Hooks service would make of the same data at signing (:func:`kg.cds.fhir.case_of`): the
findings its reasonCode names, the patient's active conditions recorded by the order's date, the
latest final observations by that date, the age on that date. **Flat CSV**, one order a row (see
README "Batch audit"). Codes are the ontology's (:class:`kg.cds.codes.CodeBook`); a code that names
nothing kg knows is counted, never dropped silently. Bad input (a malformed line, a resource of
another type, an order of a patient not in the export) is a :class:`Problem` with its file and
line, and the rest is read.
"""

from __future__ import annotations

import csv
import json
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kg.cds.codes import CodeBook
from kg.cds.fhir import PatientData, age_on, case_of, conditions, observations, tokens
from kg.model.case import Case

#: Resource types an audit reads; others are counted as problems (once per type and file).
READ_TYPES = ("Patient", "Condition", "Observation", "ServiceRequest")
#: Columns of the flat CSV layout (order_id, date and ordered_procedure required).
CSV_COLUMNS = (
    "order_id",
    "date",
    "ordered_procedure",
    "findings",
    "age",
    "egfr",
    "sex",
    "symptom_duration_weeks",
    "service",
)
MAX_LINE_BYTES = 1 << 20  # a resource over 1 MB is a problem, not read


@dataclass(frozen=True)
class Problem:
    """Input that was not read: where, and why."""

    file: str
    line: int | None
    message: str


@dataclass
class Order:
    """An imaging order to rate: its procedure (a kg ID; None: its code names none) and its case
    (None: it could not be made, ``rejected`` says why)."""

    order_id: str
    date: str  # YYYY-MM-DD, "" if unknown
    ordered_procedure: str | None
    ordered_code: str
    service: str
    case: Case | None
    rejected: str = ""


@dataclass
class Read:
    """What the inputs gave: the orders, the problems, and the codes that name nothing kg knows."""

    orders: list[Order] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unmapped: Counter[str] = field(default_factory=Counter)  # "ServiceRequest code system|code" -> count


def read_inputs(paths: Iterable[Path], book: CodeBook) -> Read:
    """The orders of every file (``*.csv`` flat, anything else NDJSON), all in memory."""
    read = Read()
    paths = list(paths)
    for path in paths:
        if path.suffix.lower() == ".csv":
            read_csv(path, book, read)
    ndjson = [p for p in paths if p.suffix.lower() != ".csv"]
    read_fhir(_sorted(((str(p), n, r) for p in ndjson for n, r in _ndjson(p, read)), read), book, read)
    return read


#: A bucket's size on disk: what one step of a streamed audit holds in memory (as Python objects,
#: several times this).
BUCKET_BYTES = 32 << 20
#: CSV rows read at a time by a streamed audit.
CSV_ROWS = 100_000


def stream_inputs(
    paths: list[Path], book: CodeBook, scratch: Path, bucket_bytes: int = BUCKET_BYTES
) -> tuple[Read, Iterator[list[Order]]]:
    """The orders in batches that each fit in memory, and what the reading found (the ``Read``'s
    problems and unmapped codes fill as the batches are taken; its ``orders`` stay empty).

    NDJSON under ``bucket_bytes`` in all is read at once. More is read twice: the first pass writes
    each line, with its file and line number, to one of several bucket files on disk by its
    patient (a Patient by its id, the others by their subject), so that a patient's orders,
    conditions and observations meet in one bucket; the second joins and yields one bucket at a
    time. CSV rows come in batches of :data:`CSV_ROWS`."""
    read = Read()
    csvs = [p for p in paths if p.suffix.lower() == ".csv"]
    ndjson = [p for p in paths if p.suffix.lower() != ".csv"]

    def batches() -> Iterator[list[Order]]:
        for path in csvs:
            yield from read_csv_batches(path, book, read)
        if sum(p.stat().st_size for p in ndjson) <= bucket_bytes:
            part = Read(problems=read.problems, unmapped=read.unmapped)
            read_fhir(
                _sorted(((str(p), n, r) for p in ndjson for n, r in _ndjson(p, read)), read), book, part
            )
            yield part.orders
            return
        buckets = _bucketed(ndjson, read, scratch, bucket_bytes)
        for bucket in buckets:
            part = Read(problems=read.problems, unmapped=read.unmapped)
            read_fhir(_sorted(_bucket_lines(bucket), read), book, part)
            bucket.unlink()
            yield part.orders

    return read, batches()


def _sorted(
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


def _bucketed(paths: list[Path], read: Read, scratch: Path, bucket_bytes: int) -> list[Path]:
    """The first pass: each resource's line into the bucket of its patient."""
    count = -(-sum(p.stat().st_size for p in paths) // bucket_bytes)
    buckets = [scratch / f"bucket-{n}.tsv" for n in range(count)]
    files = [bucket.open("w") for bucket in buckets]
    try:
        for path in paths:
            for line, resource in _ndjson(path, read):
                patient = (
                    resource.get("id") if resource.get("resourceType") == "Patient" else _patient_of(resource)
                )
                target = files[zlib.crc32(str(patient).encode()) % count]
                target.write(f"{path}\t{line}\t{json.dumps(resource, separators=(',', ':'))}\n")
    finally:
        for file in files:
            file.close()
    return buckets


def _bucket_lines(bucket: Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    with bucket.open() as file:
        for text in file:
            path, line, resource = text.rstrip("\n").split("\t", 2)
            yield path, int(line), json.loads(resource)


def _ndjson(path: Path, read: Read) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            if not raw.strip():
                continue
            if len(raw) > MAX_LINE_BYTES:
                read.problems.append(Problem(str(path), number, f"over {MAX_LINE_BYTES:,} bytes: not read"))
                continue
            try:
                resource = json.loads(raw)
            except ValueError as error:
                read.problems.append(Problem(str(path), number, f"not JSON: {error}"))
                continue
            if not isinstance(resource, dict):
                read.problems.append(Problem(str(path), number, "not a FHIR resource (a JSON object)"))
                continue
            yield number, resource


def _day(value: object) -> date | None:
    """The day of a FHIR date or dateTime (its first 10 characters), None if it is none."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date(int(value[:4]), 12, 31)
    except ValueError:
        return None


def _patient_of(resource: dict[str, Any]) -> str | None:
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    return reference.rpartition("/")[2] if isinstance(reference, str) and reference else None


def read_fhir(fhir: dict[str, list[tuple[str, int, dict[str, Any]]]], book: CodeBook, read: Read) -> None:
    """The ServiceRequests as orders, each with its patient's data as of its date."""
    patients = {str(r.get("id")): r for _, _, r in fhir["Patient"]}
    by_patient: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for kind in ("Condition", "Observation"):
        for _, _, resource in fhir[kind]:
            patient = _patient_of(resource)
            if patient is not None:
                by_patient.setdefault(patient, {"Condition": [], "Observation": []})[kind].append(resource)
    for path, line, request in fhir["ServiceRequest"]:
        order_id = str(request.get("id") or f"{Path(path).name}:{line}")
        codes = tokens(request.get("code"))
        procedure = next((book.procedures[t] for t in codes if t in book.procedures), None)
        if procedure is None:
            read.unmapped.update(f"ServiceRequest code {t}" for t in codes or ["(none)"])
        when = _day(request.get("authoredOn")) or _day(request.get("occurrenceDateTime"))
        requester = request.get("requester") if isinstance(request.get("requester"), dict) else {}
        service = str(requester.get("display") or requester.get("reference") or "")
        patient_id = _patient_of(request)
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
        records = by_patient.get(patient_id, {"Condition": [], "Observation": []})
        data = as_of(patients[patient_id], records, book, when or date.today())
        reasons = [
            book.findings[t]
            for concept in request.get("reasonCode") or []
            for t in tokens(concept)
            if t in book.findings
        ]
        try:
            order.case = case_of(list(dict.fromkeys(reasons)), data)
        except ValidationError as error:
            order.rejected = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        read.orders.append(order)


def as_of(
    patient: dict[str, Any], records: dict[str, list[dict[str, Any]]], book: CodeBook, when: date
) -> PatientData:
    """The patient's data on ``when``: conditions recorded (or begun) by then and not abated
    before, observations made by then, the age on that day."""

    def by_then(resource: dict[str, Any], *keys: str) -> bool:
        day = next((d for d in (_day(resource.get(k)) for k in keys) if d is not None), None)
        return day is None or day <= when

    active = [
        c
        for c in records["Condition"]
        if by_then(c, "onsetDateTime", "recordedDate")
        and not ((ended := _day(c.get("abatementDateTime"))) is not None and ended <= when)
    ]
    made = [o for o in records["Observation"] if by_then(o, "effectiveDateTime", "issued")]
    data = PatientData(age=age_on(patient.get("birthDate"), when), conditions=conditions(active, book))
    data.observed, data.measurements = observations(made, book)
    return data


def read_csv(path: Path, book: CodeBook, read: Read) -> None:
    """The rows of a flat CSV as orders (see :data:`CSV_COLUMNS`), all in ``read.orders``."""
    for batch in read_csv_batches(path, book, read):
        read.orders += batch


def read_csv_batches(path: Path, book: CodeBook, read: Read) -> Iterator[list[Order]]:
    """The rows of a flat CSV as orders, :data:`CSV_ROWS` at a time (problems go to ``read``)."""
    with path.open(newline="") as file:
        rows = csv.DictReader(file)
        missing = {"order_id", "date", "ordered_procedure"} - set(rows.fieldnames or [])
        if missing:
            read.problems.append(
                Problem(str(path), 1, f"no column {', '.join(sorted(missing))}: file not read")
            )
            return
        known = set(book.procedures.values())
        batch: list[Order] = []
        for line, row in enumerate(rows, start=2):
            code = (row.get("ordered_procedure") or "").strip()
            procedure = code if code in known else book.procedures.get(code)
            if procedure is None:
                read.unmapped[f"ordered_procedure {code or '(none)'}"] += 1
            when = _day(row.get("date"))
            order = Order(
                str(row.get("order_id") or f"{path.name}:{line}"),
                when.isoformat() if when else "",
                procedure,
                code,
                (row.get("service") or "").strip(),
                None,
            )
            body: dict[str, Any] = {
                "findings": [f for f in (row.get("findings") or "").replace(";", " ").split() if f]
            }
            problems = []
            for name in ("age", "egfr", "symptom_duration_weeks"):
                text = (row.get(name) or "").strip()
                if text:
                    try:
                        body[name] = float(text)
                    except ValueError:
                        problems.append(f"{name}: {text!r} is not a number")
            if (row.get("sex") or "").strip():
                body["sex"] = row["sex"].strip()
            if not problems:
                try:
                    order.case = Case(**body)
                except ValidationError as error:
                    problems += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
            if problems:
                order.rejected = "; ".join(problems)
                read.problems.append(Problem(str(path), line, f"order {order.order_id}: {order.rejected}"))
            batch.append(order)
            if len(batch) >= CSV_ROWS:
                yield batch
                batch = []
        if batch:
            yield batch
