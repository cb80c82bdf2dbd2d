"""What the analysis of a case query finds (its reads, the sites of its variable-class type patterns)
and what it assumes presentations can add to a graph."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from rdflib import RDF, BNode, URIRef, Variable
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

#: The hypothetical presentation of the relaxed runs.
HYPOTHETICAL = URIRef("urn:kg:reads/presentation")


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
    scoped: bool = True  # not inside a subquery: its group's variables are the query's own


@dataclass
class QueryReads:
    """What one query can read of a presentation."""

    name: str
    values: frozenset[Node] = frozenset()  # the value properties it reads
    classes: frozenset[Node] = frozenset()  # the classes its constant type patterns read
    sites: list[Site] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why its rows are not kept (empty: they are)
    item: tuple[Variable, ...] = ()  # the variables its rows are ordered by first (after ?case)
    descending: tuple[bool, ...] = ()  # each ordered by DESC
    # read over a case as given (kg.engine.reads.given): the patterns with a variable property on
    # the case, the measurement properties named, the variables holding a measurement's value
    property_sites: list[Site] = field(default_factory=list)
    measured: frozenset[Node] = frozenset()
    measures: frozenset[Node] = frozenset()

    @property
    def keyed(self) -> bool:
        """Whether its rows can be kept by a key over the presentation's classification."""
        return not self.reasons


@dataclass(frozen=True)
class Reading:
    """What a query reads of presentations with one set of values.

    ``classes``: the classes its rows read. ``items``: when its rows are ordered first by one
    variable (``QueryReads.item``), each value that variable can take, in the order the rows give
    them, with the classes the rows of that value read (a few, where ``classes`` may be dozens);
    None when that cannot be told.
    """

    classes: frozenset[Node]
    items: tuple[tuple[Node, frozenset[Node]], ...] | None = None


class Reader(Protocol):
    """What a walk and a relaxation use of the analyzer: the vocabulary, the runs kept so far,
    and whether a pattern can match a presentation's fact."""

    vocabulary: CaseVocabulary
    solutions: dict[tuple[int, Node | None, frozenset, frozenset], list[dict[Node, Node]]]
    parts: dict[tuple[int, Node | None, frozenset], list[dict[Node, Node]]]
    always: frozenset[Node]

    def reads_case(self, triple: tuple, certain: frozenset[Node]) -> bool: ...
