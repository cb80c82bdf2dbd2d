"""Loading the ontology modules: content hash, errors that name the file, the vocabularies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.config import DEFAULT_ONTOLOGY_DIR
from kg.knowledge.ontology import load_ontology
from kg.knowledge_base import KnowledgeBase
from kg.model.errors import OntologyError

CONTRACT_SNOMED = {
    "low-back-pain": "279039007",
    "foot-drop": "6077001",
    "urinary-retention": "267064002",
    "fecal-incontinence": "72042002",
    "history-of-cancer": "266987004",
    "fever": "386661006",
    "immunosuppression": "38013005",
    "diabetes-mellitus": "73211009",
}
CONTRACT_LOINC = {
    "mri-lumbar-without-contrast": "30679-5",
    "mri-lumbar-without-and-with-contrast": "24967-2",
    "ct-lumbar-without-contrast": "30620-9",
    "ct-myelography-lumbar": "24965-6",
    "xr-lumbar": "24972-2",
    "ct-lumbar-with-contrast": None,  # not verified (FACTS.md): left blank
}


@pytest.fixture
def ontology_copy(tmp_path: Path) -> Path:
    target = tmp_path / "ontology"
    shutil.copytree(DEFAULT_ONTOLOGY_DIR, target)
    return target


def test_every_module_is_loaded() -> None:
    ontology = load_ontology(DEFAULT_ONTOLOGY_DIR)
    assert ontology.modules == tuple(sorted(p.name for p in DEFAULT_ONTOLOGY_DIR.glob("*.ttl")))
    assert len(ontology.graph) > 1000


def test_version_is_a_content_hash(ontology_copy: Path) -> None:
    before = load_ontology(ontology_copy).version
    assert load_ontology(ontology_copy).version == before
    with (ontology_copy / "core.ttl").open("a") as module:
        module.write("\n# an edit\n")
    assert load_ontology(ontology_copy).version != before


def test_a_new_module_is_loaded(ontology_copy: Path) -> None:
    (ontology_copy / "extra.ttl").write_text("@prefix kg: <https://w3id.org/kg/> .\nkg:x kg:y kg:z .\n")
    ontology = load_ontology(ontology_copy)
    assert "extra.ttl" in ontology.modules


def test_a_syntax_error_names_the_file(ontology_copy: Path) -> None:
    (ontology_copy / "broken.ttl").write_text("@prefix kg: <https://w3id.org/kg/> .\nkg:x kg:y .\n")
    with pytest.raises(OntologyError, match=r"broken\.ttl"):
        load_ontology(ontology_copy)


def test_a_missing_or_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OntologyError, match="does not exist"):
        load_ontology(tmp_path / "nowhere")
    with pytest.raises(OntologyError, match=r"no \*\.ttl"):
        load_ontology(tmp_path)


def test_findings_carry_labels_kinds_and_verified_codes(kb: KnowledgeBase) -> None:
    findings = {f.id: f for f in kb.findings}
    assert len(findings) == 34
    for finding in findings.values():
        assert finding.label and finding.definition and finding.kinds
    assert {i: f.snomed for i, f in findings.items() if f.snomed} == CONTRACT_SNOMED
    assert "cauda-equina-red-flag" in findings["saddle-anesthesia"].kinds
    assert "neurologic-deficit" in findings["foot-drop"].kinds
    assert findings["mri-contraindicated"].kinds == ["imaging-modifier"]
    assert {"imaging-modifier", "infection-risk-factor"} <= set(findings["dialysis"].kinds)
    assert {"fracture-risk", "infection-risk-factor"} <= set(findings["chronic-steroid-use"].kinds)
    assert "presenting-complaint" in findings["leg-weakness"].kinds
    assert "red-flag" not in findings["age-over-50"].kinds


def test_procedures_carry_modality_contrast_radiation_and_loinc(kb: KnowledgeBase) -> None:
    procedures = {p.id: p for p in kb.procedures}
    assert {i: p.loinc for i, p in procedures.items()} == CONTRACT_LOINC
    assert procedures["mri-lumbar-without-contrast"].radiation_level == "O"
    assert procedures["ct-myelography-lumbar"].contrast == "intrathecal"
    assert procedures["xr-lumbar"].modality == "XR"
    contrast_ct = procedures["ct-lumbar-with-contrast"]
    assert (contrast_ct.modality, contrast_ct.contrast, contrast_ct.radiation_level) == ("CT", "with", "☢☢☢")
