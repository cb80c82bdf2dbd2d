"""The ontology's axioms as a clinician reads them: names, class expressions in Manchester syntax,
and the subclass paths from a finding to a presentation class."""

from __future__ import annotations

from collections import deque
from functools import cache

from rdflib import RDFS, BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL
from rdflib.term import Node

from kg.model.namespaces import KG


class Renderer:
    """Names, class expressions (Manchester syntax) and subclass paths as the ontology graph writes
    them; each computed once, since they depend on the graph only."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        self.defined = cache(self._defined)
        self.path = cache(self._path)
        self.name = cache(self._name)
        self.expression = cache(self._expression)
        self.axioms = cache(self._axioms)
        self.label = cache(self._label)

    def _label(self, node: Node) -> str | None:
        """The ``rdfs:label`` of ``node`` (one, if several)."""
        label = self._graph.value(node, RDFS.label)
        return None if label is None else str(label)

    def _axioms(self, finding_class: Node, definition: Node, filler: Node, cls: Node) -> str:
        """How a finding of ``finding_class`` meets ``filler`` of ``definition``, which implies ``cls``."""
        parts = []
        path = self.path(finding_class, filler)
        if len(path) > 1:
            parts.append(" SubClassOf ".join(self.name(node) for node in path))
        defined = self.defined(definition)
        parts.append(f"{self.expression(definition)} SubClassOf {self.name(defined)}")
        if defined != cls:
            parts.append(" SubClassOf ".join(self.name(node) for node in self.path(defined, cls)))
        return "; ".join(parts)

    def _defined(self, definition: Node) -> Node | None:
        """The class a general class axiom's left-hand side is asserted a subclass of."""
        return self._graph.value(definition, RDFS.subClassOf)

    def _path(self, start: Node, target: Node) -> tuple[Node, ...]:
        """The asserted subclass path from ``start`` up to ``target`` (a class, or a union holding one)."""
        graph = self._graph
        union = graph.value(target, OWL.unionOf) if isinstance(target, BNode) else None
        members = set(Collection(graph, union)) if union is not None else set()
        previous: dict[Node, Node | None] = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == target or node in members:
                path: list[Node] = []
                step: Node | None = node
                while step is not None:
                    path.insert(0, step)
                    step = previous[step]
                return tuple(path) if node == target else (*path, target)
            # parents in name order: of two paths as short, the answer names the same one whichever
            # order the graph holds its triples in (a parsed file, or the cache)
            for parent in sorted(graph.objects(node, RDFS.subClassOf), key=self._order):
                if parent not in previous:
                    previous[parent] = node
                    queue.append(parent)
        return (start, target)

    def _order(self, node: Node) -> tuple[bool, str]:
        """Named classes first, by name; then class expressions, as written."""
        return isinstance(node, BNode), self.name(node)

    def _name(self, node: Node) -> str:
        """A class or property as written in the ontology: its local name, or its expression."""
        if isinstance(node, BNode):
            return self.expression(node)
        text = str(node)
        if text.startswith(str(KG)):
            return text[len(str(KG)) :]
        return self._graph.namespace_manager.normalizeUri(node)

    def _expression(self, node: Node) -> str:
        """A class expression in Manchester syntax."""
        graph = self._graph
        if isinstance(node, URIRef):
            return self.name(node)
        if (members := graph.value(node, OWL.intersectionOf)) is not None:
            return " and ".join(self._operand(m) for m in Collection(graph, members))
        if (members := graph.value(node, OWL.unionOf)) is not None:
            return "(" + " or ".join(self._operand(m) for m in Collection(graph, members)) + ")"
        prop = self.name(graph.value(node, OWL.onProperty))
        if (filler := graph.value(node, OWL.someValuesFrom)) is not None:
            return f"{prop} some {self._operand(filler)}"
        if (value := graph.value(node, OWL.hasValue)) is not None:
            return f"{prop} value {self.name(value)}"
        return str(node)

    def _operand(self, node: Node) -> str:
        """An operand of a class expression, parenthesised unless it is a name."""
        text = self.expression(node)
        return text if isinstance(node, URIRef) or text.startswith("(") else f"({text})"
