"""The axioms of a module as lines of Turtle-like text, so that two versions of the ontology compare
by the axioms they state (blank-node class expressions written out), module by module."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import RDF, BNode, Graph, Literal
from rdflib.namespace import NamespaceManager
from rdflib.term import Node


class AxiomWriter:
    """Writes a graph's terms canonically: blank nodes inline as ``[ … ]`` with their predicate-object
    pairs sorted, RDF lists as ``( … )``, IRIs with the given prefixes."""

    def __init__(self, graph: Graph, namespaces: NamespaceManager) -> None:
        self._graph = graph
        self._namespaces = namespaces
        self.reached: set[BNode] = set()  # the blank nodes written so far

    def term(self, node: Node, path: tuple[BNode, ...] = ()) -> str:
        """``node``, with the blank nodes it reaches; ``path``: the blank nodes being written around it."""
        if node == RDF.nil:
            return "()"
        if isinstance(node, Literal):
            return _literal(node, self._namespaces)
        if not isinstance(node, BNode):
            return node.n3(self._namespaces)
        if node in path:
            return "[ … ]"  # a cycle of blank nodes
        self.reached.add(node)
        path = (*path, node)
        members = self._members(node)
        if members is not None:
            return "( " + " ".join(self.term(member, path) for member in members) + " )"
        pairs = sorted(self.pair(p, o, path) for p, o in self._graph.predicate_objects(node))
        return "[ " + " ; ".join(pairs) + " ]"

    def pair(self, predicate: Node, obj: Node, path: tuple[BNode, ...] = ()) -> str:
        """A predicate and its object, as in Turtle (``a`` for rdf:type)."""
        verb = "a" if predicate == RDF.type else predicate.n3(self._namespaces)
        return f"{verb} {self.term(obj, path)}"

    def _members(self, node: Node) -> list[Node] | None:
        """The members of the RDF list starting at ``node``, or None if it is no well-formed list."""
        members: list[Node] = []
        cells: set[BNode] = set()
        while node != RDF.nil:
            pairs = list(self._graph.predicate_objects(node)) if isinstance(node, BNode) else []
            if node in cells or sorted(p for p, _ in pairs) != [RDF.first, RDF.rest]:
                return None
            cells.add(node)
            cell = dict(pairs)
            members.append(cell[RDF.first])
            node = cell[RDF.rest]
        self.reached |= cells
        return members


def _literal(literal: Literal, namespaces: NamespaceManager) -> str:
    """A literal on one line: its quoted lexical form, then its language or datatype."""
    text = json.dumps(str(literal), ensure_ascii=False)
    if literal.language:
        return f"{text}@{literal.language}"
    return f"{text}^^{literal.datatype.n3(namespaces)}" if literal.datatype else text


def axioms(graph: Graph, namespaces: NamespaceManager) -> Counter[str]:
    """The graph's axioms as canonical text: one per triple of a named subject (the blank nodes of its
    object written inline), and one per blank node no triple points to (a general class axiom, whole)."""
    writer = AxiomWriter(graph, namespaces)
    found: Counter[str] = Counter()
    for subject, predicate, obj in graph:
        if not isinstance(subject, BNode):
            found[f"{writer.term(subject)} {writer.pair(predicate, obj)}"] += 1
    blank = {subject for subject in graph.subjects() if isinstance(subject, BNode)}
    for root in blank - set(graph.objects()):
        found[writer.term(root)] += 1
    for orphan in blank - writer.reached:  # in a cycle of blank nodes that no other node points into
        found[writer.term(orphan)] += 1
    return found


def shared_namespaces(graphs: Iterable[Graph]) -> NamespaceManager:
    """One prefix map for both sides, so that an axiom reads the same on either (first binding wins)."""
    namespaces = NamespaceManager(Graph(bind_namespaces="none"), bind_namespaces="none")
    for graph in graphs:
        for prefix, namespace in graph.namespaces():
            namespaces.bind(prefix, namespace, override=False)
    return namespaces


@dataclass(frozen=True)
class ModuleChange:
    """A module's axioms added and removed; status: added, removed, changed or unchanged."""

    status: str
    added: list[str]
    removed: list[str]


def module_changes(old: dict[str, Graph], new: dict[str, Graph]) -> dict[str, ModuleChange]:
    """Each module's change by file name, for every module of either side."""
    namespaces = shared_namespaces([*new.values(), *old.values()])
    changes = {}
    for name in sorted(old.keys() | new.keys()):
        before = axioms(old[name], namespaces) if name in old else Counter()
        after = axioms(new[name], namespaces) if name in new else Counter()
        changes[name] = ModuleChange(
            _status(name in old, name in new, before == after),
            added=sorted((after - before).elements()),
            removed=sorted((before - after).elements()),
        )
    return changes


def _status(in_old: bool, in_new: bool, same: bool) -> str:
    if not in_old:
        return "added"
    if not in_new:
        return "removed"
    return "unchanged" if same else "changed"
