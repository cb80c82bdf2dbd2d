"""CDS Hooks feedback: what clinicians did with kg's cards (accepted a suggestion, or overrode the
card and why), validated, kept idempotently in an embedded SQLite database, and read back for the
informaticists who tune the knowledge.

The EHR may report one card several times: a report is keyed by service, card, outcome and
outcome time, so sending it again changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kg.cds.fhir import invalid

#: At most this many reports in one post, and kept reports read back at once.
MAX_REPORTS = 100
READ_LIMIT = 1_000


class Coding(BaseModel):
    """A CDS Hooks Coding (the sandbox sends an override reason's code alone)."""

    code: str = Field(min_length=1, max_length=200)
    system: str | None = Field(default=None, max_length=500)
    display: str | None = Field(default=None, max_length=500)


class OverrideReason(BaseModel):
    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=2_000)


class AcceptedSuggestion(BaseModel):
    id: str = Field(min_length=1, max_length=200)


class Report(BaseModel):
    """One card's outcome."""

    model_config = ConfigDict(extra="forbid")

    card: str = Field(min_length=1, max_length=200)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(default=None, max_length=20)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: datetime

    @model_validator(mode="after")
    def _accepted_names_its_suggestions(self) -> Report:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions: required when the outcome is accepted")
        return self


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback: list[Report] = Field(min_length=1, max_length=MAX_REPORTS)


def parse(body: object) -> Feedback:
    """The feedback of a post; raises CdsRequestInvalid naming the fields that break the spec."""
    try:
        return Feedback.model_validate(body)
    except ValidationError as error:
        raise invalid(error) from None


class FeedbackStore:
    """The SQLite database of reports (created on first use)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self._path, check_same_thread=False)
            connection.execute(
                """CREATE TABLE IF NOT EXISTS feedback (
                       service TEXT NOT NULL, card TEXT NOT NULL, outcome TEXT NOT NULL,
                       outcome_timestamp TEXT NOT NULL, report TEXT NOT NULL, received_at TEXT NOT NULL,
                       PRIMARY KEY (service, card, outcome, outcome_timestamp))"""
            )
            self._connection = connection
        return self._connection

    def add(self, service: str, feedback: Feedback, received_at: datetime) -> int:
        """Keep the reports not kept yet (as validated, in JSON); how many were new."""
        rows = [
            (
                service,
                report.card,
                report.outcome,
                report.outcomeTimestamp.isoformat(),
                report.model_dump_json(exclude_none=True),
                received_at.isoformat(),
            )
            for report in feedback.feedback
        ]
        with self._lock:
            db = self._db()
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO feedback VALUES (?, ?, ?, ?, ?, ?)", rows)
            db.commit()
            return db.total_changes - before

    def read(self, service: str) -> list[dict[str, Any]]:
        """The reports of a service, newest outcome first (at most READ_LIMIT), with when each came."""
        query = (
            "SELECT report, received_at FROM feedback WHERE service = ? "
            "ORDER BY outcome_timestamp DESC, card LIMIT ?"
        )
        with self._lock:
            rows = self._db().execute(query, (service, READ_LIMIT)).fetchall()
        return [{**json.loads(report), "receivedAt": received} for report, received in rows]
