"""``kg validate``: check an ontology folder before it is served, for the informaticists who edit it.

The checks, in order: every module and shapes file parses (a syntax error names the file and line);
the modules conform to the SHACL shapes of ``shapes/*.ttl``; every class axiom stays inside OWL 2 RL;
owlrl finds the closure consistent; the QC queries of ``queries/qc/*-violation.rq`` return nothing;
every vignette gets the answer it expects. A fault of the ontology is a :class:`Violation`, never an
exception: :func:`validate` returns a :class:`ValidationReport`."""

from __future__ import annotations

import argparse
import json
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kg.config import QUERIES_DIR, Settings
from kg.engine.classifier import unsupported_constructs
from kg.knowledge.ontology import Modules, Ontology, read_modules
from kg.knowledge.queries import QueryLibrary
from kg.knowledge_base import KnowledgeBase
from kg.model.errors import OntologyError
from kg.tools.checks import (
    Violation,
    check_consistency,
    check_parse,
    check_profile,
    check_qc,
    check_shacl,
    check_vignettes,
)
from kg.tools.vignettes import SCENARIOS, load_cases

SHAPES_DIR = "shapes"


"""The folder of the ontology folder holding the SHACL shapes (not modules: the loader skips it)."""


"""The property of owlrl's inconsistency markers in a closure (owlrl.Namespaces.ERRNS.error)."""


