"""The fast path against the normative one: compiled classifier and queries versus owlrl + SPARQL.

- Every vignette: the whole answer (urgency, classes, ordered recommendations, do-not-order,
  assess-next, caveats, justification) is identical.
- Random cases (slow): whole answers identical. Each owlrl answer classifies the case and one
  what-if variant per absent red flag, a few seconds per case, so the number is set by
  ``KG_DIFFERENTIAL_CASES`` (CI default below).
- Random presentations (slow), in batches of one owlrl closure: the classification (types,
  property values, finding individuals' types) and the rows of every query that reads only the
  classification are identical (each compiled query's rows are kept by what it reads). And
  presentations the compiled engine gives one evaluation key have identical owlrl rows of the
  queries an evaluation reads (urgency, recommendations, procedure rules, do-not-order).

Both slow tests run in chunks (CHUNKS), each with its own seed, so that pytest-xdist spreads
them over the cores; the chunks compare evaluation keys across chunks through a shared file.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import random
from collections.abc import Iterator
from pathlib import Path

import golden
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from rdflib import RDF, Graph, URIRef
from rdflib.query import ResultRow

from kg.engine.facts import ClosureStore, Row
from kg.engine.inference import EVALUATION_QUERIES
from kg.engine.presentation import add_presentation, finding_instance
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.namespaces import KG
from kg.tools.vignettes import load_cases

CASES = load_cases()
RANDOM_CASES = int(os.environ.get("KG_DIFFERENTIAL_CASES", "16"))
DEEP_CASES = int(os.environ.get("KG_DEEP_CASES", "2000"))
PRESENTATIONS = int(os.environ.get("KG_DIFFERENTIAL_PRESENTATIONS", "2000"))
BATCH = 200
#: Chunks each slow test is split into (one pytest test each, for pytest-xdist to distribute).
CHUNKS = 8
SEED = 20261126
#: The compiled queries whose rows depend on a presentation's classification only (cached by what they read).
PRESENTATION_QUERIES = (
    *EVALUATION_QUERIES,
    "presentations",
    "suspected-conditions",
    "assess-next-completions",
    "assess-next-priorities",
    "justification",
)


def finding_ids(kb: KnowledgeBase) -> list[str]:
    return sorted(kb.finding_classes)


def measurement(low: float, high: float, thresholds: tuple[float, ...]) -> st.SearchStrategy[float | None]:
    """None, a value at or next to a threshold, or any value in range."""
    near = [t + d for t in thresholds for d in (-0.1, 0.0, 0.1)]
    return st.none() | st.sampled_from(near) | st.floats(low, high, allow_nan=False)


def cases(ids: list[str]) -> st.SearchStrategy[Case]:
    """Random cases: 1-12 findings (most with low back pain, so that most are in scope), and an age,
    an eGFR and a symptom duration that are often near the ontology's thresholds."""
    findings = st.lists(st.sampled_from(ids), min_size=1, max_size=12, unique=True)
    with_pain = findings.map(lambda chosen: list(dict.fromkeys(["low-back-pain", *chosen])))
    return st.builds(
        Case,
        findings=st.one_of(findings, with_pain, with_pain, with_pain),
        age=measurement(0, 130, (18, 50, 70)),
        egfr=measurement(0, 200, (30,)),
        sex=st.none() | st.sampled_from(["female", "male"]),
        symptom_duration_weeks=measurement(0, 2600, (6,)),
    )


REGENERATE = "the golden owlrl answers are stale: regenerate them with `python tests/golden.py --refresh`"


@pytest.fixture(scope="module")
def gold(kb: KnowledgeBase) -> dict:
    """The golden owlrl answers, checked to be owlrl's for the knowledge under test."""
    content = golden.load()
    if content is None or content.get("stamp") != golden.stamp(kb):
        pytest.fail(REGENERATE)
    return content["answers"]


