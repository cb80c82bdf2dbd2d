"""GET /docs (Swagger UI) and GET /redoc (ReDoc): the OpenAPI pages, from kg's own vendored assets.

FastAPI's own pages load Swagger UI, ReDoc and Google Fonts from a CDN, so they are blank offline;
these serve the same pages with every asset from ``/docs/assets/`` (``kg/api/static/docs/``,
VENDORED.md there says which npm packages and hashes), and a Content-Security-Policy that keeps
the browser from fetching anything else (the ReDoc bundle's side-menu logo would come from a CDN).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "docs"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "VENDORED.md": "text/markdown; charset=utf-8",
    "LICENSE-swagger-ui": "text/plain; charset=utf-8",
    "NOTICE-swagger-ui": "text/plain; charset=utf-8",
    "LICENSE-redoc": "text/plain; charset=utf-8",
}
#: Only kg's own origin: the pages' inline start-up scripts and styles, ReDoc's search worker (a blob).
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def _page(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = POLICY
    return response


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this service's OpenAPI document."""
    return _page(
        get_swagger_ui_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title}: API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over this service's OpenAPI document."""
    return _page(
        get_redoc_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title}: API",
            redoc_js_url="/docs/assets/redoc.standalone.js",
            redoc_favicon_url="/docs/assets/favicon-32x32.png",
            with_google_fonts=False,
        )
    )


@router.get("/docs/assets/{name}")
def asset(name: str) -> FileResponse:
    """A vendored asset of the pages (only the files listed in ASSETS)."""
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail=f"no asset {name!r}")
    return FileResponse(
        STATIC_DIR / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )
