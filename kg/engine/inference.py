"""Two engines that give the rows an answer is assembled from, the same rows.

- :class:`OwlrlEngine`, the normative reference: the case as RDF, owlrl's full OWL 2 RL closure of
  ontology + case, then the SPARQL queries of ``queries/`` over that closure.
- :class:`~kg.engine.compiled.CompiledEngine`, the fast path: the classifier compiled from the
  once-closed ontology, then the same queries over its classification, their rows kept by what
  each reads. Both run the query texts with pyoxigraph (:mod:`kg.engine.facts`): they differ in how they
  reason, not in how they evaluate SPARQL.

A case is a set of presentations: the case itself (``CASE``) and its what-if variants, each a
list of (finding ID, finding class); the measurements belong to the case itself. Both engines
run the queries that come before classification (derived findings, assess-next candidates) over
the closed ontology plus the case as given.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.engine.facts import ClosureStore, FactStore, Row, Triple
from kg.engine.presentation import add_presentation, finding_id_of
from kg.knowledge.reasoning import Reasoner
from kg.model.namespaces import CASE, KG

Findings = Sequence[tuple[str, URIRef]]
#: What-if variants of a case: each presentation, with the one finding (ID, class) it adds.
Variants = Mapping[URIRef, tuple[str, URIRef]]
#: A query result row: rdflib's from its SPARQL, or the compiled engine's, which reads the same.
QueryRow = ResultRow | Row
#: The queries a presentation's evaluation (kg.answer.recommend) reads: it is kept by the first
#: two's keys and the items of the last's rows.
EVALUATION_QUERIES = ("urgency", "recommendations", "applicable")
Measurements = Mapping[URIRef, Literal]


class Inference(Protocol):
    """The query rows of a set of classified presentations."""

    def rows(self, query: str, presentation: URIRef) -> list[QueryRow]:
        """The rows of ``queries/{query}.rq`` for one presentation."""
        ...

    def key(self, presentation: URIRef, queries: Sequence[str]) -> Hashable | None:
        """Presentations with the same non-None key have the same rows of ``queries``."""
        ...

    def prefetch(self, queries: Iterable[str], presentations: Iterable[URIRef]) -> None:
        """Get the rows of ``queries`` for ``presentations`` ready, at once where that is cheaper."""
        ...

    def finding_types(self, presentation: URIRef) -> dict[str, frozenset[Node]]:
        """The types of each finding individual of the presentation, by finding ID."""
        ...


@dataclass(frozen=True)
class Prepared:
    """What the queries before classification find, over the closed ontology plus the case as given."""

    derivations: tuple[QueryRow, ...]  # derived-findings.rq: findings the measurements derive, not given
    candidates: tuple[QueryRow, ...]  # assess-next-candidates.rq
    input_rules: tuple[QueryRow, ...]  # input-rules.rq: scope and contradiction rules the case meets


class Engine(Protocol):
    """Classifies cases and answers the case queries."""

    def prepare(self, given: Findings, measurements: Measurements) -> Prepared:
        """The derived findings, the assess-next candidates and the input rules the case meets."""
        ...

    def infer(self, findings: Findings, variants: Variants, measurements: Measurements) -> Inference:
        """Classify the case (``CASE``: ``findings`` and ``measurements``) and its what-if
        ``variants`` (each the case's findings plus one, without the measurements)."""
        ...


#: The queries :func:`prepare` runs before classifying, over the closed ontology plus the case as given.
PREPARE_QUERIES = ("derived-findings", "assess-next-candidates", "input-rules")


#: A query's rows for a case as given: ``rows(query, findings, measurements)``.
GivenQuery = Callable[[str, Findings, Measurements], Sequence[QueryRow]]


def prepare(rows: GivenQuery, given: Findings, measurements: Measurements) -> Prepared:
    """derived-findings.rq, then assess-next-candidates.rq and input-rules.rq with the derived
    findings added, over the closed ontology plus the case as given (both engines: no reasoning
    over the case is involved). ``rows`` runs a query or finds its rows kept (kg.engine.given)."""
    given_ids = {finding for finding, _ in given}
    derived = rows(PREPARE_QUERIES[0], given, measurements)
    derivations = [row for row in derived if str(row.id) not in given_ids]
    findings = [*given, *((str(row.id), row.finding) for row in derivations)]
    candidates = rows(PREPARE_QUERIES[1], findings, measurements)
    input_rules = rows(PREPARE_QUERIES[2], findings, measurements)
    return Prepared(tuple(derivations), tuple(candidates), tuple(input_rules))


def run_given(store: FactStore) -> GivenQuery:
    """Rows of a query run over the closed ontology plus the case as given."""
    return lambda query, findings, measurements: store.select(
        query, asserted_facts(CASE, findings, measurements), CASE
    )


def asserted_facts(presentation: URIRef, findings: Findings, measurements: Measurements) -> list[Triple]:
    """A presentation as the case gives it, before reasoning (as kg.engine.presentation.add_presentation)."""
    graph = Graph()
    add_presentation(graph, presentation, findings, measurements)
    return list(graph)


class OwlrlEngine:
    """Full owlrl closure of ontology + case per request, then the queries: the normative reference."""

    def __init__(self, store: FactStore, texts: Mapping[str, str], reasoner: Reasoner) -> None:
        self._store = store
        self._texts = texts
        self._reasoner = reasoner

    def prepare(self, given: Findings, measurements: Measurements) -> Prepared:
        """The queries before classification, over the closed ontology plus the case."""
        return prepare(run_given(self._store), given, measurements)

    def infer(self, findings: Findings, variants: Variants, measurements: Measurements) -> Inference:
        """One owlrl closure over the ontology, the case and its variants."""
        graph = Graph()
        add_presentation(graph, CASE, findings, measurements)
        for presentation, added in variants.items():
            add_presentation(graph, presentation, [*findings, added])
        return GraphInference(self._texts, self._reasoner.closure(graph))


class GraphInference:
    """Rows of the queries over a closed graph, each query run once for all its presentations."""

    def __init__(self, texts: Mapping[str, str], graph: Graph) -> None:
        self.graph = graph
        self._store = ClosureStore(graph, texts)

    def rows(self, query: str, presentation: URIRef) -> list[QueryRow]:
        """The query's rows for ``presentation``."""
        return self._store.rows(query, presentation)

    def key(self, presentation: URIRef, queries: Sequence[str]) -> None:
        """No sharing: each presentation is queried in its own graph."""
        return None

    def prefetch(self, queries: Iterable[str], presentations: Iterable[URIRef]) -> None:
        """Nothing to do: each query runs once for all presentations anyway."""

    def finding_types(self, presentation: URIRef) -> dict[str, frozenset[Node]]:
        """Each finding individual's types in the closure."""
        graph = self.graph
        found = {}
        for instance in graph.objects(presentation, KG.hasFinding):
            found[finding_id_of(instance)] = frozenset(graph.objects(instance, RDF.type))
        return found
