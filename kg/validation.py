"""``kg validate``: check an ontology folder before it is served, for the informaticists who edit it.

The checks, in order: every module and shapes file parses (a syntax error names the file and line);
the modules conform to the SHACL shapes of ``shapes/*.ttl``; every class axiom stays inside OWL 2 RL;
owlrl finds the closure consistent; the QC queries of ``queries/qc/*-violation.rq`` return nothing;
every vignette gets the answer it expects. A fault of the ontology is a :class:`Violation`, never an
exception: :func:`validate` returns a :class:`ValidationReport`.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph
from pydantic import ValidationError
from pyshacl import validate as shacl_validate
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH
from rdflib.term import Node

from kg.case import Case
from kg.classifier import unsupported_constructs
from kg.config import QUERIES_DIR, Settings
from kg.errors import CaseError, OntologyError
from kg.knowledge_base import KnowledgeBase
from kg.namespaces import KG
from kg.ontology import Modules, Ontology, read_modules
from kg.queries import QueryLibrary
from kg.vignettes import SCENARIOS, case_body, check_answer, load_cases

SHAPES_DIR = "shapes"
"""The folder of the ontology folder holding the SHACL shapes (not modules: the loader skips it)."""
OWLRL_ERROR = URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")
"""The property of owlrl's inconsistency markers in a closure (owlrl.Namespaces.ERRNS.error)."""

NAMES = Graph().namespace_manager
NAMES.bind("kg", KG)
LINE = re.compile(r"at line (\d+)")
BAD_SYNTAX = re.compile(r"Bad syntax \((.*?)\) at \^", re.DOTALL)
IRI = re.compile(r"https?://[^\s'\"<>()]+")

# Where a class expression stands in an axiom, as OWL 2 RL restricts it (OWL 2 Profiles, 4.2).
SUB, SUPER, EQUIVALENT = "as a subclass", "as a superclass", "in an equivalence"
# Per construct: the positions OWL 2 RL allows it in, each with the position of its operands there
# (None: no class operands).
CONSTRUCTS: dict[Node, dict[str, str | None]] = {
    OWL.intersectionOf: {SUB: SUB, SUPER: SUPER, EQUIVALENT: EQUIVALENT},
    OWL.unionOf: {SUB: SUB},
    OWL.someValuesFrom: {SUB: SUB},
    OWL.oneOf: {SUB: None},
    OWL.hasValue: {SUB: None, SUPER: None, EQUIVALENT: None},
    OWL.complementOf: {SUPER: SUB},
    OWL.allValuesFrom: {SUPER: SUPER},
    OWL.maxCardinality: {SUPER: None},
    OWL.maxQualifiedCardinality: {SUPER: None},
    OWL.onClass: {SUPER: SUB},
    OWL.minCardinality: {},
    OWL.minQualifiedCardinality: {},
    OWL.cardinality: {},
    OWL.qualifiedCardinality: {},
    OWL.hasSelf: {},
}
LISTS = (OWL.intersectionOf, OWL.unionOf, OWL.oneOf)
MAX_CARDINALITIES = (OWL.maxCardinality, OWL.maxQualifiedCardinality)
AXIOMS = (
    (RDFS.subClassOf, SUB, SUPER),
    (OWL.equivalentClass, EQUIVALENT, EQUIVALENT),
    (OWL.disjointWith, SUB, SUB),
)
AXIOM_PREDICATES = tuple(predicate for predicate, _, _ in AXIOMS)  # not written out inside an expression
DECLARATIONS = ((RDF.type, OWL.Class), (RDF.type, OWL.Restriction))  # nor these: the syntax implies them


@dataclass(frozen=True)
class Violation:
    """One fault: the check that found it, what it is, and where (module file, line, focus node)."""

    check: str
    message: str
    module: str | None = None
    line: int | None = None
    focus: str | None = None

    @property
    def location(self) -> str:
        """``module:line: ``, as much of it as is known."""
        if self.module is None:
            return ""
        return f"{self.module}:{self.line}: " if self.line is not None else f"{self.module}: "


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
    graphs, violations = _parse(modules)
    shape_graphs, shape_violations = _parse(shapes)
    violations += shape_violations
    if violations:
        notes.append("the other checks need every file to parse: they did not run")
        return ValidationReport(tuple(violations), notes=tuple(notes))
    ontology = Ontology.of(modules, graphs)
    if shape_graphs:
        violations += _shacl(ontology, Ontology.of(shapes, shape_graphs).graph)
    else:
        notes.append(f"no {SHAPES_DIR}/*.ttl in {ontology_dir}: the SHACL check did not run")
    violations += _profile(ontology)
    try:
        kb = KnowledgeBase.load(ontology_dir, queries_dir, cache_dir=cache_dir, reasoner=reasoner)
    except Exception as error:  # the files parse, so whatever loading raises is a fault of the ontology
        violations.append(Violation("load", f"the knowledge base does not load: {error}"))
        notes.append("the consistency check and the vignettes need the knowledge base: they did not run")
        return ValidationReport(tuple(violations + _qc(qc, ontology)), notes=tuple(notes))
    if "compiled" not in kb.reasoners:
        reasons = ", ".join(unsupported_constructs(kb.closed))
        notes.append(f"the compiled engine is off ({reasons}): the service answers every case with owlrl")
    else:
        for query, reasons in kb.engines["compiled"].unkeyed.items():
            notes.append(
                f"queries/{query}.rq runs for every case, its rows kept for none (slower): "
                + "; ".join(reasons)
            )
    violations += _consistency(kb)
    violations += _qc(qc, ontology)
    violations += _vignettes(kb, cases)
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


