"""The loaded, queryable state of the service: ontology, queries, vocabularies and the two engines.

This module is where the layers meet (the composition root): it loads the knowledge
(:mod:`kg.knowledge`), builds the engines over it (:mod:`kg.engine`) and answers with the answer
layer (:mod:`kg.answer`), which sees it only through the narrow :class:`kg.answer.knowledge.Knowledge`.
The API, the SPARQL endpoint and the tools use it; nothing below it imports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.term import Node

from kg.answer.axioms import Renderer
from kg.answer.evaluation import Evaluation
from kg.answer.recommend import evaluate, recommend
from kg.config import QUERIES_DIR, Settings
from kg.engine.classifier import Classifier, unsupported_constructs
from kg.engine.compiled import CompiledEngine
from kg.engine.facts import FactStore
from kg.engine.inference import Engine, OwlrlEngine
from kg.knowledge.cache import Memo
from kg.knowledge.derived import Derived
from kg.knowledge.ontology import Ontology, read_modules
from kg.knowledge.queries import QueryLibrary
from kg.knowledge.reasoning import Reasoner
from kg.knowledge.rulebook import RuleBook
from kg.model.answer import Answer
from kg.model.case import Case
from kg.model.namespaces import KG
from kg.model.vocabulary import FindingInfo, FormSection, InputRuleInfo, ProcedureInfo, SourceInfo

log = logging.getLogger(__name__)
#: Evaluations kept, by the keys of their urgency and recommendation rows and the items that apply:
#: about 5,900 distinct ones over 4,000 random cases (each with its what-if variants); 4,096 took the
#: steady p50 from 1.07 to 0.81 ms for about 18 MB (8,192: 0.73 ms for 40 MB).
EVALUATIONS_KEPT = 4096
#: The cached table of what each case query reads (:meth:`kg.engine.reads.Analyzer.table`).
READS_TABLE = "reads"
#: The cached table of what the queries before classification read of a case as given.
GIVEN_TABLE = "given-reads"


@dataclass(frozen=True)
class KnowledgeBase:
    """Ontology + queries + vocabularies; ``recommend`` turns a case into an answer."""

    ontology: Ontology
    closed: Graph
    queries: QueryLibrary
    reasoner: Reasoner
    findings: list[FindingInfo]
    form_sections: list[FormSection]
    procedures: list[ProcedureInfo]
    input_rules: list[InputRuleInfo]
    finding_classes: dict[str, URIRef]
    case_properties: dict[str, URIRef]
    sources: dict[Node, list[str]]
    source_list: list[SourceInfo]
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
            form_sections=derived.form_sections,
            procedures=derived.procedures,
            input_rules=derived.input_rules,
            finding_classes=derived.finding_classes,
            case_properties=derived.case_properties,
            sources=derived.sources,
            source_list=derived.source_list,
            rulebook=derived.rulebook,
            engines=engines,
            default_reasoner=reasoner if reasoner in engines else "owlrl",
            renderer=Renderer(graph),
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> KnowledgeBase:
        """The knowledge base ``settings`` describe; raises OntologyError."""
        return cls.load(
            settings.ontology_dir,
            settings.queries_dir,
            cache_dir=settings.cache_dir,
            reasoner=settings.reasoner,
        )

    def recommend(self, case: Case, reasoner: str | None = None) -> Answer:
        """The answer for ``case`` by ``reasoner`` (default: the loaded default); raises CaseError."""
        return recommend(self, case, self.engines[reasoner or self.default_reasoner])

    def evaluate(self, case: Case, reasoner: str | None = None) -> Evaluation:
        """The case's own evaluation (urgency, recommendations, do-not-order), as :meth:`recommend`
        answers it without the what-if variants and the rest of the answer; raises CaseError."""
        return evaluate(self, case, self.engines[reasoner or self.default_reasoner])


def _cache_tables(derived: Derived, engine: Engine | None, cache_dir: Path | None) -> None:
    """Give the compiled engine what its queries read from the cache; after a fresh build, find it
    all (a few seconds, so that no case waits for it) and cache it with the graphs."""
    if not isinstance(engine, CompiledEngine):
        if derived.tables is None:
            derived.store(cache_dir, {})
        return
    if derived.tables is not None:
        for name, analyzer in ((READS_TABLE, engine.analyzer), (GIVEN_TABLE, engine.given.analyzer)):
            if not analyzer.preload(derived.tables.get(name, [])):
                log.warning("ignoring the cached table %s: it does not fit this knowledge", name)
        return
    if cache_dir is not None:
        engine.warm()
    derived.store(
        cache_dir, {READS_TABLE: engine.analyzer.table(), GIVEN_TABLE: engine.given.analyzer.table()}
    )


def _case_finding_classes(derived: Derived) -> set[URIRef]:
    """The classes a case's findings can have: the vocabulary's and those thresholds derive."""
    graph = derived.ontology.graph
    return set(derived.finding_classes.values()) | set(graph.objects(None, KG.impliesFinding))
