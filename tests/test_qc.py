"""The QC queries (queries/qc/*-violation.rq) find nothing in the shipped ontology, and catch breakage."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS

from kg.config import QUERIES_DIR
from kg.knowledge_base import KnowledgeBase
from kg.namespaces import KG
from kg.queries import QueryLibrary

QC = QueryLibrary(QUERIES_DIR / "qc")
CHECKS = sorted(p.stem for p in (QUERIES_DIR / "qc").glob("*-violation.rq"))


@pytest.mark.parametrize("check", CHECKS)
def test_the_shipped_ontology_has_no_violations(kb: KnowledgeBase, check: str) -> None:
    assert QC.select(check, kb.ontology.graph) == []


def test_a_recommendation_without_a_source_is_caught(kb: KnowledgeBase) -> None:
    broken = Graph()
    broken += kb.ontology.graph
    broken.remove((KG["rec-cauda-equina-1"], DCTERMS.source, None))
    rows = QC.select("recommendation-incomplete-violation", broken)
    assert [(r.recommendation, str(r.problem)) for r in rows] == [
        (KG["rec-cauda-equina-1"], "no dcterms:source")
    ]


def test_an_undeclared_source_is_caught(kb: KnowledgeBase) -> None:
    broken = Graph()
    broken += kb.ontology.graph
    broken.add((KG["rec-cauda-equina-1"], DCTERMS.source, URIRef("https://example.org/blog")))
    assert len(QC.select("unknown-source-violation", broken)) == 1
