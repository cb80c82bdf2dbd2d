"""The loaded, queryable state of the service: ontology, queries and vocabularies."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.answer import Answer
from kg.case import Case
from kg.config import QUERIES_DIR
from kg.namespaces import KG
from kg.ontology import Ontology, load_ontology
from kg.queries import QueryLibrary
from kg.reasoning import Reasoner
from kg.recommend import recommend
from kg.vocabulary import FindingInfo, ProcedureInfo


@dataclass(frozen=True)
class KnowledgeBase:
    """Ontology + queries + vocabularies; ``recommend`` turns a case into an answer."""

    ontology: Ontology
    queries: QueryLibrary
    reasoner: Reasoner
    findings: list[FindingInfo]
    procedures: list[ProcedureInfo]
    finding_classes: dict[str, URIRef]
    case_properties: dict[str, URIRef]
    sources: dict[Node, list[str]]

    @property
    def version(self) -> str:
        """The content hash of the loaded modules."""
        return self.ontology.version

    @classmethod
    def load(cls, ontology_dir: Path, queries_dir: Path = QUERIES_DIR) -> KnowledgeBase:
        """Load every ``*.ttl`` module of ``ontology_dir``; raises OntologyError."""
        ontology = load_ontology(ontology_dir)
        queries = QueryLibrary(queries_dir)
        graph = ontology.graph
        findings, finding_classes = _read_findings(queries, graph)
        sources: dict[Node, list[str]] = defaultdict(list)
        for row in queries.select("sources", graph):
            sources[row.resource].append(str(row.source))
        return cls(
            ontology=ontology,
            queries=queries,
            reasoner=Reasoner(graph),
            findings=findings,
            procedures=_read_procedures(queries, graph),
            finding_classes=finding_classes,
            case_properties={str(field): prop for prop, field in graph.subject_objects(KG.caseField)},
            sources=dict(sources),
        )

    def recommend(self, case: Case) -> Answer:
        """The answer for ``case``; raises CaseError for an unknown finding."""
        return recommend(self, case)


def _read_findings(queries: QueryLibrary, graph: Graph) -> tuple[list[FindingInfo], dict[str, URIRef]]:
    """The finding vocabulary and each finding's class."""
    first_rows: dict[str, object] = {}
    kinds: dict[str, set[str]] = defaultdict(set)
    for row in queries.select("findings", graph):
        first_rows.setdefault(str(row.id), row)
        if row.kind is not None:
            kinds[str(row.id)].add(str(row.kind))
    findings = [
        FindingInfo(
            id=finding_id,
            label=str(row.label),
            definition=str(row.definition or ""),
            snomed=str(row.snomed) if row.snomed else None,
            kinds=sorted(kinds[finding_id]),
        )
        for finding_id, row in first_rows.items()
    ]
    return findings, {finding_id: row.finding for finding_id, row in first_rows.items()}


def _read_procedures(queries: QueryLibrary, graph: Graph) -> list[ProcedureInfo]:
    """The procedure vocabulary."""
    return [
        ProcedureInfo(
            id=str(row.id),
            label=str(row.label),
            modality=str(row.modality),
            contrast=str(row.contrast),
            radiation_level=str(row.radiationLevel),
            loinc=str(row.loinc) if row.loinc else None,
        )
        for row in queries.select("procedures", graph)
    ]