# --- 1. parse ------------------------------------------------------------------------------------------


def _parse(modules: Modules) -> tuple[dict[str, Graph], list[Violation]]:
    """Each file's graph by name, and a violation for each file that does not parse."""
    graphs: dict[str, Graph] = {}
    violations = []
    for name, data in modules.files.items():
        try:
            graphs |= Modules(modules.directory, {name: data}).parse()
        except OntologyError as error:
            violations.append(_syntax_error(name, data, error.__cause__ or error))
    return graphs, violations


def _syntax_error(name: str, data: bytes, error: BaseException) -> Violation:
    """The parser's reason and line, with the text of that line."""
    text = str(error)
    line = int(found.group(1)) if (found := LINE.search(text)) else None
    reason = found.group(1) if (found := BAD_SYNTAX.search(text)) else text.strip().splitlines()[0]
    lines = data.decode("utf-8", "replace").splitlines()
    source = lines[line - 1].strip() if line is not None and 0 < line <= len(lines) else ""
    return Violation(
        "parse", f"Turtle syntax error: {reason}" + (f": {source[:100]}" if source else ""), name, line
    )


# --- 2. SHACL ------------------------------------------------------------------------------------------


def _shacl(ontology: Ontology, shapes: Graph) -> list[Violation]:
    """The asserted modules against the shapes.

    pyshacl runs over an Oxigraph store: Oxigraph evaluates the shapes' SPARQL (targets, check digits);
    rdflib would parse each SPARQL constraint again for every focus node, at about a second each.
    """
    store = pyoxigraph.Store()
    store.load(ontology.graph.serialize(format="nt", encoding="utf-8"), pyoxigraph.RdfFormat.N_TRIPLES)
    try:
        _, results, _ = shacl_validate(store, shacl_graph=shapes, advanced=True, inference="none")
    except Exception as error:  # pyshacl and the SPARQL engines raise several types for bad shapes
        return [Violation("shacl", f"the shapes cannot be applied: {error}")]
    violations = [
        _shacl_violation(results, result, ontology)
        for result in results.subjects(RDF.type, SH.ValidationResult)
    ]
    return sorted(violations, key=lambda v: (v.module or "", v.focus or "", v.message))


def _shacl_violation(results: Graph, result: Node, ontology: Ontology) -> Violation:
    """A SHACL result as a violation: the focus node, the shape's message, the offending value."""
    focus = results.value(result, SH.focusNode)
    value = results.value(result, SH.value)
    message = "; ".join(sorted(str(m) for m in results.objects(result, SH.resultMessage)))
    if value is not None and str(value) not in message:
        message += f' (found "{value}")' if isinstance(value, Literal) else f" (found {_name(value)})"
    return Violation("shacl", f"{_name(focus)}: {message}", _module_of(ontology, focus), focus=_name(focus))


# --- 3. OWL 2 RL profile -------------------------------------------------------------------------------


def _profile(ontology: Ontology) -> list[Violation]:
    """Class axioms with a construct where OWL 2 RL does not allow it: owlrl derives nothing from it."""
    graph = ontology.graph
    violations = []
    for subject, predicate, obj, left, right in _class_axioms(graph):
        problems = (_misplaced(graph, subject, left) if left else []) + _misplaced(graph, obj, right)
        if problems:
            axiom = f"{_turtle(graph, subject)} {_name(predicate)} {_turtle(graph, obj)}"
            module = _module_of(ontology, subject, predicate, obj)
            violations.append(
                Violation("owl-rl-profile", f"{axiom}: {'; '.join(problems)}", module, focus=_name(subject))
            )
    return sorted(violations, key=lambda v: (v.module or "", v.message))


def _class_axioms(graph: Graph) -> list[tuple[Node, Node, Node, str | None, str]]:
    """Each triple holding class expressions, with the position of its subject (None: not a class)
    and of its object."""
    axioms: list[tuple[Node, Node, Node, str | None, str]] = [
        (subject, predicate, obj, left, right)
        for predicate, left, right in AXIOMS
        for subject, obj in graph.subject_objects(predicate)
    ]
    for predicate in (RDFS.domain, RDFS.range):
        axioms += [
            (subject, predicate, obj, None, SUPER) for subject, obj in graph.subject_objects(predicate)
        ]
    axioms += [
        (s, RDF.type, o, None, SUPER) for s, o in graph.subject_objects(RDF.type) if isinstance(o, BNode)
    ]
    return axioms


