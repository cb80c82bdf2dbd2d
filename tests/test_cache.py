"""The on-disk cache: N-Quads and a JSON header, checked on load; nothing in it can run code or lie."""

from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef

from kg.config import DEFAULT_ONTOLOGY_DIR
from kg.engine.reads import Analyzer
from kg.knowledge import cache
from kg.knowledge.cache import ENTRIES_KEPT, STALE_TEMPORARY_S, load_graphs, store_graphs
from kg.knowledge.reasoning import Reasoner
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case

S, P = URIRef("urn:s"), URIRef("urn:p")


def graphs() -> dict[str, Graph]:
    shared = BNode()
    first, second = Graph(), Graph()
    first.add((S, P, shared))
    second.add((shared, P, Literal("Image within 24-48 hours.")))
    return {"module/a.ttl": first, "closure": second, "empty": Graph()}


def test_graphs_come_back_with_their_shared_blank_nodes(tmp_path: Path) -> None:
    store_graphs(tmp_path, "k1", graphs())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1.json", "k1.nq"]
    loaded = load_graphs(tmp_path, "k1")
    assert loaded is not None and set(loaded) == {"module/a.ttl", "closure", "empty"}
    [(_, _, blank)] = loaded["module/a.ttl"]
    assert (blank, P, Literal("Image within 24-48 hours.")) in loaded["closure"]
    assert len(loaded["empty"]) == 0


def test_changed_bytes_are_never_served(tmp_path: Path) -> None:
    """Review: changed bytes inside the pickle were served ("Image within 99-99 hours")."""
    store_graphs(tmp_path, "k1", graphs())
    data = tmp_path / "k1.nq"
    data.write_bytes(data.read_bytes().replace(b"24-48", b"99-99"))
    assert load_graphs(tmp_path, "k1") is None


def test_another_keys_entry_under_this_key_is_never_served(tmp_path: Path) -> None:
    """Review: another version's cache file put under the current key was served silently."""
    store_graphs(tmp_path, "other", graphs())
    for suffix in (".json", ".nq"):
        (tmp_path / f"other{suffix}").rename(tmp_path / f"k1{suffix}")
    assert load_graphs(tmp_path, "k1") is None


@pytest.mark.parametrize("header", [b"", b"[1, 2]", b"{not json", pickle.dumps({"key": "k1"})])
def test_a_foreign_or_broken_header_is_rebuilt_not_a_crash(tmp_path: Path, header: bytes) -> None:
    """Review: a valid pickle of the wrong type crashed kg serve until someone deleted the file."""
    store_graphs(tmp_path, "k1", graphs())
    (tmp_path / "k1.json").write_bytes(header)
    assert load_graphs(tmp_path, "k1") is None


def test_a_header_from_another_kg_version_is_rebuilt(tmp_path: Path) -> None:
    store_graphs(tmp_path, "k1", graphs())
    header = json.loads((tmp_path / "k1.json").read_text())
    (tmp_path / "k1.json").write_text(json.dumps({**header, "kg": "0.0.0"}))
    assert load_graphs(tmp_path, "k1") is None


def test_writing_removes_crash_leftovers_old_entries_and_pickles(tmp_path: Path) -> None:
    stale, fresh = tmp_path / "kg-stale.tmp", tmp_path / "kg-fresh.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half")
    old = time.time() - STALE_TEMPORARY_S - 10
    os.utime(stale, (old, old))
    (tmp_path / "0123.pickle").write_bytes(pickle.dumps("old format"))
    for index in range(ENTRIES_KEPT + 3):
        store_graphs(tmp_path, f"k{index}", graphs())
        stamp = time.time() - 1000 + index
        os.utime(tmp_path / f"k{index}.json", (stamp, stamp))
    names = {p.name for p in tmp_path.iterdir()}
    assert "kg-stale.tmp" not in names and "kg-fresh.tmp" in names  # a writer may still be on it
    assert "0123.pickle" not in names
    kept = sorted(int(name[1:-5]) for name in names if name.endswith(".json"))
    assert kept == list(range(3, ENTRIES_KEPT + 3))
    assert {f"k{index}.nq" for index in kept} <= names


