"""The answer: the contract's answer JSON, as pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kg import DISCLAIMER


class Recommendation(BaseModel):
    """One procedure to order; the first of the list is the recommended one."""

    procedure: str
    label: str
    modality: str
    contrast: str
    appropriateness: str
    radiation_level: str
    loinc: str | None = None
    rationale: str
    presentation: str = Field(description="The presentation class whose recommendation this is.")
    sources: list[str]


class DoNotOrder(BaseModel):
    """A procedure that should not be ordered now, and why."""

    procedure: str
    reason: str
    sources: list[str]


class Caveat(BaseModel):
    """Advice shown with the answer."""

    id: str
    text: str
    sources: list[str]


class JustificationStep(BaseModel):
    """finding → axiom → presentation class → urgency → recommendation → sources."""

    finding: str
    presentation: str
    axiom: str
    urgency: str
    recommendation: str | None
    sources: list[str]
    outranked: bool = Field(
        default=False,
        description="The presentation class is met but sits below the answer's urgency level: "
        "it does not decide the answer.",
    )


class Answer(BaseModel):
    """What kg recommends for a case, and exactly why."""

    urgency: str
    urgency_meaning: str = Field(description="What the urgency level asks for, e.g. image within 24-48 h.")
    suspected_conditions: list[str]
    recommendations: list[Recommendation]
    do_not_order: list[DoNotOrder]
    assess_next: list[str]
    caveats: list[Caveat]
    justification: list[JustificationStep]
    derived_findings: list[str] = Field(
        description="Findings derived from the case's measurements (age, eGFR) by ontology thresholds."
    )
    ontology_version: str
    disclaimer: str = DISCLAIMER
