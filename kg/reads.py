"""What a case query can read of a presentation, found from the query's algebra: the key its rows are kept by.

The fast path runs the real ``queries/*.rq`` over the closed ontology plus one presentation's
triples, and keeps the rows by what the query can read of a presentation, so that presentations
that agree on that share one run. This module finds out what a query can read from the query
itself (rdflib's algebra of it), soundly: a key may be wider than needed, never narrower. So an
edited query, whatever it now reads, keeps giving the rows the query gives; at worst it runs
more often, and :attr:`QueryReads.reasons` says why.

A presentation P adds these triples (its *facts*) to the closed ontology:

- types: ``P rdf:type C`` for each class of its classification;
- values: ``P p v`` for the property values ``hasValue`` restrictions give it (``hasUrgency``);
- findings: ``P hasFinding i`` and ``i rdf:type C`` for its finding individuals;
- measurements: ``P m "literal"`` for the case's measurements (age, eGFR, ...).

A triple pattern can match a fact only if its predicate can be the fact's: ``rdf:type``, a value
property, a finding property, a measurement property, or a variable. Rows that depend on finding
individuals, measurements or any fact at all are not kept. A type pattern with a variable class
(``?case a ?class``) reads only the classes its group lets that variable take: the group is run
*relaxed* over the closed ontology plus a hypothetical presentation H, with the patterns that
read P's unknown facts dropped, so that the relaxed solutions include every real one. H has the
values the key is taken under (the presentation's own, for the properties the query reads) and
the types every presentation with those values has, so filters that read only those are kept.
That is how recommendations.rq reads only the classes at the presentation's highest urgency: its
``NOT EXISTS`` over a higher urgency value leaves the lower classes out.

Assumed, as the owlrl engine assumes when it closes a case with its variants in one graph: a case
query is a SELECT query that relates one presentation to the ontology, never presentations to
each other.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rdflib import RDF, BNode, Graph, URIRef, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath
from rdflib.plugins.sparql import CUSTOM_EVALS, prepareQuery
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.operators import TrueFilter, and_
from rdflib.plugins.sparql.parserutils import CompValue, Expr
from rdflib.plugins.sparql.sparql import AlreadyBound, FrozenBindings, Prologue, Query, QueryContext
from rdflib.term import Node

#: The hypothetical presentation of the relaxed runs.
HYPOTHETICAL = URIRef("urn:kg:reads/presentation")
#: The algebra node of a relaxed basic graph pattern, matched in an order fit for the bindings
#: it is entered with (:func:`_order`).
ADAPTIVE_BGP = "KgAdaptiveBGP"
#: The algebra node of a join of relaxed parts, matched by hashing (:func:`_evaluate_hash_join`).
HASH_JOIN = "KgHashJoin"
#: The algebra keys that hold graph patterns (everything else of a node is an expression or data).
PATTERN_KEYS = ("p", "p1", "p2")
#: Operators whose solutions carry each input solution's bindings on, at most joined or filtered:
#: a type pattern matters only through the solutions that reach the top of a chain of them.
CHAIN = ("Join", "Filter", "Extend", "Union", "LeftJoin", "Minus")
#: Operators a relaxation copies unchanged apart from their inputs.
RELAXABLE = (
    "Join",
    "Union",
    "Project",
    "Distinct",
    "Reduced",
    "OrderBy",
    "ToMultiSet",
    "Group",
    "SelectQuery",
    "AggregateJoin",
    "values",
)

Values = frozenset[tuple[Node, Node]]


class Unkeyed(Exception):
    """The rows depend on facts no key over the classification covers."""


@dataclass(frozen=True)
class CaseVocabulary:
    """What presentations can add to a graph, read off the classifier."""

    presentation_types: frozenset[Node]  # every class some presentation can have
    instance_types: frozenset[Node]  # every class some finding individual can have
    value_properties: frozenset[Node]
    finding_properties: frozenset[Node]
    measurement_properties: frozenset[Node]
    certain_types: Callable[[Values], frozenset[Node]]  # the types every presentation with these values has

    @property
    def case_predicates(self) -> frozenset[Node]:
        """The predicates of a presentation's facts."""
        return frozenset(
            {RDF.type, *self.value_properties, *self.finding_properties, *self.measurement_properties}
        )


