"""Cross-check of the compiled classifier against HermiT (through owlready2) on the public vignettes.

Every vignette becomes one presentation individual (with the findings its measurements derive) in
a single owlready2 world holding the asserted ontology; HermiT classifies them all in one run. For
each vignette, the named ``kg:`` classes below ``kg:Presentation`` (presentation classes, urgency
classes, rule classes) that HermiT infers for the individual must be exactly those our classifier
gives it. Measurements themselves take no part: OWL sees only the findings they derive.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import owlready2
import pytest
from rdflib import OWL, RDFS, Graph, URIRef
from rdflib.term import Node

from kg.engine.presentation import add_presentation, measurement_literal
from kg.knowledge_base import KnowledgeBase
from kg.model.namespaces import KG
from kg.tools.vignettes import load_cases

CASES = load_cases()
MEASUREMENTS = ("age", "egfr", "sex", "symptom_duration_weeks")

pytestmark = pytest.mark.skipif(
    shutil.which(owlready2.JAVA_EXE) is None, reason="HermiT needs Java, which is not installed"
)


def vignette_iri(case: dict) -> URIRef:
    """The presentation individual of a vignette."""
    return URIRef(f"urn:kg:vignette/{case['id']}")


def case_findings(kb: KnowledgeBase, case: dict) -> list[tuple[str, URIRef]]:
    """The vignette's findings (ID, class), with those its measurements derive."""
    given = [(finding, kb.finding_classes[finding]) for finding in dict.fromkeys(case["findings"])]
    measurements = {
        kb.case_properties[name]: measurement_literal(case[name])
        for name in MEASUREMENTS
        if name in case and name in kb.case_properties
    }
    derivations = kb.engines["compiled"].prepare(given, measurements).derivations
    return given + [(str(row.id), row.finding) for row in derivations]


def kg_names(classes: Iterable[Node]) -> set[str]:
    """The local names of the named ``kg:`` classes among ``classes``."""
    return {
        str(cls).removeprefix(str(KG))
        for cls in classes
        if isinstance(cls, URIRef) and str(cls).startswith(str(KG))
    }


@pytest.fixture(scope="module")
def hermit(kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Per vignette ID: the presentation classes HermiT infers, by its own class hierarchy."""
    graph = Graph()
    for triple in kb.ontology.graph:
        if triple[1] != OWL.imports:  # owlready2 would fetch the w3id.org modules
            graph.add(triple)
    for case in CASES:
        add_presentation(graph, vignette_iri(case), case_findings(kb, case))
    path: Path = tmp_path_factory.mktemp("hermit") / "kg.nt"
    graph.serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    world.get_ontology(path.as_uri()).load()
    owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    presentation = world[str(KG.Presentation)]
    inferred = {}
    for case in CASES:
        individual = world[str(vignette_iri(case))]
        assert individual is not None, f"{case['id']}: no individual in the owlready2 world"
        inferred[case["id"]] = kg_names(
            URIRef(cls.iri)
            for cls in individual.INDIRECT_is_a
            if isinstance(cls, owlready2.ThingClass) and presentation in cls.ancestors()
        )
    return inferred


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_classifier_agrees_with_hermit(kb: KnowledgeBase, hermit: dict[str, set[str]], case: dict) -> None:
    """Our classifier's presentation classes for the vignette are exactly HermiT's."""
    types = kb.engines["compiled"].classify(case_findings(kb, case), frozenset()).types
    ours = kg_names(cls for cls in types if (cls, RDFS.subClassOf, KG.Presentation) in kb.closed)
    theirs = hermit[case["id"]]
    assert "Presentation" in theirs, f"{case['id']}: HermiT does not even type it kg:Presentation"
    assert ours == theirs, (
        f"{case['id']}: only ours {sorted(ours - theirs)}, only HermiT's {sorted(theirs - ours)}"
    )
