"""The rating of an ordered procedure against kg's answer for the case at order time: what a CDS
Hooks order-sign call reports as its PAMA rating and what the batch audit counts.

- ``appropriate``: the procedure is the first recommendation, or an alternative with the same
  appropriateness as the first (as good);
- ``may-be-appropriate``: it is recommended, with a lower appropriateness than the first;
- ``not-appropriate``: it is not recommended, or it is on the do-not-order list;
- ``no-criteria-apply``: kg has no criteria for the case (it was rejected: out of scope or
  contradictory) or for the procedure (no kg procedure).

The categories themselves come from the answer (the ontology's recommendations); this only
compares the order with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kg.answer.evaluation import Evaluation
from kg.model.answer import Answer

Rating = Literal["appropriate", "may-be-appropriate", "not-appropriate", "no-criteria-apply"]
RATINGS: tuple[Rating, ...] = ("appropriate", "may-be-appropriate", "not-appropriate", "no-criteria-apply")


@dataclass(frozen=True)
class Verdict:
    """What an order is rated against: the case's urgency, its recommendations in order as
    (procedure, appropriateness, presentation), and the procedures advised against. Small and
    picklable: what a worker of a batch audit sends back for a case."""

    urgency: str
    recommended: tuple[tuple[str, str, str], ...]
    advised_against: frozenset[str]

    @classmethod
    def of(cls, answer: Answer | Evaluation) -> Verdict:
        """The verdict of an answer, or of a case's evaluation (the answer's own part)."""
        if isinstance(answer, Evaluation):
            advised = frozenset(answer.do_not_order)
        else:
            advised = frozenset(advice.procedure for advice in answer.do_not_order)
        recommended = tuple((r.procedure, r.appropriateness, r.presentation) for r in answer.recommendations)
        return cls(answer.urgency, recommended, advised)


def rate(procedure: str | None, verdict: Verdict | None) -> Rating:
    """The rating of ordering ``procedure`` (a kg procedure ID, None: none matched) given the
    case's verdict (None: the case was rejected)."""
    if verdict is None or procedure is None:
        return "no-criteria-apply"
    if procedure in verdict.advised_against:
        return "not-appropriate"
    appropriateness = {recommended: category for recommended, category, _ in verdict.recommended}
    if procedure not in appropriateness:
        return "not-appropriate"
    if appropriateness[procedure] == verdict.recommended[0][1]:
        return "appropriate"
    return "may-be-appropriate"
