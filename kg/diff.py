"""``kg diff OLD NEW``: what an ontology edit changes, in axioms per module and in answers.

OLD and NEW are each an ontology folder or a git revision of this repository (its ``ontology/``
folder, or ``--path``). Axioms are compared by a canonical text with their blank nodes written
inline, so the blank nodes of two parses never show as differences. Answers are compared on the
vignettes and on generated cases; a case whose urgency or first recommended procedure changes is
reported with both outcomes.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import RDF, BNode, Graph, Literal
from rdflib.namespace import NamespaceManager
from rdflib.term import Node

from kg.bench import CaseStream
from kg.case import Case
from kg.config import PROJECT_ROOT, Settings
from kg.errors import CaseError, OntologyError
from kg.knowledge_base import KnowledgeBase
from kg.vignettes import SCENARIOS, case_body, load_cases

SHOWN = 20  # generated cases whose change the text report lists


class Unreadable(Exception):
    """An argument that cannot be read, or an ontology that does not load; the message is one line."""


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


# --- the two sides -------------------------------------------------------------------------------------


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
        raise Unreadable(f"{argument}: the ontology does not load: {_one_line(error)}") from None
    return Side(argument, f"{commit}:{path}" if commit else str(folder), commit, kb)


# --- axioms --------------------------------------------------------------------------------------------


class AxiomWriter:
    """Writes a graph's terms canonically: blank nodes inline as ``[ … ]`` with their predicate-object
    pairs sorted, RDF lists as ``( … )``, IRIs with the given prefixes."""

    def __init__(self, graph: Graph, namespaces: NamespaceManager) -> None:
        self._graph = graph
        self._namespaces = namespaces
        self.reached: set[BNode] = set()  # the blank nodes written so far

    def term(self, node: Node, path: tuple[BNode, ...] = ()) -> str:
        """``node``, with the blank nodes it reaches; ``path``: the blank nodes being written around it."""
        if node == RDF.nil:
            return "()"
        if isinstance(node, Literal):
            return _literal(node, self._namespaces)
        if not isinstance(node, BNode):
            return node.n3(self._namespaces)
        if node in path:
            return "[ … ]"  # a cycle of blank nodes
        self.reached.add(node)
        path = (*path, node)
        members = self._members(node)
        if members is not None:
            return "( " + " ".join(self.term(member, path) for member in members) + " )"
        pairs = sorted(self.pair(p, o, path) for p, o in self._graph.predicate_objects(node))
        return "[ " + " ; ".join(pairs) + " ]"

    def pair(self, predicate: Node, obj: Node, path: tuple[BNode, ...] = ()) -> str:
        """A predicate and its object, as in Turtle (``a`` for rdf:type)."""
        verb = "a" if predicate == RDF.type else predicate.n3(self._namespaces)
        return f"{verb} {self.term(obj, path)}"

    def _members(self, node: Node) -> list[Node] | None:
        """The members of the RDF list starting at ``node``, or None if it is no well-formed list."""
        members: list[Node] = []
        cells: set[BNode] = set()
        while node != RDF.nil:
            pairs = list(self._graph.predicate_objects(node)) if isinstance(node, BNode) else []
            if node in cells or sorted(p for p, _ in pairs) != [RDF.first, RDF.rest]:
                return None
            cells.add(node)
            cell = dict(pairs)
            members.append(cell[RDF.first])
            node = cell[RDF.rest]
        self.reached |= cells
        return members


def _literal(literal: Literal, namespaces: NamespaceManager) -> str:
    """A literal on one line: its quoted lexical form, then its language or datatype."""
    text = json.dumps(str(literal), ensure_ascii=False)
    if literal.language:
        return f"{text}@{literal.language}"
    return f"{text}^^{literal.datatype.n3(namespaces)}" if literal.datatype else text


def axioms(graph: Graph, namespaces: NamespaceManager) -> Counter[str]:
    """The graph's axioms as canonical text: one per triple of a named subject (the blank nodes of its
    object written inline), and one per blank node no triple points to (a general class axiom, whole)."""
    writer = AxiomWriter(graph, namespaces)
    found: Counter[str] = Counter()
    for subject, predicate, obj in graph:
        if not isinstance(subject, BNode):
            found[f"{writer.term(subject)} {writer.pair(predicate, obj)}"] += 1
    blank = {subject for subject in graph.subjects() if isinstance(subject, BNode)}
    for root in blank - set(graph.objects()):
        found[writer.term(root)] += 1
    for orphan in blank - writer.reached:  # in a cycle of blank nodes that no other node points into
        found[writer.term(orphan)] += 1
    return found


def shared_namespaces(graphs: Iterable[Graph]) -> NamespaceManager:
    """One prefix map for both sides, so that an axiom reads the same on either (first binding wins)."""
    namespaces = NamespaceManager(Graph(bind_namespaces="none"), bind_namespaces="none")
    for graph in graphs:
        for prefix, namespace in graph.namespaces():
            namespaces.bind(prefix, namespace, override=False)
    return namespaces


@dataclass(frozen=True)
class ModuleChange:
    """A module's axioms added and removed; status: added, removed, changed or unchanged."""

    status: str
    added: list[str]
    removed: list[str]


