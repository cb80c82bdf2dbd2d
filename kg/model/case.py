"""A case: the findings and measurements a clinician sends (the contract's case JSON)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FindingId = Annotated[str, Field(min_length=1, max_length=100)]


class Case(BaseModel):
    """A presentation of low back pain. Only ``findings`` is required."""

    model_config = ConfigDict(strict=True, extra="forbid")

    findings: list[FindingId] = Field(
        min_length=1,
        max_length=100,
        description="Finding IDs (see GET /findings), at least one.",
    )
    age: float | None = Field(
        default=None, ge=0, le=130, allow_inf_nan=False, description="Age in years, 0-130."
    )
    sex: Literal["female", "male", "other", "unknown"] | None = Field(default=None)
    symptom_duration_weeks: float | None = Field(default=None, ge=0, le=2600, allow_inf_nan=False)
    egfr: float | None = Field(
        default=None, ge=0, le=200, allow_inf_nan=False, description="eGFR in mL/min/1.73 m2, 0-200."
    )

    @field_validator("findings")
    @classmethod
    def _drop_repeats(cls, findings: list[str]) -> list[str]:
        """A finding given twice counts once; the order of first mention is kept."""
        return list(dict.fromkeys(findings))
