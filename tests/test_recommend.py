"""Case → answer: the rule semantics, the FACTS.md rules beyond the vignettes, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kg.answer.evaluation import Draft
from kg.answer.recommend import _prefer, _substitute
from kg.knowledge_base import KnowledgeBase
from kg.model.answer import Answer
from kg.model.case import Case
from kg.model.errors import CaseError


def drafts(*procedures: str) -> list[Draft]:
    return [Draft(p, "usually-appropriate", "why", "some-class", {"seed"}) for p in procedures]


def ids(items: list[Draft]) -> list[str]:
    return [d.procedure for d in items]


def test_preference_adds_before_the_first_listed_rival_only_when_told() -> None:
    items = drafts("a", "b", "c")
    assert not _prefer(items, "x", {"b", "c"}, "rule", {"src"})
    assert _prefer(items, "x", {"b", "c"}, "rule", {"src"}, add=True)
    assert ids(items) == ["a", "x", "b", "c"]
    assert items[1].sources == {"src"} and items[1].rationale == "rule"


def test_preference_moves_a_listed_procedure_up() -> None:
    items = drafts("a", "b", "c")
    assert _prefer(items, "c", {"a"}, "rule", {"src"})
    assert ids(items) == ["c", "a", "b"]
    assert items[0].sources == {"seed", "src"}


def test_preference_does_nothing_without_a_rival_or_when_already_ahead() -> None:
    items = drafts("a", "b")
    assert not _prefer(items, "x", {"z"}, "rule", set())
    assert not _prefer(items, "a", {"b"}, "rule", set())
    assert ids(items) == ["a", "b"]


def test_substitution_takes_the_first_place_once() -> None:
    items = drafts("mri1", "xr", "mri2", "ct")
    assert _substitute(items, {"mri1", "mri2"}, "ct", "rule", {"src"})
    assert ids(items) == ["ct", "xr"]


procedure_lists = st.lists(st.sampled_from("abcdefg"), unique=True, max_size=7)


@given(procedure_lists, st.sampled_from("abcdefgx"), st.sets(st.sampled_from("abcdefg")), st.booleans())
def test_preference_keeps_procedures_unique_and_adds_at_most_one(listed, preferred, over, add) -> None:
    items = drafts(*listed)
    _prefer(items, preferred, over, "rule", set(), add)
    assert len(set(ids(items))) == len(items)
    assert set(ids(items)) - set(listed) <= {preferred}


@given(procedure_lists, st.sets(st.sampled_from("abcdefg")), st.sampled_from("abcdefgx"))
def test_substitution_leaves_no_replaced_procedure(listed, replaced, substitute) -> None:
    items = drafts(*listed)
    _substitute(items, replaced - {substitute}, substitute, "rule", set())
    assert not set(ids(items)) & (replaced - {substitute})
    assert len(set(ids(items))) == len(items)


def answer(kb: KnowledgeBase, *findings: str, **fields) -> Answer:
    return kb.recommend(Case(findings=list(findings), **fields))


def test_an_unknown_finding_names_itself_and_its_position(kb: KnowledgeBase) -> None:
    with pytest.raises(CaseError) as error:
        answer(kb, "low-back-pain", "leg-weaknes")
    assert error.value.loc == ("findings", 1)
    assert "'leg-weaknes'" in error.value.message and "/findings" in error.value.message
    assert "did you mean 'leg-weakness'?" in error.value.message


def test_older_age_with_a_deficit_is_not_a_trial_of_therapy(kb: KnowledgeBase) -> None:
    result = answer(kb, "low-back-pain", "leg-weakness", age=80)
    assert result.urgency == "urgent"
    assert result.derived_findings == ["age-over-50", "older-age"]
    assert "trial-of-therapy" not in [c.id for c in result.caveats]
    assert "xr-lumbar" in [d.procedure for d in result.do_not_order]


def test_cauda_equina_without_mri_advises_transfer(kb: KnowledgeBase) -> None:
    result = answer(kb, "low-back-pain", "saddle-anesthesia", "mri-unavailable")
    assert result.urgency == "emergent"
    assert result.recommendations[0].modality == "CT"
    assert "transfer-for-mri" in [c.id for c in result.caveats]


def test_contrast_from_a_lower_level_changes_the_mri(kb: KnowledgeBase) -> None:
    """FACTS.md: the contrast rule applies whatever level the contrast presentation sits at."""
    result = answer(kb, "low-back-pain", "leg-weakness", "prior-lumbar-surgery")
    assert result.urgency == "urgent"
    assert [r.procedure for r in result.recommendations][:2] == [
        "mri-lumbar-without-and-with-contrast",
        "mri-lumbar-without-contrast",
    ]
    assert any(step.presentation == "ContrastIndicatedPresentation" for step in result.justification)


def test_pregnancy_with_mri_contraindicated_keeps_ct(kb: KnowledgeBase) -> None:
    result = answer(kb, "low-back-pain", "low-velocity-trauma", "pregnancy", "mri-contraindicated")
    assert result.recommendations[0].procedure == "xr-lumbar"
    assert not [r for r in result.recommendations if r.modality == "MRI"]
    assert {"pregnancy-imaging-not-withheld", "pregnancy-no-gadolinium"} <= {c.id for c in result.caveats}


def test_assess_next_skips_what_the_case_implies(kb: KnowledgeBase) -> None:
    result = answer(kb, "low-back-pain", "foot-drop", age=50)
    assert "leg-weakness" not in result.assess_next and "foot-drop" not in result.assess_next
    assert "older-age" not in result.assess_next  # the age is given
    assert "saddle-anesthesia" in result.assess_next


def test_weak_findings_alone_set_no_urgency(kb: KnowledgeBase) -> None:
    result = answer(kb, "low-back-pain", "unexplained-weight-loss", "reflex-change")
    assert result.urgency == "none" and result.recommendations == []
    assert "weight-loss-follow-up" in [c.id for c in result.caveats]


def test_assess_next_includes_what_completes_a_more_urgent_definition(kb: KnowledgeBase) -> None:
    """FACTS.md: with no red flags, ask about infection risk factors, though alone each changes nothing."""
    result = answer(kb, "low-back-pain", age=35)
    assert {"iv-drug-use", "recent-bacterial-infection", "fever", "leg-weakness"} <= set(result.assess_next)
    # most urgent first: cauda equina (emergent), then fracture risk (expedited), then V3 (routine)
    order = result.assess_next.index
    assert order("saddle-anesthesia") < order("osteoporosis") < order("surgery-or-intervention-candidate")
