"""The case queries of ``queries/``, compiled: what each reads from the ontology is tabulated at load.

Every function of :class:`CompiledQueries` mirrors one ``.rq`` file and returns the rows the query
would return for one presentation, without its ``?case`` column, in the query's order. What a
query reads from the ontology (recommendations per class, rules, advice, caveats, class
definitions) is read once from the closed ontology; what it reads from a case (the
presentation's classes and urgency levels, its finding individuals) comes from the
:class:`~kg.classifier.Classification`. The differential tests hold each mirror to its query.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import product

from rdflib import OWL, RDF, RDFS, SKOS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from kg.classifier import Classification, Classifier
from kg.namespaces import KG

#: The queries this module mirrors, by a hash of the text (queries.QueryLibrary.digests) each mirror
#: was written for and held to by tests/test_differential.py. A query edited since disables the
#: compiled engine (kg.knowledge_base) until its mirror is updated.
MIRRORED = {
    "assess-next-candidates": "6b9e17637406646b",
    "assess-next-completions": "9440590dc8ff7209",
    "caveats": "867c26b0afb519a4",
    "derived-findings": "ca261435c2a912c6",
    "do-not-order": "67121036fb07f3a5",
    "justification": "cb9453068f3d3977",
    "presentations": "c2f430f2365d9e54",
    "procedure-rules": "ef371746aa2c4875",
    "recommendations": "7f24b45c85033a0c",
    "suspected-conditions": "18a9584c7fe27360",
    "urgency": "8bff9a849f141606",
}

#: The presentation's property values each mirror reads (besides its classes).
VALUES_READ = {
    "suspected-conditions": (KG.hasSuspectedCondition,),
    "recommendations": (KG.hasUrgency,),
    "do-not-order": (KG.hasUrgency,),
    "caveats": (KG.hasUrgency,),
    "assess-next-completions": (KG.hasUrgency,),
}

#: The comparators of derived-findings.rq.
COMPARATORS: dict[Node, Callable[[object, object], bool]] = {
    KG["at-least"]: operator.ge,
    KG.above: operator.gt,
    KG.below: operator.lt,
    KG["at-most"]: operator.le,
}
_TERM_ORDER = {BNode: 10, URIRef: 30, Literal: 40}


def row(values: Mapping[str, Node | None]) -> Row:
    """A query result row with the given bindings (None: unbound).

    It reads like rdflib's ResultRow (``row.name``, ``row["name"]``, ``asdict()``), with each
    variable a slot: attribute access costs what a plain object's does.
    """
    instance = _row_type(tuple(values))()
    for name, value in values.items():
        object.__setattr__(instance, name, value)
    return instance


class Row:
    """A compiled query's result row; :func:`row` makes them."""

    __slots__ = ()
    labels: dict[str, int]

    def __getitem__(self, name: str) -> Node | None:
        return getattr(self, name)

    def asdict(self) -> dict[str, Node]:
        """The bound variables, by name."""
        return {name: getattr(self, name) for name in self.labels if getattr(self, name) is not None}

    def __repr__(self) -> str:
        return f"Row({', '.join(f'{name}={getattr(self, name)!r}' for name in self.labels)})"


@cache
def _row_type(names: tuple[str, ...]) -> type[Row]:
    """The row type for one query's variables."""
    return type("Row", (Row,), {"__slots__": names, "labels": {n: i for i, n in enumerate(names)}})


def sort_key(*terms: Node | None) -> tuple:
    """SPARQL ORDER BY as rdflib sorts: unbound first, then blank nodes, IRIs, literals by value."""
    return tuple((0, "") if term is None else (_TERM_ORDER[type(term)], _value(term)) for term in terms)


@lru_cache(maxsize=4096)
def _term_key(term: Node) -> tuple:
    """``sort_key`` of one IRI or blank node (justification.rq's sort terms), computed once."""
    return sort_key(term)


def _value(term: Node) -> object:
    return term.toPython() if isinstance(term, Literal) else str(term)


def _descending(term: Node) -> object:
    """A key component that sorts numeric literal ``term`` in descending order."""
    return -term.toPython()


@dataclass(frozen=True)
class Instance:
    """A finding individual of a presentation."""

    node: URIRef
    types: frozenset[Node]


