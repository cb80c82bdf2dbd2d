"""The loaded, queryable state of the service: ontology, queries, vocabularies and the two engines."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.answer import Answer
from kg.cache import Memo, load_entry, store_graphs
from kg.case import Case
from kg.classifier import Classifier, unsupported_constructs
from kg.compiled import CompiledEngine
from kg.config import QUERIES_DIR, Settings
from kg.facts import FactStore
from kg.inference import Engine, OwlrlEngine
from kg.justification import Renderer
from kg.namespaces import KG
from kg.ontology import Modules, Ontology, read_modules
from kg.queries import QueryLibrary, grouped
from kg.reasoning import Reasoner
from kg.recommend import Evaluation, recommend
from kg.rulebook import RuleBook
from kg.vocabulary import FindingInfo, InputRuleInfo, ProcedureInfo

log = logging.getLogger(__name__)
EVALUATIONS_KEPT = 1024
#: The names of the cached graphs: each module's asserted graph, and owlrl's closure of them all.
MODULE_GRAPH = "module/"
CLOSURE_GRAPH = "closure"
#: The cached table of what each case query reads (:meth:`kg.reads.Analyzer.table`).
READS_TABLE = "reads"
CODE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Derived:
    """What loading derives from the modules and queries (their graphs cached on disk by content hash)."""

    ontology: Ontology
    closed: Graph
    findings: list[FindingInfo]
    finding_classes: dict[str, URIRef]
    procedures: list[ProcedureInfo]
    input_rules: list[InputRuleInfo]
    case_properties: dict[str, URIRef]
    sources: dict[Node, list[str]]
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
            finding_classes=finding_classes,
            procedures=_read_procedures(queries, graph),
            input_rules=_read_input_rules(queries, graph, sources),
            case_properties={str(field): prop for prop, field in graph.subject_objects(KG.caseField)},
            sources=sources,
            rulebook=RuleBook.read(queries, closed, lambda resource: sources.get(resource, [])),
            key=key,
            tables=tables,
        )

    def store(self, cache_dir: Path | None, tables: dict[str, object]) -> None:
        """Cache the graphs of a fresh build, with ``tables``."""
        graphs = {MODULE_GRAPH + name: graph for name, graph in self.ontology.module_graphs.items()}
        store_graphs(cache_dir, self.key, {**graphs, CLOSURE_GRAPH: self.closed}, tables)


@dataclass(frozen=True)
class KnowledgeBase:
    """Ontology + queries + vocabularies; ``recommend`` turns a case into an answer."""

    ontology: Ontology
    closed: Graph
    queries: QueryLibrary
    reasoner: Reasoner
    findings: list[FindingInfo]
    procedures: list[ProcedureInfo]
    input_rules: list[InputRuleInfo]
    finding_classes: dict[str, URIRef]
    case_properties: dict[str, URIRef]
    sources: dict[Node, list[str]]
    rulebook: RuleBook
    engines: dict[str, Engine]
    default_reasoner: str
    renderer: Renderer
    evaluations: Memo[Evaluation] = field(default_factory=lambda: Memo(EVALUATIONS_KEPT))

    @property
    def version(self) -> str:
        """The content hash of the loaded modules."""
        return self.ontology.version

    @cached_property
    def procedures_by_id(self) -> dict[str, ProcedureInfo]:
        """The procedure vocabulary by procedure ID."""
        return {procedure.id: procedure for procedure in self.procedures}

    @cached_property
    def finding_labels(self) -> dict[str, str]:
        """Each finding's label by finding ID."""
        return {finding.id: finding.label for finding in self.findings}

    @cached_property
    def degraded_by(self) -> list[str]:
        """Why answers are slower than the fast path can give them (empty: they are not)."""
        engine = self.engines.get("compiled")
        if engine is None:
            return [f"the compiled engine does not support {', '.join(unsupported_constructs(self.closed))}"]
        return [f"queries/{q}.rq runs for every case: {'; '.join(r)}" for q, r in engine.unkeyed.items()]

    @property
    def reasoners(self) -> list[str]:
        """The engines this ontology can be answered by."""
        return list(self.engines)

    @classmethod
    def load(
        cls,
        ontology_dir: Path,
        queries_dir: Path = QUERIES_DIR,
        *,
        cache_dir: Path | None = None,
        reasoner: str = "compiled",
    ) -> KnowledgeBase:
        """Load every ``*.ttl`` module of ``ontology_dir``; raises OntologyError.

        The closed ontology and the vocabularies come from ``cache_dir`` when the modules, the
        queries and this code are unchanged. ``reasoner`` names the default engine; the compiled
        one falls back to owlrl for an ontology using constructs its classifier does not compile.
        """
        modules = read_modules(ontology_dir)
        queries = QueryLibrary(queries_dir)
        derived = Derived.build(modules, queries, cache_dir)
        graph = derived.ontology.graph
        reasoning = Reasoner(graph)
        store = FactStore(derived.closed, queries.texts)
        engines: dict[str, Engine] = {"owlrl": OwlrlEngine(store, queries.texts, reasoning)}
        unsupported = unsupported_constructs(derived.closed)
        if unsupported:
            log.warning("the compiled reasoner does not support %s: using owlrl", ", ".join(unsupported))
        else:
            classifier = Classifier(derived.closed, KG.Presentation, KG.hasFinding)
            engines["compiled"] = CompiledEngine(
                classifier,
                derived.closed,
                store,
                queries.texts,
                case_queries=lambda name: queries.selects(name, "case"),
                finding_classes=_case_finding_classes(derived),
                measured=derived.case_properties.values(),
            )
        _cache_tables(derived, engines.get("compiled"), cache_dir)
        return cls(
            ontology=derived.ontology,
            closed=derived.closed,
            queries=queries,
            reasoner=reasoning,
            findings=derived.findings,
            procedures=derived.procedures,
            input_rules=derived.input_rules,
            finding_classes=derived.finding_classes,
            case_properties=derived.case_properties,
            sources=derived.sources,
            rulebook=derived.rulebook,
            engines=engines,
            default_reasoner=reasoner if reasoner in engines else "owlrl",
            renderer=Renderer(graph),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> KnowledgeBase:
        """The knowledge base ``settings`` describe; raises OntologyError."""
        return cls.load(settings.ontology_dir, cache_dir=settings.cache_dir, reasoner=settings.reasoner)

    def recommend(self, case: Case, reasoner: str | None = None) -> Answer:
        """The answer for ``case`` by ``reasoner`` (default: the loaded default); raises CaseError."""
        return recommend(self, case, self.engines[reasoner or self.default_reasoner])


def _cache_tables(derived: Derived, engine: Engine | None, cache_dir: Path | None) -> None:
    """Give the compiled engine what its queries read from the cache; after a fresh build, find it
    all (a few seconds, so that no case waits for it) and cache it with the graphs."""
    if not isinstance(engine, CompiledEngine):
        if derived.tables is None:
            derived.store(cache_dir, {})
        return
    if derived.tables is not None:
        if not engine.analyzer.preload(derived.tables.get(READS_TABLE, [])):
            log.warning("ignoring the cached table of what the queries read: it does not fit this knowledge")
        return
    if cache_dir is not None:
        engine.warm()
    derived.store(cache_dir, {READS_TABLE: engine.analyzer.table()})


def _cache_key(modules: Modules, queries: QueryLibrary) -> str:
    """A hash of everything the derived state depends on: modules, queries, this code, the libraries."""
    digest = hashlib.sha256(f"{modules.version}\0{queries.version}\0".encode())
    for path in sorted(CODE_DIR.rglob("*.py")):
        digest.update(path.read_bytes())
    for library in ("rdflib", "owlrl", "pydantic"):
        digest.update(package_version(library).encode())
    return digest.hexdigest()[:24]


def _case_finding_classes(derived: Derived) -> set[URIRef]:
    """The classes a case's findings can have: the vocabulary's and those thresholds derive."""
    graph = derived.ontology.graph
    return set(derived.finding_classes.values()) | set(graph.objects(None, KG.impliesFinding))


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
