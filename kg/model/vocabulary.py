"""The public vocabularies (findings, procedures) as read from the ontology."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FindingInfo(BaseModel):
    """A finding a case may contain."""

    id: str
    label: str
    definition: str
    snomed: str | None
    kinds: list[str]
    section: str | None = Field(
        default=None,
        description="The finding kind whose section of the case form shows it (ontology/case-form.ttl).",
    )
    synonyms: list[str] = Field(default_factory=list, description="Other names a search finds it by.")


class FormSection(BaseModel):
    """A section of the case form: a finding kind, in the ontology's order."""

    id: str
    label: str


class ProcedureInfo(BaseModel):
    """An imaging procedure the service may recommend."""

    id: str
    label: str
    modality: str
    contrast: str
    radiation_level: str
    loinc: str | None


class InputRuleInfo(BaseModel):
    """A scope or contradiction rule a case is checked against (FACTS.md, "Scope and contradictions").

    A case the rule finds is rejected (422 naming ``field``, CLI exit 2) unless it reaches
    ``answered_from_urgency`` or higher: then it is answered, with the ``answered_with`` caveat."""

    id: str
    label: str
    field: str
    message: str
    answered_from_urgency: str
    answered_with: str | None
    sources: list[str]


class SourceInfo(BaseModel):
    """A source answers cite by its key: the key and the full citation."""

    id: str
    citation: str