class CompiledQueries:
    """The case queries over a closed ontology, tabulated once."""

    def __init__(self, asserted: Graph, closed: Graph, classifier: Classifier) -> None:
        self._asserted = asserted
        self._graph = closed
        g = closed
        self._rank = {level: rank for level, rank in g.subject_objects(KG.rank)}
        self._levels = {
            cls: self._restriction_values(cls, KG.hasUrgency)
            for cls in {s for s, _ in g.subject_objects(RDFS.subClassOf)}
        }
        self._urgency_classes = self._tabulate_urgency()
        self._presentation_rows = self._tabulate_presentations()
        self._conditions = self._tabulate_conditions()
        self._recommendations = self._tabulate_recommendations()
        self._rules = self._tabulate_rules()
        self._advice = self._tabulate_advice()
        self._caveats = self._tabulate_caveats()
        self._definitions = self._tabulate_definitions()
        self._completions = self._tabulate_completions()
        self._thresholds = self._tabulate_thresholds()
        self._suggestible = self._tabulate_suggestible()
        self._implied = lru_cache(maxsize=None)(self._implied_by)
        self._definition_bits = [
            (
                classifier.mask_of([definition]),
                definition,
                fillers,
                [(classifier.mask_of([cls]), cls) for cls in supers],
            )
            for definition, (fillers, supers) in self._definitions.items()
        ]
        self.reads = self._classes_read()
        self._read_masks = {query: classifier.mask_of(classes) for query, classes in self.reads.items()}
        for query, properties in VALUES_READ.items():
            for prop in properties:
                self._read_masks[query] |= classifier.value_mask(prop)
        self._evaluation_masks = self._evaluation_reads(classifier)
        self._urgency_bits = self._urgency_restrictions(classifier)
        self._completions_read = self._completion_reads(classifier)

    def _classes_read(self) -> dict[str, frozenset[Node]]:
        """Per query: the classes whose membership its rows depend on (besides the urgency levels)."""
        return {
            "urgency": frozenset(self._urgency_classes),
            "presentations": frozenset(self._presentation_rows),
            "suspected-conditions": frozenset(cls for cls, rows in self._conditions.items() if rows),
            "recommendations": frozenset(self._recommendations),
            "procedure-rules": frozenset(self._rules),
            "do-not-order": frozenset().union(
                *(classes | exceptions for _, _, classes, _, exceptions in self._advice)
            ),
            "caveats": frozenset(
                v["class"] for rows, _ in self._caveats for v in rows if v["class"] is not None
            ),
            "assess-next-completions": frozenset(
                node
                for definition, restriction, _, _ in self._completions
                for node in (definition, restriction)
            ),
        }

    def projection(self, query: str, c: Classification) -> Hashable:
        """What the rows of ``query`` read from ``c``: equal projections give equal rows.

        That is the classes it reads, and the restrictions that give ``c`` its values of the
        properties the queries read (urgency levels; suspected conditions).
        """
        if query == "assess-next-completions":
            return self._at_top_rank(c.mask, self._completions_read)
        return c.mask & self._read_masks[query]

    def _evaluation_reads(self, classifier: Classifier) -> dict[int | None, int]:
        """Per top urgency rank (None: no urgency): the classes the evaluation queries read there.

        urgency.rq, procedure-rules.rq and do-not-order.rq read the same classes at every rank;
        recommendations.rq only the classes with a recommendation at that rank or above.
        """
        queries = ("urgency", "procedure-rules", "do-not-order")
        common = classifier.mask_of(frozenset().union(*(self.reads[query] for query in queries)))
        tops = {None, *(rank for _, rank in self._ranked(self._rank))}
        return {
            top: common
            | classifier.mask_of(
                cls
                for cls, (ranks, _) in self._recommendations.items()
                if any(top is None or rank >= top for rank in ranks)
            )
            for top in tops
        }

    def _urgency_restrictions(self, classifier: Classifier) -> list[tuple[int, int]]:
        """(rank, the restrictions giving a presentation an urgency level of that rank), highest first."""
        by_rank: dict[int, int] = defaultdict(int)
        for level, rank in self._ranked(self._rank):
            by_rank[rank] |= classifier.value_mask(KG.hasUrgency, level)
        return sorted(((rank, mask) for rank, mask in by_rank.items() if mask), reverse=True)

    def evaluation_key(self, c: Classification) -> tuple[int | None, int]:
        """What urgency.rq, recommendations.rq, procedure-rules.rq and do-not-order.rq read from ``c``.

        That is its top urgency rank, the classes they read at that rank, and the restrictions that
        give its urgency levels of that rank (the only levels do-not-order.rq compares). Equal keys
        give equal rows of all four.
        """
        return self._at_top_rank(c.mask, self._evaluation_masks)

    def _at_top_rank(self, mask: int, reads: dict[int | None, int]) -> tuple[int | None, int]:
        """The top urgency rank of a presentation of type ``mask`` (None: it has no urgency level),
        with what ``mask`` holds of ``reads[top]`` and of the restrictions giving its levels there."""
        for top, restrictions in self._urgency_bits:
            if mask & restrictions:
                return top, mask & (reads[top] | restrictions)
        return None, mask & reads[None]

    def _completion_reads(self, classifier: Classifier) -> dict[int | None, int]:
        """Per top urgency rank: the definitions and restrictions assess-next-completions.rq reads
        there (those of the classes more urgent than the rank)."""
        return {
            top: classifier.mask_of(
                node
                for definition, restriction, _, rank in self._completions
                if top is None or rank > top
                for node in (definition, restriction)
            )
            for top in self._evaluation_masks
        }

    # -- helpers ---------------------------------------------------------------------------

    def _objects(self, subject: Node, predicate: Node, graph: Graph | None = None) -> list[Node]:
        return sorted((graph or self._graph).objects(subject, predicate), key=sort_key)

    def _restriction_values(self, cls: Node, prop: Node) -> list[Node]:
        """The values ``v`` of the ``prop value v`` restrictions ``cls`` is a subclass of."""
        g = self._graph
        return [
            value
            for restriction in g.objects(cls, RDFS.subClassOf)
            if (restriction, OWL.onProperty, prop) in g
            for value in g.objects(restriction, OWL.hasValue)
        ]

    def _ranked(self, levels: Iterable[Node]) -> list[tuple[Node, int]]:
        return [(level, int(self._rank[level].toPython())) for level in levels if level in self._rank]

    def top_rank(self, classification: Classification) -> int | None:
        """The highest rank among the presentation's urgency levels (None: it has none)."""
        ranks = [rank for _, rank in self._ranked(classification.values_of(KG.hasUrgency))]
        return max(ranks, default=None)

    def _finding_existentials(self, definition: Node) -> list[tuple[Node, Node]]:
        """The ``hasFinding some F`` members (restriction, F) of an intersection."""
        g = self._graph
        members = g.value(definition, OWL.intersectionOf)
        if members is None:
            return []
        return [
            (member, filler)
            for member in Collection(g, members)
            if (member, OWL.onProperty, KG.hasFinding) in g
            for filler in g.objects(member, OWL.someValuesFrom)
        ]

    # -- urgency.rq ------------------------------------------------------------------------

    def _tabulate_urgency(self) -> dict[Node, list[dict[str, Node]]]:
        g = self._graph
        table: dict[Node, list[dict[str, Node]]] = defaultdict(list)
        for cls, level in g.subject_objects(KG.urgency):
            for rank, notation, meaning in product(
                self._objects(level, KG.rank),
                self._objects(level, SKOS.notation),
                self._objects(level, SKOS.definition),
            ):
                table[cls].append({"urgency": level, "id": notation, "rank": rank, "meaning": meaning})
        return dict(table)

    def urgency(self, c: Classification) -> list[Row]:
        """urgency.rq: the urgency classes of highest rank."""
        found = [values for cls in c.types for values in self._urgency_classes.get(cls, [])]
        if not found:
            return []
        top = max(values["rank"].toPython() for values in found)
        chosen = [values for values in found if values["rank"].toPython() == top]
        return [row(values) for values in sorted(chosen, key=lambda v: sort_key(*v.values()))]

    # -- presentations.rq --------------------------------------------------------------------

    def _tabulate_presentations(self) -> dict[Node, list[dict[str, Node]]]:
        g = self._graph
        table: dict[Node, list[dict[str, Node]]] = {}
        for cls in g.subjects(SKOS.inScheme, KG.presentations):
            levels = self._ranked(self._levels.get(cls, []))
            if not levels:
                continue
            top = max(rank for _, rank in levels)
            table[cls] = [
                {
                    "class": cls,
                    "id": notation,
                    "label": label,
                    "urgency": urgency,
                    "rank": self._rank[level],
                    "precedence": precedence,
                }
                for level, rank in levels
                if rank == top
                for notation, label, precedence, urgency in product(
                    self._objects(cls, SKOS.notation),
                    self._objects(cls, RDFS.label),
                    self._objects(cls, KG.precedence),
                    self._objects(level, SKOS.notation),
                )
            ]
        return table

    def presentations(self, c: Classification) -> list[Row]:
        """presentations.rq: the presentation classes, most urgent first."""
        rows = {tuple(v.items()): v for cls in c.types for v in self._presentation_rows.get(cls, [])}
        ordered = sorted(
            rows.values(),
            key=lambda v: (_descending(v["rank"]), *sort_key(v["precedence"], v["id"])),
        )
        return [row(values) for values in ordered]

    # -- suspected-conditions.rq -------------------------------------------------------------

    def _tabulate_conditions(self) -> dict[Node, list[tuple[Node, Node, Node, Node]]]:
        """Per presentation class: (condition node, its notation, an urgency rank, the precedence)."""
        g = self._graph
        table = {}
        for cls in g.subjects(SKOS.inScheme, KG.presentations):
            table[cls] = [
                (condition, notation, self._rank[level], precedence)
                for condition in self._restriction_values(cls, KG.hasSuspectedCondition)
                for notation in self._objects(condition, SKOS.notation)
                for level in self._levels.get(cls, [])
                if level in self._rank
                for precedence in self._objects(cls, KG.precedence)
            ]
        return table

    def suspected_conditions(self, c: Classification) -> list[Row]:
        """suspected-conditions.rq: conditions with the highest rank and first precedence of their classes."""
        present = c.values_of(KG.hasSuspectedCondition)
        ranks: dict[Node, list[Node]] = defaultdict(list)
        precedences: dict[Node, list[Node]] = defaultdict(list)
        for cls in c.types:
            for condition, notation, rank, precedence in self._conditions.get(cls, []):
                if condition in present:
                    ranks[notation].append(rank)
                    precedences[notation].append(precedence)
        rows = [
            {
                "condition": notation,
                "urgencyRank": max(ranks[notation], key=_value),
                "firstPrecedence": min(precedences[notation], key=_value),
            }
            for notation in ranks
        ]
        rows.sort(
            key=lambda v: (_descending(v["urgencyRank"]), *sort_key(v["firstPrecedence"], v["condition"]))
        )
        return [row(values) for values in rows]

    # -- recommendations.rq ------------------------------------------------------------------

    def _tabulate_recommendations(self) -> dict[Node, tuple[list[int], list[dict[str, Node]]]]:
        """Per class with a precedence: its urgency ranks and its recommendation rows."""
        g = self._graph
        table = {}
        for cls in {cls for cls, _ in g.subject_objects(KG.precedence)}:
            ranks = [rank for _, rank in self._ranked(self._levels.get(cls, []))]
            if not ranks:
                continue
            rows = []
            for recommendation in g.subjects(KG.forPresentation, cls):
                if (recommendation, RDF.type, KG.Recommendation) not in g:
                    continue
                for procedure, appropriateness, rank, rationale, notation, precedence in product(
                    self._objects(recommendation, KG.procedure),
                    self._objects(recommendation, KG.appropriateness),
                    self._objects(recommendation, KG.rank),
                    self._objects(recommendation, KG.rationale),
                    self._objects(cls, SKOS.notation),
                    self._objects(cls, KG.precedence),
                ):
                    for procedure_id, appropriateness_id, appropriateness_rank in product(
                        self._objects(procedure, SKOS.notation),
                        self._objects(appropriateness, SKOS.notation),
                        self._objects(appropriateness, KG.rank),
                    ):
                        rows.append(
                            {
                                "recommendation": recommendation,
                                "presentation": notation,
                                "procedure": procedure_id,
                                "appropriateness": appropriateness_id,
                                "appropriatenessRank": appropriateness_rank,
                                "precedence": precedence,
                                "rank": rank,
                                "rationale": rationale,
                            }
                        )
            table[cls] = (ranks, rows)
        return table

    def recommendations(self, c: Classification) -> list[Row]:
        """recommendations.rq: the recommendations of the classes at the presentation's highest level."""
        top = self.top_rank(c)
        rows = {}
        for cls in c.types:
            ranks, class_rows = self._recommendations.get(cls, ([], []))
            if any(top is None or rank >= top for rank in ranks):
                rows.update((tuple(v.items()), v) for v in class_rows)
        ordered = sorted(
            rows.values(),
            key=lambda v: sort_key(
                v["appropriatenessRank"], v["precedence"], v["presentation"], v["rank"], v["procedure"]
            ),
        )
        return [row(values) for values in ordered]

    # -- procedure-rules.rq ------------------------------------------------------------------

    def _tabulate_rules(self) -> dict[Node, list[dict[str, Node | None]]]:
        g = self._graph
        table: dict[Node, list[dict[str, Node | None]]] = defaultdict(list)
        for rule, cls in g.subject_objects(KG.appliesTo):
            for order, label, rationale in product(
                self._objects(rule, KG.ruleOrder),
                self._objects(rule, RDFS.label),
                self._objects(rule, KG.rationale),
            ):
                common = {"rule": rule, "label": label, "order": order, "class": cls, "rationale": rationale}
                if (rule, RDF.type, KG.ProcedurePreference) in g:
                    for preferred, over, add in product(
                        self._notations(self._objects(rule, KG.preferred)),
                        self._notations(self._objects(rule, KG.over)),
                        self._objects(rule, KG.addIfAbsent) or [None],
                    ):
                        table[cls].append(
                            {
                                **common,
                                "kind": Literal("prefer"),
                                "preferred": preferred,
                                "over": over,
                                "addIfAbsent": add,
                                "replaced": None,
                                "substitute": None,
                            }
                        )
                if (rule, RDF.type, KG.ProcedureSubstitution) in g:
                    for kind, substitute in product(
                        self._objects(rule, KG.replaces), self._notations(self._objects(rule, KG.substitute))
                    ):
                        for replaced in self._procedures_of(kind):
                            table[cls].append(
                                {
                                    **common,
                                    "kind": Literal("substitute"),
                                    "preferred": None,
                                    "over": None,
                                    "addIfAbsent": None,
                                    "replaced": replaced,
                                    "substitute": substitute,
                                }
                            )
        return dict(table)

    def _notations(self, nodes: Iterable[Node]) -> list[Node]:
        return [notation for node in nodes for notation in self._objects(node, SKOS.notation)]

    def _procedures_of(self, kind: Node) -> list[Node]:
        """The notations of the procedures (skos:inScheme kg:procedures) of class ``kind``."""
        g = self._graph
        return self._notations(
            node for node in g.subjects(RDF.type, kind) if (node, SKOS.inScheme, KG.procedures) in g
        )

    def procedure_rules(self, c: Classification) -> list[Row]:
        """procedure-rules.rq: the rules of the presentation's classes, in rule order."""
        rows = [values for cls in c.types for values in self._rules.get(cls, [])]
        rows.sort(key=lambda v: sort_key(v["order"], v["rule"], v["over"], v["replaced"]))
        return [row(values) for values in rows]

    # -- do-not-order.rq ---------------------------------------------------------------------

    def _tabulate_advice(
        self,
    ) -> list[tuple[Node, list[tuple[Node, Node]], set, list[tuple[Node, int]], set]]:
        """Per advice: (advice, (procedure, reason) pairs, classes, urgency ranks, exceptions)."""
        g = self._graph
        return [
            (
                advice,
                list(
                    product(
                        self._notations(self._objects(advice, KG.procedure)), self._objects(advice, KG.reason)
                    )
                ),
                set(g.objects(advice, KG.appliesTo)),
                self._ranked(g.objects(advice, KG.appliesAtUrgency)),
                set(g.objects(advice, KG.exceptWhen)),
            )
            for advice in g.subjects(RDF.type, KG.DoNotOrderAdvice)
        ]

    def do_not_order(self, c: Classification) -> list[Row]:
        """do-not-order.rq: advice by class or by the presentation's highest urgency, unless excepted."""
        top = self.top_rank(c)
        present = c.values_of(KG.hasUrgency)
        rows = set()
        for advice, pairs, classes, levels, exceptions in self._advice:
            by_level = any(level in present and rank >= top for level, rank in levels)
            if (classes & c.types or by_level) and not exceptions & c.types:
                rows |= {(advice, procedure, reason) for procedure, reason in pairs}
        ordered = sorted(rows, key=lambda r: sort_key(r[1], r[0]))
        return [row({"advice": a, "procedure": p, "reason": r}) for a, p, r in ordered]

    # -- caveats.rq --------------------------------------------------------------------------

    def _tabulate_caveats(self) -> list[tuple[list[dict[str, Node | None]], list[tuple[Node, int]]]]:
        """Per caveat: (its rows before the class test, its ranked urgency levels)."""
        g = self._graph
        table = []
        for caveat in g.subjects(RDF.type, KG.Caveat):
            levels = list(g.objects(caveat, KG.appliesAtUrgency))
            required = [
                procedure
                for kind in self._objects(caveat, KG.requiresRecommended)
                for procedure in self._procedures_of(kind)
            ]
            rows = [
                {
                    "caveat": caveat,
                    "id": notation,
                    "text": text,
                    "class": cls,
                    "requiredProcedure": procedure,
                    "onlyWhenDeciding": only,
                }
                for notation, text, cls, procedure, only in product(
                    self._objects(caveat, SKOS.notation),
                    self._objects(caveat, KG.text),
                    self._objects(caveat, KG.appliesTo) or [None],
                    required or [None],
                    self._objects(caveat, KG.onlyWhenDeciding) or [None],
                )
            ]
            table.append((rows, self._ranked(levels)))
        return table

    def caveats(self, c: Classification) -> list[Row]:
        """caveats.rq: caveats whose class and urgency conditions the presentation meets."""
        top = self.top_rank(c)
        present = c.values_of(KG.hasUrgency)
        rows = []
        for caveat_rows, levels in self._caveats:
            if any(level not in present or rank < top for level, rank in levels):
                continue
            rows += [v for v in caveat_rows if v["class"] is None or v["class"] in c.types]
        rows.sort(key=lambda v: sort_key(v["id"], v["requiredProcedure"]))
        return [row(values) for values in rows]

    # -- justification.rq --------------------------------------------------------------------

    def _tabulate_definitions(self) -> dict[Node, tuple[list[Node], list[Node]]]:
        """Per blank class definition with finding existentials: (fillers, the explained classes it implies).

        The explained classes are the presentation classes and the classes procedure rules apply to.
        """
        g = self._graph
        explained = set(g.subjects(SKOS.inScheme, KG.presentations)) | {
            cls for rule, cls in g.subject_objects(KG.appliesTo) if (rule, KG.ruleOrder, None) in g
        }
        table = {}
        for definition in g.subjects(OWL.intersectionOf, None):
            fillers = [filler for _, filler in self._finding_existentials(definition)]
            if fillers and isinstance(definition, BNode):
                supers = [
                    cls
                    for cls in g.objects(definition, RDFS.subClassOf)
                    if cls != definition and cls in explained
                ]
                table[definition] = (fillers, supers)
        return table

    def justification(self, c: Classification, instances: Sequence[Instance]) -> list[Row]:
        """justification.rq: for each class definition met, the findings meeting its existentials."""
        rows = set()
        for bit, definition, fillers, supers in self._definition_bits:
            if not c.mask & bit:
                continue
            explained = [cls for cls_bit, cls in supers if c.mask & cls_bit]
            for filler in fillers:
                for instance in instances:
                    if filler in instance.types:
                        rows.update((cls, definition, instance.node, filler) for cls in explained)
        ordered = sorted(rows, key=lambda r: (_term_key(r[0]), _term_key(r[2])))
        return [row({"class": k, "definition": d, "instance": i, "filler": f}) for k, d, i, f in ordered]

    # -- assess-next-completions.rq ----------------------------------------------------------

    def _tabulate_completions(self) -> list[tuple[Node, Node, Node, int]]:
        """(definition, existential, finding ID meeting it, urgency rank the definition's class sets)."""
        g = self._graph
        definition_ranks = set()
        for cls in g.subjects(SKOS.inScheme, KG.presentations):
            for _, rank in self._ranked(self._levels.get(cls, [])):
                for definition in g.subjects(RDFS.subClassOf, cls):
                    if isinstance(definition, BNode) and (definition, OWL.intersectionOf, None) in g:
                        definition_ranks.add((definition, rank))
        findings = [
            (finding, notation)
            for finding in g.subjects(SKOS.inScheme, KG.findings)
            for notation in self._objects(finding, SKOS.notation)
        ]
        meeting: dict[Node, set[Node]] = {}
        for definition, _ in definition_ranks:
            for _, filler in self._finding_existentials(definition):
                members = {filler}
                union = g.value(filler, OWL.unionOf)
                if union is not None:
                    members = set(Collection(g, union))
                meeting[filler] = {
                    notation
                    for finding, notation in findings
                    if (finding, RDFS.subClassOf, filler) in g
                    or (union is not None and any((finding, RDFS.subClassOf, m) in g for m in members))
                }
        return [
            (definition, restriction, notation, rank)
            for definition, rank in definition_ranks
            for restriction, filler in self._finding_existentials(definition)
            for notation in meeting[filler]
        ]

    def completions(self, c: Classification) -> list[Row]:
        """assess-next-completions.rq: findings on the way to a class more urgent than the presentation's."""
        top = self.top_rank(c)
        reach: dict[Node, int] = {}
        for definition, restriction, notation, rank in self._completions:
            if definition in c.types or restriction in c.types or (top is not None and top >= rank):
                continue
            reach[notation] = max(reach.get(notation, rank), rank)
        ordered = sorted(reach.items(), key=lambda item: (-item[1], *sort_key(item[0])))
        return [row({"id": notation, "urgencyRank": Literal(rank)}) for notation, rank in ordered]

    # -- derived-findings.rq and assess-next-candidates.rq (over the asserted graph) ---------

    def _tabulate_thresholds(self) -> dict[Node, list[dict[str, Node]]]:
        """Per case property: the thresholds reading it."""
        g = self._asserted
        table: dict[Node, list[dict[str, Node]]] = defaultdict(list)
        for threshold in g.subjects(RDF.type, KG.NumericThreshold):
            for prop, comparator, limit, finding in product(
                self._objects(threshold, KG.caseProperty, g),
                self._objects(threshold, KG.comparator, g),
                self._objects(threshold, KG.thresholdValue, g),
                self._objects(threshold, KG.impliesFinding, g),
            ):
                for notation in self._objects(finding, SKOS.notation, g):
                    table[prop].append(
                        {
                            "finding": finding,
                            "id": notation,
                            "threshold": threshold,
                            "property": prop,
                            "comparator": comparator,
                            "limit": limit,
                        }
                    )
        return dict(table)

    def derived_findings(self, measurements: Mapping[Node, Literal]) -> list[Row]:
        """derived-findings.rq: the findings thresholds derive from the measurements."""
        rows = []
        for prop, value in measurements.items():
            for values in self._thresholds.get(prop, []):
                compare = COMPARATORS.get(values["comparator"])
                if compare is not None and compare(value.toPython(), values["limit"].toPython()):
                    rows.append({**values, "value": value})
        rows.sort(key=lambda v: sort_key(v["id"]))
        return [
            row({k: v[k] for k in ("finding", "id", "threshold", "property", "value", "comparator", "limit")})
            for v in rows
        ]

    def _tabulate_suggestible(self) -> list[tuple[Node, Row, frozenset[Node]]]:
        """(finding, its row, measurement properties that settle it) for findings of a suggestible kind."""
        g = self._asserted
        suggestible = set(g.subjects(KG.suggestWhenAbsent, Literal(True)))
        settled_by: dict[Node, set[Node]] = defaultdict(set)
        for threshold, finding in g.subject_objects(KG.impliesFinding):
            settled_by[finding] |= set(g.objects(threshold, KG.caseProperty))
        rows = [
            (finding, notation, frozenset(settled_by[finding]))
            for finding in g.subjects(SKOS.inScheme, KG.findings)
            if suggestible & (set(g.transitive_objects(finding, RDFS.subClassOf)) - {finding})
            for notation in self._objects(finding, SKOS.notation, g)
        ]
        return [
            (finding, row({"finding": finding, "id": notation}), settled_by)
            for finding, notation, settled_by in sorted(set(rows), key=lambda r: sort_key(r[1]))
        ]

    def _implied_by(self, cls: Node) -> frozenset[Node]:
        """``cls`` and its asserted superclasses: the findings a finding of this class implies."""
        return frozenset(self._asserted.transitive_objects(cls, RDFS.subClassOf))

    def candidates(self, finding_classes: Iterable[Node], properties: Iterable[Node]) -> list[Row]:
        """assess-next-candidates.rq: suggestible findings the case neither has, implies nor settles."""
        implied = frozenset().union(*(self._implied(cls) for cls in finding_classes))
        measured = set(properties)
        return [
            candidate
            for finding, candidate, settled_by in self._suggestible
            if finding not in implied and not settled_by & measured
        ]
