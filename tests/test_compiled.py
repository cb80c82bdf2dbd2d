"""The compiled engine's own guarantees: when it answers, and what its classifier derives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import RDF, Graph, URIRef

from kg.config import DEFAULT_ONTOLOGY_DIR
from kg.engine.classifier import Classifier, unsupported_constructs
from kg.engine.presentation import add_presentation
from kg.knowledge.reasoning import Reasoner
from kg.knowledge_base import KnowledgeBase
from kg.model.namespaces import KG

TINY = """
@prefix kg: <https://w3id.org/kg/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
kg:Presentation a owl:Class .
kg:hasFinding a owl:ObjectProperty ; rdfs:domain kg:Presentation ; rdfs:range kg:Finding .
kg:hasUrgency a owl:ObjectProperty .
kg:fever a owl:Class ; rdfs:subClassOf kg:Sign .
kg:iv-drug-use a owl:Class ; rdfs:subClassOf kg:RiskFactor .
kg:steroids a owl:Class ; rdfs:subClassOf kg:RiskFactor .
[ owl:intersectionOf ( kg:Presentation
    [ a owl:Restriction ; owl:onProperty kg:hasFinding ; owl:someValuesFrom kg:Sign ]
    [ a owl:Restriction ; owl:onProperty kg:hasFinding ;
      owl:someValuesFrom [ owl:unionOf ( kg:iv-drug-use kg:steroids ) ] ] ) ]
  rdfs:subClassOf kg:Infection .
kg:Infection rdfs:subClassOf [ a owl:Restriction ; owl:onProperty kg:hasUrgency ; owl:hasValue kg:urgent ] .
kg:Urgent owl:equivalentClass [ owl:intersectionOf ( kg:Presentation
    [ a owl:Restriction ; owl:onProperty kg:hasUrgency ; owl:hasValue kg:urgent ] ) ] .
"""


def test_an_unsupported_construct_falls_back_to_owlrl(tmp_path: Path) -> None:
    ontology = tmp_path / "ontology"
    shutil.copytree(DEFAULT_ONTOLOGY_DIR, ontology)
    (ontology / "zz-extra.ttl").write_text(
        "@prefix kg: <https://w3id.org/kg/> .\n@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "kg:hasSuspectedCondition a owl:FunctionalProperty .\n"
    )
    kb = KnowledgeBase.load(ontology)
    assert unsupported_constructs(kb.closed) == ["owl:FunctionalProperty"]
    assert kb.reasoners == ["owlrl"]


@pytest.mark.parametrize(
    "findings",
    [[], ["fever"], ["iv-drug-use"], ["fever", "iv-drug-use"], ["fever", "steroids"], ["steroids"]],
)
def test_classifier_derives_what_owlrl_derives_on_a_tiny_ontology(findings: list[str]) -> None:
    ontology = Graph().parse(data=TINY, format="turtle")
    reasoner = Reasoner(ontology)
    case = Graph()
    presentation = URIRef("urn:kg:test")
    add_presentation(case, presentation, [(finding, KG[finding]) for finding in findings])
    closed = reasoner.closure(case)
    classification = Classifier(reasoner.closure(Graph()), KG.Presentation, KG.hasFinding).classify(
        [KG[finding] for finding in findings], frozenset()
    )
    assert classification.types == set(closed.objects(presentation, RDF.type))
    assert (KG.Urgent in classification.types) == ({"fever"} < set(findings) and len(findings) == 2)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_variant_classified_from_its_case_is_classified_from_scratch(
    kb: KnowledgeBase, data: st.DataObject
) -> None:
    classes = sorted(kb.finding_classes.values())
    case = data.draw(st.lists(st.sampled_from(classes), max_size=8, unique=True))
    added = data.draw(st.lists(st.sampled_from(classes), min_size=1, max_size=3, unique=True))
    classifier = kb.engines["compiled"].classifier
    from_case = classifier.extend(classifier.classify(case, frozenset()), added)
    from_scratch = classifier.classify([*case, *added], frozenset())
    assert (from_case.mask, from_case.values) == (from_scratch.mask, from_scratch.values)


@pytest.mark.parametrize(
    ("axiom", "construct"),
    [
        ("kg:A owl:disjointWith kg:B .", "owl:disjointWith"),
        ("kg:p owl:inverseOf kg:q .", "owl:inverseOf"),
        ("kg:A owl:complementOf kg:B .", "owl:complementOf"),
        ("kg:A rdfs:subClassOf [ owl:onProperty kg:p ; owl:allValuesFrom kg:B ] .", "owl:allValuesFrom"),
    ],
)
def test_each_construct_the_classifier_does_not_compile_is_named(axiom: str, construct: str) -> None:
    """A construct used as a predicate is found as well as a type (each falls back to owlrl)."""
    closed = Graph().parse(
        data="@prefix kg: <https://w3id.org/kg/> .\n@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        f"@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n{axiom}\n",
        format="turtle",
    )
    assert unsupported_constructs(closed) == [construct]
