"""Schemas of the HTTP layer that the core does not already define, and the OpenAPI examples.

Cases and answers are ``kg.model.case.Case`` and ``kg.model.answer.Answer``; vocabularies are
``kg.model.vocabulary``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

# Request examples for POST /recommendations, copied from tests/scenarios/public.toml (documentation only).
CASE_EXAMPLES: dict[str, dict[str, Any]] = {
    "seed-leg-weakness": {
        "summary": "Leg weakness (the seed case)",
        "description": "Low back pain with leg weakness: urgent MRI without contrast, no radiographs.",
        "value": {
            "findings": ["low-back-pain", "leg-weakness"],
            "age": 45,
            "sex": "female",
            "symptom_duration_weeks": 1,
            "egfr": 85,
        },
    },
    "ces-saddle-anesthesia": {
        "summary": "Saddle anesthesia",
        "description": "Suspected cauda equina syndrome: emergent MRI.",
        "value": {"findings": ["low-back-pain", "saddle-anesthesia"], "age": 41},
    },
    "v7-cancer-renal-impairment": {
        "summary": "History of cancer, eGFR 22",
        "description": "Contrast stays indicated; severe renal impairment is derived from the eGFR.",
        "value": {"findings": ["low-back-pain", "history-of-cancer"], "age": 64, "egfr": 22},
    },
    "acute-uncomplicated": {
        "summary": "Acute, no red flags",
        "description": "No imaging now; the answer lists the red flags to assess next.",
        "value": {"findings": ["low-back-pain"], "age": 35, "symptom_duration_weeks": 2},
    },
    "v6-older-age-derived": {
        "summary": "Older age only",
        "description": "Older age is derived from the age; a trial of therapy comes first.",
        "value": {"findings": ["low-back-pain"], "age": 78, "symptom_duration_weeks": 1},
    },
}


class Health(BaseModel):
    """The service is up and has loaded this ontology."""

    status: Literal["ok", "degraded"] = Field(
        "ok", description="ok; degraded: it answers correctly, but slower than it could (see degraded_by)."
    )
    degraded_by: list[str] = Field(
        default_factory=list,
        description="Why the service is degraded: the fast engine off, or case queries whose rows "
        "no key covers.",
    )
    ontology_version: str = Field(description="The content hash of the ontology being served.")
    reasoner: str = Field(description="The engine answering: compiled (the fast path) or owlrl.")
    cds_authentication: Literal["on", "off"] = Field(
        "off",
        description="Whether CDS Hooks calls must carry a JWT of a trusted issuer (KG_CDS_TRUSTED_ISSUERS).",
    )
    last_reload_at: datetime | None = Field(None, description="When the last reload ran (none yet: null).")
    last_reload_error: str | None = Field(
        None,
        description="Why the last reload did not serve the folder's ontology; null if it did (or no change).",
    )


class ReloadAnswer(BaseModel):
    """What POST /admin/reload did."""

    reloaded: bool = Field(description="True if a new ontology version is now served.")
    ontology_version: str = Field(description="The version served after the reload.")
    error: str | None = Field(None, description="Why the folder's ontology was not served.")
    violations: list[dict[str, Any]] = Field(
        default_factory=list, description="What validation found wrong, as `kg validate --json` lists it."
    )


class ErrorItem(BaseModel):
    """One rejected field, in FastAPI's validation-error shape."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of a 422: every rejected field."""

    detail: list[ErrorItem]


class Refusal(BaseModel):
    """The body of a refusal that names no field: why the request was not processed."""

    detail: str


UNPROCESSABLE = {
    400: {"model": Refusal, "description": "The body cannot be read as JSON text (e.g. it is not UTF-8)."},
    408: {"model": Refusal, "description": "The body did not arrive within `KG_BODY_TIMEOUT` seconds."},
    413: {"model": Refusal, "description": "The body is larger than `KG_MAX_BODY_BYTES`."},
    422: {
        "model": ErrorBody,
        "description": "The case was rejected; `loc` names the field (the first 20 problems, then "
        "how many more).",
    },
}
