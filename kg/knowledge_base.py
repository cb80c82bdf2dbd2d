"""The loaded, queryable state of the service: ontology, queries and vocabularies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.answer import Answer
from kg.case import Case
from kg.config import QUERIES_DIR
from kg.namespaces import KG
from kg.ontology import Ontology, load_ontology
from kg.queries import QueryLibrary, grouped
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
        sources = {
            resource: [str(row.source) for row in rows]
            for resource, rows in grouped(queries.select("sources", graph), "resource").items()
        }
        return cls(
            ontology=ontology,
            queries=queries,
            reasoner=Reasoner(graph),
            findings=findings,
            procedures=_read_procedures(queries, graph),
            finding_classes=finding_classes,
            case_properties={str(field): prop for prop, field in graph.subject_objects(KG.caseField)},
            sources=sources,
        )

    def recommend(self, case: Case) -> Answer:
        """The answer for ``case``; raises CaseError for an unknown finding."""
        return recommend(self, case)


def _read_findings(queries: QueryLibrary, graph: Graph) -> tuple[list[FindingInfo], dict[str, URIRef]]:
    """The finding vocabulary and each finding's class."""
    by_id = grouped(queries.select("findings", graph), "id")
    findings = [
        FindingInfo(
            id=str(finding_id),
            label=str(rows[0].label),
            definition=str(rows[0].definition or ""),
            snomed=str(rows[0].snomed) if rows[0].snomed else None,
            kinds=sorted({str(row.kind) for row in rows if row.kind is not None}),
        )
        for finding_id, rows in by_id.items()
    ]
    return findings, {str(finding_id): rows[0].finding for finding_id, rows in by_id.items()}


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