def test_the_golden_answers_are_owlrls_for_this_knowledge(kb: KnowledgeBase, gold: dict) -> None:
    assert sorted(gold) == sorted(case["id"] for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_vignette_answers_are_identical(kb: KnowledgeBase, gold: dict, case: dict) -> None:
    """The compiled answer is owlrl's (as stamped in the golden file) for every vignette."""
    assert golden.outcome(kb, golden.vignette(case), "compiled") == gold[case["id"]]


@pytest.mark.slow
@pytest.mark.deep
@pytest.mark.parametrize("case", CASES[:3], ids=[case["id"] for case in CASES[:3]])
def test_the_golden_file_holds_what_owlrl_answers_now(kb: KnowledgeBase, gold: dict, case: dict) -> None:
    """The deep check runs owlrl itself on a few vignettes too, in case a stamp ever misses a change."""
    assert golden.outcome(kb, golden.vignette(case), "owlrl") == gold[case["id"]]


def outcome(kb: KnowledgeBase, case: Case, engine: str) -> object:
    """The answer as JSON data, or the problems a rejection names."""
    return golden.outcome(kb, case, engine)


def chunk_size(total: int, chunk: int) -> int:
    """The share of ``total`` that chunk ``chunk`` of CHUNKS takes."""
    return total // CHUNKS + (chunk < total % CHUNKS)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_answers_are_identical(kb: KnowledgeBase, chunk: int) -> None:
    compare_random_answers(kb, SEED + chunk, chunk_size(RANDOM_CASES, chunk))


@pytest.mark.slow
@pytest.mark.deep
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_many_random_answers_are_identical(kb: KnowledgeBase, chunk: int) -> None:
    """The deep check (``pytest -m deep``): 2,000 random whole answers against owlrl
    (``KG_DEEP_CASES``), about 3 s of owlrl each: an hour and more on 2 cores."""
    compare_random_answers(kb, 2 * SEED + chunk, chunk_size(DEEP_CASES, chunk))


def compare_random_answers(kb: KnowledgeBase, chosen_seed: int, count: int) -> None:
    """``count`` random cases from ``chosen_seed``: the compiled and the owlrl answers are identical."""

    @seed(chosen_seed)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(cases(finding_ids(kb)))
    def check(case: Case) -> None:
        assert outcome(kb, case, "compiled") == outcome(kb, case, "owlrl"), case

    check()


#: A presentation's findings and its owlrl rows of EVALUATION_QUERIES, by its evaluation key.
Evaluated = dict[object, tuple[list[str], dict[str, list]]]


@pytest.fixture(scope="session")
def evaluated_file(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A file this test run's xdist workers share (their base temp folders' parent is the run's)."""
    base = tmp_path_factory.getbasetemp()
    return (base if worker_id == "master" else base.parent) / "evaluated.pickle"


def merged(path: Path, chunk: Evaluated) -> Iterator[tuple[tuple, tuple]]:
    """Add one chunk's evaluations to the shared file, under a lock; yield each of them with the
    evaluation of the same key that a chunk finished before had written there."""
    with path.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        seen: Evaluated = pickle.loads(path.read_bytes()) if path.exists() else {}
        for key, entry in chunk.items():
            if key in seen:
                yield seen[key], entry
        path.write_bytes(pickle.dumps({**chunk, **seen}))


def rows_without_case(rows: list[ResultRow | Row]) -> list[dict[str, object]]:
    return [{k: v for k, v in row.asdict().items() if k != "case"} for row in rows]


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_presentations_classify_identically(
    kb: KnowledgeBase, chunk: int, evaluated_file: Path
) -> None:
    """Batches of random finding sets: one owlrl closure per batch against the compiled classifier."""
    engine = kb.engines["compiled"]
    generator = random.Random(SEED + chunk)
    ids = finding_ids(kb)
    by_evaluation_key: Evaluated = {}
    total = chunk_size(PRESENTATIONS, chunk)
    checked = 0
    while checked < total:
        size = min(BATCH, total - checked)
        batch = {
            URIRef(f"urn:kg:differential/{chunk}/{checked + i}"): generator.sample(
                ids, generator.randint(0, 12)
            )
            for i in range(size)
        }
        graph = Graph()
        for presentation, findings in batch.items():
            add_presentation(graph, presentation, [(f, kb.finding_classes[f]) for f in findings])
        closed = kb.reasoner.closure(graph)
        store = ClosureStore(closed, kb.queries.texts)  # the queries run in pyoxigraph, as in kg
        for presentation, findings in batch.items():
            classification = engine.classify([(f, kb.finding_classes[f]) for f in findings], frozenset())
            assert set(closed.objects(presentation, RDF.type)) == classification.types, findings
            values = {
                (p, o)
                for p, o in closed.predicate_objects(presentation)
                if p not in (RDF.type, KG.hasFinding)
            }
            assert values == classification.values, findings
            for finding in findings:
                instance_types = set(closed.objects(finding_instance(presentation, finding), RDF.type))
                assert instance_types == engine.classifier.instance_types(kb.finding_classes[finding]), (
                    findings,
                    finding,
                )
            reference = {
                query: rows_without_case(store.rows(query, presentation)) for query in PRESENTATION_QUERIES
            }
            for query, rows in reference.items():
                assert rows == rows_without_case(engine.rows(query, classification)), (query, findings)
            # Presentations of equal evaluation key share one evaluation: owlrl's rows must agree.
            evaluated = {query: reference[query] for query in EVALUATION_QUERIES}
            key = tuple(engine.key(query, classification) for query in EVALUATION_QUERIES)
            assert None not in key, "the evaluation queries' rows are kept by a key"
            first = by_evaluation_key.setdefault(key, (findings, evaluated))
            assert first[1] == evaluated, (first[0], findings)
        checked += size
    for (earlier, rows), (findings, evaluated) in merged(evaluated_file, by_evaluation_key):
        assert rows == evaluated, (earlier, findings)