@dataclass(frozen=True)
class Site:
    """A type pattern with a variable class: it reads the classes its group lets the variable take."""

    variable: Variable | BNode
    bgp: CompValue  # the basic graph pattern it is part of
    group: CompValue  # the outermost node its solutions reach unchanged or joined and filtered
    outer: CompValue | None  # inside EXISTS or MINUS: the group outside, when it always binds the variable
    presentation: bool  # its subject is the presentation (its group says so); else it may be a finding


@dataclass
class QueryReads:
    """What one query can read of a presentation."""

    name: str
    values: frozenset[Node] = frozenset()  # the value properties it reads
    classes: frozenset[Node] = frozenset()  # the classes its constant type patterns read
    sites: list[Site] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why its rows are not kept (empty: they are)

    @property
    def keyed(self) -> bool:
        """Whether its rows can be kept by a key over the presentation's classification."""
        return not self.reasons


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
        self._queries[name] = (query, Counter(_variables(query.algebra.p)))
        walk = _Walk(self, reads)
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
        relaxation = _Relaxation(self, certain, values, occurrences, graph, prologue)
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


class _Walk:
    """One pass over a query's algebra, recording what each pattern reads."""

    def __init__(self, analyzer: Analyzer, reads: QueryReads) -> None:
        self._analyzer = analyzer
        self._reads = reads
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
            self.computed |= _computed_with(name, key, part)
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
            reasons.append(f"a pattern with a variable property ({predicate.n3()})")
            return
        vocabulary = self._analyzer.vocabulary
        if predicate == RDF.type or predicate in vocabulary.value_properties:
            self.subjects.add(subject)
        if predicate == RDF.type:
            if isinstance(obj, Variable | BNode):
                keep_outer = outer if obj in correlated else None
                site = Site(obj, bgp, top, keep_outer, self._identifies_presentation(subject, bgp))
                self._reads.sites.append(site)
            elif obj in vocabulary.instance_types:
                reasons.append(f"it reads the classes of finding individuals ({obj.n3()})")
            elif obj in vocabulary.presentation_types:
                self.classes.add(obj)
        elif predicate in vocabulary.value_properties:
            self.values.add(predicate)
        elif predicate in vocabulary.finding_properties:
            reasons.append(f"it reads a presentation's finding individuals ({predicate.n3()})")
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


