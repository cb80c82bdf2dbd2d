"""The analyzer: what each case query reads, and which classes it reads under a presentation's
values (found by relaxed runs once per query and values, then kept and cached)."""

from __future__ import annotations

import threading
from collections import Counter
from itertools import takewhile

from rdflib import RDF, BNode, Graph, Variable
from rdflib.paths import Path
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from kg.engine.reads.algebra import bound_variables, path_predicates, variables
from kg.engine.reads.items import Items, aggregates, item_of, ordered, term_text, text_term, top
from kg.engine.reads.model import HYPOTHETICAL, CaseVocabulary, QueryReads, Reading, Site, Values
from kg.engine.reads.relax import Relaxation
from kg.engine.reads.walk import Walk
from kg.knowledge.queries import parsed


class Analyzer:
    """Finds what each case query reads, and which classes it reads under a presentation's values.

    Each query is parsed afresh (rdflib's expression objects hold evaluation state, so they are
    not shared with the engine that runs the query). The classes read under a set of values are
    found by rdflib runs over the closed ontology plus H, once per query and values, under a lock.
    """

    GIVEN = False  # reads a case as given (kg.engine.reads.given), not a classified presentation

    def __init__(self, closed: Graph, vocabulary: CaseVocabulary) -> None:
        self._closed = closed
        self.vocabulary = vocabulary
        self._case_predicates = vocabulary.case_predicates
        self._queries: dict[str, tuple[Query, Counter[Node], CompValue]] = {}
        self._descending: dict[str, tuple[bool, ...]] = {}  # the queries whose rows are split by an item
        # relaxed runs by group and what of H they read: most do not depend on the values
        self.solutions: dict[tuple[int, Node | None, frozenset, frozenset], list[dict[Node, Node]]] = {}
        # the solutions of relaxed parts that read nothing of H, by part (and the aggregates relaxed)
        self.parts: dict[tuple[int, Node | None, frozenset], list[dict[Node, Node]]] = {}
        self.always = vocabulary.certain_types(frozenset())  # the types every presentation has
        self._classes: dict[tuple[str, Values], Reading | None] = {}
        self._graph: Graph | None = None  # the closed ontology, to which H's facts are added for a run
        self._lock = threading.Lock()

    def analyse(self, name: str, text: str) -> QueryReads:
        """What the query ``text`` (file stem ``name``) can read of a presentation."""
        query = parsed(text)
        reads = QueryReads(name)
        if query.algebra.name != "SelectQuery":
            reads.reasons.append("it is not a SELECT query")
            return reads
        where, modifiers, order = top(query.algebra)
        self._queries[name] = (query, Counter(variables(query.algebra.p)), where)
        walk = Walk(self, reads, modifiers, given=self.GIVEN)
        walk.pattern(query.algebra.p, top=query.algebra.p, outer=None, correlated=frozenset())
        self._walked(query, reads, walk)
        for variable in sorted(walk.subjects & walk.computed, key=str):
            # rows kept for one presentation are given to others: they must not depend on its IRI
            reads.reasons.append(f"an expression reads {variable.n3()}, which can stand for the presentation")
        reads.values = frozenset(walk.values)
        reads.classes = frozenset(walk.classes)
        if order:
            reads.item = tuple(variable for variable, _ in order)
            reads.descending = tuple(descending for _, descending in order)
            self._descending[name] = reads.descending
        return reads

    def parsed(self) -> list[Query]:
        """The queries analysed, parsed."""
        return [query for query, _, _ in self._queries.values()]

    def _walked(self, query: Query, reads: QueryReads, walk: Walk) -> None:
        """What a subclass notes of a query's walk (kg.engine.reads.given)."""

    def table(self) -> list[list]:
        """What the queries read so far, as JSON rows ``[query, [[property, value], ...], classes,
        items]``: classes ``[class, ...]`` (null for rows not kept), items ``[[item, [class, ...]], ...]``
        or null; sorted: for the cache, so that a start does not run them again."""
        with self._lock:
            items = list(self._classes.items())
        rows = []
        for (name, values), reading in items:
            pairs = sorted([term_text(prop), term_text(value)] for prop, value in values)
            if reading is None:
                rows.append([name, pairs, None, None])
                continue
            split = None
            if reading.items is not None:
                split = [
                    [[term_text(term) for term in item], sorted(term_text(cls) for cls in classes)]
                    for item, classes in reading.items
                ]
            rows.append([name, pairs, sorted(term_text(cls) for cls in reading.classes), split])
        return sorted(rows, key=lambda row: (row[0], row[1]))

    def preload(self, table: object) -> bool:
        """Take what the queries read from a :meth:`table` of the same knowledge (read from the cache).

        Nothing on disk is trusted: a table whose rows are not well formed, or name a query not
        analysed, a property that is not a value property, a class no presentation can have or an
        item no query splits by, is not taken at all (False), and all is found again on first use.
        """
        vocabulary = self.vocabulary
        taken: dict[tuple[str, Values], Reading | None] = {}
        try:
            assert isinstance(table, list)
            for name, pairs, classes, split in table:
                assert name in self._queries and isinstance(pairs, list)
                values = frozenset((text_term(prop), text_term(value)) for prop, value in pairs)
                assert all(prop in vocabulary.value_properties for prop, _ in values)
                if classes is None:
                    assert split is None
                    taken[name, values] = None
                    continue
                items = None
                if split is not None:
                    assert isinstance(split, list) and name in self._descending
                    items = tuple((item_of(item), self._classes_of(cls)) for item, cls in split)
                    order = tuple(item for item, _ in items)
                    size = len(order[0]) if order else 0
                    assert 0 < size <= len(self._descending[name])
                    assert all(len(item) == size for item in order)
                    assert ordered(frozenset(order), self._descending[name][:size]) == order
                taken[name, values] = Reading(self._classes_of(classes), items)
        except (AssertionError, TypeError, ValueError):
            return False
        with self._lock:
            self._classes.update(taken)
        return True

    def _classes_of(self, classes: object) -> frozenset[Node]:
        """Classes of a cached table, each one some presentation can have (else AssertionError)."""
        assert isinstance(classes, list)
        found = frozenset(text_term(cls) for cls in classes)
        assert found <= self.readable
        return found

    @property
    def readable(self) -> frozenset[Node]:
        """What a reading names: the classes a presentation can have."""
        return self.vocabulary.presentation_types

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

    def reading(self, reads: QueryReads, values: Values) -> Reading | None:
        """What the query can read of a presentation whose values (of the properties the query
        reads) are ``values``; None when its rows cannot be kept by that (a type pattern that may
        read a finding individual's classes). Computed once, then kept."""
        key = (reads.name, values)
        if key not in self._classes:
            with self._lock:
                if key not in self._classes:
                    self._classes[key] = self._reading(reads, values)
        return self._classes[key]

    def classes_read(self, reads: QueryReads, values: Values) -> frozenset[Node] | None:
        """The presentation classes the query can read (see :meth:`reading`)."""
        reading = self.reading(reads, values)
        return None if reading is None else reading.classes

    def _reading(self, reads: QueryReads, values: Values) -> Reading | None:
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
    ) -> Reading | None:
        """The classes each site's variable can take in its group's relaxed solutions (and in the
        group outside, when it is inside EXISTS or MINUS); when the rows are ordered first by an
        item, also by item (see :meth:`_split`)."""
        vocabulary = self.vocabulary
        relaxation, items = self._split(reads, values, graph, certain)
        query, _, where = self._queries[reads.name]
        if not aggregates(where) and relaxation.solutions(graph, query.prologue, where) == []:
            # not even the relaxed pattern has a solution (every real one is one of its): no
            # presentation with these values has a row, whatever its classes (the urgency a
            # completion must pass, for a presentation that is emergent already)
            return Reading(frozenset(), None)
        everything = vocabulary.presentation_types | vocabulary.instance_types
        found = set(reads.classes)
        shared = set(reads.classes)  # read by the rows of every item
        by_item: dict[Node, set[Node]] = {item: set() for item in items.order} if items else {}
        for site in reads.sites:
            taken = self._taken(relaxation, site, items if site.scoped else None, graph)
            if taken is None:
                taken = {None: set(everything)}
            flat = set().union(*taken.values())
            if not site.presentation and flat & vocabulary.instance_types:
                return None
            found |= flat
            share(taken, shared, by_item)
        types = vocabulary.presentation_types
        split = None
        if items is not None:
            split = tuple((item, frozenset((shared | by_item[item]) & types)) for item in items.order)
        return Reading(frozenset(found & types), split)

    def _split(
        self, reads: QueryReads, values: Values, graph: Graph, certain: frozenset[Node]
    ) -> tuple[Relaxation, Items | None]:
        """The relaxation of the query's groups, and its items: the values its first order
        variables take in the relaxed solutions of the query's own pattern; where that leaves one
        unbound, relaxed again with the item's own patterns kept (they match the ontology for every
        item that is not the presentation or its finding, and rows naming those are never kept).
        None when that cannot be told."""
        query, occurrences, where = self._queries[reads.name]
        prologue = query.prologue
        relaxation = Relaxation(self, certain, values, occurrences, graph, prologue)
        bound = bound_variables(where)  # an item's variables are bound in every row
        item = tuple(takewhile(lambda variable: variable in bound, reads.item))
        if not item:
            return relaxation, None
        top = relaxation.solutions(graph, prologue, where)  # (often run already for a site)
        if not top or any(solution.get(v) is None for solution in top for v in item):
            keeping = Relaxation(self, certain, values, occurrences, graph, prologue, keep=frozenset(item))
            top = keeping.solutions(graph, prologue, where)
        if not top or any(solution.get(v) is None for solution in top for v in item):
            return relaxation, None
        for size in range(len(item), 0, -1):  # the most variables whose order can be told
            domain = frozenset(tuple(solution[v] for v in item[:size]) for solution in top)
            if any(HYPOTHETICAL in value for value in domain):
                return relaxation, None
            order = ordered(domain, reads.descending[:size])
            if order is not None:
                return relaxation, Items(top, item[:size], order)
        return relaxation, None

    def _taken(
        self, relaxation: Relaxation, site: Site, items: Items | None, graph: Graph
    ) -> dict[Node | None, set[Node]] | None:
        """The classes a site's variable can take, by the item each solution can touch (None: any
        item); None: any class."""
        prologue = relaxation.prologue
        link = None if items is None else items.touched
        taken = None
        if site.variable in bound_variables(relaxation.relax_or_none(site.bgp)):
            # solutions that leave the variable unbound did not come through this pattern
            taken = relaxation.pairs_of(graph, prologue, site.group, site.variable, link, unbound_ok=True)
        elif site.variable in bound_variables(relaxation.relax_or_none(site.group)):
            taken = relaxation.pairs_of(graph, prologue, site.group, site.variable, link)
        if site.outer is not None:
            outside = relaxation.pairs_of(graph, prologue, site.outer, site.variable, link)
            if outside is not None:
                taken = outside if taken is None else _meet(taken, outside)
        return taken


def share(taken: dict[Node | None, set[Node]], shared: set[Node], by_item: dict[Node, set[Node]]) -> None:
    """Add what a site reads to what every item's rows read, or to its items' (an item outside
    the split has no rows)."""
    for key, read in taken.items():
        if key is None or not by_item:
            shared |= read
        elif key in by_item:
            by_item[key] |= read


def _meet(
    first: dict[Node | None, set[Node]], second: dict[Node | None, set[Node]]
) -> dict[Node | None, set[Node]]:
    """Classes both allow, by item value: for an item, those beside it or beside no item, in each."""
    met = {None: first.get(None, set()) & second.get(None, set())}
    for item in (first.keys() | second.keys()) - {None}:
        met[item] = (first.get(item, set()) | first.get(None, set())) & (
            second.get(item, set()) | second.get(None, set())
        )
    return met
