"""The case model (the contract's case JSON) and its RDF form."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from rdflib import RDF, Graph, URIRef

from kg.engine.presentation import (
    add_presentation,
    finding_id_of,
    finding_instance,
    hypothesis,
    measurement_literal,
)
from kg.model.case import Case
from kg.model.namespaces import CASE, KG


def rejected_fields(**body) -> list[tuple]:
    with pytest.raises(ValidationError) as error:
        Case.model_validate(body)
    return [e["loc"] for e in error.value.errors()]


def test_only_findings_are_required_and_repeats_count_once() -> None:
    case = Case.model_validate({"findings": ["fever", "low-back-pain", "fever"]})
    assert case.findings == ["fever", "low-back-pain"]
    assert case.age is None and case.egfr is None and case.sex is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"findings": []}, ("findings",)),
        ({}, ("findings",)),
        ({"findings": "fever"}, ("findings",)),
        ({"findings": [1]}, ("findings", 0)),
        ({"findings": ["fever"], "age": 131}, ("age",)),
        ({"findings": ["fever"], "age": "45"}, ("age",)),
        ({"findings": ["fever"], "age": True}, ("age",)),
        ({"findings": ["fever"], "egfr": -1}, ("egfr",)),
        ({"findings": ["fever"], "symptom_duration_weeks": 2601}, ("symptom_duration_weeks",)),
        ({"findings": ["fever"], "sex": "x"}, ("sex",)),
        ({"findings": ["fever"], "finding": ["fever"]}, ("finding",)),
    ],
)
def test_bad_input_names_its_field(body: dict, field: tuple) -> None:
    assert rejected_fields(**body) == [field]


def test_a_presentation_links_one_individual_per_finding() -> None:
    graph = Graph()
    measurements = {KG.ageYears: measurement_literal(45), KG.sex: measurement_literal("female")}
    add_presentation(graph, CASE, [("foot-drop", KG["foot-drop"])], measurements)
    instance = finding_instance(CASE, "foot-drop")
    assert (CASE, RDF.type, KG.Presentation) in graph
    assert (CASE, KG.hasFinding, instance) in graph
    assert (instance, RDF.type, KG["foot-drop"]) in graph
    assert graph.value(CASE, KG.ageYears).toPython() == 45
    assert str(graph.value(CASE, KG.sex)) == "female"
    assert finding_id_of(instance) == "foot-drop"


def test_what_if_variants_hang_below_the_case() -> None:
    variant = hypothesis("saddle-anesthesia")
    assert str(variant).startswith(str(CASE) + "/")
    assert finding_id_of(finding_instance(variant, "fever")) == "fever"
    assert variant != URIRef(CASE)