class _Relaxation:
    """A group with the patterns that read unknown presentation facts dropped, run with rdflib.

    Every solution of the real group (over the closed ontology plus a presentation with H's values)
    is, on the variables the relaxed group binds, a solution of the relaxed one: patterns are
    dropped; a filter is kept only when it reads what H stands for and the variables the relaxed
    group always binds (those of its EXISTS patterns that occur nowhere else excepted); MINUS's
    right side, LIMIT and filters over aggregates, which could remove more under relaxation, go.
    """

    def __init__(
        self,
        analyzer: Analyzer,
        certain: frozenset[Node],
        values: Values,
        occurrences: Counter[Node],
        graph: Graph,
        prologue: Prologue,
    ) -> None:
        self._analyzer = analyzer
        self._certain = certain
        self._values = values
        self._occurrences = occurrences
        self._graph = graph
        self._prologue = prologue
        self._h_reads = 0  # patterns kept that can match H's facts, so far
        self._unreliable: set[Node] = set()
        self._read_types: set[Node] = set()  # H's types the relaxed group can read
        self._read_values: set[Node] = set()  # the value properties of H it can read

    def relax_or_none(self, node: CompValue) -> CompValue | None:
        """The relaxed copy of ``node``, None if it cannot be relaxed."""
        try:
            return self._relax(node)
        except Unkeyed:
            return None

    def values_of(
        self, graph: Graph, prologue: Prologue, group: CompValue, variable: Node, unbound_ok: bool = False
    ) -> frozenset[Node] | None:
        """The values ``variable`` takes in the relaxed group's solutions. None: any value, since a
        solution leaves it unbound (unless ``unbound_ok``: such solutions are left out)."""
        self._unreliable, self._read_types, self._read_values = set(), set(), set()
        try:
            relaxed = self._relax(group)
        except Unkeyed:
            return None
        if variable in self._unreliable:
            return None
        key = (
            id(group),
            frozenset(self._read_types),
            frozenset(pair for pair in self._values if pair[0] in self._read_values),
        )
        solutions = self._analyzer.solutions.get(key)
        if solutions is None:
            context = QueryContext(graph, initBindings={})
            context.prologue = prologue
            solutions = [dict(solution) for solution in evalPart(context, relaxed)]
            self._analyzer.solutions[key] = solutions
        found: set[Node] = set()
        for solution in solutions:
            value = solution.get(variable)
            if value is None:
                if unbound_ok:
                    continue
                return None
            found.add(value)
        return frozenset(found)

    def _relax(self, node: CompValue) -> CompValue:
        name = node.name
        if name == "BGP":
            kept = [t for t in node.triples if not self._analyzer.reads_case(t, self._certain)]
            self._note(kept)
            return CompValue(ADAPTIVE_BGP, triples=kept, _vars=node.get("_vars", set()))
        if name == "Filter":
            inner = self._part(node.p)
            kept = [part for part in conjuncts(node.expr) if self._evaluable(part, inner)]
            return _copy(node, p=inner, expr=and_(*kept)) if kept else inner
        if name in ("Join", "Union"):
            left, right = self._part(node.p1), self._part(node.p2)
            if name == "Join" and set(_variables(node.p1)) & set(_variables(node.p2)) & self._unreliable:
                raise Unkeyed("a join on a relaxed aggregate")
            if name == "Join" and (_kept(left) or _kept(right)):
                return CompValue(HASH_JOIN, p1=left, p2=right, optional=False, _vars=node.get("_vars"))
            return _copy(node, p1=left, p2=right)
        if name == "LeftJoin":
            left, right = self._part(node.p1), self._part(node.p2)
            if _kept(left) or _kept(right):
                return CompValue(HASH_JOIN, p1=left, p2=right, optional=True, _vars=node.get("_vars"))
            return _copy(node, p1=left, p2=right, expr=TrueFilter)
        if name in ("Minus",):
            return self._relax(node.p1)
        if name == "Slice":
            return self._relax(node.p)
        if name == "Extend":
            inner = self._relax(node.p)
            if exists_graphs(node.expr) and not self._evaluable(node.expr, inner):
                self._unreliable.add(node.var)
                return inner
            return _copy(node, p=inner)
        if name == "AggregateJoin":
            inner = self._relax(node.p)
            if self._changed(node.p):  # aggregates over a relaxed group may differ from the real ones
                self._unreliable |= {aggregate.res for aggregate in node.A}
            return _copy(node, p=inner)
        if name == "ToMultiSet":
            return _copy(node, p=self._part(node.p))
        if name in ("Project", "Distinct", "Reduced", "OrderBy", "Group", "SelectQuery"):
            return _copy(node, p=self._relax(node.p))
        if name == "values":
            return node
        raise Unkeyed(name)

    def _part(self, node: CompValue) -> CompValue:
        """The relaxed ``node``, as the solutions it has when it reads nothing of H that depends on
        H's values (a subquery, a side of a join, a filter's input; ``?case a kg:Presentation`` is the
        same for every H): those are found once and kept. SPARQL evaluates a group bottom-up, so
        the kept solutions join and filter as the part would."""
        mark = self._h_reads
        relaxed = self._relax(node)
        if self._h_reads != mark or relaxed.name == "values":
            return relaxed
        if relaxed.name == ADAPTIVE_BGP and len(relaxed.triples) <= 1:
            return relaxed
        key = (id(node), frozenset(self._unreliable))
        kept = self._analyzer.parts.get(key)
        if kept is None:
            context = QueryContext(self._graph, initBindings={})
            context.prologue = self._prologue
            kept = self._analyzer.parts[key] = [dict(solution) for solution in evalPart(context, relaxed)]
        variables = set().union(*kept) if kept else set()
        return CompValue("ToMultiSet", p=CompValue("values", res=kept, _vars=variables), _vars=variables)

    def _note(self, triples: list[tuple]) -> None:
        """Record what of H these kept patterns can match (the key of the relaxed run's solutions)."""
        vocabulary = self._analyzer.vocabulary
        for subject, predicate, obj in triples:
            if not isinstance(subject, Variable | BNode):
                continue
            if predicate == RDF.type and obj in self._certain:
                self._read_types.add(obj)
                if obj not in self._analyzer.always:  # a type every presentation has reads no value
                    self._h_reads += 1
            elif predicate in vocabulary.value_properties:
                self._read_values.add(predicate)
                self._h_reads += 1

    def _changed(self, node: object) -> bool:
        """Whether relaxing ``node`` drops anything: a pattern, a filter or a MINUS."""
        if not isinstance(node, CompValue):
            return False
        if node.name == "BGP":
            return any(self._analyzer.reads_case(t, self._certain) for t in node.triples)
        if node.name in ("Filter", "Minus", "Slice", "LeftJoin", "Extend") or node.name not in RELAXABLE:
            return True
        return any(self._changed(node[key]) for key in PATTERN_KEYS if key in node)

    def _evaluable(self, expression: object, relaxed_input: CompValue) -> bool:
        """Whether a filter gives each relaxed solution the truth it gives the real one."""
        mentioned = expression_variables(expression)
        if mentioned & self._unreliable:
            return False
        own = Counter(_variables(expression))
        local = {v for v in mentioned if own[v] == self._occurrences[v]}  # EXISTS-only variables
        for graph in exists_graphs(expression):
            if not self._reads_only_known(graph):
                return False
        return mentioned - local <= bound_variables(relaxed_input)

    def _reads_only_known(self, node: object) -> bool:
        if not isinstance(node, CompValue):
            return True
        if node.name == "BGP":
            if any(self._analyzer.reads_case(t, self._certain) for t in node.triples):
                return False
            self._note(node.triples)
            return True
        if node.name in ("Graph", "ServiceGraphPattern"):
            return False
        children = [node[key] for key in PATTERN_KEYS if key in node]
        children += [
            graph for key, part in node.items() if key not in PATTERN_KEYS for graph in exists_graphs(part)
        ]
        return all(self._reads_only_known(child) for child in children)


