"""CDS Hooks 2.0: GET /cds-services (discovery), POST /cds-services/{id} (a hook call).

Thin: the service is :mod:`kg.cds.service`. The body is read as JSON here (not as a FastAPI
model) so that a malformed call gets the CDS Hooks answer, 400 with a FHIR OperationOutcome
(kg.api.errors), rather than FastAPI's 422. Browser-based EHR clients call across origins: the
routes answer CORS preflights and allow the Authorization header.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from kg.api.deps import KnowledgeBaseDep, ServingDep
from kg.api.routes.admin import ADMIN_RESPONSES, require_admin
from kg.cds import service
from kg.cds.feedback import parse as parse_feedback
from kg.model.errors import CdsRequestInvalid

#: Where the CDS Hooks routes are (their bodies have a limit of their own: kg.api.limits).
PREFIX = "/cds-services"
router = APIRouter(tags=["cds-hooks"])
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def authenticated(request: Request, serving: ServingDep) -> None:
    """The caller's JWT passes (kg.cds.auth), its ``aud`` being the URL called: KG_PUBLIC_BASE_URL
    and the path (the Host header when no base URL is configured)."""
    base = serving.settings.public_base_url or str(request.base_url).rstrip("/")
    request.app.state.cds_verifier.verify(request.headers.get("authorization"), base + request.url.path)


Authenticated = Depends(authenticated)


@router.get(PREFIX, dependencies=[Authenticated])
def discovery(kb: KnowledgeBaseDep) -> JSONResponse:
    """The CDS services kg offers: ``kg-imaging`` at order-select and order-sign, with its prefetch."""
    return JSONResponse(service.discovery(kb), headers=CORS)


@router.options(PREFIX, include_in_schema=False)
@router.options(PREFIX + "/{service_id}", include_in_schema=False)
@router.options(PREFIX + "/{service_id}/feedback", include_in_schema=False)
def preflight() -> Response:
    """A CORS preflight: the methods and headers a browser client may use."""
    return Response(status_code=204, headers=CORS)


OUTCOME = {
    "application/fhir+json": {
        "schema": {
            "type": "object",
            "required": ["resourceType", "issue"],
            "properties": {"resourceType": {"const": "OperationOutcome"}, "issue": {"type": "array"}},
        }
    }
}
HOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Not a CDS Hooks call kg can read (an OperationOutcome says why)",
        "content": OUTCOME,
    },
    404: {"description": "No CDS service with this id", "content": OUTCOME},
    412: {
        "description": "Required data (patient, conditions) neither prefetched nor fetchable",
        "content": OUTCOME,
    },
}
HOOK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["hook", "hookInstance", "context"],
                    "properties": {
                        "hook": {"type": "string", "enum": ["order-select", "order-sign"]},
                        "hookInstance": {"type": "string"},
                        "context": {"type": "object"},
                        "prefetch": {"type": "object"},
                    },
                }
            }
        },
    }
}


@router.post(
    PREFIX + "/{service_id}",
    responses=HOOK_RESPONSES,
    openapi_extra=HOOK_BODY,
    dependencies=[Authenticated],
)
async def hook(service_id: str, request: Request, kb: KnowledgeBaseDep, serving: ServingDep) -> JSONResponse:
    """A hook call: cards for the imaging orders of the draft (order-select: the selected ones)."""
    body = await request.body()
    try:
        parsed: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CdsRequestInvalid(f"body: not JSON ({error})") from None
    # off the event loop: the answer is CPU work, and absent prefetch is fetched from the EHR
    sandbox = serving.settings.cds_sandbox
    answer = await anyio.to_thread.run_sync(partial(service.call, kb, service_id, parsed, sandbox=sandbox))
    return JSONResponse(answer, headers=CORS)


@router.post(
    PREFIX + "/{service_id}/feedback", responses={400: HOOK_RESPONSES[400], 404: HOOK_RESPONSES[404]}
)
async def feedback(service_id: str, request: Request) -> Response:
    """What clinicians did with the cards: accepted a suggestion, or overrode the card (and why).
    Kept once per card, outcome and time, so a report sent again changes nothing."""
    parsed = await _json(request)
    service.require(service_id)
    reports = parse_feedback(parsed)
    store = request.app.state.cds_feedback
    await anyio.to_thread.run_sync(store.add, service_id, reports, datetime.now(UTC))
    return Response(status_code=200, headers=CORS)


@router.get(
    PREFIX + "/{service_id}/feedback",
    dependencies=[Depends(require_admin)],
    responses={**ADMIN_RESPONSES, 404: HOOK_RESPONSES[404]},
)
def read_feedback(service_id: str, request: Request) -> JSONResponse:
    """The feedback kept for the service, newest first (admin token)."""
    service.require(service_id)
    return JSONResponse({"feedback": request.app.state.cds_feedback.read(service_id)})


async def _json(request: Request) -> Any:
    """The request's JSON body; raises CdsRequestInvalid (400, an OperationOutcome) if it is none."""
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CdsRequestInvalid(f"body: not JSON ({error})") from None
