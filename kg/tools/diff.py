"""``kg diff OLD NEW``: what an ontology edit changes, in axioms per module and in answers.

OLD and NEW are each an ontology folder or a git revision of this repository (its ``ontology/``
folder, or ``--path``). Axioms are compared by a canonical text with their blank nodes written
inline, so the blank nodes of two parses never show as differences. Answers are compared on the
vignettes and on generated cases; a case whose urgency or first recommended procedure changes is
reported with both outcomes."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.config import PROJECT_ROOT, Settings
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.errors import OntologyError
from kg.tools.answer_changes import (
    SHOWN,
    CaseReport,
    Change,
    Unreadable,
    case_changes,
    one_line,
    read_vignettes,
    vignette_changes,
)
from kg.tools.axioms import ModuleChange, module_changes
from kg.tools.vignettes import SCENARIOS


@dataclass(frozen=True)
class Side:
    """One side of the diff: the argument, where its modules come from, its knowledge base."""

    argument: str
    source: str  # the folder, or "<commit>:<path>" for a git revision
    commit: str | None
    kb: KnowledgeBase

    def as_json(self) -> dict[str, str | None]:
        """The side as the JSON report names it."""
        return {
            "argument": self.argument,
            "source": self.source,
            "commit": self.commit,
            "ontology_version": self.kb.version,
        }

    def text(self) -> str:
        """E.g. ``HEAD = <commit>:ontology (ontology_version …)``."""
        where = f" = {self.source}" if self.commit else ""
        return f"{self.argument}{where} (ontology_version {self.kb.version})"


def _git(*args: str) -> bytes | None:
    """The standard output of git in this repository, or None if git fails or is missing."""
    try:
        done = subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, check=False)
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def extract(commit: str, path: str, into: Path) -> None:
    """Write the folder ``path`` of ``commit`` into ``into``; raises Unreadable if it has no such folder."""
    archive = _git("archive", "--format=tar", f"{commit}:{path}")
    if archive is None:
        raise Unreadable(f"revision {commit[:12]} has no folder {path!r} (see --path)")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def load_side(argument: str, path: str, settings: Settings, stack: ExitStack) -> Side:
    """The side ``argument`` names: an existing folder, else a git revision's ``path`` folder, loaded."""
    folder, commit = Path(argument), None
    if not folder.is_dir():
        output = _git("rev-parse", "--verify", "--quiet", f"{argument}^{{commit}}")
        if output is None:
            raise Unreadable(f"{argument}: neither an ontology folder nor a git revision of {PROJECT_ROOT}")
        commit = output.decode().strip()
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kg-diff-")))
        try:
            extract(commit, path, folder)
        except Unreadable as error:
            raise Unreadable(f"{argument}: {error}") from None
    try:
        kb = KnowledgeBase.load(folder, cache_dir=settings.cache_dir)
    except OntologyError as error:
        raise Unreadable(f"{argument}: the ontology does not load: {one_line(error)}") from None
    return Side(argument, f"{commit}:{path}" if commit else str(folder), commit, kb)


