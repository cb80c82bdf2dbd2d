"""GET /knowledge: what the served knowledge says, for informaticists, read through kg's own queries.

The finding kinds and findings, the presentation classes with the axioms that define them, their
urgency and recommendations in order, the procedure rules, do-not-order advice, caveats, input
rules and sources: each section is the rows of a query of ``queries/`` over the served ontology
(``knowledge-*.rq`` for what no other query lists), laid out. Also the served version, the last
reload, and, when the service has an admin token, the last reload's validation report.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from rdflib import BNode

from kg import DISCLAIMER
from kg.api.deps import ServingDep
from kg.api.routes.pages import CSP, TEMPLATES, VERSION
from kg.knowledge_base import KnowledgeBase

router = APIRouter(tags=["page"], include_in_schema=False)


@router.get("/knowledge", response_class=HTMLResponse)
def knowledge(serving: ServingDep) -> HTMLResponse:
    """The knowledge page."""
    kb, last = serving.knowledge_base, serving.last_reload
    context = {
        **read(kb),
        "disclaimer": DISCLAIMER,
        "assets": VERSION,
        "last_reload": last,
        "admin": bool(serving.settings.admin_token),
    }
    page = TEMPLATES.get_template("knowledge.html").render(context)
    return HTMLResponse(page, headers={"Content-Security-Policy": CSP})


_read: tuple[KnowledgeBase, dict[str, Any]] | None = None


def read(kb: KnowledgeBase) -> dict[str, Any]:
    """What the page shows of ``kb``: its queries' rows, read once per knowledge base served
    (about 0.15 s of rdflib queries) and again after a reload swaps it."""
    global _read
    kept = _read
    if kept is not None and kept[0] is kb:
        return kept[1]
    found = {
        "kb": kb,
        "kinds": kinds(kb),
        "presentations": presentations(kb),
        "rules": [row.asdict() for row in kb.queries.select("procedure-rules", kb.closed)],
        "advice": [
            {**row.asdict(), "sources": kb.sources.get(row.advice, [])}
            for row in kb.queries.select("do-not-order", kb.closed)
        ],
        "caveats": caveats(kb),
    }
    _read = (kb, found)
    return found


def kinds(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Each finding kind (as GET /findings gives the kinds) with its findings."""
    by_kind: dict[str, list[Any]] = {}
    for finding in kb.findings:
        for kind in finding.kinds:
            by_kind.setdefault(kind, []).append(finding)
    return [{"id": kind, "findings": by_kind[kind]} for kind in sorted(by_kind)]


def presentations(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The presentation classes, most urgent first (knowledge-presentations.rq), each with its
    definitions as readable axioms (knowledge-definitions.rq) and its recommendations in order
    (knowledge-recommendations.rq)."""
    graph, renderer = kb.ontology.graph, kb.renderer
    definitions: dict[Any, list[str]] = {}
    for row in kb.queries.select("knowledge-definitions", graph):
        cls = row["class"]
        left = (
            renderer.expression(row.definition)
            if isinstance(row.definition, BNode)
            else renderer.name(row.definition)
        )
        definitions.setdefault(cls, []).append(f"{left} SubClassOf {renderer.name(cls)}")
    recommendations: dict[str, list[dict[str, Any]]] = {}
    rows = kb.queries.select("knowledge-recommendations", graph)
    for (class_id, rank), group in groupby(rows, key=lambda row: (str(row.classId), int(row.rank))):
        group = list(group)
        first = group[0]
        recommendations.setdefault(class_id, []).append(
            {
                "rank": rank,
                "procedure": str(first.procedure),
                "appropriateness": str(first.appropriateness),
                "rationale": str(first.rationale or ""),
                "sources": sorted({str(row.source) for row in group if row.source is not None}),
            }
        )
    shown: list[dict[str, Any]] = []
    for cls, group in groupby(
        kb.queries.select("knowledge-presentations", kb.closed), key=lambda row: row["class"]
    ):
        group = list(group)
        first = group[0]
        shown.append(
            {
                "id": str(first.id),
                "label": str(first.label),
                "comment": str(first.comment or ""),
                "urgency": str(first.urgency),
                "precedence": first.precedence,
                "conditions": sorted({str(row.condition) for row in group if row.condition is not None}),
                "definitions": sorted(definitions.get(cls, [])),
                "recommendations": recommendations.get(str(first.id), []),
                "sources": kb.sources.get(cls, []),
            }
        )
    return shown


def caveats(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """The caveats (caveats.rq), a row each: its ID, text and sources."""
    seen: dict[str, dict[str, Any]] = {}
    for row in kb.queries.select("caveats", kb.closed):
        seen.setdefault(
            str(row.id),
            {"id": str(row.id), "text": str(row.text or ""), "sources": kb.sources.get(row.caveat, [])},
        )
    return list(seen.values())
