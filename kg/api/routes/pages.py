"""The web page: GET / (the case form and its answer), its assets; server-rendered with Jinja2.

The page is a form whose every change asks ``GET /`` again with the case in the query string
(htmx swaps in the answer, and puts the URL in the address bar, so a link reproduces the answer).
The answer is :meth:`KnowledgeBase.recommend`'s, as ``POST /recommendations`` gives it; the page
only lays it out. A request from htmx (``HX-Request``) gets the answer part alone, with the
field messages swapped in out of band; any other request, the whole page (so it works without
JavaScript too, with the form's submit button).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from kg import DISCLAIMER
from kg.api.deps import KnowledgeBaseDep
from kg.knowledge_base import KnowledgeBase
from kg.model.answer import Answer
from kg.model.case import Case
from kg.model.errors import CaseError

router = APIRouter(tags=["page"], include_in_schema=False)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", "": "text/plain"}


def _assets(folder: str) -> dict[str, Path]:
    directory = STATIC_DIR / folder
    files = sorted(directory.iterdir()) if directory.is_dir() else []
    return {
        p.name: p for p in files if p.is_file() and p.suffix in MEDIA_TYPES and not p.name.startswith(".")
    }


VENDOR = _assets("vendor")
"""The vendored files the page may load (VENDORED.md lists them with their hashes)."""
OWN = _assets("page")
"""kg's own script and style sheet for the page."""
VERSION = hashlib.sha256(b"".join(p.read_bytes() for p in (*VENDOR.values(), *OWN.values()))).hexdigest()[:12]
CACHE_CONTROL = "public, max-age=604800"  # a week: the page's asset URLs change with their content
#: The page's policy: its own scripts only; styles its own plus inline ones (Cytoscape styles the
#: graph's canvas elements itself); images its own and data: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)
#: The case fields the form has besides the findings, as (field, label, input attributes).
NUMBERS = (
    ("age", "Age (years)", {"min": 0, "max": 130, "step": "any"}),
    ("symptom_duration_weeks", "Symptom duration (weeks)", {"min": 0, "max": 2600, "step": "any"}),
    ("egfr", "eGFR (mL/min/1.73 m²)", {"min": 0, "max": 200, "step": "any"}),
)
SEXES = ("female", "male", "other", "unknown")
#: The longest query string read as a case: 100 findings of 60 characters each and the numbers.
MAX_QUERY_CHARS = 8192
#: A justification step's presentation when its finding meets no class in the case.
NO_CLASS = "none"
FIELDS = ("findings", *(name for name, _, _ in NUMBERS), "sex")


@router.get("/", response_class=HTMLResponse)
def page(request: Request, kb: KnowledgeBaseDep) -> HTMLResponse:
    """The case form; with a case in the query string, its answer too."""
    if len(request.url.query) > MAX_QUERY_CHARS:
        message = f"The case in the address is over {MAX_QUERY_CHARS:,} characters: start again from /."
        return HTMLResponse(f"<!doctype html><title>kg</title><p>{message}</p>", status_code=414)
    values, case, errors = read_case(request.query_params.multi_items())
    answer = None
    if case is not None:
        try:
            answer = kb.recommend(case)
        except CaseError as error:
            for loc, message in error.problems:
                errors.setdefault(str(loc[0]) if loc else "findings", message)
    context = {
        "kb": kb,
        "values": values,
        "errors": errors,
        "answer": answer and view(kb, answer),
        "asked": bool(values["findings"]) or any(values[name] for name, _, _ in NUMBERS),
        "fields": FIELDS,
        "numbers": NUMBERS,
        "sexes": SEXES,
        "sections": sections(kb),
        "disclaimer": DISCLAIMER,
        "assets": VERSION,
    }
    partial = (
        request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers
    )
    template = TEMPLATES.get_template("answer.html" if partial else "index.html")
    headers = {"Content-Security-Policy": CSP, "Vary": "HX-Request"}
    return HTMLResponse(template.render(context, partial=partial), headers=headers)