def module_changes(old: dict[str, Graph], new: dict[str, Graph]) -> dict[str, ModuleChange]:
    """Each module's change by file name, for every module of either side."""
    namespaces = shared_namespaces([*new.values(), *old.values()])
    changes = {}
    for name in sorted(old.keys() | new.keys()):
        before = axioms(old[name], namespaces) if name in old else Counter()
        after = axioms(new[name], namespaces) if name in new else Counter()
        changes[name] = ModuleChange(
            _status(name in old, name in new, before == after),
            added=sorted((after - before).elements()),
            removed=sorted((before - after).elements()),
        )
    return changes


def _status(in_old: bool, in_new: bool, same: bool) -> str:
    if not in_old:
        return "added"
    if not in_new:
        return "removed"
    return "unchanged" if same else "changed"


# --- answers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the diff compares of an answer: its urgency and first recommended procedure, or the rejection."""

    urgency: str | None = None
    first_procedure: str | None = None
    rejected: str | None = None

    @classmethod
    def of(cls, kb: KnowledgeBase, case: Case) -> Outcome:
        """The outcome of ``case`` in ``kb``."""
        try:
            answer = kb.recommend(case)
        except CaseError as error:
            return cls(rejected=error.message)
        recommendations = answer.recommendations
        return cls(answer.urgency, recommendations[0].procedure if recommendations else None)

    def text(self) -> str:
        """E.g. ``emergent, mri-lumbar-without-contrast``."""
        if self.rejected:
            return f"rejected ({self.rejected})"
        return f"{self.urgency}, {self.first_procedure or 'no imaging'}"

    def as_json(self) -> dict[str, str | None]:
        """``{"urgency", "first_procedure"}``, or ``{"rejected"}``."""
        if self.rejected:
            return {"rejected": self.rejected}
        return {"urgency": self.urgency, "first_procedure": self.first_procedure}


@dataclass(frozen=True)
class Change:
    """A case whose outcome differs between the two sides; ``id`` names a vignette."""

    case: Case
    before: Outcome
    after: Outcome
    id: str | None = None

    def text(self) -> str:
        """One line: the case, then before → after."""
        measurements = self.case.model_dump(exclude={"findings"}, exclude_none=True)
        case = ", ".join(self.case.findings) + "".join(f"; {k} {v}" for k, v in measurements.items())
        return f"{self.id or case}: {self.before.text()} → {self.after.text()}"

    def as_json(self) -> dict[str, Any]:
        """The case JSON and both outcomes (and the vignette's id)."""
        named = {"id": self.id} if self.id else {}
        return named | {
            "case": self.case.model_dump(exclude_none=True),
            "before": self.before.as_json(),
            "after": self.after.as_json(),
        }


def read_vignettes(path: Path | None) -> list[tuple[str, Case]] | None:
    """Each vignette's id and case; None if no file is given and the repository's is missing."""
    if path is None:
        if not SCENARIOS.is_file():
            return None
        path = SCENARIOS
    try:
        return [(vignette["id"], Case.model_validate(case_body(vignette))) for vignette in load_cases(path)]
    except OSError as error:
        problem = f"cannot read it: {error.strerror}"
    except KeyError as error:
        problem = f"not a vignette file: no {error} key"
    except (ValueError, TypeError) as error:  # TOML and pydantic errors are ValueErrors
        problem = _one_line(error)
    raise Unreadable(f"--vignettes {path}: {problem}")


def vignette_changes(
    old: KnowledgeBase, new: KnowledgeBase, vignettes: list[tuple[str, Case]]
) -> list[Change]:
    """The vignettes whose outcome differs."""
    changes = [Change(case, Outcome.of(old, case), Outcome.of(new, case), name) for name, case in vignettes]
    return [change for change in changes if change.before != change.after]


@dataclass
class CaseReport:
    """Generated cases: how many were compared, and each whose outcome differs.

    A case with a finding only one side knows is counted (``new_finding``: only NEW knows it,
    ``removed_finding``: only OLD does), not compared.
    """

    seed: int
    drawn: int
    compared: int = 0
    new_finding: int = 0
    removed_finding: int = 0
    changes: list[Change] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The counts and every change."""
        return {
            "seed": self.seed,
            "drawn": self.drawn,
            "compared": self.compared,
            "changed": len(self.changes),
            "new_finding": self.new_finding,
            "removed_finding": self.removed_finding,
            "examples": [change.as_json() for change in self.changes],
        }


def case_changes(old: KnowledgeBase, new: KnowledgeBase, count: int, seed: int) -> CaseReport:
    """``count`` distinct random cases over the findings either side knows, answered by both."""
    report = CaseReport(seed, count)
    ids = sorted(old.finding_classes.keys() | new.finding_classes.keys())
    for body in CaseStream(ids, seed).bodies(count) if ids else []:
        case = Case(**body)
        if any(finding not in old.finding_classes for finding in case.findings):
            report.new_finding += 1
        elif any(finding not in new.finding_classes for finding in case.findings):
            report.removed_finding += 1
        else:  # a case either side rejects (out of scope, contradictory) is compared as such
            before, after = Outcome.of(old, case), Outcome.of(new, case)
            report.compared += 1
            if before != after:
                report.changes.append(Change(case, before, after))
    return report


# --- the report ----------------------------------------------------------------------------------------


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


# --- the command ---------------------------------------------------------------------------------------


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
