"""Case → answer: classify the case (and its what-if variants) by OWL 2 RL, then select what to order.

The case and one hypothetical variant per absent red flag are classified together by an engine
(:mod:`kg.inference`: owlrl + SPARQL, or the compiled fast path), which gives the rows of the
queries of ``queries/`` (urgency, recommendations, procedure rules, do-not-order advice, caveats)
per presentation. Python only applies the generic semantics of the rule kinds the ontology
declares (preference, substitution) and assembles the answer.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rdflib import URIRef
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.answer import Answer, Caveat, DoNotOrder, Recommendation
from kg.case import Case
from kg.errors import CaseError
from kg.inference import EVALUATION_QUERIES
from kg.justification import explain
from kg.namespaces import CASE
from kg.presentation import hypothesis, measurement_literal
from kg.queries import grouped

if TYPE_CHECKING:
    from kg.inference import Engine, Inference
    from kg.knowledge_base import KnowledgeBase


@dataclass
class Draft:
    """A recommendation while the procedure rules are applied to the list."""

    procedure: str
    appropriateness: str
    rationale: str
    presentation: str
    sources: set[str]


@dataclass(frozen=True)
class AppliedRule:
    """A procedure rule that changed the list: its class and the procedure it put in place."""

    rule: URIRef
    label: str
    applies_to: URIRef
    procedure: str


@dataclass
class Evaluation:
    """What one presentation's classification implies."""

    urgency: str
    urgency_rank: int
    urgency_meaning: str
    recommendations: list[Draft] = field(default_factory=list)
    applied_rules: list[AppliedRule] = field(default_factory=list)
    do_not_order: dict[str, list[ResultRow]] = field(default_factory=dict)
    listed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def first_procedure(self) -> str | None:
        """The recommended procedure, if any."""
        return self.recommendations[0].procedure if self.recommendations else None


def recommend(kb: KnowledgeBase, case: Case, engine: Engine) -> Answer:
    """The answer for ``case``: urgency, ordered procedures, advice and the justification."""
    given = [(finding, kb.finding_classes[finding]) for finding in _given_findings(kb, case)]
    measurements = {
        kb.case_properties[name]: measurement_literal(value)
        for name, value in case.model_dump(exclude={"findings"}, exclude_none=True).items()
        if name in kb.case_properties
    }
    derivations, candidates = engine.prepare(given, measurements)
    findings = given + [(str(row.id), row.finding) for row in derivations]
    variants = {hypothesis(str(c.id)): (str(c.id), c.finding) for c in candidates}
    inference = engine.infer(findings, variants, measurements)
    evaluations = _evaluations(kb, inference, [CASE, *variants])
    main = evaluations[CASE]
    classes = inference.rows("presentations", CASE)
    procedures = kb.procedures_by_id
    recommendations = [
        Recommendation(
            **procedures[d.procedure].model_dump(
                include={"label", "modality", "contrast", "radiation_level", "loinc"}
            ),
            procedure=d.procedure,
            appropriateness=d.appropriateness,
            rationale=d.rationale,
            presentation=d.presentation,
            sources=sorted(d.sources),
        )
        for d in main.recommendations
    ]
    return Answer(
        urgency=main.urgency,
        urgency_meaning=main.urgency_meaning,
        suspected_conditions=[str(r.condition) for r in inference.rows("suspected-conditions", CASE)],
        recommendations=recommendations,
        do_not_order=[
            DoNotOrder(
                procedure=procedure,
                reason=" ".join(dict.fromkeys(str(a.reason) for a in advice)),
                sources=sorted({s for a in advice for s in kb.sources.get(a.advice, [])}),
            )
            for procedure, advice in main.do_not_order.items()
        ],
        assess_next=_assess_next(inference, evaluations, [str(c.id) for c in candidates]),
        caveats=_caveats(kb, inference, main, classes),
        justification=explain(
            kb,
            inference.rows("justification", CASE),
            inference.finding_types(CASE),
            given=[finding for finding, _ in given],
            derivations=derivations,
            presentations=classes,
            urgency=main.urgency,
            listed=main.listed,
            recommendations=main.recommendations,
            applied_rules=main.applied_rules,
        ),
        derived_findings=list(dict.fromkeys(str(row.id) for row in derivations)),
        ontology_version=kb.version,
    )


