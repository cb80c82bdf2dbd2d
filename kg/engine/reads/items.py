"""Items: the values of the variables a query's rows are ordered by first, in that order, and
which of them a relaxed solution of a group can touch (kg.engine.reads.analyzer splits a query's
reads by item; kg.engine.blocks keeps rows by block of items)."""

from __future__ import annotations

from functools import cmp_to_key

from rdflib import XSD, BNode, Literal, URIRef, Variable
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node
from rdflib.util import from_n3


class Items:
    """The items of a query split by its first order variable, and which of them a solution of a
    site's group can touch: the items of the query's relaxed solutions it is compatible with.

    A site's group sees the query's own variables (EXISTS substitutes them, joins and MINUS
    compare them), so a row of item i can only come with group solutions compatible with one of
    the query's solutions of item i; one sharing no variable with them touches every item."""

    def __init__(
        self, top: list[dict[Node, Node]], item: tuple[Node, ...], order: tuple[tuple[Node, ...], ...]
    ) -> None:
        self.order = order
        self._top = top
        self._item = item
        self._always = frozenset.intersection(*(frozenset(solution) for solution in top))
        self._indexes: dict[tuple[Node, ...], dict[tuple, list[dict[Node, Node]]]] = {}

    def touched(self, solution: dict[Node, Node]) -> frozenset[tuple[Node, ...]] | None:
        on = tuple(sorted(self._always & solution.keys(), key=str))
        if not on:
            return None
        index = self._indexes.get(on)
        if index is None:
            index = self._indexes[on] = {}
            for row in self._top:
                index.setdefault(tuple(row[v] for v in on), []).append(row)
        matches = index.get(tuple(solution[v] for v in on), ())
        return frozenset(
            tuple(row[v] for v in self._item)
            for row in matches
            if all(row.get(v, value) == value for v, value in solution.items())
        )


#: The operators above a SELECT query's pattern that shape its own rows.
MODIFIERS = ("SelectQuery", "Distinct", "Reduced", "Project", "OrderBy", "Slice")
#: The variable the rows are grouped by, one group per presentation (kg.engine.facts).
CASE_VARIABLE = Variable("case")


#: At most this many leading order variables make an item (more make more, smaller blocks).
ITEM_VARIABLES = 2


def top(algebra: CompValue) -> tuple[CompValue, frozenset[int], list[tuple[Variable, bool]]]:
    """A SELECT query's pattern, the ids of the modifiers above it, and the variables its rows are
    ordered by first after ``?case`` (each with True for DESC): projected variables, while the rows
    are neither sliced nor aggregated (then each item's rows are rows of the query)."""
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
    order: list[tuple[Variable, bool]] = []
    if sliced or aggregates(node):
        return node, frozenset(chain), order
    for condition in conditions:
        expression = condition.expr if isinstance(condition, CompValue) else condition
        if expression == CASE_VARIABLE:
            continue
        if (
            not isinstance(expression, Variable)
            or expression not in projected
            or len(order) == ITEM_VARIABLES
        ):
            break
        order.append((expression, isinstance(condition, CompValue) and condition.get("order") == "DESC"))
    return node, frozenset(chain), order


def aggregates(node: object) -> bool:
    """Whether a pattern groups its own solutions (not a subquery's)."""
    if not isinstance(node, CompValue) or node.name in ("Project", "SelectQuery", "ToMultiSet"):
        return False
    if node.name in ("Group", "AggregateJoin"):
        return True
    return any(aggregates(node[key]) for key in ("p", "p1", "p2") if key in node)


def ordered(
    items: frozenset[tuple[Node, ...]], descending: tuple[bool, ...]
) -> tuple[tuple[Node, ...], ...] | None:
    """Items in the order SPARQL sorts them, component by component: IRIs and strings by their
    characters, numbers by value; None for anything else (blank nodes, whose order is the
    store's, other literals, a mix within a component) or ties."""
    keys = [sort_keys({item[i] for item in items}) for i in range(len(descending))]
    if any(key is None for key in keys) or len(
        {tuple(k[t] for k, t in zip(keys, item, strict=True)) for item in items}
    ) != len(items):
        return None

    def compare(first: tuple[Node, ...], second: tuple[Node, ...]) -> int:
        for key, down, a, b in zip(keys, descending, first, second, strict=True):
            if key[a] != key[b]:
                return (-1 if key[a] < key[b] else 1) * (-1 if down else 1)
        return 0

    return tuple(sorted(items, key=cmp_to_key(compare)))


def sort_keys(terms: set[Node]) -> dict[Node, object] | None:
    """The sort key of each term of one component, or None when SPARQL's order is not told."""
    if all(isinstance(term, URIRef) for term in terms):
        return {term: str(term) for term in terms}
    if all(isinstance(term, Literal) and isinstance(term.toPython(), int | float) for term in terms):
        return {term: term.toPython() for term in terms}
    if all(
        isinstance(term, Literal) and term.datatype in (None, XSD.string) and not term.language
        for term in terms
    ):
        return {term: str(term) for term in terms}
    return None


def item_of(terms: object) -> tuple[Node, ...]:
    """An item of a cached table: a list of terms."""
    if not isinstance(terms, list) or not terms:
        raise ValueError(f"not an item: {terms!r}")
    return tuple(text_term(term) for term in terms)


def term_text(node: Node) -> str:
    """An IRI, blank node or literal as N-Triples spells it (blank node labels are kept on load)."""
    if isinstance(node, URIRef | BNode | Literal):
        return node.n3()
    raise ValueError(f"not an RDF term: {node!r}")


def text_term(text: object) -> Node:
    """The term :func:`term_text` spelt; raises ValueError for anything else."""
    if isinstance(text, str) and len(text) > 2 and text[0] == "<" and text[-1] == ">":
        return URIRef(text[1:-1])
    if isinstance(text, str) and text.startswith("_:") and len(text) > 2:
        return BNode(text[2:])
    if isinstance(text, str) and text.startswith('"'):
        node = from_n3(text)
        if isinstance(node, Literal):
            return node
    raise ValueError(f"not an IRI, a blank node or a literal: {text!r}")
