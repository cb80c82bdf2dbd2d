"""OWL 2 RL classification of presentations, compiled from the closed ontology.

owlrl closes the ontology (the TBox) once; what a case adds is then derived here without
re-running the rules over the TBox. A presentation individual has the findings of a case (one
individual per finding class) and the case's measurements. Over the closed TBox, the OWL 2 RL
rules that can fire on such individuals are:

- prp-dom, prp-rng, prp-spo1: property domains, ranges and super-properties;
- cax-sco: a type's superclasses (the closed TBox already holds the transitive closure, and
  equivalence as mutual subclassing, scm-eqc1);
- cls-svf1, cls-svf2: ``p some C`` restrictions met through a property value of type C;
- cls-hv1, cls-hv2: ``p value v`` restrictions in both directions;
- cls-int1, cls-uni: intersections whose members all hold, unions one of whose members holds.

:func:`unsupported_constructs` names the TBox constructs outside this list (functional or
transitive properties, property chains, cardinalities, ...): an ontology that uses them is
classified by owlrl instead (the naive path).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal
from rdflib.collection import Collection
from rdflib.term import Node

#: Vocabulary whose presence in the closed TBox means a rule this classifier does not apply
#: could fire on a case's individuals.
UNSUPPORTED = (
    (RDF.type, OWL.FunctionalProperty),
    (RDF.type, OWL.InverseFunctionalProperty),
    (RDF.type, OWL.SymmetricProperty),
    (RDF.type, OWL.TransitiveProperty),
    (RDF.type, OWL.AsymmetricProperty),
    (RDF.type, OWL.IrreflexiveProperty),
    (None, OWL.inverseOf),
    (None, OWL.propertyChainAxiom),
    (None, OWL.hasKey),
    (None, OWL.allValuesFrom),
    (None, OWL.maxCardinality),
    (None, OWL.maxQualifiedCardinality),
    (None, OWL.complementOf),
    (None, OWL.disjointWith),
    (None, OWL.propertyDisjointWith),
    (None, OWL.sameAs),
    (None, OWL.differentFrom),
    (None, OWL.oneOf),
)


def unsupported_constructs(closed: Graph) -> list[str]:
    """The constructs of ``closed`` that :class:`Classifier` does not compile (empty: all compiled)."""
    names = closed.namespace_manager.normalizeUri
    found = []
    for predicate, obj in UNSUPPORTED:
        if obj is not None and any(True for _ in closed.subjects(predicate, obj)):
            found.append(names(obj))
        elif obj is None and any(True for _ in closed.subject_objects(predicate)):
            found.append(names(predicate))
    if any(isinstance(value, Literal) for value in closed.objects(None, OWL.hasValue)):
        found.append("owl:hasValue with a literal")
    if any(
        filler == RDFS.Literal
        or str(filler).startswith(str(XSD))
        or (filler, RDF.type, RDFS.Datatype) in closed
        for filler in closed.objects(None, OWL.someValuesFrom)
    ):
        found.append("owl:someValuesFrom a datatype")
    return found


@dataclass(frozen=True)
class Classification:
    """What the OWL 2 RL closure says about one presentation individual."""

    types: frozenset[Node]
    values: frozenset[tuple[Node, Node]]

    def values_of(self, prop: Node) -> set[Node]:
        """The presentation's values for ``prop``."""
        return {value for p, value in self.values if p == prop}


