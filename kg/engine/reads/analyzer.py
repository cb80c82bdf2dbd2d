"""The analyzer: what each case query reads, and which classes it reads under a presentation's
values (found by relaxed runs once per query and values, then kept and cached)."""

from __future__ import annotations

import threading
from collections import Counter

from rdflib import RDF, BNode, Graph, Literal, URIRef, Variable
from rdflib.paths import Path
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Prologue, Query
from rdflib.term import Node
from rdflib.util import from_n3

from kg.engine.reads.algebra import bound_variables, path_predicates, variables
from kg.engine.reads.model import HYPOTHETICAL, CaseVocabulary, QueryReads, Reading, Site, Values
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
        self._queries: dict[str, tuple[Query, Counter[Node], CompValue]] = {}
        self._descending: dict[str, bool] = {}  # the queries whose rows are split by an item
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
        query = prepareQuery(text)
        reads = QueryReads(name)
        if query.algebra.name != "SelectQuery":
            reads.reasons.append("it is not a SELECT query")
            return reads
        where, modifiers, order = _top(query.algebra)
        self._queries[name] = (query, Counter(variables(query.algebra.p)), where)
        walk = Walk(self, reads, modifiers)
        walk.pattern(query.algebra.p, top=query.algebra.p, outer=None, correlated=frozenset())
        for variable in sorted(walk.subjects & walk.computed, key=str):
            # rows kept for one presentation are given to others: they must not depend on its IRI
            reads.reasons.append(f"an expression reads {variable.n3()}, which can stand for the presentation")
        reads.values = frozenset(walk.values)
        reads.classes = frozenset(walk.classes)
        if order is not None:
            reads.item, reads.descending = order
            self._descending[name] = reads.descending
        return reads

    def table(self) -> list[list]:
        """What the queries read so far, as JSON rows ``[query, [[property, value], ...], classes,
        items]``: classes ``[class, ...]`` (null for rows not kept), items ``[[item, [class, ...]], ...]``
        or null; sorted: for the cache, so that a start does not run them again."""
        with self._lock:
            items = list(self._classes.items())
        rows = []
        for (name, values), reading in items:
            pairs = sorted([_term(prop), _term(value)] for prop, value in values)
            if reading is None:
                rows.append([name, pairs, None, None])
                continue
            split = None
            if reading.items is not None:
                split = [
                    [_term(item), sorted(_term(cls) for cls in classes)] for item, classes in reading.items
                ]
            rows.append([name, pairs, sorted(_term(cls) for cls in reading.classes), split])
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
                values = frozenset((_node(prop), _node(value)) for prop, value in pairs)
                assert all(prop in vocabulary.value_properties for prop, _ in values)
                if classes is None:
                    assert split is None
                    taken[name, values] = None
                    continue
                items = None
                if split is not None:
                    assert isinstance(split, list) and name in self._descending
                    items = tuple((_node(item), self._classes_of(cls)) for item, cls in split)
                    order = tuple(item for item, _ in items)
                    assert _ordered(frozenset(order), self._descending[name]) == order
                taken[name, values] = Reading(self._classes_of(classes), items)
        except (AssertionError, TypeError, ValueError):
            return False
        with self._lock:
            self._classes.update(taken)
        return True

    def _classes_of(self, classes: object) -> frozenset[Node]:
        """Classes of a cached table, each one some presentation can have (else AssertionError)."""
        assert isinstance(classes, list)
        found = frozenset(_node(cls) for cls in classes)
        assert found <= self.vocabulary.presentation_types
        return found

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
        group outside, when it is inside EXISTS or MINUS). When the rows are ordered first by an
        item, the classes are also told apart by the item's value in the same solution: the item
        is the query's own variable wherever a site is not inside a subquery (EXISTS sees it
        substituted, joins and MINUS compare it), so a row with item value i reads only the classes
        found beside i, or beside no item at all."""
        vocabulary = self.vocabulary
        query, occurrences, where = self._queries[reads.name]
        prologue = query.prologue
        relaxation = Relaxation(self, certain, values, occurrences, graph, prologue)
        everything = vocabulary.presentation_types | vocabulary.instance_types
        domain = None
        if reads.item is not None:
            # the item's own patterns kept: they match the ontology for every item that is not
            # the presentation or its finding (rows naming those are never kept)
            keeping = Relaxation(self, certain, values, occurrences, graph, prologue, keep=reads.item)
            domain = keeping.values_of(graph, prologue, where, reads.item)
            if domain is not None and HYPOTHETICAL not in domain:
                domain = _ordered(domain, reads.descending)
            else:
                domain = None
        found = set(reads.classes)
        shared = set(reads.classes)  # read by the rows of every item
        by_item: dict[Node, set[Node]] = {item: set() for item in domain or ()}
        for site in reads.sites:
            item = reads.item if domain is not None and site.scoped else None
            taken = self._taken(relaxation, site, item, graph, prologue)
            if taken is None:
                taken = {None: set(everything)}
            flat = set().union(*taken.values())
            if not site.presentation and flat & vocabulary.instance_types:
                return None
            found |= flat
            for key, classes in taken.items():
                if key is None or domain is None:
                    shared |= classes
                elif key in by_item:  # (an item outside the domain has no rows)
                    by_item[key] |= classes
        types = vocabulary.presentation_types
        items = None
        if domain is not None:
            items = tuple((item, frozenset((shared | by_item[item]) & types)) for item in domain)
        return Reading(frozenset(found & types), items)

    def _taken(
        self, relaxation: Relaxation, site: Site, item: Node | None, graph: Graph, prologue: Prologue
    ) -> dict[Node | None, set[Node]] | None:
        """The classes a site's variable can take, by item value (None: beside no item value);
        None: any class."""
        taken = None
        if site.variable in bound_variables(relaxation.relax_or_none(site.bgp)):
            # solutions that leave the variable unbound did not come through this pattern
            taken = relaxation.pairs_of(graph, prologue, site.group, site.variable, item, unbound_ok=True)
        elif site.variable in bound_variables(relaxation.relax_or_none(site.group)):
            taken = relaxation.pairs_of(graph, prologue, site.group, site.variable, item)
        if site.outer is not None:
            outside = relaxation.pairs_of(graph, prologue, site.outer, site.variable, item)
            if outside is not None:
                taken = outside if taken is None else _meet(taken, outside)
        return taken


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


#: The operators above a SELECT query's pattern that shape its own rows.
MODIFIERS = ("SelectQuery", "Distinct", "Reduced", "Project", "OrderBy", "Slice")
#: The variable the rows are grouped by, one group per presentation (kg.engine.facts).
CASE_VARIABLE = Variable("case")


def _top(algebra: CompValue) -> tuple[CompValue, frozenset[int], tuple[Variable, bool] | None]:
    """A SELECT query's pattern, the ids of the modifiers above it, and the variable its rows are
    ordered by first after ``?case`` (with True for DESC), if that is a projected variable and the
    rows are neither sliced nor aggregated (then each value's rows are the rows of the query)."""
    node, chain, conditions, projected, sliced = algebra, set(), [], set(), False
    while isinstance(node, CompValue) and node.name in MODIFIERS:
        chain.add(id(node))
        if node.name == "OrderBy":
            conditions = list(node.expr)
        elif node.name == "Slice":
            sliced = True
        elif node.name == "Project":
            projected = set(node.PV)
        node = node.p
    order = None
    if not sliced and not _aggregates(node):
        for condition in conditions:
            expression = condition.expr if isinstance(condition, CompValue) else condition
            if expression == CASE_VARIABLE:
                continue
            if isinstance(expression, Variable) and expression in projected:
                descending = isinstance(condition, CompValue) and condition.get("order") == "DESC"
                order = (expression, descending)
            break
    return node, frozenset(chain), order


def _aggregates(node: object) -> bool:
    """Whether a pattern groups its own solutions (not a subquery's)."""
    if not isinstance(node, CompValue) or node.name in ("Project", "SelectQuery", "ToMultiSet"):
        return False
    if node.name in ("Group", "AggregateJoin"):
        return True
    return any(_aggregates(node[key]) for key in ("p", "p1", "p2") if key in node)


def _ordered(items: frozenset[Node], descending: bool) -> tuple[Node, ...] | None:
    """Items in the order SPARQL sorts them: IRIs by their characters, numbers by value; None for
    anything else (blank nodes, whose order is the store's, other literals, a mix) or ties."""
    if all(isinstance(item, URIRef) for item in items):
        keys = {item: str(item) for item in items}
    elif all(isinstance(item, Literal) and isinstance(item.toPython(), int | float) for item in items):
        keys = {item: item.toPython() for item in items}
    else:
        return None
    if len(set(keys.values())) != len(keys):
        return None
    return tuple(sorted(items, key=keys.__getitem__, reverse=descending))


def _term(node: Node) -> str:
    """An IRI, blank node or literal as N-Triples spells it (blank node labels are kept on load)."""
    if isinstance(node, URIRef | BNode | Literal):
        return node.n3()
    raise ValueError(f"not an RDF term: {node!r}")


def _node(text: object) -> Node:
    """The term :func:`_term` spelt; raises ValueError for anything else."""
    if isinstance(text, str) and len(text) > 2 and text[0] == "<" and text[-1] == ">":
        return URIRef(text[1:-1])
    if isinstance(text, str) and text.startswith("_:") and len(text) > 2:
        return BNode(text[2:])
    if isinstance(text, str) and text.startswith('"'):
        node = from_n3(text)
        if isinstance(node, Literal):
            return node
    raise ValueError(f"not an IRI, a blank node or a literal: {text!r}")
