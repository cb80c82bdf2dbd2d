"""Clinical revision 2 (FACTS.md, "Revision 2"): one test per revised rule, with the case the review found.

Every rule here is ontology and query data; these tests hold the answers to it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.config import DEFAULT_ONTOLOGY_DIR
from kg.knowledge_base import KnowledgeBase
from kg.model.answer import Answer
from kg.model.case import Case
from kg.model.errors import CaseError

LOW_BACK_PAIN = "low-back-pain"


def answer(kb: KnowledgeBase, *findings: str, **measurements: float | str) -> Answer:
    return kb.recommend(Case(findings=[LOW_BACK_PAIN, *findings], **measurements))


def caveat_ids(result: Answer) -> list[str]:
    return [c.id for c in result.caveats]


def caveat(result: Answer, caveat_id: str) -> str:
    return next(c.text for c in result.caveats if c.id == caveat_id)


def procedures(result: Answer) -> list[str]:
    return [r.procedure for r in result.recommendations]


def texts(result: Answer) -> str:
    """Everything the answer says in words."""
    parts = [r.rationale for r in result.recommendations]
    parts += [d.reason for d in result.do_not_order] + [c.text for c in result.caveats]
    return " ".join(parts)


# --- infection -------------------------------------------------------------------------------


def test_fever_and_raised_markers_are_suspected_infection_without_a_risk_factor(kb: KnowledgeBase) -> None:
    """Review: a febrile patient with raised ESR/CRP got "none: do not order MRI, no red flags"."""
    result = answer(kb, "fever", "elevated-inflammatory-markers", age=55)
    assert result.urgency == "emergent"
    assert procedures(result)[0] == "mri-lumbar-without-and-with-contrast"
    assert "spinal-infection" in result.suspected_conditions
    assert "whole-spine-imaging" in caveat_ids(result)
    assert result.do_not_order == []


def test_chronic_steroids_are_an_infection_risk_factor(kb: KnowledgeBase) -> None:
    """Review: a febrile patient on steroids got radiographs for a fracture."""
    result = answer(kb, "chronic-steroid-use", "fever", age=62)
    assert result.urgency == "emergent"
    assert procedures(result)[0] == "mri-lumbar-without-and-with-contrast"
    assert "spinal-infection" in result.suspected_conditions


@pytest.mark.parametrize("risk_factor", ["diabetes-mellitus", "dialysis", "history-of-cancer", "iv-drug-use"])
def test_the_infection_risk_factors_with_one_sign_are_suspected_infection(
    kb: KnowledgeBase, risk_factor: str
) -> None:
    result = answer(kb, risk_factor, "elevated-inflammatory-markers", age=45)
    assert result.urgency == "emergent"
    assert "spinal-infection" in result.suspected_conditions


def test_fever_with_a_neurologic_deficit_is_suspected_infection(kb: KnowledgeBase) -> None:
    """The classic triad: no risk factor needed."""
    result = answer(kb, "fever", "leg-weakness", age=47)
    assert result.urgency == "emergent"
    assert procedures(result)[0] == "mri-lumbar-without-and-with-contrast"
    assert "spinal-infection" in result.suspected_conditions
    deciding = [s.presentation for s in result.justification if not s.outranked and s.urgency == "emergent"]
    assert "suspected-spinal-infection-with-deficit" in deciding
    assert "infectious disease at once" in caveat(result, "specialist-consultation")


def test_one_infection_sign_alone_gets_the_infection_workup_not_no_red_flags(kb: KnowledgeBase) -> None:
    result = answer(kb, "elevated-inflammatory-markers", age=44)
    assert result.urgency == "none"
    assert result.recommendations == []
    assert "infection-workup" in caveat_ids(result)
    assert "reevaluate-if-red-flags" not in caveat_ids(result)
    refused = {d.procedure for d in result.do_not_order}
    assert not refused & {"mri-lumbar-without-contrast", "mri-lumbar-without-and-with-contrast"}
    assert "No red flags" not in texts(result)
    infection = {"fever", "iv-drug-use", "diabetes-mellitus", "immunosuppression", "chronic-steroid-use",
                 "dialysis", "history-of-cancer", "recent-bacterial-infection"}  # fmt: skip
    leading = result.assess_next[: len(infection)]
    assert set(leading) == infection, result.assess_next


@pytest.mark.parametrize("finding", ["iv-drug-use", "recent-bacterial-infection", "fever"])
def test_iv_drug_use_bacteraemia_or_fever_alone_get_the_infection_workup(
    kb: KnowledgeBase, finding: str
) -> None:
    result = answer(kb, finding, age=40)
    assert result.urgency == "none"
    assert "infection-workup" in caveat_ids(result)
    assert result.assess_next[0] in {
        "elevated-inflammatory-markers",
        "fever",
        "chronic-steroid-use",
        "diabetes-mellitus",
        "dialysis",
    }


def test_suspected_infection_shows_no_infection_workup(kb: KnowledgeBase) -> None:
    assert "infection-workup" not in caveat_ids(answer(kb, "fever", "iv-drug-use", age=33))


# --- cancer ----------------------------------------------------------------------------------


def test_unexplained_weight_loss_over_50_is_suspected_malignancy(kb: KnowledgeBase) -> None:
    result = answer(kb, "unexplained-weight-loss", age=58)
    assert result.urgency == "expedited"
    assert procedures(result)[0] == "mri-lumbar-without-and-with-contrast"
    assert "spinal-malignancy" in result.suspected_conditions
    assert "age-over-50" in result.derived_findings
    assert "whole-spine-imaging" in caveat_ids(result)
    assert "trial-of-therapy" not in caveat_ids(result)


def test_age_50_is_not_over_50(kb: KnowledgeBase) -> None:
    result = answer(kb, "unexplained-weight-loss", age=50)
    assert result.urgency == "none"
    assert "weight-loss-follow-up" in caveat_ids(result)
    assert "unexplained-weight-loss" not in result.assess_next


def test_weight_loss_over_50_with_a_deficit_is_urgent_with_contrast_mri(kb: KnowledgeBase) -> None:
    result = answer(kb, "unexplained-weight-loss", "leg-weakness", age=61)
    assert result.urgency == "urgent"
    assert procedures(result)[0] == "mri-lumbar-without-and-with-contrast"
    assert "whole-spine-imaging" in caveat_ids(result)
    assert "malignant-spinal-compression" not in result.suspected_conditions


def copied_ontology(tmp_path: Path, module: str, old: str, new: str) -> Path:
    folder = tmp_path / "ontology"
    shutil.copytree(DEFAULT_ONTOLOGY_DIR, folder)
    path = folder / module
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return folder


def test_the_age_over_50_threshold_is_data(tmp_path: Path) -> None:
    """The threshold is an ontology value: moved to 60, a 58-year-old's weight loss sets no urgency."""
    folder = copied_ontology(
        tmp_path,
        "low-back-pain.ttl",
        "kg:impliesFinding kg:age-over-50 ;\n    kg:thresholdValue 50 ;",
        "kg:impliesFinding kg:age-over-50 ;\n    kg:thresholdValue 60 ;",
    )
    kb = KnowledgeBase.load(folder)
    assert answer(kb, "unexplained-weight-loss", age=58).urgency == "none"
    assert answer(kb, "unexplained-weight-loss", age=61).urgency == "expedited"


