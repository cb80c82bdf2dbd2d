"""GET /sparql/ui: a YASGUI query page for people, one tab per example query; its vendored assets."""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from string import Template

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, XSD

from kg import DISCLAIMER
from kg.config import QUERIES_DIR
from kg.model.namespaces import KG, SKOS

router = APIRouter(tags=["sparql"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "yasgui"
EXAMPLES_DIR = QUERIES_DIR / "examples"
DEFAULT_QUERY = "SELECT * WHERE { ?s ?p ?o } LIMIT 10\n"
PREFIXES = {
    "kg": str(KG),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
}
"""What the editor completes after PREFIX, and what the result table abbreviates."""

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE
}
ASSETS: dict[str, Path] = {
    path.name: path
    for path in (sorted(STATIC_DIR.iterdir()) if STATIC_DIR.is_dir() else [])
    if path.is_file() and not path.name.startswith(".") and path.suffix in MEDIA_TYPES
}
"""The only files the assets route serves, by name."""
ASSETS_VERSION = hashlib.sha256(b"".join(path.read_bytes() for path in ASSETS.values())).hexdigest()[:12]
CACHE_CONTROL = "public, max-age=604800"  # a week: the page's asset URLs change with the files' content

PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kg: SPARQL query</title>
<link rel="stylesheet" href="$css">
<style>
  body { font-family: system-ui, sans-serif; margin: 0 1rem 1rem; }
  header { display: flex; flex-wrap: wrap; gap: 0 1.5rem; align-items: baseline; }
  header h1 { font-size: 1.3rem; margin: 0.6rem 0; }
  .notice { margin: 0.4rem 0; padding: 0.3rem 0.6rem; background: #fff4d6; border-left: 4px solid #e0a800; }
</style>
</head>
<body>
<header>
  <h1>kg: SPARQL query</h1>
  <p class="notice" role="note">$disclaimer</p>
  <a href="$docs">API documentation</a>
</header>
<noscript><p>This page needs JavaScript; the SPARQL endpoint is <code>$endpoint</code>.</p></noscript>
<div id="yasgui"></div>
<script type="application/json" id="sparql-ui-config">$config</script>
<script src="$js"></script>
<script>
"use strict";
(function () {
  var config = JSON.parse(document.getElementById("sparql-ui-config").textContent);
  // Absolute, as YASGUI parses the endpoint with new URL() (error messages, GET requests).
  var endpoint = new URL(config.endpoint, window.location.href).href;
  // Completions from this page only: the bundled "class" and "property" completers query
  // lov.linkeddata.es, and the bundled prefix list is prefix.cc's. Set on the defaults,
  // because the config is merged into them index by index for arrays.
  var prefixes = {name: "kg-prefixes", persistenceId: null, get: config.prefixes};
  Yasgui.Yasqe.forkAutocompleter("prefixes", prefixes, false);
  Yasgui.defaults.yasqe.autocompleters = ["variables", "kg-prefixes"];
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    persistenceId: null,  // no tabs from or to localStorage: the examples show on each load
    autoAddOnInit: false,
    populateFromUrl: function (tab) {  // a shared link: its query, this endpoint
      tab.requestConfig.endpoint = endpoint;
      return tab;
    },
    requestConfig: {endpoint: endpoint, method: "POST"},
    endpointCatalogueOptions: {getData: function () { return [{endpoint: endpoint}]; }},
    yasqe: {value: config.defaultQuery},
    yasr: {prefixes: config.prefixMap},
  });
  var fromUrl = yasgui.persistentConfig.getTabs().length > 0;
  config.examples.forEach(function (example, i) {
    yasgui.addTab(i === 0 && !fromUrl, {name: example.name, yasqe: {value: example.query}});
  });
})();
</script>
</body>
</html>
""")


def tab_name(query: str, default: str) -> str:
    """The query's first line without its ``#``, if it is a comment; else ``default``."""
    first = query.lstrip("\ufeff").split("\n", 1)[0].strip()
    if not first.startswith("#"):
        return default
    return first.lstrip("#").strip() or default


def read_examples(folder: Path) -> list[dict[str, str]]:
    """``{"name", "query"}`` per ``*.rq`` file in ``folder``, by file name; the default query if none."""
    paths = sorted(folder.glob("*.rq")) if folder.is_dir() else []
    examples = []
    for path in paths:
        query = path.read_text(encoding="utf-8")
        examples.append({"name": tab_name(query, path.stem), "query": query})
    return examples or [{"name": "Query", "query": DEFAULT_QUERY}]


def script_json(value: object) -> str:
    """``value`` as JSON that cannot end or alter the ``<script>`` element it is embedded in."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@router.get("/sparql/ui", response_class=HTMLResponse)
def sparql_ui(request: Request) -> HTMLResponse:
    """A query page for people (YASGUI) on the SPARQL endpoint, one tab per example query."""
    root = request.scope.get("root_path", "").rstrip("/")
    config = {
        "endpoint": f"{root}/sparql",
        "examples": read_examples(EXAMPLES_DIR),
        "defaultQuery": DEFAULT_QUERY,
        "prefixes": [f"{prefix}: <{iri}>" for prefix, iri in sorted(PREFIXES.items())],
        "prefixMap": PREFIXES,
    }
    page = PAGE.substitute(
        css=html.escape(f"{root}/sparql/ui/assets/yasgui.min.css?v={ASSETS_VERSION}"),
        js=html.escape(f"{root}/sparql/ui/assets/yasgui.min.js?v={ASSETS_VERSION}"),
        docs=html.escape(f"{root}/docs"),
        endpoint=html.escape(f"{root}/sparql"),
        disclaimer=html.escape(DISCLAIMER, quote=False),
        config=script_json(config),
    )
    return HTMLResponse(page)


@router.get("/sparql/ui/assets/{name}", include_in_schema=False)
def sparql_ui_asset(name: str) -> FileResponse:
    """A vendored YASGUI file (kg/api/static/yasgui/); 404 for any other name."""
    path = ASSETS.get(name)
    if path is None:
        raise HTTPException(status_code=404, detail="Not Found")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": CACHE_CONTROL})
