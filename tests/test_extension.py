"""Informaticists extend the knowledge in Turtle: a new red flag changes answers with no code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ontology_edits import NEW_RED_FLAG

from kg.config import DEFAULT_ONTOLOGY_DIR, Settings
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.errors import CaseError


def test_a_new_red_flag_module_changes_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase
) -> None:
    case = Case(findings=["low-back-pain", "urinary-urgency"], age=50)
    with pytest.raises(CaseError):
        kb.recommend(case)

    edited = tmp_path / "ontology"
    shutil.copytree(DEFAULT_ONTOLOGY_DIR, edited)
    (edited / "local-red-flags.ttl").write_text(NEW_RED_FLAG)
    monkeypatch.setenv("KG_ONTOLOGY_DIR", str(edited))
    extended = KnowledgeBase.load(Settings.from_env().ontology_dir)

    assert "urinary-urgency" in {f.id for f in extended.findings}
    result = extended.recommend(case)
    assert result.urgency == "emergent"
    assert "cauda-equina-syndrome" in result.suspected_conditions
    assert result.ontology_version != kb.version
    without_it = extended.recommend(Case(findings=["low-back-pain", "leg-weakness"], age=50))
    assert "urinary-urgency" in without_it.assess_next