@dataclass(frozen=True)
class Report:
    """Everything ``kg diff`` found."""

    old: Side
    new: Side
    modules: dict[str, ModuleChange]
    vignettes: list[Change] | None  # None: no vignettes to compare
    vignettes_compared: int
    cases: CaseReport

    @property
    def findings(self) -> dict[str, list[str]]:
        """The finding IDs only NEW (added) or only OLD (removed) knows."""
        old, new = self.old.kb.finding_classes.keys(), self.new.kb.finding_classes.keys()
        return {"added": sorted(new - old), "removed": sorted(old - new)}

    @property
    def notes(self) -> list[str]:
        """What was not compared."""
        return [] if self.vignettes is not None else [f"no vignettes: {SCENARIOS} not found"]

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        return {
            "old": self.old.as_json(),
            "new": self.new.as_json(),
            "modules": {
                name: {"status": change.status, "added": change.added, "removed": change.removed}
                for name, change in self.modules.items()
            },
            "findings": self.findings,
            "vignettes": [change.as_json() for change in self.vignettes or []],
            "cases": self.cases.as_json(),
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        """The readable report."""
        return [
            f"OLD {self.old.text()}",
            f"NEW {self.new.text()}",
            "",
            *self._module_lines(),
            "",
            *self._finding_lines(),
            "",
            *self._vignette_lines(),
            "",
            *self._case_lines(),
        ]

    def _module_lines(self) -> list[str]:
        lines = ["Axioms (- removed, + added):"]
        for name, change in self.modules.items():
            if change.status != "unchanged":
                lines.append(
                    f"  {name} ({change.status}): {len(change.added)} added, {len(change.removed)} removed"
                )
                edits = [(axiom, "-") for axiom in change.removed] + [(axiom, "+") for axiom in change.added]
                lines += [f"    {sign} {axiom}" for axiom, sign in sorted(edits)]
        unchanged = [name for name, change in self.modules.items() if change.status == "unchanged"]
        return lines + ([f"  unchanged: {', '.join(unchanged)}"] if unchanged else [])

    def _finding_lines(self) -> list[str]:
        findings = self.findings
        if not findings["added"] and not findings["removed"]:
            return ["Findings: none added or removed"]
        return [
            "Findings:",
            *(f"  + {finding}" for finding in findings["added"]),
            *(f"  - {finding}" for finding in findings["removed"]),
        ]

    def _vignette_lines(self) -> list[str]:
        if self.vignettes is None:
            return [f"Vignettes: {note}" for note in self.notes]
        return [
            f"Vignettes: {self.vignettes_compared} compared, {len(self.vignettes)} changed "
            "(urgency or first procedure, before → after)",
            *(f"  {change.text()}" for change in self.vignettes),
        ]

    def _case_lines(self) -> list[str]:
        cases = self.cases
        lines = [
            f"Generated cases (seed {cases.seed}): {cases.drawn} drawn, {cases.compared} compared, "
            f"{len(cases.changes)} changed"
        ]
        if cases.new_finding or cases.removed_finding:
            lines.append(
                f"  not compared: {cases.new_finding} with a finding only NEW knows, "
                f"{cases.removed_finding} with a finding only OLD knows"
            )
        lines += [f"  {change.text()}" for change in cases.changes[:SHOWN]]
        hidden = len(cases.changes) - SHOWN
        return lines + ([f"  … and {hidden} more (--json lists them all)"] if hidden > 0 else [])


def diff(old: Side, new: Side, vignettes: list[tuple[str, Case]] | None, cases: int, seed: int) -> Report:
    """Compare the axioms of ``old`` and ``new``, and their answers on the vignettes and generated cases."""
    return Report(
        old=old,
        new=new,
        modules=module_changes(old.kb.ontology.module_graphs, new.kb.ontology.module_graphs),
        vignettes=None if vignettes is None else vignette_changes(old.kb, new.kb, vignettes),
        vignettes_compared=len(vignettes or []),
        cases=case_changes(old.kb, new.kb, cases, seed),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``kg diff``."""
    parser.add_argument("old", metavar="OLD", help="an ontology folder, or a git revision (e.g. HEAD)")
    parser.add_argument("new", metavar="NEW", help="an ontology folder (e.g. ontology), or a git revision")
    parser.add_argument(
        "--path", default="ontology", help="the ontology folder within a git revision (default: ontology)"
    )
    parser.add_argument(
        "--vignettes", type=Path, metavar="FILE", help="the vignettes to compare (default: the public ones)"
    )
    parser.add_argument(
        "--cases", type=_count, default=2000, help="how many generated cases to compare (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the seed of the generated cases (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object, listing every change")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of cases")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the report; 0 whether or not anything changed, 2 if an argument cannot be read or an
    ontology does not load."""
    try:
        vignettes = read_vignettes(args.vignettes)
        with ExitStack() as stack:
            old = load_side(args.old, args.path, settings, stack)
            new = load_side(args.new, args.path, settings, stack)
    except Unreadable as error:
        print(f"kg diff: {error}", file=sys.stderr)
        return 2
    report = diff(old, new, vignettes, args.cases, args.seed)
    print(
        json.dumps(report.as_json(), indent=2, ensure_ascii=False) if args.json else "\n".join(report.lines())
    )
    return 0
