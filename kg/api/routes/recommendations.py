"""POST /recommendations: a case in, the justified answer out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from kg.api.deps import KnowledgeBaseDep
from kg.api.schemas import CASE_EXAMPLES, UNPROCESSABLE
from kg.model.answer import Answer
from kg.model.case import Case

router = APIRouter(tags=["recommendations"])


@router.post("/recommendations", response_model=Answer, responses=UNPROCESSABLE)
def recommend(case: Annotated[Case, Body(openapi_examples=CASE_EXAMPLES)], kb: KnowledgeBaseDep) -> Response:
    """The urgency, the imaging to order (first is recommended), what not to order, and why."""
    # The answer is already a validated Answer: serialize it once, with pydantic's JSON encoder.
    return Response(kb.recommend(case).model_dump_json(), media_type="application/json")
