"""The SPARQL endpoint over a knowledge base's dataset: checks a query, runs it in a worker, describes itself.

The workers hold the dataset of the knowledge base they were started for. Each query names the
knowledge base it is for; when that is a newer one (a reload), fresh workers load its dataset and
the old ones stop once their queries end.
"""

from __future__ import annotations

import threading

from kg.knowledge_base import KnowledgeBase
from kg.model.errors import MalformedRequest, QueryRefused
from kg.sparql.dataset import named_graphs, nquads
from kg.sparql.description import service_description
from kg.sparql.formats import Form, check_acceptable, negotiate
from kg.sparql.protocol import READ_ONLY, check_depth, is_update, refuse_service
from kg.sparql.worker import QueryRequest, Result
from kg.sparql.workers import Limits, QueryWorkers


class SparqlEndpoint:
    """Answers SPARQL queries with at most ``workers`` running at once, each within ``limits``."""

    def __init__(self, workers: int, limits: Limits) -> None:
        self._size = workers
        self._limits = limits
        self._lock = threading.Lock()
        self._knowledge_base: KnowledgeBase | None = None
        self._workers: QueryWorkers | None = None

    def query(self, knowledge_base: KnowledgeBase, request: QueryRequest) -> Result:
        """The serialized answer to ``request``; raises a SparqlError saying why there is none."""
        check_acceptable(request.accept)
        check_depth(request.query)
        refuse_service(request.query)
        try:
            return self._workers_for(knowledge_base).run(request)
        except MalformedRequest:
            if is_update(request.query):
                raise QueryRefused(READ_ONLY) from None
            raise

    def describe(self, knowledge_base: KnowledgeBase, endpoint: str, accept: str | None) -> Result:
        """The service description of this endpoint at URL ``endpoint``, in the negotiated format."""
        chosen = negotiate(accept, Form.GRAPH)
        description = service_description(
            endpoint,
            len(knowledge_base.closed),
            named_graphs(knowledge_base.ontology, knowledge_base.closed),
            knowledge_base.version,
        )
        return Result(chosen.media_type, description.serialize(format=chosen.rdflib, encoding="utf-8"))

    def close(self) -> None:
        """Stop the workers (busy ones once their queries end)."""
        with self._lock:
            workers, self._workers, self._knowledge_base = self._workers, None, None
        if workers is not None:
            workers.close()

    def _workers_for(self, knowledge_base: KnowledgeBase) -> QueryWorkers:
        with self._lock:
            if self._knowledge_base is not knowledge_base or self._workers is None:
                retired = self._workers
                dump = nquads(knowledge_base.ontology, knowledge_base.closed)
                self._workers = QueryWorkers(dump, self._size, self._limits)
                self._knowledge_base = knowledge_base
                if retired is not None:
                    retired.close()
            return self._workers
