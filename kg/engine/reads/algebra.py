"""Small functions over rdflib's SPARQL algebra: the variables a pattern binds or an expression
reads, EXISTS graphs, conjuncts, property-path predicates, copies with changes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from rdflib import RDF, BNode, Literal, Variable
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, Path, SequencePath
from rdflib.plugins.sparql.parserutils import CompValue, Expr
from rdflib.term import Node

#: The algebra keys that hold graph patterns (everything else of a node is an expression or data).
#: The algebra node of a relaxed basic graph pattern, matched in an order fit for the bindings
#: it is entered with (:func:`_order`).
ADAPTIVE_BGP = "KgAdaptiveBGP"
#: The algebra node of a join of relaxed parts, matched by hashing (:func:`_evaluate_hash_join`).
HASH_JOIN = "KgHashJoin"
PATTERN_KEYS = ("p", "p1", "p2")


#: Operators whose solutions carry each input solution's bindings on, at most joined or filtered:
#: a type pattern matters only through the solutions that reach the top of a chain of them.
CHAIN = ("Join", "Filter", "Extend", "Union", "LeftJoin", "Minus")


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
    return frozenset(variables(expression))


def variables(node: object) -> Iterator[Node]:
    """Each mention of a variable (or blank node standing for one) in an algebra subtree."""
    if isinstance(node, Variable):
        yield node
    elif isinstance(node, list | tuple):
        for item in node:
            yield from variables(item)
    elif isinstance(node, CompValue):
        if node.name in ("BGP", ADAPTIVE_BGP):
            for triple in node.triples:
                yield from (term for term in triple if isinstance(term, Variable | BNode))
            return
        for key, child in node.items():
            if not key.startswith("_"):
                yield from variables(child)


def computed_with(name: str, key: str, part: object) -> set[Node]:
    """The variables a node's expression part computes with (a bare variable copies, not computes)."""
    if key in ("PV", "var", "_vars", "res"):
        return set()
    if isinstance(part, Variable):
        return set()
    if isinstance(part, list | tuple):
        return set().union(*(computed_with(name, key, item) for item in part))
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
        if expression.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS", "Builtin_BOUND"):
            return set()  # (BOUND reads whether a variable is bound, not its value)
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


def copy_node(node: CompValue, **changes: object) -> CompValue:
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


#: The comparisons a measurement's value may take part in for its rows to be kept by its region.
COMPARISONS = ("=", "!=", "<", ">", "<=", ">=")


def compared_only(algebra: CompValue, measures: Counter[Node]) -> bool:
    """Whether the variables holding a case's measurement values (``measures``: each with the
    number of patterns binding it) occur nowhere but in those patterns, in the projection, and as
    one side of a comparison whose other side is a constant or a variable no expression assigns
    (so bound to the ontology). Then two values that compare alike with every number of the
    ontology and the query give the same rows, up to the projected values themselves."""
    mentions: Counter[Node] = Counter()
    assigned: set[Node] = set()
    comparisons: list[tuple[object, object]] = []
    if not _uses(algebra, frozenset(measures), mentions, assigned, comparisons):
        return False
    if any(mentions[variable] != count for variable, count in measures.items()):
        return False  # a measurement variable joins another triple pattern: terms, not values
    for first, second in comparisons:
        other = second if first in measures else first
        if other in measures or other in assigned or isinstance(other, CompValue | list | tuple):
            return False
    return True


def _uses(
    node: object,
    measures: frozenset[Node],
    mentions: Counter[Node],
    assigned: set[Node],
    comparisons: list[tuple[object, object]],
) -> bool:
    """Walk an algebra subtree: count measurement variables in triple patterns, note assigned
    variables and the comparisons a measurement variable is in; False at any other use of one."""
    if isinstance(node, Variable | BNode):
        return node not in measures
    if isinstance(node, list | tuple):
        return all(_uses(item, measures, mentions, assigned, comparisons) for item in node)
    if not isinstance(node, CompValue):
        return True
    if node.name in ("BGP", ADAPTIVE_BGP):
        mentions.update(term for triple in node.triples for term in triple if term in measures)
        return True
    if node.name == "Extend":
        assigned.add(node.var)
    elif node.name == "AggregateJoin":
        assigned.update(aggregate.res for aggregate in node.A)
    if node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):  # (its translated pattern is an attribute)
        return _uses(node.graph, measures, mentions, assigned, comparisons)
    compares = node.name == "RelationalExpression" and node.op in COMPARISONS
    if compares and (node.expr in measures or node.other in measures):
        comparisons.append((node.expr, node.other))
        return True
    for key, child in node.items():
        if key.startswith("_") or key in ("PV", "var"):
            continue
        if not _uses(child, measures, mentions, assigned, comparisons):
            return False
    return True


def literals(node: object) -> Iterator[Literal]:
    """Each literal a query's algebra holds: in its patterns, expressions and VALUES."""
    if isinstance(node, Literal):
        yield node
    elif isinstance(node, list | tuple):
        for item in node:
            yield from literals(item)
    elif isinstance(node, dict) and not isinstance(node, CompValue):
        yield from literals(list(node.values()))
    elif isinstance(node, CompValue):
        if node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
            yield from literals(node.graph)
            return
        if node.name in ("BGP", ADAPTIVE_BGP):
            yield from literals([term for triple in node.triples for term in triple])
            return
        for key, child in node.items():
            if not key.startswith("_"):
                yield from literals(child)
