"""The compiled engine: the classifier compiled from the closed ontology, and the real queries.

A presentation is classified by :class:`~kg.engine.classifier.Classifier` (OWL 2 RL over a closed TBox,
as bit sets), and each case query of ``queries/`` runs itself, with pyoxigraph, over the closed
ontology plus the presentation's facts (:mod:`kg.engine.facts`). No query is written again in Python:
the speed comes from keeping rows by what each query can read of a presentation
(:mod:`kg.engine.reads`), so that the ~20 what-if variants of a case, and the cases after it, mostly
find their rows kept. A query whose rows no key covers (it reads finding individuals or
measurements) runs for every presentation that asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from itertools import combinations

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.term import Node

from kg.engine.blocks import KeptRows, Split, names
from kg.engine.classifier import Classification, Classifier
from kg.engine.facts import FactStore, Row, Triple
from kg.engine.given import GivenRows
from kg.engine.inference import PREPARE_QUERIES, Prepared
from kg.engine.presentation import finding_instance
from kg.engine.reads import Analyzer, CaseVocabulary, QueryReads
from kg.engine.reads.given import GivenAnalyzer, given_vocabulary
from kg.knowledge.cache import Memo
from kg.model.namespaces import CASE

Findings = Sequence[tuple[str, URIRef]]
Measurements = Mapping[URIRef, Literal]
#: Row lists kept, by query and key (most recently used). applicable.rq alone takes about 12,000
#: keys over 10,000 random cases; 8,192 in all made a quarter of the case's rows a miss again.
ROWS_KEPT = 32_768
#: :meth:`CompiledEngine.warm` finds the classes a query reads under every set of the values it
#: reads when there are at most this many values (2**8 sets); beyond, each set on first use.
WARM_VALUES_MAX = 8
#: What the queries before classification found, kept by the case as given (its findings and
#: measurements): a case asked again (an EHR's order-select, then order-sign) runs none of them.
PREPARED_KEPT = 4096
#: Blocks of split rows kept (see :class:`Split`): a few dozen per query and values.
BLOCKS_KEPT = 131_072


class QueryKey:
    """The key one query's rows are kept by: what it can read of a presentation's classification.

    That is the bits of the restrictions giving the values it reads, and, under those values, the
    bits of the classes it reads (:meth:`kg.engine.reads.Analyzer.reading`). Presentations with equal
    keys have equal rows. None: the rows are not kept (see ``reads.reasons``). Where the rows are
    ordered by an item, :meth:`split` gives the blocks they are also kept by.
    """

    def __init__(self, reads: QueryReads, analyzer: Analyzer, classifier: Classifier) -> None:
        self.reads = reads
        self._analyzer = analyzer
        self._classifier = classifier
        self.value_bits = 0
        for prop in reads.values:
            self.value_bits |= classifier.value_mask(prop)
        self._by_values: dict[int, tuple[int | None, Split | None]] = {}

    def __call__(self, classification: Classification) -> Hashable | None:
        if not self.reads.keyed:
            return None
        mask = classification.mask
        classes = self._keying(mask & self.value_bits)[0]
        if classes is None:
            return None
        return mask & (self.value_bits | classes)

    def split(self, classification: Classification) -> Split | None:
        """The blocks the rows of presentations with this classification's values are kept by."""
        if not self.reads.keyed:
            return None
        return self._keying(classification.mask & self.value_bits)[1]

    def block_key(self, classification: Classification) -> Callable[[Hashable], Hashable]:
        """The key of a block of this classification's rows, from the class bits its items read."""
        mask, value_bits = classification.mask, self.value_bits
        return lambda bits: mask & (value_bits | bits)  # type: ignore[operator]

    def unsplit(self, classification: Classification) -> None:
        """Stop splitting rows under this classification's values (rows came that the split lacks)."""
        bits = classification.mask & self.value_bits
        self._by_values[bits] = (self._keying(bits)[0], None)

    def _keying(self, bits: int) -> tuple[int | None, Split | None]:
        keying = self._by_values.get(bits)
        if keying is None:
            values = frozenset(
                (prop, value) for prop, value in self._classifier.values_of(bits) if prop in self.reads.values
            )
            reading = self._analyzer.reading(self.reads, values)
            split = None
            if reading is None:
                keying = (None, None)
            else:
                mask_of = self._classifier.mask_of
                if reading.items is not None and self.reads.item:
                    items = [(item, mask_of(classes)) for item, classes in reading.items]
                    split = Split.of(self.reads.item, items)
                keying = (mask_of(reading.classes), split)
            self._by_values[bits] = keying
        return keying

    def warm(self) -> None:
        """Find the classes the query reads under each set of the values it reads, before any case
        needs them (each takes an rdflib run of up to about 0.1 s, kept in the cache)."""
        if not self.reads.keyed:
            return
        read = self.reads.values
        pairs = sorted(
            {(prop, value) for prop, value in self._classifier.values_of(self.value_bits) if prop in read},
            key=str,
        )
        if len(pairs) > WARM_VALUES_MAX:
            return
        for size in range(len(pairs) + 1):
            for values in combinations(pairs, size):
                self._analyzer.reading(self.reads, frozenset(values))

    def facts(self, presentation: Node, key: int) -> list[Triple]:
        """The facts of a presentation with this key that the query can read: its types among the
        classes read, and its values of the properties read. The query gives them the rows it gives
        the whole presentation, since that is all it reads of it; and they run faster."""
        classifier = self._classifier
        facts: list[Triple] = [(presentation, RDF.type, cls) for cls in classifier.classes_of(key)]
        facts += [
            (presentation, prop, value)
            for prop, value in classifier.values_of(key & self.value_bits)
            if prop in self.reads.values
        ]
        return facts


