"""/sparql: the SPARQL 1.1 Protocol's query operation, read-only, over the ontology and its inferences."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from kg.api.deps import KnowledgeBaseDep, SparqlAdmissionDep, SparqlEndpointDep
from kg.knowledge_base import KnowledgeBase
from kg.sparql.endpoint import SparqlEndpoint
from kg.sparql.formats import FORMATS
from kg.sparql.protocol import FORM, QUERY, read_request
from kg.sparql.worker import Result

router = APIRouter(tags=["sparql"])

GRAPH_PARAMETERS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": "array", "items": {"type": "string", "format": "iri"}},
        "description": description,
    }
    for name, description in (
        ("default-graph-uri", "Graphs whose merge is the default graph (replaces the query's FROM)."),
        ("named-graph-uri", "Graphs the query may name in GRAPH (replaces the query's FROM NAMED)."),
    )
]
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Results (SELECT, ASK), a graph (CONSTRUCT, DESCRIBE) or, for GET without a query, "
        "the service description; in the format the Accept header asks for.",
        "content": {f.media_type.split(";")[0]: {} for formats in FORMATS.values() for f in formats},
    },
    400: {
        "description": "A malformed query, one nested deeper than 128 levels, or a protocol parameter "
        "missing, repeated or not an IRI."
    },
    403: {"description": "Update, LOAD, CLEAR or SERVICE: the endpoint is read-only and never calls out."},
    406: {"description": "No format for this kind of query matches the Accept header."},
    415: {"description": "A POST body that is neither a form nor a SPARQL query."},
    422: {
        "description": "The result is larger than the configured limit, or cannot be evaluated or written."
    },
    503: {
        "description": "The query ran out of time, no query worker was free in time, or the queue is "
        "full (then at once, with Retry-After)."
    },
}


async def _body(request: Request) -> bytes:
    return await request.body()


def _answer(result: Result) -> Response:
    return Response(result.body, media_type=result.media_type, headers={"Vary": "Accept"})


def _operation(request: Request, body: bytes, kb: KnowledgeBase, endpoint: SparqlEndpoint) -> Response:
    accept = request.headers.get("accept")
    query = read_request(
        request.method, request.headers.get("content-type"), request.query_params.multi_items(), body, accept
    )
    if query is None:
        return _answer(endpoint.describe(kb, str(request.url_for("sparql_get")), accept))
    return _answer(endpoint.query(kb, query))


@router.get(
    "/sparql",
    name="sparql_get",
    response_class=Response,
    responses=ANSWERS,
    openapi_extra={
        "parameters": [
            {
                "name": "query",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "A SPARQL 1.1 query; without it, the service description is returned.",
            },
            *GRAPH_PARAMETERS,
        ]
    },
)
async def sparql_get(
    request: Request, kb: KnowledgeBaseDep, endpoint: SparqlEndpointDep, admission: SparqlAdmissionDep
) -> Response:
    """Run the SPARQL query in ``query=``; without a query, the SPARQL service description."""
    return await admission.run(lambda: _operation(request, b"", kb, endpoint))


@router.post(
    "/sparql",
    response_class=Response,
    responses=ANSWERS,
    openapi_extra={
        "parameters": GRAPH_PARAMETERS,
        "requestBody": {
            "required": True,
            "content": {
                QUERY: {"schema": {"type": "string"}},
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["query"],
                        "properties": {
                            "query": {"type": "string"},
                            "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                            "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                        },
                    }
                },
            },
        },
    },
)
async def sparql_post(
    request: Request,
    body: Annotated[bytes, Depends(_body)],
    kb: KnowledgeBaseDep,
    endpoint: SparqlEndpointDep,
    admission: SparqlAdmissionDep,
) -> Response:
    """Run the SPARQL query POSTed as application/sparql-query, or as the form field ``query``."""
    return await admission.run(lambda: _operation(request, body, kb, endpoint))


@router.options("/sparql", include_in_schema=False)
def sparql_options() -> Response:
    """The methods /sparql answers (a CORS preflight or a client asking)."""
    return Response(status_code=204, headers={"Allow": "GET, POST, OPTIONS"})
