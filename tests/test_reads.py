"""What a case query reads of a presentation (kg.engine.reads), and the compiled engine that keeps rows by it.

The keys must be sound: a query run over only the facts its key covers gives the rows it gives
over all of a presentation's facts. And an informaticist's edit of a query keeps the fast path,
with the answers the owlrl engine gives.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import golden
import pytest
from fastapi.testclient import TestClient
from rdflib import Literal, URIRef

from kg.api.main import create_app
from kg.config import DEFAULT_ONTOLOGY_DIR, QUERIES_DIR, Settings
from kg.engine.blocks import Split
from kg.engine.compiled import PREPARE_QUERIES, CompiledEngine
from kg.engine.inference import EVALUATION_QUERIES, asserted_facts, prepare, run_given
from kg.engine.presentation import measurement_literal
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.namespaces import CASE, KG
from kg.tools.vignettes import load_cases

SEED = 20261202


def compiled(kb: KnowledgeBase) -> CompiledEngine:
    engine = kb.engines["compiled"]
    assert isinstance(engine, CompiledEngine)
    return engine


def test_every_shipped_case_query_is_kept_by_a_key(kb: KnowledgeBase) -> None:
    """The shipped queries stay on the fast path: none of them reads what no key covers."""
    engine = compiled(kb)
    assert engine.unkeyed == {}
    assert set(EVALUATION_QUERIES) <= set(engine.keys)
    assert not set(PREPARE_QUERIES) & set(engine.keys)


def test_recommendations_read_only_the_classes_at_the_highest_urgency(kb: KnowledgeBase) -> None:
    """Under an emergent urgency value, recommendations.rq cannot read the urgent class of the
    seed's deficit: its NOT EXISTS over a higher urgency leaves it out (the key is narrower)."""
    key = compiled(kb).keys["recommendations"]
    analyzer = key._analyzer
    emergent = analyzer.classes_read(
        key.reads, frozenset({(KG.hasUrgency, KG.none), (KG.hasUrgency, KG.emergent)})
    )
    urgent = analyzer.classes_read(
        key.reads, frozenset({(KG.hasUrgency, KG.none), (KG.hasUrgency, KG.urgent)})
    )
    assert emergent is not None and urgent is not None
    assert KG.SuspectedCaudaEquinaSyndrome in emergent
    assert KG.NeurologicDeficitPresentation not in emergent
    assert KG.NeurologicDeficitPresentation in urgent


def test_a_query_with_no_relaxed_solution_under_the_values_reads_nothing(kb: KnowledgeBase) -> None:
    """assess-next-completions.rq for an emergent presentation: no definition of a higher urgency
    is left, so not even its relaxed pattern has a solution. It reads no class then (its key is
    the values alone), and the real query has no row for such a presentation, whatever its
    findings; below emergent it still reads the classes of the definitions it can complete."""
    engine = compiled(kb)
    key_of = engine.keys["assess-next-completions"]
    analyzer = key_of._analyzer
    none = (KG.hasUrgency, KG.none)
    assert analyzer.classes_read(key_of.reads, frozenset({none, (KG.hasUrgency, KG.emergent)})) == frozenset()
    assert analyzer.classes_read(key_of.reads, frozenset({none, (KG.hasUrgency, KG.urgent)}))
    presentation = URIRef("urn:kg:test/presentation")
    emergent = 0
    for findings in random_presentations(kb, 200):
        classification = engine.classify(findings, frozenset())
        if (KG.hasUrgency, KG.emergent) not in classification.values:
            continue
        emergent += 1
        facts = engine.facts(presentation, classification, findings, {})
        assert engine.store.select("assess-next-completions", facts, presentation) == []
        assert key_of(classification) == classification.mask & key_of.value_bits
    assert emergent >= 20  # random presentations with red flags are often emergent


def random_presentations(kb: KnowledgeBase, count: int) -> list[list[tuple[str, URIRef]]]:
    generator = random.Random(SEED)
    ids = sorted(kb.finding_classes)
    return [
        [(f, kb.finding_classes[f]) for f in generator.sample(ids, generator.randint(0, 10))]
        for _ in range(count)
    ]


