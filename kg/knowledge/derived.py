"""What loading derives from the modules and queries: the parsed and closed ontology, the
vocabularies and the rule data, cached on disk by content hash (:mod:`kg.knowledge.cache`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.knowledge.cache import load_entry, store_graphs
from kg.knowledge.ontology import Modules, Ontology
from kg.knowledge.queries import QueryLibrary, grouped
from kg.knowledge.reasoning import Reasoner
from kg.knowledge.rulebook import RuleBook
from kg.model.namespaces import KG
from kg.model.vocabulary import FindingInfo, FormSection, InputRuleInfo, ProcedureInfo, SourceInfo

#: The names of the cached graphs: each module's asserted graph, and owlrl's closure of them all.
MODULE_GRAPH = "module/"
CLOSURE_GRAPH = "closure"
#: The code the cached state is derived by: this layer, and the engines (the reads table).
CODE_DIRS = tuple(Path(__file__).resolve().parent.parent / name for name in ("knowledge", "engine"))


@dataclass(frozen=True)
class Derived:
    """What loading derives from the modules and queries (their graphs cached on disk by content hash)."""

    ontology: Ontology
    closed: Graph
    findings: list[FindingInfo]
    form_sections: list[FormSection]
    finding_classes: dict[str, URIRef]
    procedures: list[ProcedureInfo]
    input_rules: list[InputRuleInfo]
    case_properties: dict[str, URIRef]
    sources: dict[Node, list[str]]
    source_list: list[SourceInfo]
    rulebook: RuleBook
    key: str  # the cache key of this content
    tables: dict[str, object] | None  # the cached tables; None: built afresh, not yet cached

    @classmethod
    def build(cls, modules: Modules, queries: QueryLibrary, cache_dir: Path | None) -> Derived:
        """Parse the modules and close the ontology with owlrl, unless ``cache_dir`` holds both for
        this content; then read the vocabularies and the rule data. A fresh build is cached by
        :meth:`store`, once the tables are made."""
        key = _cache_key(modules, queries)
        cached = load_entry(cache_dir, key)
        expected = {*(MODULE_GRAPH + name for name in modules.files), CLOSURE_GRAPH}
        if cached is not None and set(cached.graphs) == expected:
            module_graphs = {name: cached.graphs[MODULE_GRAPH + name] for name in modules.files}
            ontology = Ontology.of(modules, module_graphs)
            closed = cached.graphs[CLOSURE_GRAPH]
            tables: dict[str, object] | None = cached.tables
        else:
            ontology = Ontology.of(modules, modules.parse())
            closed = Reasoner(ontology.graph).closure(Graph())
            tables = None
        graph = ontology.graph
        findings, finding_classes = _read_findings(queries, graph)
        sources = {
            resource: [str(row.source) for row in rows]
            for resource, rows in grouped(queries.select("sources", graph), "resource").items()
        }
        return cls(
            ontology=ontology,
            closed=closed,
            findings=findings,
            form_sections=_read_form_sections(queries, graph),
            finding_classes=finding_classes,
            procedures=_read_procedures(queries, graph),
            input_rules=_read_input_rules(queries, graph, sources),
            case_properties={str(field): prop for prop, field in graph.subject_objects(KG.caseField)},
            sources=sources,
            source_list=[
                SourceInfo(id=str(row.id), citation=str(row.citation or ""))
                for row in queries.select("source-list", graph)
            ],
            rulebook=RuleBook.read(queries, closed, lambda resource: sources.get(resource, [])),
            key=key,
            tables=tables,
        )

    def store(self, cache_dir: Path | None, tables: dict[str, object]) -> None:
        """Cache the graphs of a fresh build, with ``tables``."""
        graphs = {MODULE_GRAPH + name: graph for name, graph in self.ontology.module_graphs.items()}
        store_graphs(cache_dir, self.key, {**graphs, CLOSURE_GRAPH: self.closed}, tables)


def _cache_key(modules: Modules, queries: QueryLibrary) -> str:
    """A hash of everything the derived state depends on: the modules, the queries, the code that
    derives it (this layer and the engines', whose analysis of the queries is cached too) and the
    libraries. An edit elsewhere in kg (the API, the answer's wording) keeps the cache."""
    digest = hashlib.sha256(f"{modules.version}\0{queries.version}\0".encode())
    for folder in CODE_DIRS:
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.relative_to(folder.parent).as_posix().encode() + b"\0" + path.read_bytes())
    for library in ("rdflib", "owlrl", "pydantic"):
        digest.update(package_version(library).encode())
    return digest.hexdigest()[:24]


def _read_findings(queries: QueryLibrary, graph: Graph) -> tuple[list[FindingInfo], dict[str, URIRef]]:
    """The finding vocabulary and each finding's class."""
    by_id = grouped(queries.select("findings", graph), "id")
    form = grouped(queries.select("case-form", graph), "id")
    findings = []
    for finding_id, rows in by_id.items():
        layout = form.get(finding_id, [])
        findings.append(
            FindingInfo(
                id=str(finding_id),
                label=str(rows[0].label),
                definition=str(rows[0].definition or ""),
                snomed=str(rows[0].snomed) if rows[0].snomed else None,
                kinds=sorted({str(row.kind) for row in rows if row.kind is not None}),
                section=str(layout[0].section) if layout and layout[0].section else None,
                synonyms=sorted({str(row.synonym) for row in layout if row.synonym is not None}),
            )
        )
    return findings, {str(finding_id): rows[0].finding for finding_id, rows in by_id.items()}


def _read_form_sections(queries: QueryLibrary, graph: Graph) -> list[FormSection]:
    """The case form's sections, in order (those that show a finding)."""
    sections: dict[str, FormSection] = {}
    for row in queries.select("case-form", graph):
        if row.section is not None:
            sections.setdefault(
                str(row.section), FormSection(id=str(row.section), label=str(row.sectionLabel))
            )
    return list(sections.values())


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


def _read_input_rules(
    queries: QueryLibrary, graph: Graph, sources: dict[Node, list[str]]
) -> list[InputRuleInfo]:
    """The input rules, as a client reads them."""
    return [
        InputRuleInfo(
            id=str(row.id),
            label=str(row.label),
            field=str(row.field),
            message=str(row.message),
            answered_from_urgency=str(row.answeredFrom),
            answered_with=str(row.answeredWith) if row.answeredWith else None,
            sources=sources.get(row.rule, []),
        )
        for row in queries.select("input-rule-list", graph)
    ]
