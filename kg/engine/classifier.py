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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal
from rdflib.collection import Collection
from rdflib.term import Node

#: Presentation closures kept, by the restrictions their findings meet (most recently used).
CLOSURES_KEPT = 1024

#: Vocabulary whose presence in the closed TBox means a rule this classifier does not apply
#: could fire on a case's individuals: (predicate, object) of a triple, None for any.
UNSUPPORTED = (
    (RDF.type, OWL.FunctionalProperty),
    (RDF.type, OWL.InverseFunctionalProperty),
    (RDF.type, OWL.SymmetricProperty),
    (RDF.type, OWL.TransitiveProperty),
    (RDF.type, OWL.AsymmetricProperty),
    (RDF.type, OWL.IrreflexiveProperty),
    (OWL.inverseOf, None),
    (OWL.propertyChainAxiom, None),
    (OWL.hasKey, None),
    (OWL.allValuesFrom, None),
    (OWL.maxCardinality, None),
    (OWL.maxQualifiedCardinality, None),
    (OWL.complementOf, None),
    (OWL.disjointWith, None),
    (OWL.propertyDisjointWith, None),
    (OWL.sameAs, None),
    (OWL.differentFrom, None),
    (OWL.oneOf, None),
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
    """What the OWL 2 RL closure says about one presentation individual.

    ``mask`` is its set of types as bits over the classifier's classes (cheap to hash and
    intersect: :meth:`Classifier.mask_of`). Its types and property values are functions of the
    mask, decoded on first use.
    """

    mask: int
    seeds: int = field(compare=False, repr=False)
    classifier: Classifier = field(compare=False, repr=False)

    @cached_property
    def types(self) -> frozenset[Node]:
        """The presentation's types."""
        return frozenset(self.classifier.classes_of(self.mask))

    @cached_property
    def values(self) -> frozenset[tuple[Node, Node]]:
        """The presentation's (property, value) pairs: those of its ``hasValue`` restrictions (cls-hv1)."""
        return self.classifier.values_of(self.mask)

    def values_of(self, prop: Node) -> set[Node]:
        """The presentation's values for ``prop``."""
        return {value for p, value in self.values if p == prop}


class Classifier:
    """Classifies presentations by their finding classes, over a closed TBox.

    Classes are bits of an integer: a type set is a bit set, the closed TBox's superclasses of a
    class a mask, so the fixpoint is a few integer operations per axiom.
    """

    def __init__(self, closed: Graph, presentation_class: Node, finding_property: Node) -> None:
        self._closed = closed
        self._nodes = tuple(sorted(_classes(closed) | {presentation_class}, key=str))
        self._bit = {node: index for index, node in enumerate(self._nodes)}
        self._supers = [self._mask({node, *closed.objects(node, RDFS.subClassOf)}) for node in self._nodes]
        self._super_properties = _grouped(closed.subject_objects(RDFS.subPropertyOf))
        self._domains = _grouped(closed.subject_objects(RDFS.domain))
        self._ranges = _grouped(closed.subject_objects(RDFS.range))
        self._some: dict[Node, list[tuple[Node, Node]]] = defaultdict(list)
        self._has_value: list[tuple[int, list[tuple[Node, Node]]]] = []
        self._by_value: dict[tuple[Node, Node], set[Node]] = defaultdict(set)
        for restriction, prop in closed.subject_objects(OWL.onProperty):
            for filler in closed.objects(restriction, OWL.someValuesFrom):
                self._some[prop].append((restriction, filler))
            for value in closed.objects(restriction, OWL.hasValue):
                self._has_value.append((self._bit[restriction], [(p, value) for p in self._properties(prop)]))
                self._by_value[prop, value].add(restriction)
        # cls-int1 (all members hold), cls-uni and cls-hv1 (one member holds): (reads, implies, all)
        self._axioms: list[tuple[int, int, bool]] = [
            (self._mask(Collection(closed, members)), self._supers[self._bit[node]], True)
            for node, members in closed.subject_objects(OWL.intersectionOf)
        ]
        self._axioms += [
            (self._mask(Collection(closed, members)), self._supers[self._bit[node]], False)
            for node, members in closed.subject_objects(OWL.unionOf)
        ]
        self._axioms += [(1 << bit, self._value_consequences(pairs), False) for bit, pairs in self._has_value]
        # Per class bit: the axioms that read it, as a bit set over self._axioms.
        self._readers = [0] * len(self._nodes)
        for index, (members, _, _) in enumerate(self._axioms):
            for bit in _bits(members):
                self._readers[bit] |= 1 << index
        self._read = self._mask(self._nodes[bit] for bit, readers in enumerate(self._readers) if readers)
        self._finding_properties = frozenset(self._properties(finding_property))
        self._base = self._supers[self._bit[presentation_class]]
        self._measured = lru_cache(maxsize=None)(self._domain_mask)
        self._met = lru_cache(maxsize=None)(self._met_by)
        self._close = lru_cache(maxsize=CLOSURES_KEPT)(self._closure)
        self.instance_types = lru_cache(maxsize=None)(self._instance_types)

    @property
    def finding_properties(self) -> frozenset[Node]:
        """The finding property and its super-properties: the properties linking a finding individual."""
        return self._finding_properties

    @property
    def value_properties(self) -> frozenset[Node]:
        """The properties ``hasValue`` restrictions give presentations values of (with super-properties)."""
        return frozenset(prop for _, pairs in self._has_value for prop, _ in pairs)

    def super_properties(self, prop: Node) -> frozenset[Node]:
        """``prop`` and its super-properties (prp-spo1)."""
        return frozenset(self._properties(prop))

    def with_values(self, pairs: Iterable[tuple[Node, Node]]) -> Classification:
        """A presentation with no finding and no measurement but these property values: the types
        every presentation with (at least) those values has (cls-hv2, prp-dom, cls-svf1 and on)."""
        return self._close(self._base | self._value_consequences(list(pairs)))

    def mask_of(self, classes: Iterable[Node]) -> int:
        """The bit set of ``classes`` (classes the closed TBox does not know are left out)."""
        return self._mask(cls for cls in classes if cls in self._bit)

    def classify(self, finding_classes: Iterable[Node], properties: frozenset[Node]) -> Classification:
        """The presentation with one finding of each class and values for ``properties`` (measurements).

        Measurement values are literals, which no supported restriction reads (see
        :func:`unsupported_constructs`): only the properties' domains count. Presentations that
        meet the same restrictions share one (cached) closure.
        """
        seeds = self._base | self._measured(properties)  # each part is closed under superclasses
        for cls in finding_classes:
            seeds |= self._met(cls)
        return self._close(seeds)

    def extend(self, classification: Classification, finding_classes: Iterable[Node]) -> Classification:
        """``classification``'s presentation with one more finding of each class (a what-if variant).

        The fixpoint starts from ``classification`` and checks only the axioms that read what the
        new findings add.
        """
        seeds = classification.seeds
        for cls in finding_classes:
            seeds |= self._met(cls)
        fresh = seeds & ~classification.mask
        if not fresh:
            return classification
        return Classification(self._fixpoint(classification.mask | fresh, fresh), seeds, self)

    def value_mask(self, prop: Node, value: Node | None = None) -> int:
        """The ``hasValue`` restrictions whose members get ``prop value`` (any value if None) by
        cls-hv1 and prp-spo1: the only source of the property values this classifier derives."""
        mask = 0
        for bit, pairs in self._has_value:
            if any(p == prop and value in (None, v) for p, v in pairs):
                mask |= 1 << bit
        return mask

    def _instance_types(self, finding_class: Node) -> frozenset[Node]:
        """The types of a finding individual: its class, the range of the finding property, supers."""
        ranges = {cls for prop in self._finding_properties for cls in self._ranges.get(prop, ())}
        seeds = self._mask_supers(self._mask({finding_class, *ranges}))
        return frozenset(self.classes_of(self._fixpoint(seeds, seeds)))

    def _met_by(self, finding_class: Node) -> int:
        """What a finding of this class gives: the ``some`` restrictions it meets, domains, and supers."""
        types = self.instance_types(finding_class)
        met = {
            restriction
            for prop in self._finding_properties
            for restriction, filler in self._some.get(prop, [])
            if filler == OWL.Thing or filler in types
        }
        return self._mask_supers(self._mask(met) | self._domain_mask(self._finding_properties))

    def _domain_mask(self, properties: frozenset[Node]) -> int:
        """The domains of ``properties`` and their super-properties (prp-dom, prp-spo1), with supers."""
        found = {parent for prop in properties for parent in self._properties(prop)}
        return self._mask_supers(self._mask(cls for prop in found for cls in self._domains.get(prop, ())))

    def _closure(self, seeds: int) -> Classification:
        return Classification(self._fixpoint(seeds, seeds), seeds, self)

    def _fixpoint(self, mask: int, fresh: int) -> int:
        """cax-sco, cls-int1, cls-uni, cls-hv1/2, cls-svf1 and prp-dom/spo1 until nothing changes.

        ``mask`` must hold its members' superclasses, and every axiom that reads only classes of
        ``mask`` outside ``fresh`` must have fired already. Each round checks only the axioms that
        read a class new in the previous round.
        """
        axioms, readers_of = self._axioms, self._readers
        while fresh := fresh & self._read:
            readers = 0
            while fresh:
                low = fresh & -fresh
                readers |= readers_of[low.bit_length() - 1]
                fresh ^= low
            grown = mask
            while readers:
                low = readers & -readers
                members, implied, every = axioms[low.bit_length() - 1]
                if not every or mask & members == members:
                    grown |= implied
                readers ^= low
            fresh = grown & ~mask
            mask = grown
        return mask

    def classes_of(self, mask: int) -> list[Node]:
        """The classes of the bit set ``mask``."""
        return [self._nodes[bit] for bit in _bits(mask)]

    def values_of(self, mask: int) -> frozenset[tuple[Node, Node]]:
        """The property values of a presentation of type ``mask``: those of its ``hasValue`` restrictions."""
        return frozenset(pair for bit, pairs in self._has_value if mask >> bit & 1 for pair in pairs)

    def _value_consequences(self, pairs: list[tuple[Node, Node]]) -> int:
        """The classes property values give their subject (prp-dom, cls-hv2, cls-svf1), with supers."""
        found: list[Node] = []
        for prop, value in pairs:
            value_types = set(self._closed.objects(value, RDF.type))
            found += self._domains.get(prop, ())
            found += self._by_value.get((prop, value), ())
            found += [
                restriction
                for restriction, filler in self._some.get(prop, ())
                if filler == OWL.Thing or filler in value_types
            ]
        return self._mask_supers(self._mask(found))

    def _mask(self, classes: Iterable[Node]) -> int:
        mask = 0
        for cls in classes:
            mask |= 1 << self._bit[cls]
        return mask

    def _mask_supers(self, mask: int) -> int:
        """``mask`` with every member's superclasses."""
        closed = mask
        while mask:
            low = mask & -mask
            closed |= self._supers[low.bit_length() - 1]
            mask ^= low
        return closed

    def _properties(self, prop: Node) -> set[Node]:
        """``prop`` and its super-properties (prp-spo1)."""
        found = {prop}
        pending = [prop]
        while pending:
            for parent in self._super_properties.get(pending.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found


def _classes(closed: Graph) -> set[Node]:
    """Every node of ``closed`` in a class position: typed, subclassed, restricted, combined, ranged."""
    found: set[Node] = set()
    for predicate in (RDFS.subClassOf, OWL.equivalentClass, OWL.onProperty, OWL.intersectionOf, OWL.unionOf):
        found |= set(closed.subjects(predicate, None))
    for predicate in (RDFS.subClassOf, OWL.equivalentClass, RDF.type, OWL.someValuesFrom, RDF.first):
        found |= set(closed.objects(None, predicate))
    for predicate in (RDFS.domain, RDFS.range):
        found |= set(closed.objects(None, predicate))
    return {node for node in found if not isinstance(node, Literal)}


def _bits(mask: int) -> Iterator[int]:
    """The indices of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _grouped(pairs: Iterable[tuple[Node, Node]]) -> dict[Node, set[Node]]:
    groups: dict[Node, set[Node]] = defaultdict(set)
    for key, value in pairs:
        if not isinstance(value, Literal):
            groups[key].add(value)
    return dict(groups)
