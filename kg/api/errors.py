"""Errors as HTTP answers: a rejected case is a 422 naming the field; nothing leaks a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kg.model.errors import (
    CaseError,
    CdsDataMissing,
    CdsError,
    CdsRequestInvalid,
    CdsServiceUnknown,
    CdsUnauthorized,
    MalformedRequest,
    NotAcceptable,
    QueryFailed,
    QueryRefused,
    QueryUnfinished,
    ResultTooLarge,
    SparqlBusy,
    SparqlError,
    UnsupportedMediaType,
)
from kg.model.rejection import Loc, explain

FINDINGS_HINT = "valid finding IDs are listed at GET /findings"
BODY_HINT = "send the case as a JSON object with Content-Type: application/json"

#: The problems a 422 lists; the characters kept of each location part (a key may be the client's
#: own, of any length) and of each message (kg's own words, with at most a bounded finding ID).
MAX_PROBLEMS = 20
MAX_LOC_TEXT = 200
MAX_MESSAGE = 1_000

logger = logging.getLogger(__name__)
SPARQL_STATUS: dict[type[SparqlError], int] = {
    MalformedRequest: 400,
    QueryRefused: 403,
    NotAcceptable: 406,
    UnsupportedMediaType: 415,
    QueryFailed: 422,
    ResultTooLarge: 422,
    QueryUnfinished: 503,
    SparqlBusy: 503,
}


def _unprocessable(items: Iterable[tuple[Loc, str, str]]) -> JSONResponse:
    """A 422 listing (loc, message, type) per rejected field; ``loc`` starts with "body".

    At most MAX_PROBLEMS are listed (a last entry says how many more there are), and each part of
    a location or message is cut (MAX_LOC_TEXT, MAX_MESSAGE characters): an answer never echoes a
    hostile body back at scale."""
    detail: list[dict] = []
    more = 0
    for loc, msg, kind in items:
        if len(detail) == MAX_PROBLEMS:
            more += 1
            continue
        detail.append(
            {
                "loc": [_cut(part, MAX_LOC_TEXT) if isinstance(part, str) else part for part in loc],
                "msg": _cut(explain(loc[1:], msg, kind, FINDINGS_HINT), MAX_MESSAGE),
                "type": kind,
            }
        )
    if more:
        detail.append(
            {
                "loc": ["body"],
                "msg": f"{more:,} more problems not listed; the first {MAX_PROBLEMS} are above",
                "type": "too_many_problems",
            }
        )
    return JSONResponse(status_code=422, content={"detail": detail})


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


async def _case_rejected(_: Request, exc: CaseError) -> JSONResponse:
    return _unprocessable((("body", *loc), message, "value_error") for loc, message in exc.problems)


def _described(error: dict) -> str:
    """FastAPI's message, with the parser's reason for bad JSON and a hint for a body that is no object."""
    if error["type"] == "json_invalid":
        return f"{error['msg']}: {error['ctx']['error']} (at character {error['loc'][-1]})"
    if len(error["loc"]) == 1:
        return f"{error['msg']}; {BODY_HINT}"
    return error["msg"]


async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
    return _unprocessable((tuple(e["loc"]), _described(e), e["type"]) for e in exc.errors())


async def _sparql_refused(_: Request, exc: SparqlError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, SparqlBusy) else None
    return JSONResponse(status_code=SPARQL_STATUS[type(exc)], content={"detail": str(exc)}, headers=headers)


#: CDS Hooks errors by HTTP status; the body is a FHIR OperationOutcome (CDS Hooks 3.0 ballot).
CDS_STATUS = {CdsRequestInvalid: 400, CdsUnauthorized: 401, CdsServiceUnknown: 404, CdsDataMissing: 412}


async def _cds_refused(_: Request, exc: CdsError) -> JSONResponse:
    status = CDS_STATUS.get(type(exc), 400)
    code = {400: "invalid", 401: "login", 404: "not-found", 412: "incomplete"}[status]
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": _cut(str(exc), 1_000)}],
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        status_code=status, content=outcome, media_type="application/fhir+json", headers=headers
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error; the request was not processed"})


def add_error_handlers(app: FastAPI) -> None:
    """Map kg's and FastAPI's errors to JSON answers."""
    app.add_exception_handler(CaseError, _case_rejected)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(SparqlError, _sparql_refused)
    app.add_exception_handler(CdsError, _cds_refused)
    app.add_exception_handler(Exception, _unexpected)