def test_a_query_over_the_facts_its_key_covers_gives_the_rows_of_all_the_facts(kb: KnowledgeBase) -> None:
    """The soundness of every key, checked with the real queries on 150 random presentations."""
    engine = compiled(kb)
    presentation = URIRef("urn:kg:test/presentation")
    for findings in random_presentations(kb, 150):
        classification = engine.classify(findings, frozenset())
        facts = engine.facts(presentation, classification, findings, {})
        for name, key_of in engine.keys.items():
            key = key_of(classification)
            assert key is not None, name
            everything = engine.store.select(name, facts, presentation)
            covered = engine.store.select(name, key_of.facts(presentation, key), presentation)
            assert covered == everything, (name, [f for f, _ in findings])


def edited_queries(tmp_path: Path, name: str, edit: callable) -> Path:
    folder = tmp_path / "queries"
    shutil.copytree(QUERIES_DIR, folder)
    path = folder / f"{name}.rq"
    path.write_text(edit(path.read_text()))
    return folder


VIGNETTES = [case for case in load_cases() if not case["expect"].get("rejected")][:6]


def answers_agree(kb: KnowledgeBase, shipped: KnowledgeBase | None = None) -> None:
    """The compiled answers are owlrl's: run now, or, for an edit that keeps the queries' meaning
    (pass the ``shipped`` knowledge base), the golden owlrl answers of the shipped knowledge."""
    content = golden.load() if shipped is not None else None
    if shipped is not None:
        assert content is not None and content["stamp"] == golden.stamp(shipped), (
            "regenerate the golden answers"
        )
    for vignette in VIGNETTES:
        fields = {k: v for k, v in vignette.items() if k in Case.model_fields}
        case = Case.model_validate(fields)
        if content is None:
            assert kb.recommend(case, "compiled") == kb.recommend(case, "owlrl"), vignette["id"]
        else:
            expected = content["answers"][vignette["id"]]
            assert golden.outcome(kb, case, "compiled") == expected, vignette["id"]


@pytest.mark.parametrize(
    ("name", "edit", "same_meaning"),
    [
        ("urgency", lambda text: "# an informaticist's note\n" + text, True),
        ("input-rules", lambda text: "# a query run before classification\n" + text, True),
        (
            "recommendations",
            lambda text: text.replace(
                "  ?procedureNode skos:notation ?procedure .",
                '  ?procedureNode skos:notation ?procedure .\n  FILTER (?procedure != "xr-lumbar")',
            ),
            False,
        ),
    ],
    ids=["comment", "comment-before-classification", "filter"],
)
def test_an_edited_query_stays_on_the_fast_path_with_the_answers_of_owlrl(
    tmp_path: Path, kb: KnowledgeBase, name: str, edit: callable, same_meaning: bool
) -> None:
    edited = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR, edited_queries(tmp_path, name, edit))
    assert edited.default_reasoner == "compiled"
    assert compiled(edited).unkeyed == {}
    answers_agree(edited, kb if same_meaning else None)


def test_a_query_reading_finding_individuals_runs_for_each_presentation_and_says_why(tmp_path: Path) -> None:
    """Not kept by a key, but still answered by the query itself: the same answers as owlrl."""

    def edit(text: str) -> str:
        return text.replace(
            "  ?case a kg:Presentation .", "  ?case a kg:Presentation ; kg:hasFinding ?someFinding .", 1
        )

    kb = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR, edited_queries(tmp_path, "applicable", edit))
    reasons = compiled(kb).unkeyed
    assert list(reasons) == ["applicable"]
    assert "finding individuals" in " ".join(reasons["applicable"])
    assert kb.degraded_by and "applicable" in kb.degraded_by[0]
    answers_agree(kb)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda text: text.replace(
                "?case a kg:Presentation ;", "?case ?anyProperty ?anyValue ; a kg:Presentation ;", 1
            ),
            "a pattern with a variable property",
        ),
        (
            lambda text: text.replace(
                "FILTER NOT EXISTS {", 'FILTER (STR(?case) != "x")\n  FILTER NOT EXISTS {', 1
            ),
            "an expression reads ?case",
        ),
    ],
    ids=["variable-property", "iri"],
)
def test_what_no_key_covers_is_named(tmp_path: Path, edit: callable, reason: str) -> None:
    kb = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR, edited_queries(tmp_path, "urgency", edit))
    reasons = compiled(kb).unkeyed
    assert list(reasons) == ["urgency"], reasons
    assert any(text.startswith(reason) for text in reasons["urgency"]), reasons


