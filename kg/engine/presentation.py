"""A case as RDF: one presentation individual linked to one individual per finding."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache

from rdflib import RDF, XSD, Graph, Literal, URIRef

from kg.model.namespaces import CASE, KG


@lru_cache(maxsize=4096)
def finding_instance(presentation: URIRef, finding_id: str) -> URIRef:
    """The individual standing for one finding of one presentation."""
    return URIRef(f"{presentation}/finding/{finding_id}")


@lru_cache(maxsize=4096)
def finding_id_of(instance: URIRef) -> str:
    """The finding ID of an individual made by :func:`finding_instance`."""
    return str(instance).rsplit("/finding/", 1)[1]


@lru_cache(maxsize=1024)
def hypothesis(finding_id: str) -> URIRef:
    """The presentation of the case with ``finding_id`` added (for assess-next)."""
    return URIRef(f"{CASE}/if/{finding_id}")


#: Measurements are kept to this many decimal places: SPARQL engines differ beyond (pyoxigraph's
#: xsd:decimal has 18), and no clinical threshold is that fine.
MEASUREMENT_PLACES = Decimal("1e-9")


@lru_cache(maxsize=4096)
def measurement_literal(value: float | str) -> Literal:
    """A case measurement as RDF: numbers as xsd:decimal (as written, to 9 decimal places, in the
    notation xsd:decimal requires: no exponent, which a float's repr may have), text as a string.
    Kept by value (ages and eGFRs repeat; a Literal takes some 20 µs to make)."""
    if isinstance(value, str):
        return Literal(value)
    exact = Decimal(str(value)).quantize(MEASUREMENT_PLACES).normalize()
    return Literal(format(exact, "f"), datatype=XSD.decimal)


def add_presentation(
    graph: Graph,
    presentation: URIRef,
    findings: Iterable[tuple[str, URIRef]],
    measurements: Mapping[URIRef, Literal] | None = None,
) -> None:
    """Add ``presentation`` with its findings (ID, class) and measurements (property, value)."""
    graph.add((presentation, RDF.type, KG.Presentation))
    for finding_id, finding_class in findings:
        instance = finding_instance(presentation, finding_id)
        graph.add((presentation, KG.hasFinding, instance))
        graph.add((instance, RDF.type, finding_class))
    for prop, literal in (measurements or {}).items():
        graph.add((presentation, prop, literal))