@dataclass(frozen=True)
class ValidationReport:
    """What the checks found; ``error`` says why validation could not run at all."""

    violations: tuple[Violation, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = ()
    #: The knowledge base the checks loaded and ran the vignettes on (None when it did not load):
    #: a reload serves this one rather than load the folder a second time.
    knowledge_base: KnowledgeBase | None = field(default=None, compare=False, repr=False)

    @property
    def conforms(self) -> bool:
        """Validation ran and found nothing."""
        return self.error is None and not self.violations

    @property
    def exit_code(self) -> int:
        """0: clean; 1: violations; 2: validation could not run."""
        return 2 if self.error is not None else 1 if self.violations else 0

    def summary(self) -> str:
        """One line, e.g. "3 violations: 2 shacl, 1 owl-rl-profile"."""
        if self.error is not None:
            return f"could not validate: {self.error}"
        if not self.violations:
            return "no violations"
        counts = Counter(violation.check for violation in self.violations)
        noun = "violation" if len(self.violations) == 1 else "violations"
        return f"{len(self.violations)} {noun}: " + ", ".join(
            f"{n} {check}" for check, n in counts.most_common()
        )

    def brief(self, shown: int = 3) -> str:
        """The summary and the first ``shown`` violations, on one line (for /health and logs)."""
        listed = [f"{v.location}{v.message}" for v in self.violations[:shown]]
        if len(self.violations) > shown:
            listed.append(f"and {len(self.violations) - shown} more")
        return "; ".join([self.summary(), *listed])

    def to_json(self) -> dict[str, object]:
        """The report as a JSON object."""
        return {
            "conforms": self.conforms,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "error": self.error,
            "notes": list(self.notes),
            "violations": [asdict(violation) for violation in self.violations],
        }

    def text(self) -> str:
        """The summary, then the violations grouped by check, then the notes."""
        lines = [self.summary()]
        by_check: dict[str, list[Violation]] = {}
        for violation in self.violations:
            by_check.setdefault(violation.check, []).append(violation)
        for check, violations in by_check.items():
            lines += ["", check, *(f"  {v.location}{v.message}" for v in violations)]
        if self.notes:
            lines += ["", *(f"note: {note}" for note in self.notes)]
        return "\n".join(lines)


def validate(
    ontology_dir: Path,
    *,
    queries_dir: Path = QUERIES_DIR,
    vignettes: Path | None = SCENARIOS,
    cache_dir: Path | None = None,
    reasoner: str = "compiled",
) -> ValidationReport:
    """Run every check on ``ontology_dir``; a parse error stops the checks that need the graph.

    ``vignettes`` is the vignette file (None: no vignettes); ``cache_dir`` the knowledge base's cache;
    ``reasoner`` the default engine of the knowledge base the vignettes run on.
    """
    notes: list[str] = []
    try:
        modules = read_modules(ontology_dir)
        qc = QueryLibrary(queries_dir / "qc")
        cases = _cases(vignettes, notes)
    except (OntologyError, OSError, ValueError) as error:
        return ValidationReport(error=str(error))
    shape_files = sorted((ontology_dir / SHAPES_DIR).glob("*.ttl"))
    shapes = Modules(ontology_dir, {f"{SHAPES_DIR}/{path.name}": path.read_bytes() for path in shape_files})
    graphs, violations = check_parse(modules)
    shape_graphs, shape_violations = check_parse(shapes)
    violations += shape_violations
    if violations:
        notes.append("the other checks need every file to parse: they did not run")
        return ValidationReport(tuple(violations), notes=tuple(notes))
    ontology = Ontology.of(modules, graphs)
    if shape_graphs:
        violations += check_shacl(ontology, Ontology.of(shapes, shape_graphs).graph)
    else:
        notes.append(f"no {SHAPES_DIR}/*.ttl in {ontology_dir}: the SHACL check did not run")
    violations += check_profile(ontology)
    try:
        kb = KnowledgeBase.load(ontology_dir, queries_dir, cache_dir=cache_dir, reasoner=reasoner)
    except Exception as error:  # the files parse, so whatever loading raises is a fault of the ontology
        violations.append(Violation("load", f"the knowledge base does not load: {error}"))
        notes.append("the consistency check and the vignettes need the knowledge base: they did not run")
        return ValidationReport(tuple(violations + check_qc(qc, ontology)), notes=tuple(notes))
    if "compiled" not in kb.reasoners:
        reasons = ", ".join(unsupported_constructs(kb.closed))
        notes.append(f"the compiled engine is off ({reasons}): the service answers every case with owlrl")
    else:
        for query, reasons in kb.engines["compiled"].unkeyed.items():
            notes.append(
                f"queries/{query}.rq runs for every case, its rows kept for none (slower): "
                + "; ".join(reasons)
            )
    violations += check_consistency(kb)
    violations += check_qc(qc, ontology)
    violations += check_vignettes(kb, cases)
    return ValidationReport(tuple(violations), notes=tuple(notes), knowledge_base=kb)


def _cases(vignettes: Path | None, notes: list[str]) -> list[dict]:
    """The vignettes to run, a note when there are none; raises ValueError for a malformed file."""
    if vignettes is None:
        notes.append("vignettes not run: none asked for")
        return []
    if not vignettes.is_file():
        notes.append(f"vignettes not run: no file {vignettes}")
        return []
    try:
        return load_cases(vignettes)
    except (tomllib.TOMLDecodeError, KeyError) as error:
        raise ValueError(f"vignette file {vignettes} holds no [[case]] tables: {error}") from error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kg validate``."""
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        help="the ontology folder to validate (default: KG_ONTOLOGY_DIR, else the bundled ontology/)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    vignettes = parser.add_mutually_exclusive_group()
    vignettes.add_argument(
        "--vignettes",
        type=Path,
        default=SCENARIOS,
        metavar="FILE",
        help="the vignette file (default: %(default)s)",
    )
    vignettes.add_argument("--no-vignettes", action="store_true", help="do not run the vignettes")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Validate the folder given (else ``settings.ontology_dir``) and print the report; 0 clean,
    1 violations, 2 could not run."""
    report = validate(
        args.folder or settings.ontology_dir,
        queries_dir=settings.queries_dir,
        vignettes=None if args.no_vignettes else args.vignettes,
        cache_dir=settings.cache_dir,
        reasoner=settings.reasoner,
    )
    print(json.dumps(report.to_json(), indent=2) if args.json else report.text())
    return report.exit_code
