"""The public vocabularies (findings, procedures) as read from the ontology."""

from __future__ import annotations

from pydantic import BaseModel


class FindingInfo(BaseModel):
    """A finding a case may contain."""

    id: str
    label: str
    definition: str
    snomed: str | None
    kinds: list[str]


class ProcedureInfo(BaseModel):
    """An imaging procedure the service may recommend."""

    id: str
    label: str
    modality: str
    contrast: str
    radiation_level: str
    loinc: str | None