def _evaluate_adaptive(context: QueryContext, part: CompValue) -> Iterator[FrozenBindings]:
    """rdflib's evaluation of a relaxed basic graph pattern (else NotImplementedError: not ours)."""
    if part.name != ADAPTIVE_BGP:
        raise NotImplementedError
    triples = part.triples
    bound = frozenset(
        term for triple in triples for term in triple if _is_variable(term) and context[term] is not None
    )
    orders = part.setdefault("_orders", {})
    if bound not in orders:
        orders[bound] = _order(triples, bound)
    return _matched(context, orders[bound])


def _is_variable(term: object) -> bool:
    return isinstance(term, Variable | BNode)


def _order(triples: list[tuple], bound: frozenset[Node]) -> list[tuple]:
    """The triple patterns in the order they are matched, given the variables bound on entry: each
    time the one with the fewest unbound terms given those bound so far (rdflib orders once, up
    front, and relaxed patterns lose the bound terms that made that order good)."""
    left, ordered, known = list(triples), [], set(bound)
    while left:
        chosen = min(left, key=lambda triple: _cost(triple, known))
        left.remove(chosen)
        ordered.append(chosen)
        known |= {term for term in chosen if _is_variable(term)}
    return ordered


def _matched(context: QueryContext, triples: list[tuple]) -> Iterator[FrozenBindings]:
    """The solutions of triple patterns matched in the order given."""
    if not triples:
        yield context.solution()
        return
    subject, predicate, obj = triples[0]
    rest = triples[1:]
    s, p, o = context[subject], context[predicate], context[obj]
    for ts, tp, to in context.graph.triples((s, p, o)):
        child = context.push() if None in (s, p, o) else context
        try:
            if s is None:
                child[subject] = ts
            if p is None:
                child[predicate] = tp
            if o is None:
                child[obj] = to
        except AlreadyBound:
            continue
        yield from _matched(child, rest)


