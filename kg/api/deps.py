"""Depends() providers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kg.knowledge_base import KnowledgeBase
from kg.sparql.endpoint import SparqlEndpoint


async def get_knowledge_base(request: Request) -> KnowledgeBase:
    """The knowledge base the lifespan loaded (read per request, so a reload can swap it).

    ``async``: it only reads an attribute, so it runs on the event loop instead of costing each
    request a hop to the thread pool (FastAPI runs plain ``def`` dependencies there).
    """
    return request.app.state.knowledge_base


KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]


async def get_sparql_endpoint(request: Request) -> SparqlEndpoint:
    """The SPARQL endpoint the lifespan made (its query workers start on first use)."""
    return request.app.state.sparql_endpoint


SparqlEndpointDep = Annotated[SparqlEndpoint, Depends(get_sparql_endpoint)]
