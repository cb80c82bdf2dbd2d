"""The SPARQL query files: headers, parsing, and the threshold query (a property test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph

from kg.config import QUERIES_DIR
from kg.engine.presentation import add_presentation, measurement_literal
from kg.knowledge.queries import QueryLibrary
from kg.knowledge_base import KnowledgeBase
from kg.model.errors import OntologyError
from kg.model.namespaces import CASE

QUERY_FILES = sorted(QUERIES_DIR.rglob("*.rq"))


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_every_query_opens_with_a_comment_header(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert lines[0] == f"# {path.name}"
    assert lines[1].startswith("# ") and len(lines[1]) > 10


def test_a_broken_query_is_reported_by_name(tmp_path: Path) -> None:
    (tmp_path / "broken.rq").write_text("SELECT ?x WHERE { ?x ")
    with pytest.raises(OntologyError, match=r"broken\.rq"):
        QueryLibrary(tmp_path)


def derived(kb: KnowledgeBase, **measurements: float) -> set[str]:
    """The findings derived-findings.rq derives for a case with these measurements."""
    graph = Graph()
    add_presentation(
        graph,
        CASE,
        [("low-back-pain", kb.finding_classes["low-back-pain"])],
        {kb.case_properties[name]: measurement_literal(value) for name, value in measurements.items()},
    )
    return {
        str(row.id) for row in kb.queries.select("derived-findings", kb.ontology.graph + graph, case=CASE)
    }


@settings(max_examples=60, deadline=None)
@given(age=st.floats(min_value=0, max_value=130, allow_nan=False))
def test_older_age_is_derived_from_age_70_on(kb: KnowledgeBase, age: float) -> None:
    assert ("older-age" in derived(kb, age=age)) == (age >= 70)


@settings(max_examples=60, deadline=None)
@given(egfr=st.floats(min_value=0, max_value=200, allow_nan=False))
def test_severe_renal_impairment_is_derived_below_egfr_30(kb: KnowledgeBase, egfr: float) -> None:
    assert ("severe-renal-impairment" in derived(kb, egfr=egfr)) == (egfr < 30)


def test_threshold_edges(kb: KnowledgeBase) -> None:
    assert derived(kb, age=70) == {"older-age", "age-over-50"}
    assert derived(kb, age=69.9) == {"age-over-50"}
    assert derived(kb, age=50) == set()
    assert derived(kb, age=50.1) == {"age-over-50"}
    assert derived(kb, egfr=30) == set()
    assert derived(kb, egfr=29.9) == {"severe-renal-impairment"}
