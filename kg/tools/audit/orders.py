"""What an audit reads: the orders, each with its case as of the order's date, and the problems
found in the input (a :class:`Problem` with its file and line: the rest is read)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kg.model.case import Case


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


def day(value: object) -> date | None:
    """The day of a FHIR date or dateTime (its first 10 characters), None if it is none."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]) if len(value) >= 10 else date(int(value[:4]), 12, 31)
    except ValueError:
        return None


def patient_of(resource: dict[str, Any]) -> str | None:
    """The id of the patient a resource's subject references."""
    subject = resource.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    return reference.rpartition("/")[2] if isinstance(reference, str) and reference else None