def _cost(triple: tuple, known: set[Node]) -> int:
    subject, predicate, obj = triple
    unbound = [term for term in triple if _is_variable(term) and term not in known]
    if not unbound:
        return 0
    path = isinstance(predicate, Path)
    free = [term for term in (subject, obj) if _is_variable(term) and term not in known]
    if len(free) == 2:
        return 10_000 if path else 1_000 + 100 * len(unbound)
    return (20 if path else 1) + 10 * len(unbound)


def _kept(node: CompValue) -> bool:
    """Whether a relaxed part is solutions found once and kept (:meth:`_Relaxation._part`)."""
    return node.name == "ToMultiSet" and node.p.name == "values"


def _evaluate_hash_join(context: QueryContext, part: CompValue) -> Iterator[FrozenBindings]:
    """A join (or, ``optional``, a left join without a filter) of two relaxed parts, each evaluated
    once and matched by hashing on the variables both always bind. rdflib's lazy join evaluates
    the right side once per left solution, which for kept solutions is quadratic in clones."""
    if part.name != HASH_JOIN:
        raise NotImplementedError
    return _hash_join(context, part)


def _hash_join(context: QueryContext, part: CompValue) -> Iterator[FrozenBindings]:
    left = [dict(solution) for solution in evalPart(context, part.p1)]
    right = [dict(solution) for solution in evalPart(context, part.p2)]
    shared = set.intersection(*(set(row) for row in left + right)) if left and right else set()
    on = sorted(shared, key=str)
    buckets: dict[tuple, list[dict]] = {}
    for row in right:
        buckets.setdefault(tuple(row[v] for v in on), []).append(row)
    for row in left:
        matched = False
        for other in buckets.get(tuple(row[v] for v in on), ()):
            if all(row.get(v, value) == value for v, value in other.items()):
                matched = True
                yield FrozenBindings(context, {**row, **other})
        if part.optional and not matched:
            yield FrozenBindings(context, row)


CUSTOM_EVALS["kg-relaxed-bgp"] = _evaluate_adaptive
CUSTOM_EVALS["kg-hash-join"] = _evaluate_hash_join


def bound_variables(node: object) -> frozenset[Node]:
    """The variables every solution of graph pattern ``node`` binds (a sound under-estimate)."""
    if not isinstance(node, CompValue):
        return frozenset()
    name = node.name
    if name in ("BGP", ADAPTIVE_BGP):
        return frozenset(term for triple in node.triples for term in triple if isinstance(term, Variable))
    if name == "Join" or (name == HASH_JOIN and not node.optional):
        return bound_variables(node.p1) | bound_variables(node.p2)
    if name in ("LeftJoin", "Minus", HASH_JOIN):
        return bound_variables(node.p1)
    if name == "Union":
        return bound_variables(node.p1) & bound_variables(node.p2)
    if name in ("Filter", "Distinct", "Reduced", "OrderBy", "Slice", "ToMultiSet", "Extend", "Group"):
        return bound_variables(node.p)
    if name in ("Project", "SelectQuery"):
        return bound_variables(node.p) & frozenset(node.PV)
    if name == "values":
        rows = [frozenset(v for v, value in row.items() if value is not None) for row in node.res]
        return frozenset.intersection(*rows) if rows else frozenset()
    return frozenset()


