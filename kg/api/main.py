"""The app factory: ``uvicorn --factory kg.api.main:create_app`` or ``kg serve``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kg import DISCLAIMER
from kg.api.admission import Admission
from kg.api.errors import add_error_handlers
from kg.api.limits import BodyLimit, Limit
from kg.api.routes import (
    admin,
    cds,
    docs,
    health,
    knowledge_page,
    pages,
    recommendations,
    sparql,
    sparql_ui,
    vocabulary,
)
from kg.api.serving import Serving, watch
from kg.cds.auth import Verifier
from kg.cds.feedback import FeedbackStore
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase
from kg.sparql.endpoint import SparqlEndpoint
from kg.sparql.workers import Limits


def create_app(settings: Settings | None = None, knowledge_base: KnowledgeBase | None = None) -> FastAPI:
    """The service; its lifespan loads the knowledge base once, unless one is given already loaded."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving = Serving(settings, knowledge_base or KnowledgeBase.from_settings(settings))
        app.state.serving = serving
        app.state.cds_verifier = Verifier(dict(settings.cds_trusted_issuers))
        app.state.cds_feedback = FeedbackStore(settings.feedback_path)  # opened on first use
        # The loaded graphs live as long as the service: keep them out of the garbage collector's
        # full collections, which each request's allocations would otherwise trigger over them.
        gc.freeze()
        app.state.sparql_endpoint = SparqlEndpoint(
            settings.sparql_workers, Limits(settings.sparql_timeout_s, settings.sparql_max_result_bytes)
        )
        app.state.sparql_admission = Admission(
            settings.sparql_workers, settings.sparql_queue, settings.sparql_timeout_s
        )
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(serving, stop)) if settings.watch else None
        yield
        stop.set()
        if watcher is not None:
            await watcher
        app.state.sparql_endpoint.close()

    app = FastAPI(
        title="kg",
        summary="Imaging for low back pain: justified recommendations from an OWL 2 RL knowledge graph.",
        description=f"**{DISCLAIMER}**",
        lifespan=lifespan,
        docs_url=None,  # served by kg.api.routes.docs, from vendored assets
        redoc_url=None,
    )
    add_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        limit=Limit(settings.max_body_bytes, "KG_MAX_BODY_BYTES", "a case or a SPARQL query"),
        timeout_s=settings.body_timeout_s,
        by_prefix=((cds.PREFIX, Limit(settings.cds_max_body_bytes, "KG_CDS_MAX_BODY_BYTES", "a hook call")),),
    )
    routes = (recommendations, vocabulary, health, sparql, sparql_ui, admin, docs, cds, pages, knowledge_page)
    for module in routes:
        app.include_router(module.router)
    return app
