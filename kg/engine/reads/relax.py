"""Relaxed runs: a group with the patterns that read a presentation's unknown facts dropped, run by
rdflib over the closed ontology plus a hypothetical presentation, with its basic graph patterns
matched in an order fit for their bindings and its kept parts joined by hashing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from rdflib import RDF, BNode, Graph, Variable
from rdflib.paths import Path
from rdflib.plugins.sparql import CUSTOM_EVALS
from rdflib.plugins.sparql.evaluate import evalPart
from rdflib.plugins.sparql.operators import TrueFilter, and_
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import AlreadyBound, FrozenBindings, Prologue, QueryContext
from rdflib.term import Node

from kg.engine.reads.algebra import (
    ADAPTIVE_BGP,
    HASH_JOIN,
    PATTERN_KEYS,
    bound_variables,
    conjuncts,
    copy_node,
    exists_graphs,
    expression_variables,
    variables,
)
from kg.engine.reads.model import Reader, Unkeyed, Values

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


class Relaxation:
    """A group with the patterns that read unknown presentation facts dropped, run with rdflib.

    Every solution of the real group (over the closed ontology plus a presentation with H's values)
    is, on the variables the relaxed group binds, a solution of the relaxed one: patterns are
    dropped; a filter is kept only when it reads what H stands for and the variables the relaxed
    group always binds (those of its EXISTS patterns that occur nowhere else excepted); MINUS's
    right side, LIMIT and filters over aggregates, which could remove more under relaxation, go.
    """

    def __init__(
        self,
        analyzer: Reader,
        certain: frozenset[Node],
        values: Values,
        occurrences: Counter[Node],
        graph: Graph,
        prologue: Prologue,
        keep: frozenset[Node] = frozenset(),
    ) -> None:
        self._analyzer = analyzer
        self._keep = keep  # variables whose patterns are kept: they stand for ontology terms
        self._certain = certain
        self._values = values
        self._occurrences = occurrences
        self._graph = graph
        self._prologue = self.prologue = prologue
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
        pairs = self.pairs_of(graph, prologue, group, variable, None, unbound_ok)
        return None if pairs is None else frozenset(pairs.get(None, ()))

    def pairs_of(
        self,
        graph: Graph,
        prologue: Prologue,
        group: CompValue,
        variable: Node,
        link: Callable[[dict[Node, Node]], frozenset[Node] | None] | None,
        unbound_ok: bool = False,
    ) -> dict[Node | None, set[Node]] | None:
        """The values ``variable`` takes in the relaxed group's solutions, by the items ``link``
        says each solution can touch (None: any item, or all when there is no ``link``). None:
        any value (as values_of)."""
        solutions = self.solutions(graph, prologue, group)
        if solutions is None or variable in self._unreliable:
            return None
        found: dict[Node | None, set[Node]] = {}
        for solution in solutions:
            value = solution.get(variable)
            if value is None:
                if unbound_ok:
                    continue
                return None
            items = None if link is None else link(solution)
            for item in (None,) if items is None else items:
                found.setdefault(item, set()).add(value)
        return found

    def solutions(self, graph: Graph, prologue: Prologue, group: CompValue) -> list[dict[Node, Node]] | None:
        """The relaxed group's solutions (run once per group and what of H it reads); None if it
        cannot be relaxed. Variables computed from relaxed aggregates are left out."""
        self._unreliable, self._read_types, self._read_values = set(), set(), set()
        try:
            relaxed = self._relax(group)
        except Unkeyed:
            return None
        key = (
            id(group),
            self._keep,
            frozenset(self._read_types),
            frozenset(pair for pair in self._values if pair[0] in self._read_values),
        )
        solutions = self._analyzer.solutions.get(key)
        if solutions is None:
            context = QueryContext(graph, initBindings={})
            context.prologue = prologue
            solutions = [dict(solution) for solution in evalPart(context, relaxed)]
            self._analyzer.solutions[key] = solutions
        if self._unreliable:
            unreliable = self._unreliable
            return [{v: value for v, value in row.items() if v not in unreliable} for row in solutions]
        return solutions

    def _relax(self, node: CompValue) -> CompValue:
        name = node.name
        if name == "BGP":
            kept = [
                t
                for t in node.triples
                if t[0] in self._keep or not self._analyzer.reads_case(t, self._certain)
            ]
            self._note(kept)
            return CompValue(ADAPTIVE_BGP, triples=kept, _vars=node.get("_vars", set()))
        if name == "Filter":
            inner = self._part(node.p)
            kept = [part for part in conjuncts(node.expr) if self._evaluable(part, inner)]
            return copy_node(node, p=inner, expr=and_(*kept)) if kept else inner
        if name in ("Join", "Union"):
            left, right = self._part(node.p1), self._part(node.p2)
            if name == "Join" and set(variables(node.p1)) & set(variables(node.p2)) & self._unreliable:
                raise Unkeyed("a join on a relaxed aggregate")
            if name == "Join" and (_kept(left) or _kept(right)):
                return CompValue(HASH_JOIN, p1=left, p2=right, optional=False, _vars=node.get("_vars"))
            return copy_node(node, p1=left, p2=right)
        if name == "LeftJoin":
            left, right = self._part(node.p1), self._part(node.p2)
            if _kept(left) or _kept(right):
                return CompValue(HASH_JOIN, p1=left, p2=right, optional=True, _vars=node.get("_vars"))
            return copy_node(node, p1=left, p2=right, expr=TrueFilter)
        if name in ("Minus",):
            return self._relax(node.p1)
        if name == "Slice":
            return self._relax(node.p)
        if name == "Extend":
            inner = self._relax(node.p)
            if exists_graphs(node.expr) and not self._evaluable(node.expr, inner):
                self._unreliable.add(node.var)
                return inner
            return copy_node(node, p=inner)
        if name == "AggregateJoin":
            inner = self._relax(node.p)
            if self._changed(node.p):  # aggregates over a relaxed group may differ from the real ones
                self._unreliable |= {aggregate.res for aggregate in node.A}
            return copy_node(node, p=inner)
        if name == "ToMultiSet":
            return copy_node(node, p=self._part(node.p))
        if name in ("Project", "Distinct", "Reduced", "OrderBy", "Group", "SelectQuery"):
            return copy_node(node, p=self._relax(node.p))
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
        key = (id(node), self._keep, frozenset(self._unreliable))
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
        own = Counter(variables(expression))
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
    """Whether a relaxed part is solutions found once and kept (:meth:`Relaxation._part`)."""
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
