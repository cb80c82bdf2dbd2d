"""OWL 2 RL classification: what owlrl derives for a case, and what it must not show."""

from __future__ import annotations

import owlrl
import pytest
from rdflib import RDF, Graph, Literal
from rdflib.namespace import OWL

from kg.engine.presentation import add_presentation, finding_instance
from kg.knowledge_base import KnowledgeBase
from kg.model.namespaces import CASE, KG


def case_graph(kb: KnowledgeBase, *findings: str) -> Graph:
    graph = Graph()
    add_presentation(graph, CASE, [(f, kb.finding_classes[f]) for f in findings])
    return graph


@pytest.fixture(scope="module")
def foot_drop(kb: KnowledgeBase) -> Graph:
    return kb.reasoner.closure(case_graph(kb, "low-back-pain", "foot-drop"))


def test_subclass_hierarchy_types_the_finding(foot_drop: Graph) -> None:
    instance = finding_instance(CASE, "foot-drop")
    for cls in (KG["foot-drop"], KG["leg-weakness"], KG.NeurologicDeficit, KG.RedFlag, KG.Finding):
        assert (instance, RDF.type, cls) in foot_drop


def test_presentation_and_urgency_classes_are_inferred(foot_drop: Graph) -> None:
    for cls in (KG.NeurologicDeficitPresentation, KG.UrgentPresentation, KG.UncomplicatedLowBackPain):
        assert (CASE, RDF.type, cls) in foot_drop
    assert (CASE, KG.hasUrgency, KG.urgent) in foot_drop
    assert (CASE, KG.hasSuspectedCondition, KG["nerve-root-compression"]) in foot_drop
    assert (CASE, RDF.type, KG.EmergentPresentation) not in foot_drop


def test_owlrl_junk_stays_out(foot_drop: Graph) -> None:
    assert not any(isinstance(s, Literal) for s in foot_drop.subjects())
    assert not any(s == o for s, o in foot_drop.subject_objects(OWL.sameAs))


def test_a_conjunction_needs_every_part(kb: KnowledgeBase) -> None:
    fever_only = kb.reasoner.closure(case_graph(kb, "low-back-pain", "fever"))
    assert (CASE, RDF.type, KG.SuspectedSpinalInfection) not in fever_only
    both = kb.reasoner.closure(case_graph(kb, "low-back-pain", "fever", "iv-drug-use"))
    assert (CASE, RDF.type, KG.SuspectedSpinalInfection) in both
    assert (CASE, RDF.type, KG.ContrastIndicatedPresentation) in both


def test_skipping_annotations_derives_what_owlrl_derives_from_everything(kb: KnowledgeBase) -> None:
    """The reasoner leaves annotation triples out of owlrl's input and closes in another store;
    the closure must not change."""
    case = case_graph(kb, "low-back-pain", "history-of-cancer", "bilateral-leg-weakness", "pregnancy")
    full = Graph()
    full += kb.ontology.graph
    full += case
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(full)
    ours = kb.reasoner.closure(case)
    difference = {
        t
        for t in set(full) ^ set(ours)
        if not isinstance(t[0], Literal) and not (t[1] == OWL.sameAs and t[0] == t[2])
    }
    # owlrl's only extra triple: a datatype disjointness it states for the literals it saw
    assert all(t[1] == OWL.disjointWith and "XMLSchema" in str(t[0]) for t in difference)