def exists_graphs(expression: object) -> list[CompValue]:
    """The graph patterns of the EXISTS and NOT EXISTS in an expression (not inside them)."""
    return list(_exists_graphs(expression))


def _exists_graphs(expression: object) -> Iterator[CompValue]:
    if isinstance(expression, list | tuple):
        for item in expression:
            yield from _exists_graphs(item)
    elif isinstance(expression, CompValue):
        if expression.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            yield expression.graph
            return
        for key, child in expression.items():
            if not key.startswith("_"):
                yield from _exists_graphs(child)


def expression_variables(expression: object) -> frozenset[Node]:
    """Every variable an expression mentions, in its EXISTS patterns too."""
    return frozenset(_variables(expression))


def _variables(node: object) -> Iterator[Node]:
    """Each mention of a variable (or blank node standing for one) in an algebra subtree."""
    if isinstance(node, Variable):
        yield node
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _variables(item)
    elif isinstance(node, CompValue):
        if node.name in ("BGP", ADAPTIVE_BGP):
            for triple in node.triples:
                yield from (term for term in triple if isinstance(term, Variable | BNode))
            return
        for key, child in node.items():
            if not key.startswith("_"):
                yield from _variables(child)


def _computed_with(name: str, key: str, part: object) -> set[Node]:
    """The variables a node's expression part computes with (a bare variable copies, not computes)."""
    if key in ("PV", "var", "_vars", "res"):
        return set()
    if isinstance(part, Variable):
        return set()
    if isinstance(part, list | tuple):
        return set().union(*(_computed_with(name, key, item) for item in part))
    if isinstance(part, CompValue) and (part.name == "OrderCondition" or part.name.startswith("Aggregate_")):
        inner = part.get("expr", part.get("vars"))
        return set() if isinstance(inner, Variable) else _variables_outside_exists(inner)
    return _variables_outside_exists(part)


def _variables_outside_exists(expression: object) -> set[Node]:
    """The variables an expression computes with, not counting its EXISTS patterns."""
    if isinstance(expression, Variable):
        return {expression}
    if isinstance(expression, list | tuple):
        return set().union(*(_variables_outside_exists(item) for item in expression))
    if isinstance(expression, CompValue):
        if expression.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            return set()
        return set().union(
            *(
                _variables_outside_exists(child)
                for key, child in expression.items()
                if not key.startswith("_")
            )
        )
    return set()


def conjuncts(expression: object) -> list[object]:
    """The operands of a top-level ``&&`` (else the expression itself)."""
    if isinstance(expression, CompValue) and expression.name == "ConditionalAndExpression":
        return [
            part for operand in [expression.expr, *(expression.other or [])] for part in conjuncts(operand)
        ]
    return [expression]


def _copy(node: CompValue, **changes: object) -> CompValue:
    """A copy of an algebra node with some parts replaced."""
    copy = Expr(node.name, **dict(node)) if isinstance(node, Expr) else CompValue(node.name, **dict(node))
    if isinstance(node, Expr):
        copy._evalfn = node._evalfn
    copy.update(changes)
    return copy


def path_predicates(path: Path) -> set[Node]:
    """The IRIs a property path can walk (``rdf:type`` stands in for a negated set: any IRI)."""
    if isinstance(path, SequencePath | AlternativePath):
        parts = path.args
    elif isinstance(path, MulPath):
        parts = [path.path]
    elif isinstance(path, InvPath):
        parts = [path.arg]
    elif isinstance(path, NegatedPath):
        return {RDF.type}
    else:
        return {path}
    found: set[Node] = set()
    for part in parts:
        found |= path_predicates(part) if isinstance(part, Path) else {part}
    return found


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
