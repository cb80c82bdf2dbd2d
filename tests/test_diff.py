"""kg diff on real ontology edits: the axioms it names per module, the answers that change, its arguments."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ontology_edits import NEW_RED_FLAG
from rdflib import BNode

from kg.config import DEFAULT_ONTOLOGY_DIR, PROJECT_ROOT, Settings
from kg.knowledge.ontology import read_modules
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools import answer_changes, diff
from kg.tools.cases import CaseStream

# The ontology is kept formatted by `kg fmt` (tests/test_fmt.py checks it), so these edits match its layout.
CAUDA_EQUINA = "kg:urinary-retention a owl:Class ;\n    rdfs:subClassOf kg:CaudaEquinaRedFlag ;"
DEFICIT = "kg:urinary-retention a owl:Class ;\n    rdfs:subClassOf kg:NeurologicDeficit ;"
EMERGENT = (  # the urgency of suspected cauda equina syndrome
    "owl:hasValue kg:emergent ],\n        "
    "[ a owl:Restriction ; owl:onProperty kg:hasSuspectedCondition ; owl:hasValue kg:cauda-equina-syndrome"
)
VIGNETTES = """
[[case]]
id = "new-red-flag"
findings = ["low-back-pain", "urinary-urgency"]
age = 50
[case.expect]

[[case]]
id = "seed"
findings = ["low-back-pain", "leg-weakness"]
age = 45
[case.expect]
"""
UNCHANGED = {"status": "unchanged", "added": [], "removed": []}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, shipped_cache: Path, kb: KnowledgeBase) -> Settings:
    """A cache of this module's own, holding the shipped ontology's entry: each ontology is closed
    by owlrl once, not once per diff."""
    return Settings(cache_dir=Path(shutil.copytree(shipped_cache, tmp_path_factory.mktemp("diff") / "cache")))


def edited_copy(into: Path, module: str = "", old: str = "", new: str = "") -> Path:
    """A copy of the ontology folder with ``old`` replaced by ``new`` (exactly once) in ``module``."""
    folder = into / "ontology"
    shutil.copytree(DEFAULT_ONTOLOGY_DIR, folder)
    if module:
        text = (folder / module).read_text()
        assert text.count(old) == 1
        (folder / module).write_text(text.replace(old, new))
    return folder


@pytest.fixture(scope="module")
def demoted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Urinary retention demoted from a cauda equina red flag to a neurologic deficit."""
    return edited_copy(tmp_path_factory.mktemp("demoted"), "low-back-pain.ttl", CAUDA_EQUINA, DEFICIT)