def case_vocabulary(
    classifier: Classifier, finding_classes: Iterable[Node], measured: Iterable[Node]
) -> CaseVocabulary:
    """What presentations can add to a graph: every type a presentation or finding individual can
    have (the classification is monotone, so a presentation with every finding and measurement has
    them all), and the properties of their facts."""
    finding_classes = list(finding_classes)
    measured = frozenset(measured)
    everything = classifier.classify(finding_classes, measured)
    instance_types = frozenset().union(*(classifier.instance_types(cls) for cls in finding_classes))
    return CaseVocabulary(
        presentation_types=everything.types,
        instance_types=instance_types,
        value_properties=classifier.value_properties,
        finding_properties=classifier.finding_properties,
        measurement_properties=frozenset().union(*(classifier.super_properties(p) for p in measured)),
        certain_types=lambda values: classifier.with_values(values).types,
    )


class CompiledEngine:
    """Classifies with the compiled classifier; answers each query by running it, keeping its rows."""

    def __init__(
        self,
        classifier: Classifier,
        closed: Graph,
        store: FactStore,
        texts: Mapping[str, str],
        case_queries: Callable[[str], bool],
        finding_classes: Iterable[Node],
        measured: Iterable[Node],
    ) -> None:
        finding_classes, measured = list(finding_classes), list(measured)
        self.classifier = classifier
        self.store = store
        self.vocabulary = case_vocabulary(classifier, finding_classes, measured)
        self.analyzer = analyzer = Analyzer(closed, self.vocabulary)
        self.keys = {
            name: QueryKey(analyzer.analyse(name, text), analyzer, classifier)
            for name, text in texts.items()
            if name not in PREPARE_QUERIES and case_queries(name)
        }
        self._kept: KeptRows[Row] = KeptRows(ROWS_KEPT, BLOCKS_KEPT)
        self._prepared: Memo[Prepared] = Memo(PREPARED_KEPT)
        given = GivenAnalyzer(closed, given_vocabulary(finding_classes, measured))
        self.given = GivenRows(store, closed, given, texts)

    def warm(self) -> None:
        """Analyse each query under every set of values it reads (see :meth:`QueryKey.warm`), and
        what the queries before classification read of a case as given."""
        for key in self.keys.values():
            key.warm()
        _ = self.given.keys

    @property
    def unkeyed(self) -> dict[str, list[str]]:
        """The queries whose rows are not kept, and why (they run for every presentation)."""
        unkeyed = {name: key.reads.reasons for name, key in self.keys.items() if not key.reads.keyed}
        return unkeyed | self.given.unkeyed

    def prepare(self, given: Findings, measurements: Measurements) -> Prepared:
        """The queries before classification, over the closed ontology plus the case as given;
        kept by the case as given, and each query's rows by what it reads of it (:mod:`kg.engine.given`)."""
        key = (frozenset(given), frozenset(measurements.items()))
        kept = self._prepared.get(key)
        if kept is None:
            kept = self._prepared[key] = self.given.prepare(given, measurements)
        return kept

    def infer(
        self, findings: Findings, variants: Mapping[URIRef, tuple[str, URIRef]], measurements: Measurements
    ) -> CompiledInference:
        """Classify the case and each variant (from the case's classification)."""
        return CompiledInference(self, findings, variants, measurements)

    def classify(self, findings: Findings, properties: frozenset[URIRef]) -> Classification:
        """The classification of a presentation with ``findings`` and measured ``properties``."""
        return self.classifier.classify([cls for _, cls in findings], properties)

    def rows(self, query: str, classification: Classification, findings: Findings = ()) -> list[Row]:
        """The rows of a case query for one presentation (``CASE``, without measurements)."""
        return self.rows_of(query, {CASE: (classification, findings, {})})[CASE]

    def rows_of(
        self, query: str, presentations: Mapping[Node, tuple[Classification, Findings, Measurements]]
    ) -> dict[Node, list[Row]]:
        """The query's rows for each presentation: kept by its key, else assembled from kept
        blocks (:class:`~kg.engine.blocks.Split`), else from one run for all the presentations
        still missing."""
        key_of = self.keys[query]
        found: dict[Node, list[Row]] = {}
        missing: dict[Node, Hashable | None] = {}
        for presentation, (classification, _, _) in presentations.items():
            key = key_of(classification)
            kept = None
            if key is not None:
                kept = self._kept.get(query, key)
                if kept is None:
                    split, block_key = key_of.split(classification), key_of.block_key(classification)
                    kept = self._kept.assemble(query, key, split, block_key)
            if kept is None:
                missing[presentation] = key
            else:
                found[presentation] = kept
        if not missing:
            return found
        facts: list[Triple] = []
        for presentation, key in missing.items():
            if key is None:
                facts += self.facts(presentation, *presentations[presentation])
            else:
                facts += key_of.facts(presentation, key)
        ran = self.store.select_for(query, facts, list(missing))
        for presentation, key in missing.items():
            found[presentation] = rows = ran[presentation]
            if key is None or names(rows, presentation):
                continue
            classification = presentations[presentation][0]
            split = key_of.split(classification)
            block_key = key_of.block_key(classification)
            if not self._kept.keep(query, key, split, block_key, rows, _item_of(split)):
                key_of.unsplit(classification)
        return found

    def key(self, query: str, classification: Classification) -> Hashable | None:
        """The key the query's rows are kept by for this classification (None: not kept)."""
        return self.keys[query](classification)

    def facts(
        self,
        presentation: Node,
        classification: Classification,
        findings: Findings,
        measurements: Measurements,
    ) -> list[Triple]:
        """The presentation's triples in the OWL 2 RL closure, as the classifier derives them."""
        facts: list[Triple] = [(presentation, RDF.type, cls) for cls in classification.types]
        facts += [(presentation, prop, value) for prop, value in classification.values]
        links = self.classifier.finding_properties
        for finding, cls in findings:
            instance = finding_instance(presentation, finding)
            facts += [(presentation, link, instance) for link in links]
            facts += [(instance, RDF.type, t) for t in self.classifier.instance_types(cls)]
        for prop, value in measurements.items():
            facts += [(presentation, p, value) for p in self.classifier.super_properties(prop)]
        return facts


