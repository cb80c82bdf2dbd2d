"""rdflib terms as pyoxigraph's and back: the store, the cache and both engines exchange terms so.

Blank nodes keep their identifiers both ways, so rows and cached graphs name the ontology's class
expressions as the rdflib graphs do.
"""

from __future__ import annotations

from functools import lru_cache

import pyoxigraph as ox
from rdflib import XSD, BNode, Literal, URIRef
from rdflib.term import Node

#: The datatypes rdflib leaves off a literal it reads (a plain string).
PLAIN = {str(XSD.string)}


@lru_cache(maxsize=65536)
def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as pyoxigraph's (blank nodes keep their identifiers)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        datatype = ox.NamedNode(str(term.datatype)) if term.datatype else None
        return ox.Literal(str(term), datatype=datatype)
    raise TypeError(f"not an RDF term: {term!r}")


def from_oxigraph(term: object) -> Node | None:
    """A pyoxigraph term as rdflib's, as rdflib's own SPARQL would bind it."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return _iri(term.value)
    if isinstance(term, ox.BlankNode):
        return _blank(term.value)
    if isinstance(term, ox.Literal):
        return _literal(term.value, term.datatype.value, term.language)
    raise TypeError(f"unexpected term from pyoxigraph: {term!r}")


@lru_cache(maxsize=65536)
def _iri(value: str) -> URIRef:
    return URIRef(value)


@lru_cache(maxsize=65536)
def _blank(value: str) -> BNode:
    return BNode(value)


@lru_cache(maxsize=65536)
def _literal(value: str, datatype: str, language: str | None) -> Literal:
    if language:
        return Literal(value, lang=language)
    if datatype in PLAIN:
        return Literal(value)
    return Literal(value, datatype=URIRef(datatype))
