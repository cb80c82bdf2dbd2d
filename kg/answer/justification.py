"""The justification chain: finding → axiom → presentation class → urgency → recommendation → sources."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from rdflib import BNode
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.model.answer import JustificationStep

if TYPE_CHECKING:
    from kg.answer.axioms import Renderer
    from kg.answer.evaluation import AppliedRule, Draft
    from kg.answer.knowledge import Knowledge


def explain(
    kb: Knowledge,
    support_rows: list[ResultRow],
    finding_types: dict[str, frozenset[Node]],
    *,
    given: list[str],
    derivations: list[ResultRow],
    presentations: list[ResultRow],
    urgency: str,
    listed: dict[str, list[str]],
    recommendations: list[Draft],
    applied_rules: list[AppliedRule],
) -> list[JustificationStep]:
    """One step per (class, supporting finding): presentation classes first, then procedure rules.

    A presentation class below the answer's urgency level is marked ``outranked``: it is met but
    does not decide the answer (e.g. uncomplicated low back pain under an emergent answer).

    ``support_rows`` are the case's justification.rq rows (class, axiom, filler), met by the
    findings whose individuals ``finding_types`` says are of the filler; ``listed`` maps each
    presentation class at the answer's level to the procedures it recommends.
    """
    render = kb.renderer
    support = _support(render, support_rows, finding_types)
    derived_by = {str(row.id): _derivation(kb, row) for row in derivations}
    urgency_rank = max((int(row.rank) for row in presentations), default=0)
    final = {draft.procedure for draft in recommendations}

    def recommendation(row: ResultRow) -> str | None:
        """The first final recommendation the class lists or holds the place of, at the answer's level."""
        if int(row.rank) != urgency_rank:
            return None
        own = listed.get(str(row.id), [])
        return next(
            (d.procedure for d in recommendations if d.procedure in own or d.presentation == str(row.id)),
            None,
        )

    def axiom(finding: str, definition: BNode, filler: Node, cls: Node) -> str:
        chain = render.axioms(kb.finding_classes[finding], definition, filler, cls)
        return f"{derived_by[finding]}; {chain}" if finding in derived_by else chain

    steps: list[JustificationStep] = []
    for row in presentations:
        for finding, (definition, filler) in support.get(row["class"], {}).items():
            steps.append(
                JustificationStep(
                    finding=finding,
                    presentation=str(row.id),
                    axiom=axiom(finding, definition, filler, row["class"]),
                    urgency=str(row.urgency),
                    recommendation=recommendation(row),
                    sources=kb.sources.get(row["class"], []),
                    outranked=int(row.rank) < urgency_rank,
                )
            )
    for rule in applied_rules:
        for cls in rule.classes:
            for finding, (definition, filler) in support.get(cls, {}).items():
                steps.append(
                    JustificationStep(
                        finding=finding,
                        presentation=render.name(cls),
                        axiom=f"{rule.label}: {axiom(finding, definition, filler, cls)}",
                        urgency=urgency,
                        recommendation=rule.procedure if rule.procedure in final else None,
                        sources=kb.sources.get(rule.rule, []),
                    )
                )
    used = {step.finding for step in steps}
    for finding in [*given, *derived_by]:
        if finding not in used:
            steps.append(
                JustificationStep(
                    finding=finding,
                    presentation="none",
                    axiom=derived_by.get(finding, "")
                    + ("; " if finding in derived_by else "")
                    + "no presentation class or procedure rule is met through this finding in this case",
                    urgency="none",
                    recommendation=None,
                    sources=[],
                )
            )
    return steps


def _support(
    render: Renderer, rows: list[ResultRow], finding_types: dict[str, frozenset[Node]]
) -> dict[Node, dict[str, tuple[BNode, Node]]]:
    """For each class of the case: its supporting findings (in ID order), each with the axiom and
    filler it met.

    A class's own axioms explain it when the case meets one; otherwise the axioms of its subclasses
    do. Among several axioms for one finding, the first by written form wins (blank node labels
    differ between runs).
    """
    candidates: dict[Node, dict[str, list[tuple[BNode, Node]]]] = defaultdict(lambda: defaultdict(list))
    findings = sorted(finding_types)
    for row in rows:
        for finding in findings:
            if row.filler in finding_types[finding]:
                candidates[row["class"]][finding].append((row.definition, row.filler))

    def preference(cls: Node, candidate: tuple[BNode, Node]) -> tuple[bool, str, str]:
        definition, filler = candidate
        own = render.defined(definition) == cls
        return (not own, render.expression(definition), render.name(filler))

    support = {}
    for cls, found in candidates.items():
        own = {
            finding: options
            for finding, options in found.items()
            if any(render.defined(definition) == cls for definition, _ in options)
        }
        support[cls] = {
            finding: min(options, key=lambda c, cls=cls: preference(cls, c))
            for finding, options in sorted((own or found).items())
        }
    return support


def _derivation(kb: Knowledge, row: ResultRow) -> str:
    """How a threshold derived a finding, e.g. ``age 78 at least (>=) 70 gives older-age``."""
    field = next(name for name, prop in kb.case_properties.items() if prop == row.property)
    comparator = kb.renderer.label(row.comparator)
    value, limit = (f"{float(term.toPython()):g}" for term in (row.value, row.limit))
    return f"{field} {value} {comparator} {limit} gives {row.id} ({kb.renderer.name(row.threshold)})"