def _item_of(split: Split | None) -> Callable[[Row], tuple]:
    """The item of a row of a split query."""
    return (lambda row: ()) if split is None else split.item_of


class CompiledInference:
    """The case and its variants, classified by the compiled engine."""

    def __init__(
        self,
        engine: CompiledEngine,
        findings: Findings,
        variants: Mapping[URIRef, tuple[str, URIRef]],
        measurements: Measurements,
    ) -> None:
        self._engine = engine
        measured = frozenset(measurements)
        main = engine.classify(findings, measured)
        unmeasured = engine.classify(findings, frozenset()) if measured else main
        self._presentations: dict[Node, tuple[Classification, Findings, Measurements]] = {
            CASE: (main, findings, measurements)
        }
        for presentation, added in variants.items():
            classification = engine.classifier.extend(unmeasured, (added[1],))
            self._presentations[presentation] = (classification, [*findings, added], {})
        self._rows: dict[tuple[str, Node], list[Row]] = {}  # what this case's answer has read

    def classification(self, presentation: Node) -> Classification:
        return self._presentations[presentation][0]

    def rows(self, query: str, presentation: Node) -> list[Row]:
        """The query's rows for ``presentation``."""
        rows = self._rows.get((query, presentation))
        if rows is None:
            chosen = {presentation: self._presentations[presentation]}
            rows = self._rows[query, presentation] = self._engine.rows_of(query, chosen)[presentation]
        return rows

    def prefetch(self, queries: Iterable[str], presentations: Iterable[Node]) -> None:
        """Run each query once for every presentation whose rows are not kept yet."""
        presentations = list(presentations)
        for query in queries:
            chosen = {p: self._presentations[p] for p in presentations if (query, p) not in self._rows}
            if chosen:
                for presentation, rows in self._engine.rows_of(query, chosen).items():
                    self._rows[query, presentation] = rows

    def key(self, presentation: Node, queries: Sequence[str]) -> Hashable | None:
        """The keys of ``queries`` for the presentation (None: one of them is not kept)."""
        classification = self._presentations[presentation][0]
        keys = tuple(self._engine.key(query, classification) for query in queries)
        return None if None in keys else keys

    def finding_types(self, presentation: Node) -> dict[str, frozenset[Node]]:
        """Each finding's individual's types."""
        instance_types = self._engine.classifier.instance_types
        return {finding: instance_types(cls) for finding, cls in self._presentations[presentation][1]}