def kg_diff(
    capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str | Path
) -> tuple[int, str, str]:
    """``kg diff ARGV``: its exit status, standard output and standard error."""
    parser = argparse.ArgumentParser()
    diff.add_arguments(parser)
    status = diff.run(parser.parse_args([str(arg) for arg in argv]), settings)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def report(capsys: pytest.CaptureFixture[str], settings: Settings, *argv: str | Path) -> dict[str, Any]:
    """The ``--json`` report of ``kg diff ARGV``, which must exit 0."""
    status, out, err = kg_diff(capsys, settings, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def outcome(kb: KnowledgeBase, case: Case) -> dict[str, str | None]:
    """As the diff writes it: urgency and first procedure, or the rejection's message."""
    try:
        answer = kb.recommend(case)
    except CaseError as error:
        return {"rejected": error.message}
    first = answer.recommendations[0].procedure if answer.recommendations else None
    return {"urgency": answer.urgency, "first_procedure": first}


def test_a_demoted_red_flag_shows_as_its_axiom_and_the_answers_it_changes(
    capsys: pytest.CaptureFixture[str], settings: Settings, demoted: Path
) -> None:
    result = report(capsys, settings, DEFAULT_ONTOLOGY_DIR, demoted, "--cases", "200")

    assert result["modules"] == {
        "case-form.ttl": UNCHANGED,
        "core.ttl": UNCHANGED,
        "fhir-codes.ttl": UNCHANGED,
        "low-back-pain-recommendations.ttl": UNCHANGED,
        "low-back-pain.ttl": {
            "status": "changed",
            "added": ["kg:urinary-retention rdfs:subClassOf kg:NeurologicDeficit"],
            "removed": ["kg:urinary-retention rdfs:subClassOf kg:CaudaEquinaRedFlag"],
        },
    }
    assert result["findings"] == {"added": [], "removed": []}

    old = KnowledgeBase.load(DEFAULT_ONTOLOGY_DIR, cache_dir=settings.cache_dir)
    new = KnowledgeBase.load(demoted, cache_dir=settings.cache_dir)
    case = Case(findings=["low-back-pain", "urinary-retention"], age=50)
    assert outcome(old, case)["urgency"] == "emergent"
    assert outcome(new, case)["urgency"] == "urgent"

    assert [v["id"] for v in result["vignettes"]] == ["ces-mri-contraindicated"]
    [vignette] = result["vignettes"]
    assert "urinary-retention" in vignette["case"]["findings"]
    assert vignette["before"] == {"urgency": "emergent", "first_procedure": "ct-lumbar-without-contrast"}
    assert vignette["after"] == {"urgency": "urgent", "first_procedure": "ct-lumbar-without-contrast"}
    assert vignette["before"] == outcome(old, Case(**vignette["case"]))
    assert vignette["after"] == outcome(new, Case(**vignette["case"]))

    ids = sorted(old.finding_classes)
    expected = [
        body
        for body in CaseStream(ids, seed=0).bodies(200)
        if outcome(old, Case(**body)) != outcome(new, Case(**body))
    ]
    cases = result["cases"]
    assert cases["compared"] == cases["drawn"] == 200
    assert cases["new_finding"] == cases["removed_finding"] == 0
    assert cases["changed"] == len(cases["examples"]) == len(expected) > 0
    for example, body in zip(cases["examples"], expected, strict=True):
        assert example["case"] == body
        assert "urinary-retention" in body["findings"]
        assert example["before"] == outcome(old, Case(**body))
        assert example["after"] == outcome(new, Case(**body))
        assert (example["before"]["urgency"], example["after"]["urgency"]) == ("emergent", "urgent")


def test_a_new_red_flag_module_shows_all_its_axioms_and_no_changed_answer(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    edited = edited_copy(tmp_path)
    (edited / "local-red-flags.ttl").write_text(NEW_RED_FLAG)
    (tmp_path / "vignettes.toml").write_text(VIGNETTES)
    status, out, _ = kg_diff(
        capsys,
        settings,
        DEFAULT_ONTOLOGY_DIR,
        edited,
        "--cases",
        "200",
        "--vignettes",
        tmp_path / "vignettes.toml",
    )

    assert status == 0
    lines = out.splitlines()
    start = lines.index("  local-red-flags.ttl (added): 6 added, 0 removed")
    assert lines[start + 1 : start + 8] == [
        "    + kg:urinary-urgency a owl:Class",
        '    + kg:urinary-urgency rdfs:label "urinary urgency"',
        "    + kg:urinary-urgency rdfs:subClassOf kg:CaudaEquinaRedFlag",
        '    + kg:urinary-urgency skos:definition "New urinary urgency."',
        "    + kg:urinary-urgency skos:inScheme kg:findings",
        '    + kg:urinary-urgency skos:notation "urinary-urgency"',
        "  unchanged: case-form.ttl, core.ttl, fhir-codes.ttl, low-back-pain-recommendations.ttl, "
        "low-back-pain.ttl",
    ]
    assert "Findings:\n  + urinary-urgency\n" in out
    start = lines.index("Vignettes: 2 compared, 1 changed (urgency or first procedure, before → after)")
    assert lines[start + 1].startswith("  new-red-flag: rejected (unknown finding 'urinary-urgency'")
    assert lines[start + 1].endswith(") → emergent, mri-lumbar-without-contrast")
    assert lines[start + 2] == ""
    generated = next(line for line in lines if line.startswith("Generated cases"))
    assert generated.endswith("0 changed") and "200 drawn" in generated
    assert "with a finding only NEW knows, 0 with a finding only OLD knows" in out


def test_a_changed_restriction_is_one_axiom_removed_and_one_added(tmp_path: Path) -> None:
    urgent = EMERGENT.replace("kg:emergent", "kg:urgent")
    edited = edited_copy(tmp_path, "low-back-pain.ttl", EMERGENT, urgent)
    old, again, new = (
        read_modules(folder).parse() for folder in (DEFAULT_ONTOLOGY_DIR, DEFAULT_ONTOLOGY_DIR, edited)
    )

    def blank_nodes(graphs: dict) -> set[BNode]:
        return {
            node
            for graph in graphs.values()
            for triple in graph
            for node in triple
            if isinstance(node, BNode)
        }

    assert blank_nodes(old) and not blank_nodes(old) & blank_nodes(again)
    assert {change.status for change in diff.module_changes(old, again).values()} == {"unchanged"}
    changes = diff.module_changes(old, new)
    restriction = (
        "kg:SuspectedCaudaEquinaSyndrome rdfs:subClassOf [ a owl:Restriction ; owl:hasValue kg:{} ; "
    )
    assert changes["low-back-pain.ttl"] == diff.ModuleChange(
        "changed",
        added=[restriction.format("urgent") + "owl:onProperty kg:hasUrgency ]"],
        removed=[restriction.format("emergent") + "owl:onProperty kg:hasUrgency ]"],
    )
    assert changes["core.ttl"].status == changes["low-back-pain-recommendations.ttl"].status == "unchanged"


def test_identical_folders_differ_in_nothing(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    result = report(capsys, settings, DEFAULT_ONTOLOGY_DIR, edited_copy(tmp_path), "--cases", "100")
    assert all(module == UNCHANGED for module in result["modules"].values())
    assert sorted(result["modules"]) == sorted(p.name for p in DEFAULT_ONTOLOGY_DIR.glob("*.ttl"))
    assert result["vignettes"] == [] and result["notes"] == []
    assert result["cases"]["compared"] == 100 and result["cases"]["changed"] == 0
    assert result["old"]["ontology_version"] == result["new"]["ontology_version"]


def test_a_git_revision_is_its_ontology_folder(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, check=True, text=True
        ).stdout

    for name in git("ls-tree", "--name-only", "HEAD", "ontology/").split():
        if name.endswith(".ttl"):
            (tmp_path / Path(name).name).write_text(git("show", f"HEAD:{name}"))
    result = report(capsys, settings, "HEAD", tmp_path, "--cases", "20")
    assert result["old"]["commit"] == git("rev-parse", "HEAD").strip()
    assert result["old"]["source"] == f"{result['old']['commit']}:ontology"
    assert all(module == UNCHANGED for module in result["modules"].values())

    status, out, _ = kg_diff(capsys, settings, "HEAD", DEFAULT_ONTOLOGY_DIR, "--cases", "0")
    assert status == 0 and out.startswith(f"OLD HEAD = {result['old']['source']} (ontology_version ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["no-such-folder-or-revision", "ontology"],
            "no-such-folder-or-revision: neither an ontology folder",
        ),
        (["HEAD", "ontology", "--path", "no-such-folder"], "HEAD: revision "),
        (["ontology", "ontology", "--vignettes", "no-such-file.toml"], "--vignettes no-such-file.toml: "),
    ],
)
def test_an_unreadable_argument_exits_2(
    capsys: pytest.CaptureFixture[str], settings: Settings, argv: list[str], message: str
) -> None:
    status, out, err = kg_diff(capsys, settings, *argv)
    assert (status, out) == (2, "")
    assert err.startswith(f"kg diff: {message}") and err.count("\n") == 1


def test_an_ontology_that_does_not_load_exits_2(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path
) -> None:
    broken = edited_copy(tmp_path, "core.ttl", "kg:core a owl:Ontology", "kg:core a owl:Ontology ;;;; ,")
    status, out, err = kg_diff(capsys, settings, broken, DEFAULT_ONTOLOGY_DIR)
    assert (status, out) == (2, "")
    assert err.startswith(f"kg diff: {broken}: the ontology does not load: core.ttl") and err.count("\n") == 1


def test_missing_vignettes_are_a_note(
    capsys: pytest.CaptureFixture[str], settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diff, "SCENARIOS", tmp_path / "public.toml")
    monkeypatch.setattr(answer_changes, "SCENARIOS", tmp_path / "public.toml")
    result = report(capsys, settings, DEFAULT_ONTOLOGY_DIR, DEFAULT_ONTOLOGY_DIR, "--cases", "0")
    assert result["vignettes"] == [] and result["notes"] == [
        f"no vignettes: {tmp_path / 'public.toml'} not found"
    ]
    assert result["cases"]["compared"] == 0