def _misplaced(graph: Graph, node: Node, position: str, seen: frozenset[Node] = frozenset()) -> list[str]:
    """What the class expression ``node`` holds that OWL 2 RL does not allow ``position``."""
    if not isinstance(node, BNode) or node in seen:
        return []
    problems = []
    for predicate, operand in sorted(graph.predicate_objects(node)):
        allowed = CONSTRUCTS.get(predicate)
        if allowed is None:
            continue
        if position not in allowed:
            rule = f"allows it only {' or '.join(allowed)}" if allowed else "does not allow it"
            problems.append(f"{_name(predicate)} {position} (OWL 2 RL {rule})")
            continue
        if predicate in MAX_CARDINALITIES and str(operand) not in ("0", "1"):
            problems.append(f"{_name(predicate)} {operand} (OWL 2 RL allows 0 or 1)")
        if (inner := allowed[position]) is not None:
            operands = Collection(graph, operand) if predicate in LISTS else [operand]
            for member in operands:
                problems += _misplaced(graph, member, inner, seen | {node})
    return problems


# --- 4. consistency ------------------------------------------------------------------------------------


def _consistency(kb: KnowledgeBase) -> list[Violation]:
    """owlrl's inconsistency markers in the closure: members of owl:Nothing, individuals of disjoint
    classes, and every other OWL 2 RL rule that concludes false."""
    messages = sorted(
        {
            IRI.sub(lambda iri: _name(URIRef(iri.group())), str(m))
            for m in kb.closed.objects(None, OWLRL_ERROR)
        }
    )
    return [Violation("consistency", message) for message in messages]


# --- 5. QC queries -------------------------------------------------------------------------------------


def _qc(library: QueryLibrary, ontology: Ontology) -> list[Violation]:
    """One violation per row of each ``*-violation`` query over the asserted modules."""
    violations = []
    for name in library.digests:
        if not name.endswith("-violation"):
            continue
        for row in library.select(name, ontology.graph):
            (_, focus), *rest = row.asdict().items()
            details = ", ".join(
                _name(value) if var == "problem" else f"{var} {_name(value)}" for var, value in rest
            )
            message = f"{_name(focus)}: {details}" if details else _name(focus)
            violations.append(
                Violation(f"qc:{name}", message, _module_of(ontology, focus), focus=_name(focus))
            )
    return violations


# --- 6. vignettes --------------------------------------------------------------------------------------


def _vignettes(kb: KnowledgeBase, cases: list[dict]) -> list[Violation]:
    """What each vignette's answer gets wrong, by ``kg.vignettes.check_answer`` (a vignette that
    expects ``rejected`` must be rejected, any other answered)."""
    violations = []
    for case in cases:
        expect_rejected = bool(case["expect"].get("rejected"))
        try:
            answer = kb.recommend(Case(**case_body(case)))
        except CaseError as error:
            problems = [] if expect_rejected else [f"the case is rejected: {error}"]
        except ValidationError as error:
            problems = [f"the case is rejected: {e['loc']}: {e['msg']}" for e in error.errors()]
        else:
            if expect_rejected:
                problems = [f"the case is answered ({answer.urgency}), but it should be rejected"]
            else:
                problems = check_answer(case, answer.model_dump(mode="json"))
        violations += [Violation("vignette", f"{case['id']}: {p}", focus=case["id"]) for p in problems]
    return violations


# --- names ---------------------------------------------------------------------------------------------


def _name(node: Node) -> str:
    """An IRI as a prefixed name where one is known (``kg:fever``); a literal as its text."""
    return str(node) if isinstance(node, Literal) else node.n3(NAMES)


def _turtle(graph: Graph, node: Node, seen: frozenset[Node] = frozenset()) -> str:
    """``node`` as Turtle, blank nodes written out as ``[ ... ]`` and lists as ``( ... )``."""
    if not isinstance(node, BNode) or node in seen:
        return node.n3(NAMES)
    seen |= {node}
    if (node, RDF.first, None) in graph:
        return "( " + " ".join(_turtle(graph, member, seen) for member in Collection(graph, node)) + " )"
    pairs = sorted(
        (
            (p, o)
            for p, o in graph.predicate_objects(node)
            if p not in AXIOM_PREDICATES and (p, o) not in DECLARATIONS
        ),
        key=lambda pair: (pair[0] != OWL.onProperty, str(pair[0]), str(pair[1])),
    )
    return "[ " + " ; ".join(f"{_name(p)} {_turtle(graph, o, seen)}" for p, o in pairs) + " ]"


def _module_of(
    ontology: Ontology, subject: Node, predicate: Node | None = None, obj: Node | None = None
) -> str | None:
    """The first module asserting the triple; without predicate and object, anything about ``subject``."""
    return next(
        (name for name, graph in ontology.module_graphs.items() if (subject, predicate, obj) in graph), None
    )


# --- the command ---------------------------------------------------------------------------------------


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
        vignettes=None if args.no_vignettes else args.vignettes,
        cache_dir=settings.cache_dir,
    )
    print(json.dumps(report.to_json(), indent=2) if args.json else report.text())
    return report.exit_code
