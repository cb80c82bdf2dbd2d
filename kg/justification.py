"""The justification chain: finding → axiom → presentation class → urgency → recommendation → sources."""

from __future__ import annotations

from collections import defaultdict, deque
from functools import cache
from typing import TYPE_CHECKING

from rdflib import RDFS, BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.answer import JustificationStep
from kg.namespaces import KG

if TYPE_CHECKING:
    from kg.knowledge_base import KnowledgeBase
    from kg.recommend import AppliedRule, Draft


def explain(
    kb: KnowledgeBase,
    support_rows: list[ResultRow],
    finding_types: dict[str, frozenset[Node]],
    *,
    given: list[str],
    derivations: list[ResultRow],
    presentations: list[ResultRow],
    urgency: str,
    listed: dict[str, list[str]],
    recommendations: list[Draft],
    applied_rules: list[AppliedRule],
) -> list[JustificationStep]:
    """One step per (class, supporting finding): presentation classes first, then procedure rules.

    A presentation class below the answer's urgency level is marked ``outranked``: it is met but
    does not decide the answer (e.g. uncomplicated low back pain under an emergent answer).

    ``support_rows`` are the case's justification.rq rows (class, axiom, filler), met by the
    findings whose individuals ``finding_types`` says are of the filler; ``listed`` maps each
    presentation class at the answer's level to the procedures it recommends.
    """
    render = kb.renderer
    support = _support(render, support_rows, finding_types)
    derived_by = {str(row.id): _derivation(kb, row) for row in derivations}
    urgency_rank = max((int(row.rank) for row in presentations), default=0)
    final = {draft.procedure for draft in recommendations}

    def recommendation(row: ResultRow) -> str | None:
        """The first final recommendation the class lists or holds the place of, at the answer's level."""
        if int(row.rank) != urgency_rank:
            return None
        own = listed.get(str(row.id), [])
        return next(
            (d.procedure for d in recommendations if d.procedure in own or d.presentation == str(row.id)),
            None,
        )

    def axiom(finding: str, definition: BNode, filler: Node, cls: Node) -> str:
        chain = render.axioms(kb.finding_classes[finding], definition, filler, cls)
        return f"{derived_by[finding]}; {chain}" if finding in derived_by else chain

    steps: list[JustificationStep] = []
    for row in presentations:
        for finding, (definition, filler) in support.get(row["class"], {}).items():
            steps.append(
                JustificationStep(
                    finding=finding,
                    presentation=str(row.id),
                    axiom=axiom(finding, definition, filler, row["class"]),
                    urgency=str(row.urgency),
                    recommendation=recommendation(row),
                    sources=kb.sources.get(row["class"], []),
                    outranked=int(row.rank) < urgency_rank,
                )
            )
    for rule in applied_rules:
        for cls in rule.classes:
            for finding, (definition, filler) in support.get(cls, {}).items():
                steps.append(
                    JustificationStep(
                        finding=finding,
                        presentation=render.name(cls),
                        axiom=f"{rule.label}: {axiom(finding, definition, filler, cls)}",
                        urgency=urgency,
                        recommendation=rule.procedure if rule.procedure in final else None,
                        sources=kb.sources.get(rule.rule, []),
                    )
                )
    used = {step.finding for step in steps}
    for finding in [*given, *derived_by]:
        if finding not in used:
            steps.append(
                JustificationStep(
                    finding=finding,
                    presentation="none",
                    axiom=derived_by.get(finding, "")
                    + ("; " if finding in derived_by else "")
                    + "no presentation class or procedure rule is met through this finding in this case",
                    urgency="none",
                    recommendation=None,
                    sources=[],
                )
            )
    return steps


def _support(
    render: Renderer, rows: list[ResultRow], finding_types: dict[str, frozenset[Node]]
) -> dict[Node, dict[str, tuple[BNode, Node]]]:
    """For each class of the case: its supporting findings (in ID order), each with the axiom and
    filler it met.

    A class's own axioms explain it when the case meets one; otherwise the axioms of its subclasses
    do. Among several axioms for one finding, the first by written form wins (blank node labels
    differ between runs).
    """
    candidates: dict[Node, dict[str, list[tuple[BNode, Node]]]] = defaultdict(lambda: defaultdict(list))
    findings = sorted(finding_types)
    for row in rows:
        for finding in findings:
            if row.filler in finding_types[finding]:
                candidates[row["class"]][finding].append((row.definition, row.filler))

    def preference(cls: Node, candidate: tuple[BNode, Node]) -> tuple[bool, str, str]:
        definition, filler = candidate
        own = render.defined(definition) == cls
        return (not own, render.expression(definition), render.name(filler))

    support = {}
    for cls, found in candidates.items():
        own = {
            finding: options
            for finding, options in found.items()
            if any(render.defined(definition) == cls for definition, _ in options)
        }
        support[cls] = {
            finding: min(options, key=lambda c, cls=cls: preference(cls, c))
            for finding, options in sorted((own or found).items())
        }
    return support


def _derivation(kb: KnowledgeBase, row: ResultRow) -> str:
    """How a threshold derived a finding, e.g. ``age 78 at least (>=) 70 gives older-age``."""
    field = next(name for name, prop in kb.case_properties.items() if prop == row.property)
    comparator = kb.renderer.label(row.comparator)
    value, limit = (f"{float(term.toPython()):g}" for term in (row.value, row.limit))
    return f"{field} {value} {comparator} {limit} gives {row.id} ({kb.renderer.name(row.threshold)})"


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
            for parent in graph.objects(node, RDFS.subClassOf):
                if parent not in previous:
                    previous[parent] = node
                    queue.append(parent)
        return (start, target)

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
