"""One pass over a query's algebra, recording what each pattern can read of a presentation."""

from __future__ import annotations

from collections import Counter

from rdflib import RDF, BNode, Variable
from rdflib.paths import Path
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from kg.engine.reads.algebra import (
    CHAIN,
    PATTERN_KEYS,
    bound_variables,
    computed_with,
    exists_graphs,
    path_predicates,
)
from kg.engine.reads.model import QueryReads, Reader, Site

#: Operators that start a subquery's own scope (below the query's own projection).
SCOPES = ("Project", "SelectQuery", "Group", "AggregateJoin")


class Walk:
    """One pass over a query's algebra, recording what each pattern reads."""

    def __init__(
        self,
        analyzer: Reader,
        reads: QueryReads,
        top_chain: frozenset[int] = frozenset(),
        given: bool = False,
    ) -> None:
        self._analyzer = analyzer
        self._reads = reads
        self._top_chain = top_chain  # the ids of the query's own modifiers (its projection, order...)
        self._scoped = True  # not inside a subquery (see pattern)
        # over a case as given (kg.engine.reads.given): finding links are read through their class,
        # measurements by their value; else such patterns leave the rows unkept
        self.given = given
        self.links: list[tuple[Node, CompValue]] = []  # (object, BGP) of each finding-link pattern
        self.measured: set[Node] = set()
        self.measures: Counter[Node] = Counter()  # the patterns binding each measurement variable
        self.values: set[Node] = set()
        self.classes: set[Node] = set()
        self.subjects: set[Node] = set()  # variables standing for a presentation in some pattern
        self.computed: set[Node] = set()  # variables an expression computes with (outside EXISTS)

    def pattern(
        self, node: object, top: CompValue, outer: CompValue | None, correlated: frozenset[Node]
    ) -> None:
        """Record the reads of graph pattern ``node``. ``top`` is the outermost ancestor its
        solutions reach through joins and filters only; ``outer`` the group outside the nearest
        EXISTS or MINUS, which always binds the ``correlated`` variables."""
        if not isinstance(node, CompValue):
            return
        name = node.name
        if name == "BGP":
            for triple in node.triples:
                self._triple(triple, node, top, outer, correlated)
            return
        if name in SCOPES and id(node) not in self._top_chain and self._scoped:
            # a subquery: its variables are its own, even where they share a name with the query's
            self._scoped = False
            try:
                self.pattern(node, top, outer, correlated)
            finally:
                self._scoped = True
            return
        if name in ("Graph", "ServiceGraphPattern"):
            self._reads.reasons.append(f"it uses {name}")
            return
        chain = name in CHAIN
        for key in PATTERN_KEYS:
            if key in node and isinstance(node[key], CompValue):
                child = node[key]
                if name == "Minus" and key == "p2":  # compared with the left side's solutions
                    self.pattern(child, child, node.p1, bound_variables(node.p1))
                else:
                    self.pattern(child, top if chain else child, outer, correlated)
        inputs = node.get("p") if "p" in node else node.get("p1")
        for key, part in node.items():
            if key in PATTERN_KEYS or key.startswith("_"):
                continue
            self.computed |= computed_with(name, key, part)
            for graph in exists_graphs(part):
                if name == "LeftJoin":
                    # an OPTIONAL's filter is evaluated on the left and right sides joined
                    joined = CompValue("Join", p1=node.p1, p2=node.p2)
                    self.pattern(graph, graph, joined, bound_variables(joined))
                elif isinstance(inputs, CompValue):
                    # the EXISTS is evaluated on the solutions of this node's input
                    group = node if name == "Filter" else inputs
                    self.pattern(graph, graph, group, bound_variables(inputs))
                else:
                    self.pattern(graph, graph, None, frozenset())

    def _triple(
        self,
        triple: tuple,
        bgp: CompValue,
        top: CompValue,
        outer: CompValue | None,
        correlated: frozenset[Node],
    ) -> None:
        subject, predicate, obj = triple
        reasons = self._reads.reasons
        if not isinstance(subject, Variable | BNode):
            if str(subject).startswith("urn:kg:"):
                reasons.append(f"it names a presentation ({subject.n3()})")
            return
        if isinstance(predicate, Path):
            if path_predicates(predicate) & self._analyzer.vocabulary.case_predicates:
                reasons.append(f"a property path through a presentation's properties ({predicate.n3()})")
            return
        if isinstance(predicate, Variable | BNode):
            if not self.given:
                reasons.append(f"a pattern with a variable property ({predicate.n3()})")
                return
            keep_outer = outer if predicate in correlated else None
            self._reads.property_sites.append(Site(predicate, bgp, top, keep_outer, True, self._scoped))
            if isinstance(obj, Variable | BNode):
                self.measures[obj] += 1
            return
        vocabulary = self._analyzer.vocabulary
        if predicate == RDF.type or predicate in vocabulary.value_properties:
            self.subjects.add(subject)
        if predicate == RDF.type:
            if isinstance(obj, Variable | BNode):
                keep_outer = outer if obj in correlated else None
                presentation = self._identifies_presentation(subject, bgp)
                site = Site(obj, bgp, top, keep_outer, presentation, self._scoped)
                self._reads.sites.append(site)
            elif obj in vocabulary.instance_types and self.given:
                self.classes.add(obj)
            elif obj in vocabulary.instance_types:
                reasons.append(f"it reads the classes of finding individuals ({obj.n3()})")
            elif obj in vocabulary.presentation_types:
                self.classes.add(obj)
        elif predicate in vocabulary.value_properties:
            self.values.add(predicate)
        elif predicate in vocabulary.finding_properties and self.given:
            self.links.append((obj, bgp))
        elif predicate in vocabulary.finding_properties:
            reasons.append(f"it reads a presentation's finding individuals ({predicate.n3()})")
        elif predicate in vocabulary.measurement_properties and self.given:
            self.measured.add(predicate)
            if isinstance(obj, Variable | BNode):
                self.measures[obj] += 1
        elif predicate in vocabulary.measurement_properties:
            reasons.append(f"it reads a measurement ({predicate.n3()})")

    def _identifies_presentation(self, subject: Node, bgp: CompValue) -> bool:
        """Whether the BGP binds ``subject`` to a presentation: it has a type no finding individual
        can have, or a value property."""
        vocabulary = self._analyzer.vocabulary
        for s, p, o in bgp.triples:
            if s != subject:
                continue
            if p == RDF.type and o in vocabulary.presentation_types and o not in vocabulary.instance_types:
                return True
            if p in vocabulary.value_properties:
                return True
        return False
