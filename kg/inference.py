"""Two engines that give the facts an answer is assembled from, with the same rows.

- :class:`OwlrlEngine`, the normative reference: the case as RDF, owlrl's full OWL 2 RL closure of
  ontology + case, then the SPARQL queries of ``queries/``.
- :class:`CompiledEngine`, the fast path: the classifier compiled from the once-closed ontology
  and the queries tabulated per class (:mod:`kg.compiled`).

A case is a set of presentations: the case itself (``CASE``) and its what-if variants, each a
list of (finding ID, finding class); the measurements belong to the case itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Protocol

from rdflib import Graph, Literal, URIRef
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.cache import Memo
from kg.classifier import Classification, Classifier
from kg.compiled import CompiledQueries, Instance, Row
from kg.namespaces import CASE
from kg.presentation import add_presentation, finding_instance
from kg.queries import QueryLibrary
from kg.reasoning import Reasoner

Findings = Sequence[tuple[str, URIRef]]
#: What-if variants of a case: each presentation, with the one finding (ID, class) it adds.
Variants = Mapping[URIRef, tuple[str, URIRef]]
#: A query result row: rdflib's from SPARQL, or the compiled path's, which reads the same.
QueryRow = ResultRow | Row
#: The queries a presentation's evaluation (kg.recommend) reads.
EVALUATION_QUERIES = ("urgency", "do-not-order", "recommendations", "procedure-rules")
#: Row lists kept by the compiled engine, by query and what the query reads (most recently used).
ROWS_KEPT = 2048
Measurements = Mapping[URIRef, Literal]


class Inference(Protocol):
    """The query rows of a set of classified presentations."""

    def rows(self, query: str, presentation: URIRef) -> list[QueryRow]:
        """The rows of ``queries/{query}.rq`` for one presentation."""
        ...

    def key(self, presentation: URIRef) -> Hashable | None:
        """Presentations with the same non-None key have the same rows of EVALUATION_QUERIES."""
        ...


class Engine(Protocol):
    """Classifies cases and answers the case queries."""

    def prepare(self, given: Findings, measurements: Measurements) -> tuple[list[QueryRow], list[QueryRow]]:
        """The findings the measurements derive (not already given) and the assess-next candidates."""
        ...

    def infer(self, findings: Findings, variants: Variants, measurements: Measurements) -> Inference:
        """Classify the case (``CASE``: ``findings`` and ``measurements``) and its what-if
        ``variants`` (each the case's findings plus one, without the measurements)."""
        ...


class OwlrlEngine:
    """Full owlrl closure of ontology + case per request, then SPARQL: the normative reference."""

    def __init__(self, ontology: Graph, queries: QueryLibrary, reasoner: Reasoner) -> None:
        self._ontology = ontology
        self._queries = queries
        self._reasoner = reasoner

    def prepare(self, given: Findings, measurements: Measurements) -> tuple[list[QueryRow], list[QueryRow]]:
        """derived-findings.rq, then assess-next-candidates.rq, over the ontology plus the case."""
        case = Graph()
        add_presentation(case, CASE, given, measurements)
        asserted = self._ontology + case
        given_ids = {finding for finding, _ in given}
        derivations = [
            row
            for row in self._queries.select("derived-findings", asserted, case=CASE)
            if str(row.id) not in given_ids
        ]
        add_presentation(asserted, CASE, [(str(row.id), row.finding) for row in derivations])
        return derivations, self._queries.select("assess-next-candidates", asserted, case=CASE)

    def infer(self, findings: Findings, variants: Variants, measurements: Measurements) -> Inference:
        """One owlrl closure over the ontology, the case and its variants."""
        graph = Graph()
        add_presentation(graph, CASE, findings, measurements)
        for presentation, added in variants.items():
            add_presentation(graph, presentation, [*findings, added])
        return GraphInference(self._queries, self._reasoner.closure(graph))


class GraphInference:
    """Rows from SPARQL over a closed graph; queries for all presentations run once, grouped."""

    def __init__(self, queries: QueryLibrary, graph: Graph) -> None:
        self._queries = queries
        self.graph = graph
        self._grouped: dict[str, dict[Node, list[QueryRow]]] = {}

    def rows(self, query: str, presentation: URIRef) -> list[QueryRow]:
        """The query's rows for ``presentation``: the case's bound, a variant's from one grouped run."""
        if presentation == CASE:
            return self._queries.select(query, self.graph, case=CASE)
        if query not in self._grouped:
            self._grouped[query] = self._queries.select_by_case(query, self.graph)
        return self._grouped[query].get(presentation, [])

    def key(self, presentation: URIRef) -> None:
        """No sharing: each presentation is queried in its own graph."""
        return None


class CompiledEngine:
    """The classifier and the tabulated queries: answers without re-closing the ontology."""

    def __init__(self, classifier: Classifier, compiled: CompiledQueries) -> None:
        self.classifier = classifier
        self._compiled = compiled
        self._rows = {
            "urgency": compiled.urgency,
            "presentations": compiled.presentations,
            "suspected-conditions": compiled.suspected_conditions,
            "recommendations": compiled.recommendations,
            "procedure-rules": compiled.procedure_rules,
            "do-not-order": compiled.do_not_order,
            "caveats": compiled.caveats,
            "assess-next-completions": compiled.completions,
        }
        self._memo: Memo[list[QueryRow]] = Memo(ROWS_KEPT)

    def prepare(self, given: Findings, measurements: Measurements) -> tuple[list[QueryRow], list[QueryRow]]:
        """The compiled derived-findings.rq and assess-next-candidates.rq."""
        given_ids = {finding for finding, _ in given}
        derivations = [
            row for row in self._compiled.derived_findings(measurements) if str(row.id) not in given_ids
        ]
        classes = [cls for _, cls in given] + [row.finding for row in derivations]
        return derivations, self._compiled.candidates(classes, measurements)

    def infer(self, findings: Findings, variants: Variants, measurements: Measurements) -> Inference:
        """Classify the case by its finding classes, and each variant from the case."""
        return CompiledInference(self, findings, variants, frozenset(measurements))

    def classify(self, findings: Findings, properties: frozenset[URIRef]) -> Classification:
        """The classification of a presentation with ``findings`` and measured ``properties``."""
        return self.classifier.classify([cls for _, cls in findings], properties)

    def rows(self, query: str, classification: Classification) -> list[QueryRow]:
        """The rows of a query that reads only the presentation's classification (cached by what it reads)."""
        key = (query, self._compiled.projection(query, classification))
        rows = self._memo.get(key)
        if rows is None:
            rows = self._memo[key] = self._rows[query](classification)
        return rows

    def evaluation_key(self, classification: Classification) -> Hashable:
        """What a presentation's evaluation (urgency, recommendations, rules, advice) reads."""
        return self._compiled.evaluation_key(classification)

    def justification(
        self, classification: Classification, presentation: URIRef, findings: Findings
    ) -> list[QueryRow]:
        """justification.rq, which also reads the presentation's finding individuals."""
        instances = [
            Instance(finding_instance(presentation, finding), self.classifier.instance_types(cls))
            for finding, cls in findings
        ]
        return self._compiled.justification(classification, instances)


class CompiledInference:
    """The case and its variants, classified by the compiled engine."""

    def __init__(
        self, engine: CompiledEngine, findings: Findings, variants: Variants, measured: frozenset[URIRef]
    ) -> None:
        self._engine = engine
        self._findings = findings
        self._variants = variants
        main = engine.classify(findings, measured)
        unmeasured = engine.classify(findings, frozenset()) if measured else main
        extend = engine.classifier.extend
        self._classifications = {CASE: main}
        for presentation, (_, cls) in variants.items():
            self._classifications[presentation] = extend(unmeasured, (cls,))

    def rows(self, query: str, presentation: URIRef) -> list[QueryRow]:
        """The compiled query's rows for ``presentation``."""
        classification = self._classifications[presentation]
        if query == "justification":
            findings = list(self._findings)
            if presentation != CASE:
                findings.append(self._variants[presentation])
            return self._engine.justification(classification, presentation, findings)
        return self._engine.rows(query, classification)

    def key(self, presentation: URIRef) -> Hashable:
        """What the presentation's evaluation reads of its classification."""
        return self._engine.evaluation_key(self._classifications[presentation])