def _given_findings(kb: KnowledgeBase, case: Case) -> list[str]:
    """The case's finding IDs, each checked against the vocabulary."""
    for index, finding in enumerate(case.findings):
        if finding not in kb.finding_classes:
            close = difflib.get_close_matches(finding, kb.finding_classes, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CaseError(
                ("findings", index),
                f"unknown finding {finding!r}{hint}; the valid finding IDs are listed by GET /findings "
                "(or `kg findings`)",
            )
    return list(case.findings)


def _assess_next(
    inference: Inference, evaluations: dict[URIRef, Evaluation], candidates: list[str]
) -> list[str]:
    """The candidate findings worth asking about, most urgent first.

    A candidate qualifies when adding it alone raises the urgency or changes the first procedure
    (its variant's evaluation), or when it would reach a more urgent presentation class together
    with the other findings one class definition still lacks (assess-next-completions.rq).
    """
    main = evaluations[CASE]
    reach: dict[str, int] = {}
    for finding in candidates:
        variant = evaluations[hypothesis(finding)]
        if variant.urgency_rank > main.urgency_rank or variant.first_procedure != main.first_procedure:
            reach[finding] = variant.urgency_rank
    allowed = set(candidates)
    for row in inference.rows("assess-next-completions", CASE):
        finding = str(row.id)
        if finding in allowed:
            reach[finding] = max(reach.get(finding, 0), int(row.urgencyRank))
    return sorted(reach, key=lambda finding: (-reach[finding], finding))


def _evaluations(
    kb: KnowledgeBase, inference: Inference, presentations: list[URIRef]
) -> dict[URIRef, Evaluation]:
    """Each presentation's evaluation, shared by presentations of equal key (kept in the knowledge
    base); the rows the new ones need are fetched together first."""
    keys = {p: inference.key(p, EVALUATION_QUERIES) for p in presentations}
    found = {p: kb.evaluations.get(key) for p, key in keys.items() if key is not None}
    missing = [p for p in presentations if found.get(p) is None]
    if len(missing) > 1:
        inference.prefetch(EVALUATION_QUERIES, missing)
    for presentation in missing:
        key = keys[presentation]
        evaluation = kb.evaluations.get(key) if key is not None else None
        if evaluation is None:
            evaluation = _evaluate(kb, inference, presentation)
            if key is not None:
                kb.evaluations[key] = evaluation
        found[presentation] = evaluation
    return {p: found[p] for p in presentations}


def _evaluate(kb: KnowledgeBase, inference: Inference, presentation: URIRef) -> Evaluation:
    """Urgency, ordered recommendations and do-not-order advice of one presentation."""
    urgency = inference.rows("urgency", presentation)[0]
    evaluation = Evaluation(
        urgency=str(urgency.id), urgency_rank=int(urgency.rank), urgency_meaning=str(urgency.meaning)
    )
    for row in inference.rows("do-not-order", presentation):
        evaluation.do_not_order.setdefault(str(row.procedure), []).append(row)
    rows = inference.rows("recommendations", presentation)
    for row in rows:
        evaluation.listed.setdefault(str(row.presentation), []).append(str(row.procedure))
    drafts = _drafts(kb, rows)
    for rule_rows in grouped(inference.rows("procedure-rules", presentation), "rule").values():
        applied = _apply_rule(kb, drafts, rule_rows)
        if applied:
            evaluation.applied_rules.append(applied)
    evaluation.recommendations = [d for d in drafts if d.procedure not in evaluation.do_not_order]
    return evaluation


def _drafts(kb: KnowledgeBase, rows: list[ResultRow]) -> list[Draft]:
    """Recommendation rows (already ordered) as drafts, each procedure once."""
    drafts: dict[str, Draft] = {}
    for row in rows:
        drafts.setdefault(
            str(row.procedure),
            Draft(
                procedure=str(row.procedure),
                appropriateness=str(row.appropriateness),
                rationale=str(row.rationale),
                presentation=str(row.presentation),
                sources=set(kb.sources.get(row.recommendation, [])),
            ),
        )
    return list(drafts.values())


def _apply_rule(kb: KnowledgeBase, drafts: list[Draft], rows: list[ResultRow]) -> AppliedRule | None:
    """Apply one procedure rule to ``drafts`` in place; what it changed, or None."""
    first = rows[0]
    sources = set(kb.sources.get(first.rule, []))
    if str(first.kind) == "prefer":
        procedure = str(first.preferred)
        over = {str(r.over) for r in rows}
        changed = _prefer(drafts, procedure, over, str(first.rationale), sources, _is_true(first.addIfAbsent))
    else:
        procedure = str(first.substitute)
        changed = _substitute(
            drafts, {str(r.replaced) for r in rows}, procedure, str(first.rationale), sources
        )
    return AppliedRule(first.rule, str(first.label), first["class"], procedure) if changed else None


def _prefer(
    drafts: list[Draft], preferred: str, over: set[str], rationale: str, sources: set[str], add: bool = False
) -> bool:
    """Move ``preferred`` just before the first listed procedure of ``over`` (adding it if ``add``)."""
    positions = [i for i, d in enumerate(drafts) if d.procedure in over]
    current = next((i for i, d in enumerate(drafts) if d.procedure == preferred), None)
    if not positions or (current is None and not add):
        return False
    target = positions[0]
    if current is not None and current < target:
        return False
    if current is None:
        displaced = drafts[target]
        moved = Draft(preferred, displaced.appropriateness, rationale, displaced.presentation, set(sources))
    else:
        moved = drafts.pop(current)
        moved.rationale = f"{moved.rationale} {rationale}"
        moved.sources |= sources
    drafts.insert(target, moved)
    return True


def _substitute(
    drafts: list[Draft], replaced: set[str], substitute: str, rationale: str, sources: set[str]
) -> bool:
    """Put ``substitute`` in the place of every listed procedure of ``replaced``, keeping one of each."""
    if not any(d.procedure in replaced for d in drafts):
        return False
    result: list[Draft] = []
    for draft in drafts:
        if draft.procedure in replaced:
            draft = Draft(substitute, draft.appropriateness, rationale, draft.presentation, set(sources))
        if all(kept.procedure != draft.procedure for kept in result):
            result.append(draft)
    drafts[:] = result
    return True


def _caveats(
    kb: KnowledgeBase, inference: Inference, main: Evaluation, presentations: list[ResultRow]
) -> list[Caveat]:
    """The caveats whose conditions the case and its final recommendations meet."""
    recommended = {d.procedure for d in main.recommendations}
    deciding = {row["class"] for row in presentations if int(row.rank) == main.urgency_rank}
    caveats = []
    for rows in grouped(inference.rows("caveats", CASE), "id").values():
        first = rows[0]
        required = {str(r.requiredProcedure) for r in rows if r.requiredProcedure is not None}
        if required and not required & recommended:
            continue
        if _is_true(first.onlyWhenDeciding) and deciding != {first["class"]}:
            continue
        sources = kb.sources.get(first.caveat, [])
        caveats.append(Caveat(id=str(first.id), text=str(first.text), sources=sources))
    return caveats


def _is_true(flag: Node | None) -> bool:
    """Whether an optional boolean annotation (``kg:addIfAbsent``, ``kg:onlyWhenDeciding``) is set true."""
    return flag is not None and bool(flag.toPython())
