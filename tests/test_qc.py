"""The QC queries (queries/qc/*-violation.rq) find nothing in the shipped ontology, and catch breakage."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDFS

from kg.config import QUERIES_DIR
from kg.knowledge.queries import QueryLibrary
from kg.knowledge_base import KnowledgeBase
from kg.model.namespaces import KG

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


def test_an_existential_superclass_is_caught(kb: KnowledgeBase) -> None:
    broken = Graph()
    broken += kb.ontology.graph
    broken.parse(
        data="""
        @prefix kg: <https://w3id.org/kg/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        kg:SuspectedCaudaEquinaSyndrome rdfs:subClassOf
            [ owl:onProperty kg:hasFinding ; owl:someValuesFrom kg:CaudaEquinaRedFlag ] .
        kg:SuspectedSpinalInfection owl:equivalentClass [ owl:intersectionOf ( kg:Presentation
            [ owl:unionOf ( kg:fever kg:elevated-inflammatory-markers ) ] ) ] .
        """,
        format="turtle",
    )
    rows = {(r["class"], str(r.problem)) for r in QC.select("rl-profile-violation", broken)}
    assert rows == {
        (KG.SuspectedCaudaEquinaSyndrome, "someValuesFrom as a superclass"),
        (KG.SuspectedSpinalInfection, "unionOf inside an equivalence"),
    }


def test_an_urgent_class_without_recommendations_is_caught(kb: KnowledgeBase) -> None:
    broken = Graph()
    broken += kb.ontology.graph
    for recommendation in list(broken.subjects(KG.forPresentation, KG.ProgressiveNeurologicDeficit)):
        broken.remove((recommendation, None, None))
    rows = QC.select("presentation-without-recommendation-violation", broken)
    assert [(r["class"], str(r.urgency)) for r in rows] == [(KG.ProgressiveNeurologicDeficit, "emergent")]


def test_a_presentation_class_without_one_urgency_a_precedence_or_a_source_is_caught(
    kb: KnowledgeBase,
) -> None:
    broken = Graph()
    broken += kb.ontology.graph
    cauda_equina = KG["SuspectedCaudaEquinaSyndrome"]
    second = BNode()
    broken.add((cauda_equina, RDFS.subClassOf, second))
    broken.add((second, OWL.onProperty, KG.hasUrgency))
    broken.add((second, OWL.hasValue, KG.routine))
    broken.remove((cauda_equina, KG.precedence, None))
    broken.remove((cauda_equina, DCTERMS.source, None))
    rows = QC.select("presentation-urgency-violation", broken)
    assert sorted((r["class"], str(r.problem)) for r in rows) == [
        (cauda_equina, "has 2 urgency levels, not 1"),
        (cauda_equina, "no dcterms:source"),
        (cauda_equina, "no kg:precedence"),
    ]
