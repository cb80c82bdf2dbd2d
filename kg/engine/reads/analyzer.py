"""The analyzer: what each case query reads, and which classes it reads under a presentation's
values (found by relaxed runs once per query and values, then kept and cached)."""

from __future__ import annotations

import threading
from collections import Counter

from rdflib import RDF, BNode, Graph, URIRef, Variable
from rdflib.paths import Path
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from kg.engine.reads.algebra import bound_variables, path_predicates, variables
from kg.engine.reads.model import HYPOTHETICAL, CaseVocabulary, QueryReads, Values
from kg.engine.reads.relax import Relaxation
from kg.engine.reads.walk import Walk


class Analyzer:
    """Finds what each case query reads, and which classes it reads under a presentation's values.

    Each query is parsed afresh (rdflib's expression objects hold evaluation state, so they are
    not shared with the engine that runs the query). The classes read under a set of values are
    found by rdflib runs over the closed ontology plus H, once per query and values, under a lock.
    """

    def __init__(self, closed: Graph, vocabulary: CaseVocabulary) -> None:
        self._closed = closed
        self.vocabulary = vocabulary
        self._case_predicates = vocabulary.case_predicates
        self._queries: dict[str, tuple[Query, Counter[Node]]] = {}
        # relaxed runs by group and what of H they read: most do not depend on the values
        self.solutions: dict[tuple[int, frozenset, frozenset], list[dict[Node, Node]]] = {}
        # the solutions of relaxed parts that read nothing of H, by part (and the aggregates relaxed)
        self.parts: dict[tuple[int, frozenset], list[dict[Node, Node]]] = {}
        self.always = vocabulary.certain_types(frozenset())  # the types every presentation has
        self._classes: dict[tuple[str, Values], frozenset[Node] | None] = {}
        self._graph: Graph | None = None  # the closed ontology, to which H's facts are added for a run
        self._lock = threading.Lock()

    def analyse(self, name: str, text: str) -> QueryReads:
        """What the query ``text`` (file stem ``name``) can read of a presentation."""
        query = prepareQuery(text)
        reads = QueryReads(name)
        if query.algebra.name != "SelectQuery":
            reads.reasons.append("it is not a SELECT query")
            return reads
        self._queries[name] = (query, Counter(variables(query.algebra.p)))
        walk = Walk(self, reads)
        walk.pattern(query.algebra.p, top=query.algebra.p, outer=None, correlated=frozenset())
        for variable in sorted(walk.subjects & walk.computed, key=str):
            # rows kept for one presentation are given to others: they must not depend on its IRI
            reads.reasons.append(f"an expression reads {variable.n3()}, which can stand for the presentation")
        reads.values = frozenset(walk.values)
        reads.classes = frozenset(walk.classes)
        return reads

    def table(self) -> list[list]:
        """The classes read so far, as JSON rows ``[query, [[property, value], ...], [class, ...]]``
        (null for rows not kept), sorted: for the cache, so that a start does not run them again."""
        with self._lock:
            items = list(self._classes.items())
        rows = [
            [
                name,
                sorted([_term(prop), _term(value)] for prop, value in values),
                None if classes is None else sorted(_term(cls) for cls in classes),
            ]
            for (name, values), classes in items
        ]
        return sorted(rows, key=lambda row: (row[0], row[1]))

    def preload(self, table: object) -> bool:
        """Take the classes read from a :meth:`table` of the same knowledge (read from the cache).

        Nothing on disk is trusted: a table whose rows are not well formed, or name a query not
        analysed, a property that is not a value property or a class no presentation can have, is
        not taken at all (False), and the classes are found again on first use.
        """
        vocabulary = self.vocabulary
        taken: dict[tuple[str, Values], frozenset[Node] | None] = {}
        try:
            assert isinstance(table, list)
            for name, pairs, classes in table:
                assert name in self._queries and isinstance(pairs, list)
                values = frozenset((_node(prop), _node(value)) for prop, value in pairs)
                assert all(prop in vocabulary.value_properties for prop, _ in values)
                if classes is not None:
                    assert isinstance(classes, list)
                    classes = frozenset(_node(cls) for cls in classes)
                    assert classes <= vocabulary.presentation_types
                taken[name, values] = classes
        except (AssertionError, TypeError, ValueError):
            return False
        with self._lock:
            self._classes.update(taken)
        return True

    def reads_case(self, triple: tuple, certain: frozenset[Node]) -> bool:
        """Whether a pattern can match a fact of a presentation that H does not stand for.

        H stands for the values (value patterns are kept) and for the types every presentation
        with those values has (``certain``: type patterns with such a constant class are kept).
        """
        subject, predicate, obj = triple
        if not isinstance(subject, Variable | BNode):
            return False
        if isinstance(predicate, Path):
            return bool(path_predicates(predicate) & self._case_predicates)
        if isinstance(predicate, Variable | BNode):
            return True
        vocabulary = self.vocabulary
        if predicate == RDF.type:
            if isinstance(obj, Variable | BNode):
                return True
            possible = obj in vocabulary.presentation_types or obj in vocabulary.instance_types
            return possible and obj not in certain
        return predicate in vocabulary.finding_properties or predicate in vocabulary.measurement_properties

    def classes_read(self, reads: QueryReads, values: Values) -> frozenset[Node] | None:
        """The presentation classes the query can read of a presentation whose values (of the
        properties the query reads) are ``values``; None when the rows cannot be kept by them
        (a type pattern that may read a finding individual's classes). Computed once, then kept."""
        key = (reads.name, values)
        if key not in self._classes:
            with self._lock:
                if key not in self._classes:
                    self._classes[key] = self._classes_read(reads, values)
        return self._classes[key]

    def _classes_read(self, reads: QueryReads, values: Values) -> frozenset[Node] | None:
        vocabulary = self.vocabulary
        certain = vocabulary.certain_types(values)
        facts = [(HYPOTHETICAL, RDF.type, cls) for cls in certain]
        facts += [(HYPOTHETICAL, prop, value) for prop, value in values]
        if self._graph is None:
            self._graph = Graph()
            self._graph += self._closed
        graph = self._graph
        for fact in facts:
            graph.add(fact)
        try:
            return self._narrowed(reads, values, graph, certain)
        finally:
            for fact in facts:
                graph.remove(fact)

    def _narrowed(
        self, reads: QueryReads, values: Values, graph: Graph, certain: frozenset[Node]
    ) -> frozenset[Node] | None:
        vocabulary = self.vocabulary
        query, occurrences = self._queries[reads.name]
        prologue = query.prologue
        relaxation = Relaxation(self, certain, values, occurrences, graph, prologue)
        found = set(reads.classes)
        for site in reads.sites:
            taken = None
            if site.variable in bound_variables(relaxation.relax_or_none(site.bgp)):
                # solutions that leave the variable unbound did not come through this pattern
                taken = relaxation.values_of(graph, prologue, site.group, site.variable, unbound_ok=True)
            elif site.variable in bound_variables(relaxation.relax_or_none(site.group)):
                taken = relaxation.values_of(graph, prologue, site.group, site.variable)
            if site.outer is not None:
                outside = relaxation.values_of(graph, prologue, site.outer, site.variable)
                if outside is not None:
                    taken = outside if taken is None else taken & outside
            if taken is None:
                taken = vocabulary.presentation_types | vocabulary.instance_types
            if not site.presentation and taken & vocabulary.instance_types:
                return None
            found |= taken
        return frozenset(found & vocabulary.presentation_types)


def _term(node: Node) -> str:
    """An IRI or blank node as N-Triples spells it (the cache's blank node labels are kept on load)."""
    if isinstance(node, URIRef | BNode):
        return node.n3()
    raise ValueError(f"not an IRI or a blank node: {node!r}")


def _node(text: object) -> Node:
    """The IRI or blank node :func:`_term` spelt; raises ValueError for anything else."""
    if isinstance(text, str) and len(text) > 2 and text[0] == "<" and text[-1] == ">":
        return URIRef(text[1:-1])
    if isinstance(text, str) and text.startswith("_:") and len(text) > 2:
        return BNode(text[2:])
    raise ValueError(f"not an IRI or a blank node: {text!r}")
