"""The canonical order of a statement: repeated predicates merged, predicates in a fixed order (known ones
by IRI, whatever their prefix), objects sorted, repeated ones dropped."""

from __future__ import annotations

from kg.turtle.syntax import STRUCTURE, Collection, Entry, Node, PropertyList, Statement, Term

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_OWL = "http://www.w3.org/2002/07/owl#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_DCTERMS = "http://purl.org/dc/terms/"
_SH = "http://www.w3.org/ns/shacl#"
FIRST_PREDICATES = (
    _RDF + "type",
    _RDFS + "subClassOf",
    _OWL + "equivalentClass",
    _RDFS + "subPropertyOf",
    _OWL + "equivalentProperty",
    _OWL + "inverseOf",
    _OWL + "onProperty",
    _SH + "path",
    _SKOS + "inScheme",
    _SKOS + "notation",
    _RDFS + "label",
    _SKOS + "definition",
    _RDFS + "comment",
    _SH + "targetClass",
    _SH + "targetNode",
    _SH + "targetSubjectsOf",
    _SH + "targetObjectsOf",
    _SH + "target",
)
LAST_PREDICATES = (_SH + "message", _SH + "severity", _DCTERMS + "source")


def _expand(verb: str, prefixes: dict[str, str]) -> str:
    if verb == "a":
        return _RDF + "type"
    if verb.startswith("<"):
        return verb[1:-1]
    name, _, local = verb.partition(":")
    return prefixes.get(name + ":", "\0") + local


def _verb_key(verb: Term, prefixes: dict[str, str]) -> tuple[int, int, str]:
    iri = _expand(verb.text, prefixes)
    if iri in FIRST_PREDICATES:
        return (0, FIRST_PREDICATES.index(iri), verb.text)
    if iri in LAST_PREDICATES:
        return (2, LAST_PREDICATES.index(iri), verb.text)
    return (1, 0, verb.text)


def _canonical(entries: list[Entry], prefixes: dict[str, str]) -> list[Entry]:
    """Entries merged by predicate, in predicate order, with their objects sorted and nested lists too."""
    merged: dict[str, Entry] = {}
    for entry in entries:
        if entry.verb.text in merged:
            into = merged[entry.verb.text]
            into.objects += entry.objects
            into.comments += entry.comments
        else:
            merged[entry.verb.text] = Entry(entry.verb, list(entry.objects), list(entry.comments))
    for entry in merged.values():
        for node in entry.objects:
            _canonical_node(node, prefixes)
        seen: set[str] = set()
        unique = []
        for node in entry.objects:
            if isinstance(node, Term) and node.text != "[]":
                if node.text in seen:
                    continue
                seen.add(node.text)
            unique.append(node)
        entry.objects = sorted(unique, key=_object_key)  # stable: [ ] and ( ) keep their order
    return sorted(merged.values(), key=lambda entry: _verb_key(entry.verb, prefixes))


def _canonical_node(node: Node, prefixes: dict[str, str]) -> None:
    if isinstance(node, PropertyList):
        node.entries = _canonical(node.entries, prefixes)
    elif isinstance(node, Collection):
        for item in node.items:
            _canonical_node(item, prefixes)


def _object_key(node: Node) -> tuple[int, str]:
    return (node.group, node.text) if isinstance(node, Term) else (STRUCTURE, "")


def order_statement(statement: Statement, prefixes: dict[str, str]) -> None:
    """Put the predicates and objects of ``statement`` (and of its nested lists) in canonical order."""
    statement.entries = _canonical(statement.entries, prefixes)
    _canonical_node(statement.subject, prefixes)
