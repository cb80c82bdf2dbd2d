"""GET /health."""

from __future__ import annotations

from fastapi import APIRouter

from kg.api.deps import KnowledgeBaseDep
from kg.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health(kb: KnowledgeBaseDep) -> Health:
    """The service is up; which ontology it answers from, and with which engine."""
    return Health(ontology_version=kb.version, reasoner=kb.default_reasoner)