def read_case(items: list[tuple[str, str]]) -> tuple[dict[str, Any], Case | None, dict[str, str]]:
    """The form's values, the case they make (None: no finding, or a field invalid) and a message
    for each invalid field."""
    values: dict[str, Any] = {"findings": [], "sex": "", **{name: "" for name, _, _ in NUMBERS}}
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name, value in items:
        value = value.strip()
        if name == "findings":
            if value and value not in values["findings"]:
                values["findings"].append(value)
        elif name in values:
            values[name] = value
    if values["findings"]:
        data["findings"] = values["findings"]
    for name, _, _ in NUMBERS:
        if values[name]:
            try:
                data[name] = float(values[name])
            except ValueError:
                errors[name] = f"{values[name]!r} is not a number"
    if values["sex"]:
        data["sex"] = values["sex"]
    if not values["findings"]:
        return values, None, errors
    try:
        case = Case(**data)
    except ValidationError as error:
        for problem in error.errors():
            errors.setdefault(str(problem["loc"][0]), problem["msg"])
        return values, None, errors
    return values, (None if errors else case), errors


def sections(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The form's sections (from the ontology's case form) with their findings; findings the form
    does not place come last, under "Other findings"."""
    placed: dict[str | None, list[Any]] = {}
    for finding in kb.findings:
        placed.setdefault(finding.section, []).append(finding)
    shown = [{"id": s.id, "label": s.label, "findings": placed.get(s.id, [])} for s in kb.form_sections]
    known = {s.id for s in kb.form_sections}
    others = [f for section, found in placed.items() if section not in known for f in found]
    if others:
        shown.append({"id": "other", "label": "other findings", "findings": others})
    return shown


def view(kb: KnowledgeBase, answer: Answer) -> dict[str, Any]:
    """What the answer part shows: the answer with labels for its IDs, the sources it cites, and
    the justification as a graph for the drawing."""
    labels = kb.finding_labels
    procedures = kb.procedures_by_id
    cited = sorted(
        {s for r in answer.recommendations for s in r.sources}
        | {s for d in answer.do_not_order for s in d.sources}
        | {s for c in answer.caveats for s in c.sources}
        | {s for step in answer.justification for s in step.sources}
    )
    citations = {source.id: source.citation for source in kb.source_list}
    return {
        "answer": answer,
        "finding_label": lambda finding: labels.get(finding, finding),
        "procedure_label": lambda procedure: (
            procedures[procedure].label if procedure in procedures else procedure
        ),
        "sources": [(key, citations.get(key, "")) for key in cited],
        "graph": json.dumps(graph(answer, labels, procedures), sort_keys=True),
    }


def graph(answer: Answer, labels: Mapping[str, str], procedures: Mapping[str, Any]) -> dict[str, list]:
    """The justification chain as nodes and edges: finding → presentation class → urgency, and the
    class → its recommended procedure; each edge with what it stands for (the axiom)."""
    nodes: dict[str, dict[str, str]] = {}
    edges: dict[tuple[str, str], dict[str, str]] = {}

    def node(key: str, label: str, kind: str) -> str:
        nodes.setdefault(key, {"id": key, "label": label, "kind": kind})
        return key

    def edge(source: str, target: str, detail: str) -> None:
        edges.setdefault((source, target), {"source": source, "target": target, "detail": detail})

    for step in answer.justification:
        if step.outranked:
            continue
        finding = node(f"finding:{step.finding}", labels.get(step.finding, step.finding), "finding")
        if step.presentation == NO_CLASS:  # the finding meets no class in this case: its own node
            edge(finding, node("class:none", "no presentation class met", "none"), step.axiom)
            continue
        presentation = node(f"class:{step.presentation}", step.presentation.replace("-", " "), "class")
        edge(finding, presentation, step.axiom)
        urgency = node(f"urgency:{step.urgency}", f"urgency: {step.urgency}", "urgency")
        edge(presentation, urgency, f"{step.presentation} has urgency {step.urgency}")
        if step.recommendation:
            procedure = procedures.get(step.recommendation)
            label = procedure.label if procedure else step.recommendation
            target = node(f"procedure:{step.recommendation}", label, "procedure")
            edge(urgency, target, f"recommended for {step.presentation}; sources: {', '.join(step.sources)}")
    return {"nodes": list(nodes.values()), "edges": list(edges.values())}


@router.get("/ui/vendor/{name}")
def vendored(name: str) -> FileResponse:
    """A vendored library of the page (only those listed in VENDORED.md are served)."""
    return _asset(VENDOR, name)


@router.get("/ui/{name}")
def own(name: str) -> FileResponse:
    """The page's own script and style sheet."""
    return _asset(OWN, name)


def _asset(assets: Mapping[str, Path], name: str) -> FileResponse:
    path = assets.get(name)
    if path is None:
        raise HTTPException(404, f"no such asset: {name!r}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": CACHE_CONTROL})
