"""The query page GET /sparql/ui and its vendored assets, on an app with only their router."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from kg import DISCLAIMER
from kg.api.routes import sparql_ui

CONFIG = re.compile(r'<script type="application/json" id="sparql-ui-config">(.*?)</script>', re.DOTALL)


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(sparql_ui.router)
    return TestClient(app)


class Links(HTMLParser):
    """The src and href attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [(tag, value) for name, value in attrs if name in ("src", "href") and value]


def links(page: str) -> list[tuple[str, str]]:
    parser = Links()
    parser.feed(page)
    return parser.urls


def page_config(page: str) -> dict:
    match = CONFIG.search(page)
    assert match
    return json.loads(match.group(1))


def test_page(client: TestClient) -> None:
    response = client.get("/sparql/ui")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert html.escape(DISCLAIMER, quote=False) in page
    assert ("a", "/docs") in links(page)
    assert page_config(page)["endpoint"] == "/sparql"


def test_page_loads_local_assets_only(client: TestClient) -> None:
    urls = links(client.get("/sparql/ui").text)
    assets = [url for tag, url in urls if tag in ("script", "link")]
    assert {url.split("?")[0] for url in assets} == {
        "/sparql/ui/assets/yasgui.min.js",
        "/sparql/ui/assets/yasgui.min.css",
    }
    for url in assets:
        assert client.get(url).status_code == 200
    for _, url in urls:
        assert not url.startswith(("http:", "https:", "//")), url


def test_page_has_the_examples_on_disk(client: TestClient) -> None:
    examples = page_config(client.get("/sparql/ui").text)["examples"]
    paths = sorted(sparql_ui.EXAMPLES_DIR.glob("*.rq"))
    if paths:
        assert [example["query"] for example in examples] == [p.read_text(encoding="utf-8") for p in paths]
        for example, path in zip(examples, paths, strict=True):
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            if first.startswith("# "):
                assert example["name"] == first[2:].strip()
    else:
        assert examples == [{"name": "Query", "query": sparql_ui.DEFAULT_QUERY}]


def test_examples_without_folder(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sparql_ui, "EXAMPLES_DIR", tmp_path / "missing")
    examples = page_config(client.get("/sparql/ui").text)["examples"]
    assert examples == [{"name": "Query", "query": "SELECT * WHERE { ?s ?p ?o } LIMIT 10\n"}]


def test_examples_are_embedded_safely(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = '# Ends </script><script>alert("x")</script> <!-- & "quotes"\nASK { ?s ?p "</script>" }\n'
    (tmp_path / "b.rq").write_text(hostile, encoding="utf-8")
    (tmp_path / "a.rq").write_text("ASK {}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a query", encoding="utf-8")
    monkeypatch.setattr(sparql_ui, "EXAMPLES_DIR", tmp_path)
    page = client.get("/sparql/ui").text
    assert "<script>alert" not in page
    assert "<!--" not in page
    assert page.count("</script>") == 3  # the config, the bundle and the page's own script
    assert page_config(page)["examples"] == [
        {"name": "a", "query": "ASK {}\n"},
        {"name": 'Ends </script><script>alert("x")</script> <!-- & "quotes"', "query": hostile},
    ]


@pytest.mark.parametrize("name", sorted(sparql_ui.ASSETS))
def test_asset(client: TestClient, name: str) -> None:
    response = client.get(f"/sparql/ui/assets/{name}")
    assert response.status_code == 200
    assert response.content == (sparql_ui.STATIC_DIR / name).read_bytes()
    assert "max-age=" in response.headers["cache-control"]
    expected = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}
    assert response.headers["content-type"].startswith(expected.get(Path(name).suffix, ("text/",)))


def test_vendored_files() -> None:
    assert {"yasgui.min.js", "yasgui.min.css", "LICENSE"} <= set(sparql_ui.ASSETS)


@pytest.mark.parametrize(
    "path",
    [
        "/sparql/ui/assets/nothing.js",
        "/sparql/ui/assets/yasgui.min.js.map",
        "/sparql/ui/assets/../../../config.py",
        "/sparql/ui/assets/..%2F..%2F..%2Fconfig.py",
        "/sparql/ui/assets/%2e%2e%2f%2e%2e%2fsparql_ui.py",
        "/sparql/ui/assets/%2e%2e",
        "/sparql/ui/assets/",
    ],
)
def test_other_assets_are_not_found(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "name", ["..", "../routes/sparql_ui.py", "../../config.py", "/etc/passwd", ".gitignore"]
)
def test_asset_names_outside_the_whitelist(name: str) -> None:
    # Called directly: a client would normalize the dot segments before sending.
    with pytest.raises(HTTPException) as error:
        sparql_ui.sparql_ui_asset(name)
    assert error.value.status_code == 404


def test_page_behind_a_path_prefix() -> None:
    app = FastAPI()
    app.include_router(sparql_ui.router)
    page = TestClient(app, root_path="/kg").get("/sparql/ui").text
    assert page_config(page)["endpoint"] == "/kg/sparql"
    assert all(url.startswith("/kg/") for _, url in links(page))


def test_openapi_lists_the_page_only() -> None:
    app = FastAPI()
    app.include_router(sparql_ui.router)
    assert list(app.openapi()["paths"]) == ["/sparql/ui"]
