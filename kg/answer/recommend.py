"""Case → answer: classify the case (and its what-if variants) by OWL 2 RL, then select what to order.

The case and one hypothetical variant per absent red flag are classified together by an engine
(:mod:`kg.engine.inference`: owlrl + SPARQL, or the compiled fast path), which gives the rows of the
queries of ``queries/`` per presentation: its urgency, the recommendations of its classes at that
level, and the rules, advice and caveats that apply to it (applicable.rq). Python only applies the
generic semantics of the rule kinds the ontology declares (prefer, substitute, qualify), the
conditions caveats state on the final recommendations, and assembles the answer.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import TYPE_CHECKING

from rdflib import URIRef
from rdflib.term import Node

from kg.answer.evaluation import AppliedRule, Draft, Evaluation
from kg.answer.justification import explain
from kg.engine.inference import EVALUATION_QUERIES
from kg.engine.presentation import hypothesis, measurement_literal
from kg.knowledge.rulebook import ProcedureRule
from kg.model.answer import Answer, Caveat, DoNotOrder, Recommendation
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.model.namespaces import CASE

if TYPE_CHECKING:
    from kg.answer.knowledge import Knowledge
    from kg.engine.inference import Engine, Inference, Prepared, QueryRow


def recommend(kb: Knowledge, case: Case, engine: Engine) -> Answer:
    """The answer for ``case``: urgency, ordered procedures, advice and the justification.

    Raises CaseError for an unknown finding, and for a case an input rule rejects (out of scope or
    contradictory, and reaching no presentation urgent enough that it must be answered anyway).
    """
    given, prepared, inference, main = _evaluated(kb, case, engine, variants=True)
    input_caveats = _input_rules(kb, prepared.input_rules, main)
    derivations = prepared.derivations
    candidates = list(dict.fromkeys(str(c.id) for c in prepared.candidates))
    variants = [hypothesis(finding) for finding in candidates]
    evaluations = {CASE: main, **_evaluations(kb, inference, variants)}
    presentations = inference.rows("presentations", CASE)
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
    finding_types = inference.finding_types(CASE)
    return Answer(
        urgency=main.urgency,
        urgency_meaning=main.urgency_meaning,
        suspected_conditions=[str(r.condition) for r in inference.rows("suspected-conditions", CASE)],
        recommendations=recommendations,
        do_not_order=[
            DoNotOrder(
                procedure=procedure,
                reason=" ".join(dict.fromkeys(a.reason for a in advice)),
                sources=sorted({s for a in advice for s in a.sources}),
            )
            for procedure, advice in main.do_not_order.items()
        ],
        assess_next=_assess_next(
            inference, evaluations, candidates, prepared.candidates, kb.rulebook.meeting
        ),
        caveats=input_caveats + _caveats(kb, main, finding_types),
        justification=explain(
            kb,
            inference.rows("justification", CASE),
            finding_types,
            given=[finding for finding, _ in given],
            derivations=derivations,
            presentations=presentations,
            urgency=main.urgency,
            listed=main.listed,
            recommendations=main.recommendations,
            applied_rules=main.applied_rules,
        ),
        derived_findings=list(dict.fromkeys(str(row.id) for row in derivations)),
        ontology_version=kb.version,
    )


def evaluate(kb: Knowledge, case: Case, engine: Engine) -> Evaluation:
    """The case's own evaluation: its urgency, the recommendations after the procedure rules and
    the do-not-order advice, exactly as :func:`recommend` answers them, without the what-if variants
    and the answer's assembly: what a batch audit rates an order against. Raises CaseError as
    :func:`recommend` does."""
    _, prepared, _, main = _evaluated(kb, case, engine, variants=False)
    _input_rules(kb, prepared.input_rules, main)
    return main


def _evaluated(
    kb: Knowledge, case: Case, engine: Engine, variants: bool
) -> tuple[list[tuple[str, URIRef]], Prepared, Inference, Evaluation]:
    """The case's findings as given, what the queries before classification found, its inference
    (with a what-if variant per candidate finding when ``variants``) and its own evaluation."""
    given = [(finding, kb.finding_classes[finding]) for finding in _given_findings(kb, case)]
    measurements = {
        kb.case_properties[name]: measurement_literal(value)
        for name, value in case.model_dump(exclude={"findings"}, exclude_none=True).items()
        if name in kb.case_properties
    }
    prepared = engine.prepare(given, measurements)
    findings = given + [(str(row.id), row.finding) for row in prepared.derivations]
    hypotheses = {}
    if variants:
        classes = {str(c.id): c.finding for c in prepared.candidates}
        hypotheses = {hypothesis(finding): (finding, classes[finding]) for finding in classes}
    inference = engine.infer(findings, hypotheses, measurements)
    return given, prepared, inference, _evaluations(kb, inference, [CASE])[CASE]


def _given_findings(kb: Knowledge, case: Case) -> list[str]:
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


def _input_rules(kb: Knowledge, rows: list[QueryRow], main: Evaluation) -> list[Caveat]:
    """Reject the case if an input rule finds it and it reaches less than the rule's answered-from
    urgency; else the caveats that answer it with the problems named (input-rules.rq)."""
    rejected = [row for row in rows if main.urgency_rank < int(row.answeredFromRank)]
    if rejected:
        raise CaseError.of([((str(row.field),), f"{row.message} (input rule {row.id})") for row in rejected])
    notes: dict[Node, list[QueryRow]] = defaultdict(list)
    for row in rows:
        if row.answeredWith is not None:
            notes[row.answeredWith].append(row)
    specs = kb.rulebook.caveats_by_node
    caveats = []
    for caveat, answered in notes.items():
        spec = specs[caveat]
        problems = "; ".join(str(row.note or row.message) for row in answered)
        sources = {*spec.sources, *(s for row in answered for s in kb.sources.get(row.rule, []))}
        caveats.append(
            Caveat(id=spec.id, text=spec.text.replace("{problems}", problems), sources=sorted(sources))
        )
    return caveats


def _assess_next(
    inference: Inference,
    evaluations: dict[URIRef, Evaluation],
    candidates: list[str],
    candidate_rows: list[QueryRow],
    meeting: dict[Node, frozenset[str]],
) -> list[str]:
    """The candidate findings worth asking about, most decisive first.

    A candidate qualifies when adding it alone raises the urgency or changes the first procedure
    (its variant's evaluation), or when it would reach a more urgent presentation class together
    with the other findings one class definition still lacks, when those can still be asked about
    (assess-next-completions.rq). Order:
    the urgency it would reach, highest first; then the findings the case's classes ask about
    first (assess-next-priorities.rq); then by ID. A finding implying another one listed (foot
    drop, when leg weakness is listed) is left out.
    """
    main = evaluations[CASE]
    reach: dict[str, int] = {}
    for finding in candidates:
        variant = evaluations[hypothesis(finding)]
        if variant.urgency_rank > main.urgency_rank or variant.first_procedure != main.first_procedure:
            reach[finding] = variant.urgency_rank
    allowed = set(candidates)
    completions: dict[tuple[str, Node], tuple[int, set[Node]]] = {}
    for row in inference.rows("assess-next-completions", CASE):
        _, lacking = completions.setdefault((str(row.id), row.definition), (int(row.urgencyRank), set()))
        if row.lacking is not None:
            lacking.add(row.lacking)
    for (finding, _), (rank, lacking) in completions.items():
        # what the definition lacks besides this finding must still be askable
        if finding in allowed and all(meeting.get(part, frozenset()) & allowed for part in lacking):
            reach[finding] = max(reach.get(finding, 0), rank)
    first = {str(row.id) for row in inference.rows("assess-next-priorities", CASE)}
    broader: dict[str, set[str]] = defaultdict(set)
    for row in candidate_rows:
        if row.broader is not None:
            broader[str(row.id)].add(str(row.broader))
    ordered = sorted(reach, key=lambda finding: (-reach[finding], finding not in first, finding))
    return [finding for finding in ordered if not broader[finding] & reach.keys()]


def _evaluations(
    kb: Knowledge, inference: Inference, presentations: list[URIRef]
) -> dict[URIRef, Evaluation]:
    """Each presentation's evaluation, shared by presentations of equal key (kept in the knowledge
    base): the keys of the urgency and recommendation rows, and the items that apply (all an
    evaluation reads of applicable.rq's rows, which are many more keys than item sets); the rows
    the new ones need are fetched together first."""
    if len(presentations) > 1:
        inference.prefetch(("applicable",), presentations)
    applicable = {p: frozenset(row.item for row in inference.rows("applicable", p)) for p in presentations}
    keys = {}
    for presentation in presentations:
        key = inference.key(presentation, EVALUATION_QUERIES[:2])
        keys[presentation] = None if key is None else (key, applicable[presentation])
    found = {p: kb.evaluations.get(key) for p, key in keys.items() if key is not None}
    missing = [p for p in presentations if found.get(p) is None]
    if len(missing) > 1:
        inference.prefetch(EVALUATION_QUERIES[:2], missing)
    for presentation in missing:
        key = keys[presentation]
        evaluation = kb.evaluations.get(key) if key is not None else None
        if evaluation is None:
            evaluation = _evaluate(kb, inference, presentation, applicable[presentation])
            if key is not None:
                kb.evaluations[key] = evaluation
        found[presentation] = evaluation
    return {p: found[p] for p in presentations}


def _evaluate(kb: Knowledge, inference: Inference, presentation: URIRef, applicable: frozenset) -> Evaluation:
    """Urgency, ordered recommendations and do-not-order advice of one presentation, to which the
    items of ``applicable`` (applicable.rq) apply."""
    urgency = inference.rows("urgency", presentation)[0]
    evaluation = Evaluation(
        urgency=str(urgency.id),
        urgency_rank=int(urgency.rank),
        urgency_meaning=str(urgency.meaning),
        applicable=applicable,
    )
    for advice in kb.rulebook.advice:
        if advice.advice in applicable:
            evaluation.do_not_order.setdefault(advice.procedure, []).append(advice)
    rows = inference.rows("recommendations", presentation)
    for row in rows:
        evaluation.listed.setdefault(str(row.presentation), []).append(str(row.procedure))
    drafts = _drafts(kb, rows)
    own = {(str(row.presentation), str(row.procedure)): row for row in rows}
    for rule in kb.rulebook.rules:
        if rule.rule in applicable:
            applied = _apply_rule(kb, drafts, rule, own)
            if applied:
                evaluation.applied_rules.append(applied)
    evaluation.recommendations = [d for d in drafts if d.procedure not in evaluation.do_not_order]
    return evaluation


def _drafts(kb: Knowledge, rows: list[QueryRow]) -> list[Draft]:
    """Recommendation rows (already ordered) as drafts, each procedure once."""
    drafts: dict[str, Draft] = {}
    for row in rows:
        drafts.setdefault(str(row.procedure), _draft(kb, row))
    return list(drafts.values())


def _draft(kb: Knowledge, row: QueryRow) -> Draft:
    return Draft(
        procedure=str(row.procedure),
        appropriateness=str(row.appropriateness),
        rationale=str(row.rationale),
        presentation=str(row.presentation),
        sources=set(kb.sources.get(row.recommendation, [])),
    )


Own = dict[tuple[str, str], "QueryRow"]


def _apply_rule(kb: Knowledge, drafts: list[Draft], rule: ProcedureRule, own: Own) -> AppliedRule | None:
    """Apply one procedure rule to ``drafts`` in place; what it changed, or None."""
    sources = set(rule.sources)
    if rule.kind == "prefer" and rule.preferred is not None:
        procedure = rule.preferred
        changed = _prefer(drafts, procedure, set(rule.over), rule.rationale, sources, rule.add_if_absent)
    elif rule.kind == "substitute" and rule.substitute is not None:
        procedure = rule.substitute
        changed = _substitute(
            drafts, set(rule.replaced), procedure, rule.rationale, sources, _rating(kb, own)
        )
    elif rule.kind == "qualify":
        qualified = [d for d in drafts if d.procedure in rule.qualified]
        for draft in qualified:
            draft.rationale = f"{draft.rationale} {rule.rationale}"
            draft.sources |= sources
        changed, procedure = bool(qualified), qualified[0].procedure if qualified else ""
    else:
        return None
    return AppliedRule(rule.rule, rule.label, rule.classes, procedure) if changed else None


def _rating(kb: Knowledge, own: Own):
    """The draft a substitute gets in a presentation class: its own recommendation there, else its
    own recommendation in another class at this level (kg validate's QC flags that), else None."""

    def rating(presentation: str, procedure: str) -> Draft | None:
        row = own.get((presentation, procedure))
        if row is None:
            row = next((r for (_, p), r in own.items() if p == procedure), None)
        return None if row is None else _draft(kb, row)

    return rating


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
    drafts: list[Draft],
    replaced: set[str],
    substitute: str,
    rationale: str,
    sources: set[str],
    rating=None,
) -> bool:
    """Put ``substitute`` in the place of every listed procedure of ``replaced``, keeping one of each.

    The substitute keeps the place and takes its own appropriateness in the replaced one's
    presentation class (and its own rationale after the rule's), never the replaced one's.
    """
    if not any(d.procedure in replaced for d in drafts):
        return False
    result: list[Draft] = []
    for draft in drafts:
        if draft.procedure in replaced:
            mine = rating(draft.presentation, substitute) if rating else None
            if mine is None:
                draft = Draft(substitute, draft.appropriateness, rationale, draft.presentation, set(sources))
            else:
                draft = Draft(
                    substitute,
                    mine.appropriateness,
                    f"{rationale} {mine.rationale}",
                    draft.presentation,
                    set(sources) | mine.sources,
                )
        if all(kept.procedure != draft.procedure for kept in result):
            result.append(draft)
    drafts[:] = result
    return True


def _caveats(kb: Knowledge, main: Evaluation, finding_types: dict[str, frozenset[Node]]) -> list[Caveat]:
    """The caveats that apply to the case and whose conditions its final recommendations meet."""
    recommended = [d.procedure for d in main.recommendations]
    caveats = []
    for spec in kb.rulebook.caveats:
        if spec.caveat not in main.applicable:
            continue
        if spec.required and not spec.required & set(recommended):
            continue
        if spec.first and (not recommended or recommended[0] not in spec.first):
            continue
        variant = next((v for v in spec.variants if v.variant in main.applicable), None)
        text = variant.text if variant else spec.text
        if spec.lists_kind is not None:
            labels = kb.finding_labels
            named = [
                labels.get(f, f) for f, types in sorted(finding_types.items()) if spec.lists_kind in types
            ]
            text = text.replace("{findings}", ", ".join(named))
        sources = sorted({*spec.sources, *(variant.sources if variant else ())})
        caveats.append(Caveat(id=spec.id, text=text, sources=sources))
    return caveats
