"""GET /findings and GET /procedures: the IDs a case and an answer use."""

from __future__ import annotations

from fastapi import APIRouter

from kg.api.deps import KnowledgeBaseDep
from kg.vocabulary import FindingInfo, ProcedureInfo

router = APIRouter(tags=["vocabulary"])


@router.get("/findings")
def list_findings(kb: KnowledgeBaseDep) -> list[FindingInfo]:
    """Every finding a case may contain."""
    return kb.findings


@router.get("/procedures")
def list_procedures(kb: KnowledgeBaseDep) -> list[ProcedureInfo]:
    """Every imaging procedure an answer may name."""
    return kb.procedures
