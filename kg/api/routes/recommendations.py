"""POST /recommendations: a case in, the justified answer out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from kg.answer import Answer
from kg.api.deps import KnowledgeBaseDep
from kg.api.schemas import CASE_EXAMPLES, UNPROCESSABLE
from kg.case import Case

router = APIRouter(tags=["recommendations"])


@router.post("/recommendations", responses=UNPROCESSABLE)
def recommend(case: Annotated[Case, Body(openapi_examples=CASE_EXAMPLES)], kb: KnowledgeBaseDep) -> Answer:
    """The urgency, the imaging to order (first is recommended), what not to order, and why."""
    return kb.recommend(case)
