"""The checks of ``kg validate``, one function each: parse, SHACL shapes, the OWL 2 RL profile,
consistency, the QC queries, the vignettes; each gives the violations it finds, located in a
module and named as the Turtle writes them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph
from pydantic import ValidationError
from pyshacl import validate as shacl_validate
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH
from rdflib.term import Node

from kg.knowledge.ontology import Modules, Ontology
from kg.knowledge.queries import QueryLibrary
from kg.knowledge_base import KnowledgeBase
from kg.model.case import Case
from kg.model.errors import CaseError, OntologyError
from kg.model.namespaces import KG
from kg.tools.vignettes import case_body, check_answer

OWLRL_ERROR = URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")


NAMES = Graph().namespace_manager  # how violations name nodes: kg: and the usual prefixes
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


def check_parse(modules: Modules) -> tuple[dict[str, Graph], list[Violation]]:
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


def check_shacl(ontology: Ontology, shapes: Graph) -> list[Violation]:
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


def check_profile(ontology: Ontology) -> list[Violation]:
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


def check_consistency(kb: KnowledgeBase) -> list[Violation]:
    """owlrl's inconsistency markers in the closure: members of owl:Nothing, individuals of disjoint
    classes, and every other OWL 2 RL rule that concludes false."""
    messages = sorted(
        {
            IRI.sub(lambda iri: _name(URIRef(iri.group())), str(m))
            for m in kb.closed.objects(None, OWLRL_ERROR)
        }
    )
    return [Violation("consistency", message) for message in messages]


def check_qc(library: QueryLibrary, ontology: Ontology) -> list[Violation]:
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


def check_vignettes(kb: KnowledgeBase, cases: list[dict]) -> list[Violation]:
    """What each vignette's answer gets wrong, by ``kg.tools.vignettes.check_answer`` (a vignette that
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
    """The first module asserting the triple; without predicate and object, the module declaring
    ``subject`` (giving its type), else the first saying anything about it (a module such as
    case-form.ttl annotates resources that another declares)."""
    graphs = ontology.module_graphs.items()
    if predicate is None and obj is None:
        declaring = next((name for name, graph in graphs if (subject, RDF.type, None) in graph), None)
        if declaring is not None:
            return declaring
    return next((name for name, graph in graphs if (subject, predicate, obj) in graph), None)
