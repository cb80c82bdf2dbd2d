"""Depends() providers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kg.api.admission import Admission
from kg.api.serving import Serving
from kg.knowledge_base import KnowledgeBase
from kg.sparql.endpoint import SparqlEndpoint


async def get_serving(request: Request) -> Serving:
    """The served knowledge base and its reloads, which the lifespan set up."""
    return request.app.state.serving


ServingDep = Annotated[Serving, Depends(get_serving)]


async def get_knowledge_base(request: Request) -> KnowledgeBase:
    """The knowledge base served now (read once per request: a reload swaps it, and the request
    finishes on the one it got).

    ``async``: it only reads an attribute, so it runs on the event loop instead of costing each
    request a hop to the thread pool (FastAPI runs plain ``def`` dependencies there).
    """
    return request.app.state.serving.knowledge_base


KnowledgeBaseDep = Annotated[KnowledgeBase, Depends(get_knowledge_base)]


async def get_sparql_endpoint(request: Request) -> SparqlEndpoint:
    """The SPARQL endpoint the lifespan made (its query workers start on first use)."""
    return request.app.state.sparql_endpoint


SparqlEndpointDep = Annotated[SparqlEndpoint, Depends(get_sparql_endpoint)]


async def get_sparql_admission(request: Request) -> Admission:
    """The SPARQL endpoint's own queue and threads (kept apart from the clinical routes')."""
    return request.app.state.sparql_admission


SparqlAdmissionDep = Annotated[Admission, Depends(get_sparql_admission)]