class Classifier:
    """Classifies presentations by their finding classes, over a closed TBox."""

    def __init__(self, closed: Graph, presentation_class: Node, finding_property: Node) -> None:
        self._presentation_class = presentation_class
        self._finding_property = finding_property
        self._supers: dict[Node, frozenset[Node]] = {}
        self._closed = closed
        self._some: dict[Node, list[tuple[Node, Node]]] = defaultdict(list)
        self._has_value: dict[Node, tuple[Node, Node]] = {}
        self._restrictions_by_value: dict[tuple[Node, Node], list[Node]] = defaultdict(list)
        for restriction, prop in closed.subject_objects(OWL.onProperty):
            for filler in closed.objects(restriction, OWL.someValuesFrom):
                self._some[prop].append((restriction, filler))
            for value in closed.objects(restriction, OWL.hasValue):
                self._has_value[restriction] = (prop, value)
                self._restrictions_by_value[prop, value].append(restriction)
        self._intersections = [
            (node, frozenset(Collection(closed, members)))
            for node, members in closed.subject_objects(OWL.intersectionOf)
        ]
        self._unions = [
            (node, frozenset(Collection(closed, members)))
            for node, members in closed.subject_objects(OWL.unionOf)
        ]
        self._domains = _grouped(closed.subject_objects(RDFS.domain))
        self._ranges = _grouped(closed.subject_objects(RDFS.range))
        self._super_properties = _grouped(closed.subject_objects(RDFS.subPropertyOf))
        self.instance_types = lru_cache(maxsize=None)(self._instance_types)
        self.classify = lru_cache(maxsize=65536)(self._classify)

    def supers(self, cls: Node) -> frozenset[Node]:
        """``cls`` and its superclasses in the closed TBox."""
        found = self._supers.get(cls)
        if found is None:
            found = frozenset({cls, *self._closed.objects(cls, RDFS.subClassOf)})
            self._supers[cls] = found
        return found

    def _instance_types(self, finding_class: Node) -> frozenset[Node]:
        """The types of a finding individual: its class, the range of the finding property, supers."""
        seeds = {finding_class}
        for prop in self._properties({self._finding_property}):
            seeds |= self._ranges.get(prop, set())
        return self._closed_types(seeds, set())[0]

    def _classify(self, finding_classes: frozenset[Node], properties: frozenset[Node]) -> Classification:
        """The presentation with one finding of each class and values for ``properties`` (measurements).

        Measurement values are literals, which no supported restriction reads (see
        :func:`unsupported_constructs`): only the properties' domains count.
        """
        instance_types = [self.instance_types(cls) for cls in finding_classes]
        used = self._properties({self._finding_property} if finding_classes else set())
        types = {self._presentation_class}
        for prop in used | self._properties(set(properties)):
            types |= self._domains.get(prop, set())
        types |= {
            restriction
            for prop in used
            for restriction, filler in self._some.get(prop, [])
            if filler == OWL.Thing or any(filler in found for found in instance_types)
        }
        all_types, values = self._closed_types(types, set())
        return Classification(all_types, frozenset(values))

    def _closed_types(self, seeds: set[Node], values: set[tuple[Node, Node]]) -> tuple[frozenset[Node], set]:
        """The fixpoint of cax-sco, cls-hv1/2, cls-svf1, cls-int1, cls-uni and prp-dom/spo1 from ``seeds``.

        ``values`` are the individual's property values to start from; it grows by cls-hv1.
        """
        types: set[Node] = set()
        pending = set(seeds)
        while pending:
            for cls in pending:
                types |= self.supers(cls)
            pending = set()
            for cls in types:
                if cls in self._has_value:
                    prop, value = self._has_value[cls]
                    values |= {(parent, value) for parent in self._properties({prop})}
            for prop, value in values:
                pending |= self._domains.get(prop, set()) - types
                pending |= {r for r in self._restrictions_by_value.get((prop, value), []) if r not in types}
                pending |= {
                    restriction
                    for restriction, filler in self._some.get(prop, [])
                    if restriction not in types
                    and (filler == OWL.Thing or filler in self._value_types(value))
                }
            for node, members in self._intersections:
                if node not in types and members <= types:
                    pending.add(node)
            for node, members in self._unions:
                if node not in types and members & types:
                    pending.add(node)
        return frozenset(types), values

    def _value_types(self, value: Node) -> set[Node]:
        """The types the closed TBox gives an individual a restriction names (e.g. an urgency level)."""
        return set(self._closed.objects(value, RDF.type))

    def _properties(self, props: set[Node]) -> set[Node]:
        """``props`` and their super-properties (prp-spo1)."""
        found = set(props)
        pending = list(props)
        while pending:
            for parent in self._super_properties.get(pending.pop(), set()):
                if parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found


def _grouped(pairs: Iterable[tuple[Node, Node]]) -> dict[Node, set[Node]]:
    groups: dict[Node, set[Node]] = defaultdict(set)
    for key, value in pairs:
        if not isinstance(value, Literal):
            groups[key].add(value)
    return dict(groups)