def test_the_knowledge_base_rebuilds_a_tampered_entry(
    warm_cache: Path, kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = warm_cache  # the entry the session's knowledge base was built into
    first = kb
    [data] = tmp_path.glob("*.nq")

    def no_owlrl(*_: object) -> Graph:
        raise AssertionError("the cached closure should have been used")

    def no_relaxed_run(*_: object) -> None:
        raise AssertionError("what the queries read should have come from the cache")

    monkeypatch.setattr(Reasoner, "closure", no_owlrl)
    monkeypatch.setattr(Analyzer, "_reading", no_relaxed_run)
    cached = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR, cache_dir=tmp_path)
    case = Case(findings=["low-back-pain", "leg-weakness"], age=45)
    assert cached.recommend(case) == first.recommend(case)
    for findings in (["fever"], ["saddle-anesthesia"], ["unexplained-weight-loss"]):
        cached.recommend(Case(findings=["low-back-pain", *findings], age=70))

    monkeypatch.undo()
    data.write_bytes(data.read_bytes().replace(b"24-48 hours", b"99-99 hours"))
    rebuilt = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR, cache_dir=tmp_path)
    assert rebuilt.recommend(case).urgency_meaning == "Image within 24-48 hours."
    assert b"24-48 hours" in data.read_bytes()  # the entry was written again


def test_changed_tables_are_never_served(tmp_path: Path) -> None:
    store_graphs(tmp_path, "k1", graphs(), {"reads": [["q", [], ["<urn:c>"]]]})
    assert cache.load_entry(tmp_path, "k1").tables == {"reads": [["q", [], ["<urn:c>"]]]}
    header = tmp_path / "k1.json"
    header.write_text(header.read_text().replace("urn:c", "urn:d"))
    assert cache.load_entry(tmp_path, "k1") is None


@pytest.mark.parametrize(
    "table",
    [
        "not a list",
        [["no-such-query", [], None, None]],
        [["recommendations", [["<https://w3id.org/kg/notAValueProperty>", "<urn:v>"]], None, None]],
        [["recommendations", [], ["<urn:not-a-presentation-class>"], None]],
        [["recommendations", [], ["not a term"], None]],
        [["recommendations", [], None, [["<urn:item>", []]]]],  # items of rows not kept
        [["recommendations"]],
        [["suspected-conditions", [], [], [["<urn:item>", []]]]],  # a query not split by an item
        [["applicable", [], [], [["<urn:b>", []], ["<urn:a>", []]]]],  # items out of order
        [["applicable", [], [], [["<urn:a>", ["<urn:not-a-presentation-class>"]]]]],
        [["applicable", [], [], [["_:blank", []]]]],  # an item with no order among the others
    ],
)
def test_a_reads_table_that_does_not_fit_the_knowledge_is_not_taken(table: object) -> None:
    """Nothing loaded from disk is trusted: the table of what the queries read (cached with the
    closure) names only analysed queries, value properties and presentation classes, and items
    in the order their query gives them, or it is ignored as a whole and found again on first use."""
    kb = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR)
    analyzer = kb.engines["compiled"].analyzer
    before = analyzer.table()
    assert analyzer.preload(table) is False
    assert analyzer.table() == before
    assert analyzer.preload(before) is True


def test_the_cache_module_cannot_unpickle() -> None:
    assert "pickle" not in vars(cache)


def test_a_memo_holds_at_most_its_bound_and_keeps_what_was_used_lately() -> None:
    """Two generations of half the bound each: a hit in the old one moves the entry to the young
    one, so an entry used within the last half-bound insertions survives the rotation."""
    memo: cache.Memo[int] = cache.Memo(8)
    for key in range(4):
        memo[key] = key  # the fourth fills the young generation: it becomes the old one
    assert len(memo) == 4 and memo.get(0) == 0  # 0 is used again: copied into the young one
    for key in range(4, 7):
        memo[key] = key  # 0, 4, 5, 6: the young generation is full again; 1, 2, 3 are dropped
    assert memo.get(0) == 0 and memo.get(6) == 6
    assert [memo.get(key) for key in (1, 2, 3)] == [None, None, None]
    for key in range(100, 200):
        memo[key] = key
    assert len(memo) <= 8 and memo.get(199) == 199 and memo.get(0) is None
