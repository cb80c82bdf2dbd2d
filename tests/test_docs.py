"""/docs and /redoc work offline: every asset comes from kg, as vendored (hashes in VENDORED.md)."""

from __future__ import annotations

import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from kg.api.routes.docs import ASSETS, STATIC_DIR


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_pages_load_nothing_from_elsewhere(client: TestClient, page: str) -> None:
    """Review: /docs and /redoc loaded Swagger UI, ReDoc and fonts from a CDN, so they were blank offline."""
    answer = client.get(page)
    assert answer.status_code == 200
    assert "https://" not in answer.text and "http://" not in answer.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert sources and all(source.startswith("/docs/assets/") for source in sources), sources
    for source in sources:
        assert client.get(source).status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "/openapi.json" in answer.text


def test_swagger_ui_does_not_call_the_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_the_assets_are_the_vendored_bytes() -> None:
    table = dict(
        re.findall(
            r"^\| `([^`]+)` \| [^|]+ \| `([0-9a-f]{64})` \|$", (STATIC_DIR / "VENDORED.md").read_text(), re.M
        )
    )
    files = {path.name for path in STATIC_DIR.iterdir()} - {"VENDORED.md"}
    assert set(table) == files <= set(ASSETS)
    for name, digest in table.items():
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name


def test_only_listed_assets_are_served(client: TestClient) -> None:
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    for name in ("x.js", "..%2Fdocs.py", "VENDORED"):
        assert client.get(f"/docs/assets/{name}").status_code == 404