# --- substitutes -------------------------------------------------------------------------------


def test_substituted_ct_keeps_its_own_appropriateness(kb: KnowledgeBase) -> None:
    """Never "usually appropriate" for cauda equina: CT is "may be appropriate" in variant 4."""
    result = answer(kb, "saddle-anesthesia", "mri-contraindicated", "mri-unavailable", age=50)
    first = result.recommendations[0]
    assert (first.modality, first.appropriateness) == ("CT", "may-be-appropriate")
    assert "transfer-for-mri" not in caveat_ids(result)
    fracture = answer(kb, "osteoporosis", "mri-contraindicated", age=68)
    ct = next(r for r in fracture.recommendations if r.procedure == "ct-lumbar-without-contrast")
    assert ct.appropriateness == "usually-appropriate"  # CT's own rating in variant 6


@pytest.mark.parametrize(
    ("findings", "first"),
    [
        (["fever", "iv-drug-use", "mri-contraindicated"], "ct-lumbar-with-contrast"),
        (["history-of-cancer", "leg-weakness", "mri-unavailable"], "ct-lumbar-with-contrast"),
        (["immunosuppression", "mri-contraindicated"], "ct-lumbar-without-contrast"),
        (["prior-lumbar-surgery", "mri-contraindicated"], "ct-lumbar-without-contrast"),
        (["history-of-cancer", "mri-contraindicated"], "ct-lumbar-without-contrast"),
    ],
    ids=[
        "infection",
        "malignant-compression",
        "immunosuppression",
        "prior-surgery",
        "malignancy-without-deficit",
    ],
)
def test_contrast_ct_replaces_contrast_mri_only_for_infection_and_malignant_compression(
    kb: KnowledgeBase, findings: list[str], first: str
) -> None:
    result = answer(kb, *findings, age=45)
    assert procedures(result)[0] == first
    assert not {"mri-lumbar-without-contrast", "mri-lumbar-without-and-with-contrast"} & set(
        procedures(result)
    )


