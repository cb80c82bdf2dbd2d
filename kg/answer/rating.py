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

from typing import Literal

from kg.answer.evaluation import Evaluation
from kg.model.answer import Answer

Rating = Literal["appropriate", "may-be-appropriate", "not-appropriate", "no-criteria-apply"]
RATINGS: tuple[Rating, ...] = ("appropriate", "may-be-appropriate", "not-appropriate", "no-criteria-apply")


def rate(procedure: str | None, answer: Answer | Evaluation | None) -> Rating:
    """The rating of ordering ``procedure`` (a kg procedure ID, None: none matched) given the
    answer for the case, or its evaluation (None: the case was rejected)."""
    if answer is None or procedure is None:
        return "no-criteria-apply"
    advised = (
        answer.do_not_order if isinstance(answer, Evaluation) else {a.procedure for a in answer.do_not_order}
    )
    if procedure in advised:
        return "not-appropriate"
    recommended = {r.procedure: r.appropriateness for r in answer.recommendations}
    if procedure not in recommended:
        return "not-appropriate"
    if recommended[procedure] == answer.recommendations[0].appropriateness:
        return "appropriate"
    return "may-be-appropriate"
