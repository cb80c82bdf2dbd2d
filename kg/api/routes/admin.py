"""POST /admin/reload: replace the served ontology with the folder's, if it validates (bearer token)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kg.api.deps import ServingDep
from kg.api.schemas import ReloadAnswer

router = APIRouter(tags=["admin"])
bearer = HTTPBearer(auto_error=False, description="The token in the service's KG_ADMIN_TOKEN.")


def require_admin(
    serving: ServingDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """403 whenever the service has no token set (admin is off, whatever the request sends); else
    401 without a bearer token, 403 with a wrong one."""
    expected = serving.settings.admin_token
    if expected is None:
        raise HTTPException(
            status_code=403,
            detail="admin is disabled: reloads over HTTP are off, as no KG_ADMIN_TOKEN is set",
        )
    if credentials is None:
        raise HTTPException(
            status_code=401,
            detail="Authorization: missing; send 'Authorization: Bearer <KG_ADMIN_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="Authorization: wrong bearer token")


#: The answers of a route behind the admin token (:func:`require_admin`).
ADMIN_RESPONSES: dict[int | str, dict] = {
    401: {"description": "No bearer token (the service has a KG_ADMIN_TOKEN)."},
    403: {"description": "A wrong token, or admin is disabled: the service has no KG_ADMIN_TOKEN."},
}


@router.post(
    "/admin/reload",
    dependencies=[Depends(require_admin)],
    responses={
        **ADMIN_RESPONSES,
        422: {"model": ReloadAnswer, "description": "The ontology does not load or validate: not served."},
    },
)
def reload(serving: ServingDep, response: Response) -> ReloadAnswer:
    """Load and validate the ontology folder now; serve it only if it validates.

    A broken edit is refused (422, with what is wrong) and the last good version keeps serving.
    """
    outcome = serving.reload()
    if outcome.error:
        response.status_code = 422
    return ReloadAnswer(
        reloaded=outcome.reloaded,
        ontology_version=outcome.ontology_version,
        error=outcome.error,
        violations=[] if outcome.report is None else outcome.report.to_json()["violations"],
    )