@pytest.mark.parametrize(
    ("edit", "status"),
    [
        (lambda text: "# an informaticist's note\n" + text, "ok"),
        (
            lambda text: text.replace(
                "  ?case a kg:Presentation .", "  ?case a kg:Presentation ; kg:hasFinding ?someFinding .", 1
            ),
            "degraded",
        ),
    ],
    ids=["comment", "finding-individuals"],
)
def test_the_service_reports_the_fast_path_for_an_edited_queries_folder(
    tmp_path: Path, edit: callable, status: str
) -> None:
    """An informaticist points the service at an edited queries folder (``KG_QUERIES_DIR``): /health
    stays on the compiled engine, "ok" while the keys cover the edit, "degraded" with the reason
    when they cannot; the answers are owlrl's either way."""
    folder = edited_queries(tmp_path, "applicable", edit)
    settings = replace(Settings(), queries_dir=folder, cache_dir=None, watch=False)
    with TestClient(create_app(settings)) as client:
        health = client.get("/health").json()
        assert health["status"] == status and health["reasoner"] == "compiled"
        assert bool(health["degraded_by"]) == (status == "degraded")
        case = {"findings": ["low-back-pain", "leg-weakness"], "age": 45}
        compiled_answer = client.post("/recommendations", json=case).json()
    owlrl = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR, folder).recommend(Case(**case), "owlrl")
    assert compiled_answer == owlrl.model_dump(mode="json")


def test_each_block_of_split_rows_is_kept_by_the_classes_its_items_read(kb: KnowledgeBase) -> None:
    """The soundness of every block key (kg.engine.compiled.Split): the rows of a block's items over
    the facts its key covers are their rows over all the facts, on 60 random presentations."""
    engine = compiled(kb)
    presentation = URIRef("urn:kg:test/presentation")
    split_queries = set()
    for findings in random_presentations(kb, 60):
        classification = engine.classify(findings, frozenset())
        facts = engine.facts(presentation, classification, findings, {})
        for name, key_of in engine.keys.items():
            split = key_of.split(classification)
            if split is None:
                continue
            split_queries.add(name)
            everything = engine.store.select(name, facts, presentation)
            for bits, items in split.blocks:
                block_key = classification.mask & (key_of.value_bits | bits)
                covered = engine.store.select(name, key_of.facts(presentation, block_key), presentation)
                assert [row for row in covered if split.item_of(row) in items] == [
                    row for row in everything if split.item_of(row) in items
                ], (name, items, [f for f, _ in findings])
    assert {"applicable", "justification", "assess-next-completions"} <= split_queries