def test_ct_myelography_is_offered_after_ct_for_root_compression(kb: KnowledgeBase) -> None:
    result = answer(kb, "leg-weakness", "mri-contraindicated", age=58)
    assert procedures(result) == ["ct-lumbar-without-contrast", "ct-myelography-lumbar"]
    assert "myelography-puncture-site" not in caveat_ids(result)
    infection = answer(kb, "fever", "iv-drug-use", "mri-contraindicated", age=40)
    assert "ct-myelography-lumbar" in procedures(infection)
    assert "myelography-puncture-site" in caveat_ids(infection)


def test_the_iodinated_contrast_renal_caveat_appears_when_it_applies(kb: KnowledgeBase) -> None:
    result = answer(kb, "fever", "iv-drug-use", "mri-contraindicated", age=40, egfr=20)
    assert "metformin" in caveat(result, "iodinated-contrast-renal")
    assert "group-ii-gadolinium" not in caveat_ids(result)  # no gadolinium study is listed
    on_dialysis = answer(kb, "fever", "dialysis", "mri-contraindicated", age=40)
    assert "iodinated-contrast-renal" not in caveat_ids(on_dialysis)


def test_group_ii_gadolinium_names_the_dialysis_step(kb: KnowledgeBase) -> None:
    assert "schedule dialysis" not in caveat(
        answer(kb, "history-of-cancer", age=64, egfr=22), "group-ii-gadolinium"
    )
    on_dialysis = answer(kb, "history-of-cancer", "dialysis", age=64)
    assert "schedule dialysis promptly" in caveat(on_dialysis, "group-ii-gadolinium")


def test_ct_for_infection_says_a_negative_ct_does_not_exclude_it(kb: KnowledgeBase) -> None:
    assert "ct-does-not-exclude-infection" in caveat_ids(
        answer(kb, "fever", "iv-drug-use", "mri-unavailable", age=40)
    )
    assert "ct-does-not-exclude-infection" not in caveat_ids(answer(kb, "fever", "iv-drug-use", age=40))


# --- transfer advice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("findings", "urgency"),
    [(["saddle-anesthesia"], "emergent"), (["leg-weakness"], "urgent"), (["history-of-cancer"], "expedited")],
)
def test_transfer_advice_whenever_mri_is_unavailable_but_not_contraindicated(
    kb: KnowledgeBase, findings: list[str], urgency: str
) -> None:
    result = answer(kb, *findings, "mri-unavailable", age=45)
    assert result.urgency == urgency
    assert result.recommendations[0].modality == "CT"
    assert "transfer-for-mri" in caveat_ids(result)
    assert "transfer-for-mri" not in caveat_ids(
        answer(kb, *findings, "mri-unavailable", "mri-contraindicated", age=45)
    )


