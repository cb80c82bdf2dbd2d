"""Golden owlrl answers for the vignettes: the normative engine's answers, kept in a file stamped with
what they depend on, so that the suite compares the fast path with owlrl without running owlrl.

An owlrl answer takes about 3 s (a full closure of the case and its what-if variants); the
vignettes' owlrl answers change only when the ontology, the queries, the vignettes or the code of
the owlrl path change. The stamp is a hash of exactly those (the fast path's code is not in it:
it is what the answers check). ``tests/test_differential.py`` fails with
"regenerate" when the stamp is not the current one; ``.ci/run`` runs ``--refresh`` first, which
regenerates the answers with owlrl whenever the stamp is stale (so CI always compares with owlrl's
answers for the knowledge under test), and does nothing otherwise.

    python tests/golden.py --refresh   # regenerate if stale
    python tests/golden.py --write     # regenerate
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from kg.config import PACKAGE_DIR, SCENARIOS, Settings
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.errors import CaseError
from kg.tools.vignettes import load_cases

GOLDEN = Path(__file__).resolve().parent / "golden" / "owlrl-vignettes.json"
#: The code an owlrl answer depends on: not the fast path (compiled.py, classifier.py, reads/),
#: which is what the golden answers are compared with.
STAMPED_CODE = (
    "knowledge_base.py",
    "model",
    "knowledge",
    "answer",
    "engine/inference.py",
    "engine/facts.py",
    "engine/presentation.py",
)


def stamp(kb: KnowledgeBase) -> str:
    """A hash of the modules, the queries, the vignettes and the code an answer depends on."""
    digest = hashlib.sha256(f"{kb.version}\0{kb.queries.version}\0".encode())
    digest.update(SCENARIOS.read_bytes())
    files = []
    for name in STAMPED_CODE:
        path = PACKAGE_DIR / name
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    for path in files:
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def vignette(case: dict) -> Case:
    """The case a vignette describes."""
    fields = {key: value for key, value in case.items() if key in Case.model_fields}
    return Case.model_validate({**fields, "findings": case["findings"]})


def outcome(kb: KnowledgeBase, case: Case, engine: str) -> object:
    """The answer as JSON data, or the problems a rejection names (as JSON would keep them)."""
    try:
        result: object = kb.recommend(case, engine).model_dump(mode="json")
    except CaseError as error:
        result = error.problems
    return json.loads(json.dumps(result))


def load() -> dict | None:
    """The golden file's content, or None when there is none."""
    if not GOLDEN.is_file():
        return None
    return json.loads(GOLDEN.read_text())


_kb: KnowledgeBase | None = None


def _start() -> None:
    global _kb
    _kb = KnowledgeBase.from_settings(Settings.from_env())


def _answer(case: dict) -> tuple[str, object]:
    assert _kb is not None
    return case["id"], outcome(_kb, vignette(case), "owlrl")


def write(kb: KnowledgeBase) -> None:
    """Answer every vignette with owlrl (in one process per core) and write the golden file."""
    cases = load_cases()
    with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1), initializer=_start) as pool:
        answers = dict(pool.map(_answer, cases))
    content = {
        "stamp": stamp(kb),
        "engine": "owlrl",
        "answers": {case["id"]: answers[case["id"]] for case in cases},
    }
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--refresh", action="store_true", help="regenerate when the stamp is stale")
    mode.add_argument("--write", action="store_true", help="regenerate")
    args = parser.parse_args(argv)
    kb = KnowledgeBase.from_settings(Settings.from_env())
    golden = load()
    if args.refresh and golden is not None and golden.get("stamp") == stamp(kb):
        print(f"golden owlrl answers are current ({GOLDEN.name}, stamp {golden['stamp']})")
        return 0
    print("regenerating the golden owlrl answers for the vignettes (a few seconds each) ...", file=sys.stderr)
    write(kb)
    print(f"wrote {GOLDEN} (stamp {stamp(kb)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
