"""What a query run before classification reads of a case as given: which of its findings, which
of its measurements, and how.

The queries of :data:`kg.engine.inference.PREPARE_QUERIES` (derived findings, assess-next
candidates, input rules) run over the closed ontology plus the case as given: ``P a
kg:Presentation``, ``P kg:hasFinding i`` and ``i a F`` for each finding (its one asserted class),
``P m v`` for each measurement. Distinct cases rarely share all of that, but the rows of one item
of such a query (one rule, one candidate finding) read a few finding classes and measurements; so
rows are kept as for a classified presentation (:mod:`kg.engine.reads`), by item, with the key made
of the case's findings among the classes the item's rows can read and its measurements of the
properties they can read.

Sound because of the case's shape: a finding individual has one class, so a pattern that reads
a finding link through the class of its individual (``?case kg:hasFinding ?i . ?i a ?given``) can
only match findings whose class the group lets ``?given`` take; a link read without its class
would see every finding, and such a query is not kept. A measurement is read through its property
(named, or a variable the group lets take it). Its value is keyed by its *region* when the query
only compares it with constants and ontology terms (:func:`kg.engine.reads.algebra.compared_only`):
values on the same side of every number of the ontology and the query give the same rows, apart
from the value itself where the query projects it (``carried``: the engine puts the case's own in).
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import RDF, BNode, Graph, Variable
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from kg.engine.reads.algebra import compared_only, variables
from kg.engine.reads.analyzer import Analyzer, share
from kg.engine.reads.model import CaseVocabulary, QueryReads, Reading, Values
from kg.engine.reads.walk import Walk
from kg.model.namespaces import KG


def given_vocabulary(finding_classes: Iterable[Node], measured: Iterable[Node]) -> CaseVocabulary:
    """What a case as given adds to a graph."""
    presentation = frozenset({KG.Presentation})
    return CaseVocabulary(
        presentation_types=presentation,
        instance_types=frozenset(finding_classes),
        value_properties=frozenset(),
        finding_properties=frozenset({KG.hasFinding}),
        measurement_properties=frozenset(measured),
        certain_types=lambda _values: presentation,
    )


class GivenAnalyzer(Analyzer):
    """An :class:`Analyzer` of what queries read of a case as given. A reading's classes are the
    finding classes and the measurement properties the rows (of an item) can read."""

    GIVEN = True

    def __init__(self, closed: Graph, vocabulary: CaseVocabulary) -> None:
        super().__init__(closed, vocabulary)
        self.regions: dict[str, bool] = {}  # whether each query's measurement values are keyed by region
        self.carried: dict[str, frozenset[str]] = {}  # the projected measurement variables of each

    @property
    def readable(self) -> frozenset[Node]:
        return self.vocabulary.instance_types | self.vocabulary.measurement_properties

    def _walked(self, query: Query, reads: QueryReads, walk: Walk) -> None:
        for obj, bgp in walk.links:
            typed = isinstance(obj, Variable | BNode) and any(
                s == obj and p == RDF.type for s, p, _ in bgp.triples
            )
            if not typed:
                reads.reasons.append(f"it reads a finding individual without its class ({obj.n3()})")
        reads.measured = frozenset(walk.measured)
        reads.measures = frozenset(walk.measures)
        self.regions[reads.name] = compared_only(query.algebra, walk.measures)
        projected = (
            frozenset(query.algebra.PV) if "PV" in query.algebra else frozenset(variables(query.algebra))
        )
        self.carried[reads.name] = frozenset(str(v) for v in walk.measures if v in projected)

    def _narrowed(
        self, reads: QueryReads, values: Values, graph: Graph, certain: frozenset[Node]
    ) -> Reading | None:
        """The finding classes and measurement properties each site lets its variable take, by item."""
        vocabulary = self.vocabulary
        relaxation, items = self._split(reads, values, graph, certain)
        findings, measurements = vocabulary.instance_types, vocabulary.measurement_properties
        shared = set(reads.classes & findings) | set(reads.measured)
        by_item: dict[Node, set[Node]] = {item: set() for item in items.order} if items else {}
        sites = [(site, False) for site in reads.sites] + [(site, True) for site in reads.property_sites]
        for site, of_property in sites:
            taken = self._taken(relaxation, site, items if site.scoped else None, graph)
            if taken is None:
                taken = {None: {RDF.type, KG.hasFinding} | measurements if of_property else set(findings)}
            read: dict[Node | None, set[Node]] = {}
            for key, terms in taken.items():
                if not of_property:
                    read[key] = set(terms & findings)
                elif terms & {RDF.type, KG.hasFinding}:  # a finding link or class, whichever
                    read[key] = set(terms & measurements) | findings
                else:
                    read[key] = set(terms & measurements)
            share(read, shared, by_item)
        everything = frozenset(shared.union(*by_item.values()))
        split = None if items is None else tuple((i, frozenset(shared | by_item[i])) for i in items.order)
        return Reading(everything, split)