def test_no_transfer_advice_for_routine_imaging(kb: KnowledgeBase) -> None:
    assert "transfer-for-mri" not in caveat_ids(answer(kb, "mri-unavailable", age=78))


def test_pregnancy_with_ct_first_gets_the_not_withheld_caveat(kb: KnowledgeBase) -> None:
    result = answer(kb, "leg-weakness", "pregnancy", "mri-unavailable", age=31, sex="female")
    assert result.recommendations[0].modality == "CT"
    assert "pregnancy-imaging-not-withheld" in caveat_ids(result)
    with_mri = answer(kb, "leg-weakness", "pregnancy", age=31, sex="female")
    assert "pregnancy-imaging-not-withheld" not in caveat_ids(with_mri)


def test_a_contrast_study_in_pregnancy_is_qualified(kb: KnowledgeBase) -> None:
    result = answer(kb, "fever", "iv-drug-use", "pregnancy", "mri-contraindicated", age=30, sex="female")
    first = result.recommendations[0]
    assert first.procedure == "ct-lumbar-with-contrast"
    assert "only when it is essential" in first.rationale


# --- scope and contradictions --------------------------------------------------------------------


def rejection(kb: KnowledgeBase, findings: list[str], **measurements: float | str) -> CaseError:
    with pytest.raises(CaseError) as caught:
        kb.recommend(Case(findings=findings, **measurements))
    return caught.value


@pytest.mark.parametrize(
    ("findings", "measurements", "field", "rule"),
    [
        ([LOW_BACK_PAIN], {"age": 10}, "age", "adult-criteria"),
        (["history-of-cancer"], {"age": 60}, "findings", "presenting-complaint-required"),
        ([LOW_BACK_PAIN, "pregnancy"], {"age": 30, "sex": "male"}, "sex", "pregnancy-with-male-sex"),
        ([LOW_BACK_PAIN, "older-age"], {"age": 60}, "findings", "older-age-below-threshold"),
        (
            [LOW_BACK_PAIN, "failed-conservative-management", "surgery-or-intervention-candidate"],
            {"symptom_duration_weeks": 3},
            "symptom_duration_weeks",
            "failed-management-too-early",
        ),
    ],
    ids=[
        "under-18",
        "no-presenting-complaint",
        "pregnant-male",
        "older-age-below-threshold",
        "failed-too-early",
    ],
)
def test_out_of_scope_or_contradictory_cases_are_rejected_naming_the_rule(
    kb: KnowledgeBase, findings: list[str], measurements: dict, field: str, rule: str
) -> None:
    error = rejection(kb, findings, **measurements)
    assert [(loc, rule in message) for loc, message in error.problems] == [((field,), True)]


def test_the_rules_hold_the_findings_and_measurements_they_name(kb: KnowledgeBase) -> None:
    """The same findings without the contradiction or out-of-scope value are answered."""
    assert answer(kb, "older-age", age=75).urgency == "routine"
    assert answer(kb, "pregnancy", age=30, sex="female").urgency == "none"
    assert answer(kb, "failed-conservative-management", "surgery-or-intervention-candidate",
                  symptom_duration_weeks=8).urgency == "routine"  # fmt: skip
    assert answer(kb, age=18).urgency == "none"


