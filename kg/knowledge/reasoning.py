"""OWL 2 RL reasoning. The only module that imports owlrl; it keeps owlrl's junk out of answers."""

from __future__ import annotations

import owlrl
from rdflib import RDF, RDFS, Graph, Literal
from rdflib.namespace import OWL
from rdflib.term import Node

BUILT_IN_ANNOTATION_PROPERTIES = frozenset(
    {
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        RDFS.isDefinedBy,
        OWL.versionInfo,
        OWL.deprecated,
        OWL.priorVersion,
        OWL.backwardCompatibleWith,
        OWL.incompatibleWith,
    }
)
PROPERTY_AXIOMS = (RDFS.domain, RDFS.range, RDFS.subPropertyOf, OWL.equivalentProperty)


class Reasoner:
    """owlrl's OWL 2 RL closure of an ontology plus a case.

    Annotations carry no logical meaning in OWL 2, so the rules only see the ontology's logical
    triples; annotation assertions (labels, rationales, rule data) are added back to every closure
    unchanged. An annotation property that an editor gives a domain, range or super-property is
    kept in the logical part, since owlrl's rules would then draw conclusions from it.
    """

    def __init__(self, ontology: Graph) -> None:
        inert = _inert_annotation_properties(ontology)
        self._logical = Graph()
        self._annotations = Graph()
        for triple in ontology:
            (self._annotations if triple[1] in inert else self._logical).add(triple)

    def closure(self, case: Graph) -> Graph:
        """The OWL 2 RL closure of ontology + ``case``, without owlrl's junk triples."""
        # rdflib's store without named graphs: owlrl needs none, and closes about a quarter
        # faster in it than in the default store, to the same triples.
        union = Graph(store="SimpleMemory")
        union += self._logical
        union += case
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(union)
        closed = _without_junk(union)
        closed += self._annotations
        return closed


def _inert_annotation_properties(ontology: Graph) -> set[Node]:
    """Annotation properties no property axiom gives a logical role."""
    declared = set(ontology.subjects(RDF.type, OWL.AnnotationProperty)) | BUILT_IN_ANNOTATION_PROPERTIES
    return {p for p in declared if not any((p, axiom, None) in ontology for axiom in PROPERTY_AXIOMS)}


def _without_junk(graph: Graph) -> Graph:
    """Drop what owlrl derives but no answer may show: literal subjects and ``x owl:sameAs x``."""
    clean = Graph()
    for subject, predicate, obj in graph:
        if isinstance(subject, Literal) or (predicate == OWL.sameAs and subject == obj):
            continue
        clean.add((subject, predicate, obj))
    return clean
