"""The answer as plain text a clinician can scan (``kg recommend --finding ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kg.model.answer import Answer, JustificationStep, Recommendation

if TYPE_CHECKING:
    from kg.answer.knowledge import Knowledge


def render(answer: Answer, kb: Knowledge) -> str:
    """Urgency, what to order, why, what not to order, what to assess next, caveats, disclaimer."""
    procedures = {p.id: p.label for p in kb.procedures}
    findings = {f.id: f.label for f in kb.findings}
    lines = [f"Urgency: {answer.urgency.upper()} ({answer.urgency_meaning})"]
    if answer.suspected_conditions:
        lines.append(f"Suspected: {', '.join(answer.suspected_conditions)}")
    if answer.derived_findings:
        lines.append(f"Derived from measurements: {', '.join(answer.derived_findings)}")
    if answer.recommendations:
        first, *alternatives = answer.recommendations
        lines += ["", f"Recommended: {_procedure(first)}", f"  {first.rationale}"]
        lines += _section("Alternatives", [_procedure(r) for r in alternatives])
    else:
        lines += ["", "Recommended: no imaging now"]
    lines += _section("Why", [_step(s) for s in answer.justification])
    dont = [f"{_named(procedures, d.procedure)}: {d.reason}{_cite(d.sources)}" for d in answer.do_not_order]
    lines += _section("Do not order", dont)
    lines += _section("Assess next", [_named(findings, f) for f in answer.assess_next])
    lines += _section("Caveats", [f"{c.text}{_cite(c.sources)}" for c in answer.caveats])
    lines += ["", f"Ontology version: {answer.ontology_version}", answer.disclaimer]
    return "\n".join(lines)


def _section(title: str, items: list[str]) -> list[str]:
    return ["", f"{title}:", *(f"  - {item}" for item in items)] if items else []


def _named(labels: dict[str, str], id_: str) -> str:
    return f"{labels.get(id_, id_)} ({id_})"


def _procedure(r: Recommendation) -> str:
    loinc = f", LOINC {r.loinc}" if r.loinc else ""
    rating = f"{r.appropriateness}, radiation {r.radiation_level}"
    return f"{r.label} ({r.procedure}{loinc}): {rating}{_cite(r.sources)}"


def _step(s: JustificationStep) -> str:
    then = f" -> {s.recommendation}" if s.recommendation else ""
    outranked = " (outranked)" if s.outranked else ""
    return f"{s.finding} -> {s.presentation} -> {s.urgency}{outranked}{then} ({s.axiom}){_cite(s.sources)}"


def _cite(sources: list[str]) -> str:
    return f" [{', '.join(sources)}]" if sources else ""
