"""GET /findings, GET /procedures, GET /sources and GET /input-rules: the IDs a case and an answer
use, the sources an answer cites, and the rules a case is checked against."""

from __future__ import annotations

from fastapi import APIRouter

from kg.api.deps import KnowledgeBaseDep
from kg.model.vocabulary import FindingInfo, InputRuleInfo, ProcedureInfo, SourceInfo

router = APIRouter(tags=["vocabulary"])


@router.get("/findings")
def list_findings(kb: KnowledgeBaseDep) -> list[FindingInfo]:
    """Every finding a case may contain."""
    return kb.findings


@router.get("/procedures")
def list_procedures(kb: KnowledgeBaseDep) -> list[ProcedureInfo]:
    """Every imaging procedure an answer may name."""
    return kb.procedures


@router.get("/sources")
def list_sources(kb: KnowledgeBaseDep) -> list[SourceInfo]:
    """Every source an answer may cite, by key, with its full citation."""
    return kb.source_list


@router.get("/input-rules")
def list_input_rules(kb: KnowledgeBaseDep) -> list[InputRuleInfo]:
    """The scope and contradiction rules a case is checked against: a case a rule finds is rejected
    (422 naming the rule's field) unless it reaches the rule's answered-from urgency; then it is
    answered with the rule's caveat."""
    return kb.input_rules