@pytest.mark.parametrize(
    ("findings", "measurements", "note"),
    [
        ([LOW_BACK_PAIN, "saddle-anesthesia"], {"age": 17}, "under 18"),
        (["urinary-retention"], {"age": 50}, "no presenting complaint"),
        (["fever", "iv-drug-use"], {"age": 30}, "no presenting complaint"),
        ([LOW_BACK_PAIN, "pregnancy", "leg-weakness"], {"age": 30, "sex": "male"}, "sex male"),
    ],
    ids=["teen-cauda-equina", "retention-alone", "fever-ivdu-alone", "pregnant-male-deficit"],
)
def test_a_rejection_never_hides_an_emergency(
    kb: KnowledgeBase, findings: list[str], measurements: dict, note: str
) -> None:
    result = kb.recommend(Case(findings=findings, **measurements))
    assert result.urgency in ("emergent", "urgent")
    assert caveat_ids(result)[0] == "check-input"
    assert note in caveat(result, "check-input")


def test_input_rules_are_data(tmp_path: Path) -> None:
    folder = copied_ontology(
        tmp_path,
        "low-back-pain-recommendations.ttl",
        "kg:thresholdValue 18 ;",
        "kg:thresholdValue 16 ;",
    )
    kb = KnowledgeBase.load(folder)
    assert answer(kb, age=17).urgency == "none"
    assert rejection(kb, [LOW_BACK_PAIN], age=15).problems[0][0] == ("age",)


def test_a_client_reads_the_input_rules(client) -> None:
    """GET /input-rules lists the rules a case is checked against, as the ontology states them."""
    rules = {rule["id"]: rule for rule in client.get("/input-rules").json()}
    assert {"adult-criteria", "presenting-complaint-required", "pregnancy-with-male-sex",
            "older-age-below-threshold"} <= set(rules)  # fmt: skip
    adult = rules["adult-criteria"]
    assert adult["field"] == "age"
    assert adult["answered_from_urgency"] == "urgent"
    assert adult["answered_with"] == "check-input"
    assert "acr-lbp-2021" in adult["sources"]
    rejected = client.post("/recommendations", json={"findings": [LOW_BACK_PAIN], "age": 15})
    assert rejected.status_code == 422
    assert "adult-criteria" in rejected.text


# --- wording ----------------------------------------------------------------------------------------


def test_no_red_flags_only_when_there_are_none(kb: KnowledgeBase) -> None:
    plain = answer(kb, age=35)
    assert "No red flags" in texts(plain)
    assert "reevaluate-if-red-flags" in caveat_ids(plain)
    diabetes = answer(kb, "diabetes-mellitus", age=35)
    assert diabetes.urgency == "none"
    assert "No red flags" not in texts(diabetes)
    assert "diabetes mellitus" in caveat(diabetes, "red-flags-without-presentation")


def test_incidental_findings_mention_weakness_only_with_weakness(kb: KnowledgeBase) -> None:
    assert "weakness" not in caveat(answer(kb, "saddle-anesthesia", age=41), "incidental-findings")
    assert "weakness" in caveat(answer(kb, "leg-weakness", age=45), "incidental-findings")


@pytest.mark.parametrize(
    ("findings", "shown"),
    [
        (["leg-weakness"], True),
        (["radicular-leg-pain", "failed-conservative-management", "surgery-or-intervention-candidate"], True),
        (["saddle-anesthesia"], False),
        (["fever", "iv-drug-use"], False),
        (["history-of-cancer"], False),
        (["osteoporosis", "radicular-leg-pain"], False),
    ],
    ids=["unilateral-deficit", "v3", "cauda-equina", "infection", "malignancy", "fracture"],
)
def test_mri_accuracy_only_for_disc_herniation_workups(
    kb: KnowledgeBase, findings: list[str], shown: bool
) -> None:
    assert (
        "mri-diagnostic-accuracy" in caveat_ids(answer(kb, *findings, age=55, symptom_duration_weeks=10))
    ) is shown


def test_trial_of_therapy_only_when_older_age_is_the_only_risk_finding(kb: KnowledgeBase) -> None:
    assert "trial-of-therapy" in caveat_ids(answer(kb, age=78))
    assert "trial-of-therapy" not in caveat_ids(answer(kb, "reflex-change", age=78))
    assert "trial-of-therapy" not in caveat_ids(answer(kb, "unexplained-weight-loss", age=78))


