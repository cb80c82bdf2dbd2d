"""GET /findings, GET /procedures and GET /input-rules: the IDs a case and an answer use, and the
rules a case is checked against."""

from __future__ import annotations

from fastapi import APIRouter

from kg.api.deps import KnowledgeBaseDep
from kg.model.vocabulary import FindingInfo, InputRuleInfo, ProcedureInfo

router = APIRouter(tags=["vocabulary"])


@router.get("/findings")
def list_findings(kb: KnowledgeBaseDep) -> list[FindingInfo]:
    """Every finding a case may contain."""
    return kb.findings


@router.get("/procedures")
def list_procedures(kb: KnowledgeBaseDep) -> list[ProcedureInfo]:
    """Every imaging procedure an answer may name."""
    return kb.procedures


@router.get("/input-rules")
def list_input_rules(kb: KnowledgeBaseDep) -> list[InputRuleInfo]:
    """The scope and contradiction rules a case is checked against: a case a rule finds is rejected
    (422 naming the rule's field) unless it reaches the rule's answered-from urgency; then it is
    answered with the rule's caveat."""
    return kb.input_rules
