"""The competency questions of ``queries/examples/*.rq``, run against the SPARQL endpoint's dataset.

Every example is a standalone SELECT query over the dataset of ``kg.sparql.dataset`` (default graph:
the OWL 2 RL closure; named graphs: asserted, inferred, one per module). Each one must parse, open
with a comment header, answer with at least one row, no blank nodes and a total order. The four
questions of the issue are then checked against what was derived independently: the engines'
answers (``kb.recommend``), an rdflib walk of the asserted ontology, the procedure vocabulary and
the clinical source (FACTS.md).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, QuerySolutions, RdfFormat, Store
from rdflib import RDF, Namespace
from rdflib import Literal as RdfLiteral
from rdflib.plugins.sparql import prepareQuery

from kg.config import QUERIES_DIR, Settings
from kg.knowledge_base import KnowledgeBase
from kg.model.answer import Answer
from kg.model.case import Case
from kg.model.namespaces import KG
from kg.sparql.dataset import nquads

EXAMPLES_DIR = QUERIES_DIR / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.rq"))
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
XSD = "http://www.w3.org/2001/XMLSchema#"

Row = dict[str, Any]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """The knowledge base as the endpoint loads it (this module's own: it needs nothing else)."""
    return KnowledgeBase.from_settings(Settings())


@pytest.fixture(scope="module")
def dataset(kb: KnowledgeBase) -> bytes:
    """The endpoint's dataset as N-Quads."""
    return nquads(kb.ontology, kb.closed)


@pytest.fixture(scope="module")
def store(dataset: bytes) -> Store:
    store = Store()
    store.load(dataset, format=RdfFormat.N_QUADS)
    return store


@pytest.fixture(scope="module")
def shuffled_store(dataset: bytes) -> Store:
    """The same dataset loaded in another order: a query's row order must not depend on it."""
    lines = dataset.decode("utf-8").splitlines()
    random.Random(20251107).shuffle(lines)
    store = Store()
    store.load("\n".join(lines).encode("utf-8"), format=RdfFormat.N_QUADS)
    return store


def solutions(store: Store, path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The variables and rows (terms, None when unbound) of the SELECT query in ``path``."""
    result = store.query(path.read_text(encoding="utf-8"))
    assert isinstance(result, QuerySolutions), f"{path.name} is not a SELECT query"
    variables = [variable.value for variable in result.variables]
    return variables, [tuple(solution[name] for name in variables) for solution in result]


def python_value(term: Any) -> Any:
    """A term as a plain value: IRIs and strings as str, integers as int, booleans as bool."""
    if term is None:
        return None
    if isinstance(term, Literal):
        datatype = term.datatype.value
        if datatype == XSD + "integer":
            return int(term.value)
        if datatype == XSD + "boolean":
            return term.value in ("true", "1")
        return term.value
    assert isinstance(term, NamedNode), f"unexpected term {term!r}"
    return term.value


def select(store: Store, name: str) -> list[Row]:
    """The rows of ``queries/examples/<name>.rq`` as dicts of plain values."""
    variables, rows = solutions(store, EXAMPLES_DIR / f"{name}.rq")
    return [{v: python_value(term) for v, term in zip(variables, row, strict=True)} for row in rows]


def order_by_variables(text: str) -> list[str]:
    """The variables of the query's (outermost, last) ORDER BY clause."""
    clauses = re.findall(r"ORDER\s+BY\s+([^\n{}]+)", text, flags=re.IGNORECASE)
    assert clauses, "no ORDER BY clause"
    return re.findall(r"\?(\w+)", clauses[-1])


def test_there_are_examples() -> None:
    names = {path.stem for path in EXAMPLES}
    assert {
        "emergent-imaging-findings",
        "contrast-recommendations",
        "seed-citing-recommendations",
        "procedure-radiation",
    } <= names


# --- every example --------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_parses_in_two_engines(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    prepareQuery(text)  # rdflib's SPARQL 1.1 parser; oxigraph parses it in the tests below
    assert re.search(r"^\s*SELECT\b", text, flags=re.IGNORECASE | re.MULTILINE)
    assert re.search(r"^PREFIX\s", text, flags=re.MULTILINE), "declare the prefixes"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_opens_with_a_comment_header(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert lines[0] == f"# {path.name}"
    assert len(header) >= 4 and len(header[1]) > 10, "a title line, then what the query answers"
    assert any(line.startswith("# Columns:") for line in header), "name the columns"
    assert any(line.startswith("# Graph:") for line in header), "name the graph the query relies on"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_answers_readable_rows(store: Store, path: Path) -> None:
    variables, rows = solutions(store, path)
    assert rows, f"{path.name} answers no rows"
    for row in rows:
        for name, term in zip(variables, row, strict=True):
            assert not isinstance(term, BlankNode), f"{path.name}: ?{name} is a blank node"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_rows_are_in_a_total_order(store: Store, shuffled_store: Store, path: Path) -> None:
    variables, rows = solutions(store, path)
    assert solutions(store, path) == (variables, rows)
    assert solutions(shuffled_store, path) == (variables, rows), "the order depends on the load order"
    keys = order_by_variables(path.read_text(encoding="utf-8"))
    positions = [variables.index(key) for key in keys if key in variables]
    assert positions, "ORDER BY the columns that identify a row"
    sort_keys = [tuple(row[i] for i in positions) for row in rows]
    assert len(set(sort_keys)) == len(rows), "rows tie on the ORDER BY columns: their order is not fixed"


# --- 1. emergent-imaging-findings -----------------------------------------------------------


def emergent_steps(kb: KnowledgeBase, answer: Answer) -> set[tuple[str, str]]:
    """(finding, presentation class) of the answer's justification steps into an emergent presentation
    class (steps that explain a procedure rule carry the answer's urgency, not their class's)."""
    graph = kb.ontology.graph
    classes = {str(graph.value(c, SKOS.notation)) for c in graph.subjects(SKOS.inScheme, KG.presentations)}
    return {
        (step.finding, step.presentation)
        for step in answer.justification
        if step.urgency == "emergent" and step.presentation in classes
    }


def case(*findings: str) -> Case:
    """A case with these findings and low back pain, its presenting complaint (without one, a case
    is out of scope: FACTS.md, "Scope and contradictions"); low back pain adds no urgency."""
    return Case(findings=list(dict.fromkeys(["low-back-pain", *findings])))


def meets(kb: KnowledgeBase, requirement: str) -> list[str]:
    """The findings that meet a requirement (a finding ID or a finding kind), by the vocabulary."""
    return sorted(f.id for f in kb.findings if f.id == requirement or requirement in f.kinds)


def test_emergent_findings_alone_are_what_the_engine_makes_emergent(store: Store, kb: KnowledgeBase) -> None:
    rows = select(store, "emergent-imaging-findings")
    alone = {(row["finding"], row["presentation"]) for row in rows if row["alone"]}
    for row in rows:
        assert row["alone"] == (row["alsoNeeds"] is None), row
    engine = set()
    for finding in kb.findings:
        answer = kb.recommend(case(finding.id))
        steps = emergent_steps(kb, answer)
        assert (answer.urgency == "emergent") == bool(steps)
        engine |= steps
    assert alone == engine
    # FACTS.md: cauda equina red flags and a progressive motor deficit are emergent by themselves
    assert {finding for finding, _ in alone} == {
        "bilateral-leg-weakness",
        "fecal-incontinence",
        "progressive-motor-deficit",
        "saddle-anesthesia",
        "urinary-incontinence",
        "urinary-retention",
    }


def test_emergent_findings_with_what_they_also_need_make_a_case_emergent(
    store: Store, kb: KnowledgeBase
) -> None:
    rows = select(store, "emergent-imaging-findings")
    needs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        if not row["alone"]:
            needs[row["finding"], row["presentation"]].add(row["alsoNeeds"])
    emergent_alone = {f.id for f in kb.findings if kb.recommend(case(f.id)).urgency == "emergent"}
    assert needs
    for (finding, presentation), requirements in sorted(needs.items()):
        helpers = []
        for requirement in sorted(requirements):
            candidates = [f for f in meets(kb, requirement) if f != finding and f not in emergent_alone]
            assert candidates, f"no finding meets {requirement} without being emergent itself"
            helpers.append(candidates[0])
        with_finding = kb.recommend(case(finding, *helpers))
        assert with_finding.urgency == "emergent"
        assert (finding, presentation) in emergent_steps(kb, with_finding), (finding, helpers)
        if len(requirements) == 1:  # (helpers from several definitions could meet another one alone)
            without = kb.recommend(case(*helpers))
            assert presentation not in {step.presentation for step in without.justification}, (
                finding,
                helpers,
            )
    # FACTS.md: suspected spinal infection = fever and raised markers, or a sign and a risk factor,
    # or fever and a deficit; malignant compression = cancer history and a deficit
    assert needs["fever", "suspected-spinal-infection"] == {
        "infection-risk-factor",
        "elevated-inflammatory-markers",
    }
    assert needs["fever", "suspected-spinal-infection-with-deficit"] >= {"neurologic-deficit"}
    assert needs["iv-drug-use", "suspected-spinal-infection"] == {"infection-sign"}
    assert needs["history-of-cancer", "suspected-malignant-compression"] == {"neurologic-deficit"}
    assert needs["leg-weakness", "suspected-malignant-compression"] == {"history-of-cancer"}


def test_findings_left_out_never_make_a_case_emergent(store: Store, kb: KnowledgeBase) -> None:
    returned = {row["finding"] for row in select(store, "emergent-imaging-findings")}
    ids = sorted(f.id for f in kb.findings)
    left_out = [finding for finding in ids if finding not in returned]
    assert "reflex-change" in left_out and "unexplained-weight-loss" in left_out  # FACTS.md: no urgency
    assert kb.recommend(case(*left_out)).urgency != "emergent"
    # a left-out finding adds nothing: a pair with it is emergent only when the other finding is
    emergent = {finding: kb.recommend(case(finding)).urgency == "emergent" for finding in ids}
    for finding in left_out:
        for other in ids:
            answer = kb.recommend(case(finding, other))
            assert (answer.urgency == "emergent") == emergent[other], (finding, other)
            assert all(step[0] != finding for step in emergent_steps(kb, answer)), (finding, other)


# --- 2. contrast-recommendations ------------------------------------------------------------

# One case per presentation class, from FACTS.md, that puts a case into the class at the top urgency.
REPRESENTATIVE_CASES = {
    "suspected-spinal-infection-with-deficit": ["low-back-pain", "fever", "iv-drug-use", "foot-drop"],
    "suspected-malignant-compression": ["low-back-pain", "history-of-cancer", "leg-weakness"],
    "suspected-cauda-equina-syndrome": ["low-back-pain", "saddle-anesthesia"],
    "suspected-spinal-infection": ["low-back-pain", "fever", "iv-drug-use"],
    "suspected-spinal-malignancy": ["low-back-pain", "history-of-cancer"],
    "immunosuppression-presentation": ["low-back-pain", "immunosuppression"],
    "prior-lumbar-surgery-presentation": ["low-back-pain", "prior-lumbar-surgery"],
}


def test_contrast_recommendations_are_the_usually_appropriate_contrast_studies(
    store: Store, kb: KnowledgeBase
) -> None:
    rows = select(store, "contrast-recommendations")
    graph = kb.ontology.graph
    contrast_procedures = {p.id for p in kb.procedures if p.contrast not in ("without", "none")}
    assert contrast_procedures == {
        "mri-lumbar-without-and-with-contrast",
        "ct-lumbar-with-contrast",
        "ct-myelography-lumbar",
    }

    def notation(node: Any) -> str:
        return str(graph.value(node, SKOS.notation))

    expected = set()
    for recommendation in graph.subjects(RDF.type, KG.Recommendation):
        procedure = notation(graph.value(recommendation, KG.procedure))
        appropriateness = notation(graph.value(recommendation, KG.appropriateness))
        if procedure in contrast_procedures and appropriateness == "usually-appropriate":
            expected.add(
                (
                    str(recommendation),
                    procedure,
                    notation(graph.value(recommendation, KG.forPresentation)),
                    int(graph.value(recommendation, KG.rank)),
                    str(graph.value(recommendation, KG.rationale)),
                )
            )
    found = {
        (row["recommendation"], row["procedure"], row["presentation"], row["rank"], row["rationale"])
        for row in rows
    }
    assert found == expected
    # FACTS.md: contrast MRI is usually appropriate in ACR V4 (cauda equina), V5 and V7
    assert {row["presentation"] for row in rows} >= {
        "suspected-cauda-equina-syndrome",
        "prior-lumbar-surgery-presentation",
        "suspected-spinal-malignancy",
        "suspected-spinal-infection",
        "immunosuppression-presentation",
    }


def test_contrast_indicated_classes_get_the_contrast_study_first(store: Store, kb: KnowledgeBase) -> None:
    rows = select(store, "contrast-recommendations")
    assert {row["presentation"] for row in rows} <= set(REPRESENTATIVE_CASES), "add a case for the class"
    for row in rows:
        answer = kb.recommend(Case(findings=REPRESENTATIVE_CASES[row["presentation"]]))
        listed = {(r.procedure, r.presentation, r.appropriateness) for r in answer.recommendations}
        assert (row["procedure"], row["presentation"], "usually-appropriate") in listed, row
        first = answer.recommendations[0].procedure
        assert (first == "mri-lumbar-without-and-with-contrast") == row["contrastIndicated"], row
    indicated = {row["presentation"]: row["contrastIndicated"] for row in rows}
    assert indicated["suspected-cauda-equina-syndrome"] is False  # FACTS.md: not for cauda equina
    assert indicated["suspected-spinal-infection-with-deficit"] is True  # only through the closure


# --- 3. seed-citing-recommendations ---------------------------------------------------------


def test_seed_citing_recommendations_match_a_walk_of_the_ontology(store: Store, kb: KnowledgeBase) -> None:
    rows = select(store, "seed-citing-recommendations")
    graph = kb.ontology.graph
    keyed_seed = graph.subjects(SKOS.notation, RdfLiteral("seed"))
    (seed,) = [source for source in keyed_seed if (source, RDF.type, KG.Source) in graph]
    expected = {
        (
            str(recommendation),
            str(graph.value(graph.value(recommendation, KG.forPresentation), SKOS.notation)),
            str(graph.value(graph.value(recommendation, KG.procedure), SKOS.notation)),
            int(graph.value(recommendation, KG.rank)),
        )
        for recommendation in graph.subjects(DCTERMS.source, seed)
        if (recommendation, RDF.type, KG.Recommendation) in graph
    }
    found = {(row["recommendation"], row["presentation"], row["procedure"], row["rank"]) for row in rows}
    assert found == expected
    assert len(rows) == len(expected)
    for row in rows:
        assert "seed" in kb.sources[KG[row["recommendation"].removeprefix(str(KG))]]
    # FACTS.md, the seed's rule: MRI without contrast for leg weakness, CT when MRI cannot be had
    assert ("low-back-pain-with-neurologic-deficit", "mri-lumbar-without-contrast") in {
        (row["presentation"], row["procedure"]) for row in rows
    }


# --- 4. procedure-radiation -----------------------------------------------------------------

# FACTS.md: "MRI O; lumbar radiography three; CT lumbar without contrast three; CT myelography four"
# and the dose bands "O = 0 mSv, one radiation symbol < 0.1, two 0.1-1, three 1-10, four 10-30 mSv".
FACTS_RADIATION = {
    "mri-lumbar-without-contrast": ("O", "0 mSv"),
    "mri-lumbar-without-and-with-contrast": ("O", "0 mSv"),
    "ct-lumbar-without-contrast": ("☢☢☢", "1-10 mSv"),
    "ct-myelography-lumbar": ("☢☢☢☢", "10-30 mSv"),
    "xr-lumbar": ("☢☢☢", "1-10 mSv"),
    "ct-lumbar-with-contrast": ("☢☢☢", "1-10 mSv"),  # FACTS.md, Revision 2: three symbols
}


def test_procedure_radiation_matches_the_procedure_vocabulary(store: Store, kb: KnowledgeBase) -> None:
    rows = select(store, "procedure-radiation")
    found = [(r["procedure"], r["procedureLabel"], r["modality"], r["radiationLevel"]) for r in rows]
    vocabulary = sorted(kb.procedures, key=lambda procedure: procedure.id)
    assert found == [(p.id, p.label, p.modality, p.radiation_level) for p in vocabulary]
    levels = {row["procedure"]: (row["radiationLevel"], row["radiationLabel"]) for row in rows}
    assert levels == FACTS_RADIATION
