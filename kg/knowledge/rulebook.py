"""The rule data of the ontology, read once: procedure rules, do-not-order advice, caveats, input rules.

What each rule, advice or caveat does is read here from ``procedure-rules.rq``, ``do-not-order.rq``
and ``caveats.rq`` (queries over the closed ontology alone); *whether* it applies to a case is the
case's rows of ``applicable.rq``. The answer layer (kg.answer.recommend) joins the two.
``existential-findings.rq`` tells assess_next which findings meet each class definition's parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rdflib import Graph
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.knowledge.queries import QueryLibrary, grouped

Sources = Callable[[Node], list[str]]


@dataclass(frozen=True)
class ProcedureRule:
    """A procedure rule: a preference, a substitution or a qualification (kg:ruleOrder order)."""

    rule: Node
    label: str
    kind: str  # "prefer", "substitute" or "qualify"
    order: int
    classes: tuple[Node, ...]  # the classes it applies to (the justification explains them)
    rationale: str
    sources: tuple[str, ...]
    preferred: str | None = None
    over: frozenset[str] = frozenset()
    add_if_absent: bool = False
    replaced: frozenset[str] = frozenset()
    substitute: str | None = None
    qualified: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Advice:
    """Do-not-order advice: a procedure not to order now, and why."""

    advice: Node
    procedure: str
    reason: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """A caveat's text for a narrower case (kg:textVariant)."""

    variant: Node
    rank: int
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CaveatSpec:
    """A caveat: its text, its variants (lowest rank first), and the conditions on the recommendations."""

    caveat: Node
    id: str
    text: str
    variants: tuple[Variant, ...]
    required: frozenset[str]  # kg:requiresRecommended: one of these must be recommended
    first: frozenset[str]  # kg:requiresFirst: the first recommendation must be one of these
    lists_kind: Node | None  # kg:listsFindingsOf: {findings} names the case's findings of this kind
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RuleBook:
    """The rule data of one ontology."""

    rules: tuple[ProcedureRule, ...]
    advice: tuple[Advice, ...]
    caveats: tuple[CaveatSpec, ...]
    meeting: dict[Node, frozenset[str]]  # each finding existential: the finding IDs that meet it

    @property
    def caveats_by_node(self) -> dict[Node, CaveatSpec]:
        return {spec.caveat: spec for spec in self.caveats}

    @classmethod
    def read(cls, queries: QueryLibrary, closed: Graph, sources: Sources) -> RuleBook:
        """The rule data of the closed ontology; ``sources`` gives a resource's source keys."""
        return cls(
            rules=tuple(_rules(queries.select("procedure-rules", closed), sources)),
            advice=tuple(
                Advice(row.advice, str(row.procedure), str(row.reason), tuple(sources(row.advice)))
                for row in queries.select("do-not-order", closed)
            ),
            caveats=tuple(_caveats(queries.select("caveats", closed), sources)),
            meeting={
                restriction: _strings(rows, "id")
                for restriction, rows in grouped(
                    queries.select("existential-findings", closed), "restriction"
                ).items()
            },
        )


def _strings(rows: Iterable[ResultRow], name: str) -> frozenset[str]:
    return frozenset(str(row[name]) for row in rows if row[name] is not None)


def _rules(rows: list[ResultRow], sources: Sources) -> Iterable[ProcedureRule]:
    for rule, rule_rows in grouped(rows, "rule").items():
        first = rule_rows[0]
        add = first.addIfAbsent
        yield ProcedureRule(
            rule=rule,
            label=str(first.label),
            kind=str(first.kind),
            order=int(first.order),
            classes=tuple(dict.fromkeys(row["class"] for row in rule_rows if row["class"] is not None)),
            rationale=str(first.rationale),
            sources=tuple(sources(rule)),
            preferred=None if first.preferred is None else str(first.preferred),
            over=_strings(rule_rows, "over"),
            add_if_absent=add is not None and bool(add.toPython()),
            replaced=_strings(rule_rows, "replaced"),
            substitute=None if first.substitute is None else str(first.substitute),
            qualified=_strings(rule_rows, "qualified"),
        )


def _caveats(rows: list[ResultRow], sources: Sources) -> Iterable[CaveatSpec]:
    for caveat, caveat_rows in grouped(rows, "caveat").items():
        first = caveat_rows[0]
        variants = {
            row.variant: Variant(
                row.variant, int(row.variantRank), str(row.variantText), tuple(sources(row.variant))
            )
            for row in caveat_rows
            if row.variant is not None
        }
        yield CaveatSpec(
            caveat=caveat,
            id=str(first.id),
            text=str(first.text),
            variants=tuple(sorted(variants.values(), key=lambda v: (v.rank, str(v.variant)))),
            required=_strings(caveat_rows, "requiredProcedure"),
            first=_strings(caveat_rows, "firstProcedure"),
            lists_kind=first.listsKind,
            sources=tuple(sources(caveat)),
        )