def test_rows_assembled_from_kept_blocks_are_the_rows_of_a_run(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a presentation's rows are made of when its whole key is new (kept blocks, in the
    query's order) is what the query gives it, on 300 random presentations after each other."""
    engine = compiled(kb)
    generator = random.Random(SEED + 1)
    ids = sorted(kb.finding_classes)
    assembled = []
    kept, assemble = engine._kept, engine._kept.assemble

    def counted(*args: object) -> object:
        rows = assemble(*args)
        assembled.append(rows is not None)
        return rows

    monkeypatch.setattr(kept, "assemble", counted)
    for _ in range(300):
        findings = [(f, kb.finding_classes[f]) for f in generator.sample(ids, generator.randint(0, 10))]
        classification = engine.classify(findings, frozenset())
        facts = engine.facts(CASE, classification, findings, {})
        for name in engine.keys:
            rows = engine.rows(name, classification, findings)
            assert rows == engine.store.select(name, facts, CASE), (name, [f for f, _ in findings])
    assert sum(assembled) > 100


def test_rows_of_an_item_the_split_lacks_stop_the_split(
    kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    """A run whose rows name an item the analysis did not find (it would have missed a way the
    query reads) keeps nothing by block under those values, and says so; the rows are the run's."""
    engine = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR).engines["compiled"]
    findings = [("low-back-pain", kb.finding_classes["low-back-pain"])]
    classification = engine.classify(findings, frozenset())
    key_of = engine.keys["applicable"]
    split = key_of.split(classification)
    rows = engine.store.select("applicable", engine.facts(CASE, classification, findings, {}), CASE)
    assert split is not None and rows
    lacking = Split.of(split.variables, [(item, 0) for item in split.rank if item != split.item_of(rows[0])])
    bits = classification.mask & key_of.value_bits
    key_of._by_values[bits] = (key_of._by_values[bits][0], lacking)
    assert engine.rows("applicable", classification, findings) == rows
    assert key_of.split(classification) is None
    assert "rows the split by ?item lacks" in caplog.text


def random_cases(kb: KnowledgeBase, count: int, seed: int) -> list[tuple[list, dict]]:
    """Random cases as given: findings, and measurements near the ontology's thresholds and not."""
    generator = random.Random(seed)
    ids = sorted(kb.finding_classes)
    properties = {name: prop for name, prop in kb.case_properties.items()}
    cases = []
    for _ in range(count):
        findings = [(f, kb.finding_classes[f]) for f in generator.sample(ids, generator.randint(0, 8))]
        measurements = {}
        for name, prop in properties.items():
            if generator.random() < 0.6:
                if name == "sex":
                    value = generator.choice(["male", "female"])
                else:
                    value = generator.choice([0, 6, 18, 30, 50, 70, 17.9, 18.1, 29.5, 49.99, 70.5, 120])
                    value = value if generator.random() < 0.5 else round(generator.uniform(0, 130), 1)
                measurements[prop] = measurement_literal(value)
        cases.append((findings, measurements))
    return cases


def test_the_queries_before_classification_give_kept_rows_as_their_runs(kb: KnowledgeBase) -> None:
    """The rows kept by what a case as given reads (findings among the classes each item reads,
    measurements by region, the case's own value put back where the query projects it) are the
    rows a run over the whole case gives, on 400 random cases; most come from kept rows."""
    engine = compiled(kb)
    given = engine.given
    runs = []
    select = engine.store.select

    def counted(*args: object) -> object:
        runs.append(args[0])
        return select(*args)

    for findings, measurements in random_cases(kb, 400, SEED + 2):
        engine.store.select = counted
        try:
            fast = given.prepare(findings, measurements)
        finally:
            del engine.store.select
        assert fast == prepare(run_given(engine.store), findings, measurements), (
            [f for f, _ in findings],
            measurements,
        )
    assert len(runs) < 400 * len(PREPARE_QUERIES) / 3
    assert given.unkeyed == {}
    assert all(key.split is not None for key in given.keys.values())


def test_each_block_of_a_query_before_classification_reads_what_its_key_holds(kb: KnowledgeBase) -> None:
    """The soundness of each block key over a case as given: the rows of a block's items over the
    case's findings among the classes the block reads, and its measurements of the properties it
    reads, each moved to another value of its region, are their rows over the whole case."""
    engine = compiled(kb)
    generator = random.Random(SEED + 3)
    for findings, measurements in random_cases(kb, 80, SEED + 3):
        for name, key_of in engine.given.keys.items():
            whole = engine.store.select(name, asserted_facts(CASE, findings, measurements), CASE)
            for (classes, properties), items in key_of.split.blocks:
                kept = [(f, c) for f, c in findings if c in classes]
                moved = {
                    p: _same_region(key_of, v, generator) for p, v in measurements.items() if p in properties
                }
                rows = engine.store.select(name, asserted_facts(CASE, kept, moved), CASE)
                rows = key_of.rows(key_of.entries(rows, moved) or [], measurements)
                assert [r for r in rows if key_of.split.item_of(r) in items] == [
                    r for r in whole if key_of.split.item_of(r) in items
                ], (name, items, [f for f, _ in findings], measurements)


def _same_region(key_of: object, value: Literal, generator: random.Random) -> Literal:
    """Another measurement value the key cannot tell from ``value`` (itself if none is found)."""
    for _ in range(50):
        number = value.toPython()
        if not isinstance(number, Decimal):
            return value
        other = measurement_literal(float(number) + generator.uniform(-3, 3))
        if other != value and key_of._value(other) == key_of._value(value):
            return other
    return value
