"""Depends() providers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kg.knowledge_base import KnowledgeBase


def get_knowledge_base(request: Request) -> KnowledgeBase:
    """The knowledge base the lifespan loaded (read per request, so a reload can swap it)."""
    return request.app.state.knowledge_base


KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]
