"""GET /health."""

from __future__ import annotations

from fastapi import APIRouter

from kg.api.deps import ServingDep
from kg.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health")
def health(serving: ServingDep) -> Health:
    """The service is up; which ontology it answers from, with which engine, and how the last reload went."""
    kb, last = serving.knowledge_base, serving.last_reload
    degraded_by = kb.degraded_by
    return Health(
        status="degraded" if degraded_by else "ok",
        degraded_by=degraded_by,
        ontology_version=kb.version,
        reasoner=kb.default_reasoner,
        cds_authentication="on" if serving.settings.cds_trusted_issuers else "off",
        last_reload_at=last and last.at,
        last_reload_error=last and last.error,
    )
