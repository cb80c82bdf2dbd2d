"""``kg validate``: the shipped ontology is clean; broken copies of it are caught by the right check."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import DCTERMS, SKOS
from rdflib.term import Node

from kg.config import DEFAULT_ONTOLOGY_DIR, Settings
from kg.model.namespaces import KG
from kg.tools.validation import ValidationReport, Violation, add_arguments, run, validate

TOPIC = "low-back-pain.ttl"
RECOMMENDATIONS = "low-back-pain-recommendations.ttl"
Pattern = tuple[Node | None, Node | None, Node | None]


def broken_copy(tmp_path: Path, module: str, *, remove: tuple[Pattern, ...] = (), add: str = "") -> Path:
    """A copy of ontology/ (shapes included) with triple patterns removed from ``module`` and Turtle
    appended to it (the module's prefixes apply)."""
    copy = tmp_path / "ontology"
    shutil.copytree(DEFAULT_ONTOLOGY_DIR, copy)
    path = copy / module
    if remove:
        graph = Graph().parse(path)
        for pattern in remove:
            graph.remove(pattern)
        path.write_text(graph.serialize(format="turtle"))
    path.write_text(path.read_text() + add)
    return copy


def of(report: ValidationReport, check: str) -> list[Violation]:
    return [violation for violation in report.violations if violation.check == check]


def parse_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def shipped(cache: Path) -> ValidationReport:
    return validate(DEFAULT_ONTOLOGY_DIR, cache_dir=cache)


def test_the_shipped_ontology_validates_clean(shipped: ValidationReport) -> None:
    assert shipped.violations == ()
    assert (shipped.conforms, shipped.exit_code, shipped.summary()) == (True, 0, "no violations")
    assert shipped.notes == ()


def test_kg_validate_prints_the_readable_report(cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(ontology_dir=DEFAULT_ONTOLOGY_DIR, cache_dir=cache)  # the closure cached above
    assert run(parse_args(), settings) == 0
    assert capsys.readouterr().out == "no violations\n"


def test_a_turtle_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    copy = broken_copy(tmp_path, TOPIC)
    lines = (copy / TOPIC).read_text().splitlines()
    lines.insert(40, 'kg:broken rdfs:label "no closing quote ;')
    (copy / TOPIC).write_text("\n".join(lines) + "\n")
    report = validate(copy, vignettes=None)
    assert report.exit_code == 1
    [violation] = report.violations
    assert (violation.check, violation.module, violation.line) == ("parse", TOPIC, 41)
    assert 'kg:broken rdfs:label "no closing quote ;' in violation.message
    assert any("did not run" in note for note in report.notes)


def test_kg_validate_json_is_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = broken_copy(tmp_path, RECOMMENDATIONS, add="kg:rec-broken a kg:Recommendation ;\n")
    assert run(parse_args("--json", "--no-vignettes"), Settings(ontology_dir=copy)) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["conforms"], report["exit_code"], report["error"]) == (False, 1, None)
    assert report["summary"] == "1 violation: 1 parse"
    [violation] = report["violations"]
    assert (violation["check"], violation["module"], violation["focus"]) == ("parse", RECOMMENDATIONS, None)
    assert violation["message"].startswith("Turtle syntax error: ")
    assert isinstance(violation["line"], int)


def test_constructs_outside_owl_2_rl_name_the_axiom(tmp_path: Path) -> None:
    copy = broken_copy(
        tmp_path,
        TOPIC,
        add="""
kg:OlderAgePresentation rdfs:subClassOf
    [ a owl:Class ; owl:unionOf ( kg:FractureRiskPresentation kg:SuspectedSpinalMalignancy ) ] .
[ owl:complementOf kg:MRIContraindicatedPresentation ] rdfs:subClassOf kg:Presentation .
kg:SuspectedCaudaEquinaSyndrome rdfs:subClassOf
    [ owl:onProperty kg:hasFinding ; owl:someValuesFrom kg:CaudaEquinaRedFlag ] .
kg:SuspectedSpinalInfection owl:equivalentClass [ owl:intersectionOf ( kg:Presentation
    [ owl:unionOf ( kg:fever kg:elevated-inflammatory-markers ) ] ) ] .
""",
    )
    report = validate(copy, vignettes=None)
    assert report.exit_code == 1
    messages = {v.message for v in of(report, "owl-rl-profile")}
    assert messages == {
        "kg:OlderAgePresentation rdfs:subClassOf [ owl:unionOf ( kg:FractureRiskPresentation "
        "kg:SuspectedSpinalMalignancy ) ]: owl:unionOf as a superclass "
        "(OWL 2 RL allows it only as a subclass)",
        "[ owl:complementOf kg:MRIContraindicatedPresentation ] rdfs:subClassOf kg:Presentation: "
        "owl:complementOf as a subclass (OWL 2 RL allows it only as a superclass)",
        "kg:SuspectedCaudaEquinaSyndrome rdfs:subClassOf [ owl:onProperty kg:hasFinding ; owl:someValuesFrom "
        "kg:CaudaEquinaRedFlag ]: owl:someValuesFrom as a superclass (OWL 2 RL allows it only as a subclass)",
        "kg:SuspectedSpinalInfection owl:equivalentClass [ owl:intersectionOf ( kg:Presentation "
        "[ owl:unionOf ( kg:fever kg:elevated-inflammatory-markers ) ] ) ]: owl:unionOf in an equivalence "
        "(OWL 2 RL allows it only as a subclass)",
    }
    assert {v.module for v in of(report, "owl-rl-profile")} == {TOPIC}
    # The profile check flags every class the QC query flags.
    assert {v.focus for v in of(report, "qc:rl-profile-violation")} <= {v.focus for v in report.violations}


def test_inconsistent_individuals_are_named(tmp_path: Path) -> None:
    copy = broken_copy(
        tmp_path,
        TOPIC,
        add="""
kg:nobody a owl:Nothing .
kg:MRIProcedure owl:disjointWith kg:CTProcedure .
kg:hybrid-scan a kg:MRIProcedure, kg:CTProcedure .
""",
    )
    report = validate(copy, vignettes=None)
    assert report.exit_code == 1
    # owl:Nothing is a subclass of every class: kg:nobody is in both disjoint classes too.
    assert [v.message for v in of(report, "consistency")] == [
        "Disjoint classes kg:MRIProcedure and kg:CTProcedure have a common individual kg:hybrid-scan",
        "Disjoint classes kg:MRIProcedure and kg:CTProcedure have a common individual kg:nobody",
        "kg:nobody is defined of type 'Nothing'",
    ]


def test_a_recommendation_without_a_source_is_a_shacl_violation(tmp_path: Path) -> None:
    copy = broken_copy(tmp_path, RECOMMENDATIONS, remove=((KG["rec-cauda-equina-1"], DCTERMS.source, None),))
    report = validate(copy, vignettes=None)
    assert report.exit_code == 1
    [violation] = of(report, "shacl")
    assert violation == Violation(
        "shacl",
        "kg:rec-cauda-equina-1: a recommendation cites at least one dcterms:source, a kg:Source",
        RECOMMENDATIONS,
        focus="kg:rec-cauda-equina-1",
    )
    assert report.summary() == "2 violations: 1 shacl, 1 qc:recommendation-incomplete-violation"


def test_a_duplicate_public_id_names_both_resources(tmp_path: Path) -> None:
    """Review: a new class with the notation "saddle-anesthesia" got "no violations", and /findings
    then showed that ID with the new label."""
    twin = 'kg:NumbBottom a owl:Class ; rdfs:label "numb bottom" ; skos:notation "saddle-anesthesia" .\n'
    report = validate(broken_copy(tmp_path, TOPIC, add=twin), vignettes=None)
    assert report.exit_code == 1
    [violation] = of(report, "qc:duplicate-public-id-violation")
    assert violation.message == "kg:NumbBottom: other kg:saddle-anesthesia, id saddle-anesthesia"


def test_a_finding_without_a_definition_is_a_shacl_violation(tmp_path: Path) -> None:
    copy = broken_copy(tmp_path, TOPIC, remove=((KG.fever, SKOS.definition, None),))
    report = validate(copy, vignettes=None)
    assert report.exit_code == 1
    assert [(v.focus, v.module, v.message) for v in of(report, "shacl")] == [
        ("kg:fever", TOPIC, "kg:fever: a finding has a skos:definition")
    ]


def test_malformed_codes_are_shacl_violations(tmp_path: Path) -> None:
    codes = (
        (KG.fever, KG.snomedCode, "386616006"),  # two digits swapped: wrong check digit
        (KG["low-back-pain"], KG.snomedCode, "0279039007"),  # a leading zero
        (KG["xr-lumbar"], KG.loincCode, "24972-3"),  # wrong check digit
        (KG["ct-lumbar-without-contrast"], KG.loincCode, "30620"),  # no check digit
    )
    add = "".join(f'{s.n3()} {p.n3()} "{code}" .\n' for s, p, code in codes)
    copy = broken_copy(tmp_path, TOPIC, remove=tuple((s, p, None) for s, p, _ in codes), add=add)
    report = validate(copy, vignettes=None)
    assert report.exit_code == 1
    messages = sorted(v.message for v in of(report, "shacl"))
    assert messages == [
        "kg:ct-lumbar-without-contrast: kg:loincCode is one LOINC code: 1-5 digits, a hyphen and a check "
        'digit (found "30620")',
        "kg:fever: kg:snomedCode 386616006 fails the SNOMED CT check digit (Verhoeff): a digit is wrong or "
        "two are swapped",
        "kg:low-back-pain: kg:snomedCode 0279039007 fails the SNOMED CT check digit (Verhoeff): a digit is "
        "wrong or two are swapped",
        "kg:low-back-pain: kg:snomedCode is one SNOMED CT concept id: 6-18 digits, no leading zero, 2nd and "
        '3rd digits from the right 00 or 10 (found "0279039007")',
        "kg:xr-lumbar: kg:loincCode 24972-3 fails the LOINC check digit (mod 10): a digit is wrong or two "
        "are swapped",
    ]


def test_a_presentation_class_with_two_urgencies_is_a_shacl_violation(tmp_path: Path) -> None:
    copy = broken_copy(
        tmp_path,
        TOPIC,
        add="kg:OlderAgePresentation rdfs:subClassOf "
        "[ a owl:Restriction ; owl:onProperty kg:hasUrgency ; owl:hasValue kg:urgent ] .\n",
    )
    report = validate(copy, vignettes=None)
    assert report.exit_code == 1
    [violation] = of(report, "shacl")
    assert violation.focus == "kg:OlderAgePresentation"
    assert "exactly one urgency" in violation.message
    assert violation.module == TOPIC


def test_a_broken_vignette_is_named(tmp_path: Path) -> None:
    copy = broken_copy(tmp_path, RECOMMENDATIONS, remove=((KG["rec-cauda-equina-1"], None, None),))
    report = validate(copy)
    assert report.exit_code == 1
    assert report.summary() == "2 violations: 2 vignette"
    assert report.violations == (
        Violation(
            "vignette",
            "ces-saddle-anesthesia: "
            "first 'mri-lumbar-without-and-with-contrast' != 'mri-lumbar-without-contrast'",
            focus="ces-saddle-anesthesia",
        ),
        Violation(
            "vignette",
            "r2-teen-cauda-equina: "
            "first 'mri-lumbar-without-and-with-contrast' != 'mri-lumbar-without-contrast'",
            focus="r2-teen-cauda-equina",
        ),
    )


def test_a_missing_vignette_file_is_a_note(tmp_path: Path, cache: Path) -> None:
    report = validate(DEFAULT_ONTOLOGY_DIR, vignettes=tmp_path / "none.toml", cache_dir=cache)
    assert (report.exit_code, report.notes) == (0, (f"vignettes not run: no file {tmp_path / 'none.toml'}",))


def test_a_missing_folder_cannot_be_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    report = validate(missing)
    assert (report.exit_code, report.conforms, report.violations) == (2, False, ())
    assert report.summary() == f"could not validate: ontology folder {missing} does not exist"
    assert run(parse_args("--json"), Settings(ontology_dir=missing)) == 2
    assert json.loads(capsys.readouterr().out)["error"] == f"ontology folder {missing} does not exist"
    # the folder argument wins over the setting
    assert run(parse_args(str(missing), "--json"), Settings(ontology_dir=DEFAULT_ONTOLOGY_DIR)) == 2
    assert json.loads(capsys.readouterr().out)["error"] == f"ontology folder {missing} does not exist"


def test_the_readable_report_groups_violations_by_check() -> None:
    report = ValidationReport(
        (
            Violation("parse", "Turtle syntax error: x", "a.ttl", 3),
            Violation("shacl", "kg:y: a finding has a skos:definition", "b.ttl", focus="kg:y"),
            Violation("vignette", "case-1: urgency 'none' != 'urgent'", focus="case-1"),
        ),
        notes=("a note",),
    )
    assert report.text() == "\n".join(
        [
            "3 violations: 1 parse, 1 shacl, 1 vignette",
            "",
            "parse",
            "  a.ttl:3: Turtle syntax error: x",
            "",
            "shacl",
            "  b.ttl: kg:y: a finding has a skos:definition",
            "",
            "vignette",
            "  case-1: urgency 'none' != 'urgent'",
            "",
            "note: a note",
        ]
    )