@pytest.mark.parametrize(
    ("findings", "words"),
    [
        (["fever", "leg-weakness"], "spine surgery and infectious disease at once"),
        (["history-of-cancer", "leg-weakness"], "oncology or the metastatic spinal cord compression service"),
        (["fever", "iv-drug-use"], "infectious disease at once"),
        (["saddle-anesthesia"], "spine surgery at once"),
        (["leg-weakness"], "when imaging finds significant pathology"),
    ],
    ids=["infection-deficit", "malignant-compression", "infection", "cauda-equina", "unilateral-deficit"],
)
def test_the_specialist_fits_the_condition(kb: KnowledgeBase, findings: list[str], words: str) -> None:
    assert words in caveat(answer(kb, *findings, age=60), "specialist-consultation")


def test_whole_spine_advice_for_suspected_malignancy_names_a_modality_that_can_be_done(
    kb: KnowledgeBase,
) -> None:
    assert "whole-spine MRI" in caveat(answer(kb, "history-of-cancer", age=62), "whole-spine-imaging")
    without = caveat(answer(kb, "history-of-cancer", "mri-contraindicated", age=62), "whole-spine-imaging")
    assert "whole-spine CT" in without
    assert not without.startswith("Consider whole-spine MRI")


def test_rationales_hold_for_the_case(kb: KnowledgeBase) -> None:
    sensory = answer(kb, "severe-sensory-loss", age=50, symptom_duration_weeks=20)
    assert "leg weakness" not in sensory.recommendations[0].rationale.lower()
    assert "4-6 weeks" not in sensory.recommendations[0].rationale
    contrast_first = answer(kb, "saddle-anesthesia", "history-of-cancer", "prior-lumbar-surgery", age=60)
    assert not contrast_first.recommendations[0].rationale.startswith("MRI without contrast is also")
    for result in (
        sensory,
        contrast_first,
        answer(kb, "prior-lumbar-surgery", "pregnancy", age=30, sex="female"),
    ):
        assert " also usually appropriate" not in result.recommendations[0].rationale


def test_the_justification_marks_classes_below_the_answer_as_outranked(kb: KnowledgeBase) -> None:
    result = answer(kb, "saddle-anesthesia", age=41)
    outranked = {s.presentation for s in result.justification if s.outranked}
    deciding = {s.presentation for s in result.justification if not s.outranked and s.urgency == "emergent"}
    assert "uncomplicated-low-back-pain" in outranked
    assert "suspected-cauda-equina-syndrome" in deciding


def test_assess_next_leaves_out_a_finding_implied_by_one_listed(kb: KnowledgeBase) -> None:
    result = answer(kb, age=35, symptom_duration_weeks=2)
    assert "leg-weakness" in result.assess_next
    assert "foot-drop" not in result.assess_next


def test_assess_next_is_ordered_by_the_urgency_a_finding_would_reach(kb: KnowledgeBase) -> None:
    """Saddle anesthesia (emergent) before osteoporosis (expedited) before a surgery candidate
    (routine only with failed management)."""
    result = answer(kb, age=35)
    order = ["saddle-anesthesia", "osteoporosis", "failed-conservative-management"]
    positions = [result.assess_next.index(f) for f in order]
    assert positions == sorted(positions)


# --- sources -----------------------------------------------------------------------------------------


def test_urgent_imaging_for_any_unilateral_weakness_cites_the_seed(kb: KnowledgeBase) -> None:
    result = answer(kb, "leg-weakness", age=45)
    step = next(s for s in result.justification if s.presentation == "low-back-pain-with-neurologic-deficit")
    assert step.sources == ["seed"]


def test_nice_ng234_is_cited_for_whole_spine_imaging_not_for_lumbar_contrast_mri(kb: KnowledgeBase) -> None:
    result = answer(kb, "history-of-cancer", age=62)
    assert "nice-ng234" not in result.recommendations[0].sources
    assert "nice-ng234" in next(c.sources for c in result.caveats if c.id == "whole-spine-imaging")
