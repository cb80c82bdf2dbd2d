"""The formats the endpoint writes, and content negotiation over them (python-mimeparse).

SELECT and ASK give results (SPARQL JSON, XML, CSV, TSV); CONSTRUCT and DESCRIBE give a graph
(Turtle, N-Triples, JSON-LD, RDF/XML). A few media types that clients send for the same formats are
accepted as aliases; the answer always carries the format's own media type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import mimeparse

from kg.model.errors import NotAcceptable


class Form(Enum):
    """What a query returns."""

    RESULTS = "SELECT or ASK"
    GRAPH = "CONSTRUCT or DESCRIBE"


@dataclass(frozen=True)
class Format:
    """A serialization: the Content-Type answered, pyoxigraph's name for it, rdflib's (graphs only)."""

    media_type: str
    oxigraph: str
    rdflib: str | None = None


JSON = Format("application/sparql-results+json", "JSON")
XML = Format("application/sparql-results+xml", "XML")
CSV = Format("text/csv; charset=utf-8", "CSV")
TSV = Format("text/tab-separated-values; charset=utf-8", "TSV")
TURTLE = Format("text/turtle; charset=utf-8", "TURTLE", "turtle")
N_TRIPLES = Format("application/n-triples", "N_TRIPLES", "nt")
JSON_LD = Format("application/ld+json", "JSON_LD", "json-ld")
RDF_XML = Format("application/rdf+xml", "RDF_XML", "xml")

# Accepted media types, least preferred first: mimeparse breaks ties in favour of the later one.
OFFERED: dict[Form, dict[str, Format]] = {
    Form.RESULTS: {
        "application/xml": XML,
        "text/xml": XML,
        "application/json": JSON,
        "text/tab-separated-values": TSV,
        "text/csv": CSV,
        "application/sparql-results+xml": XML,
        "application/sparql-results+json": JSON,
    },
    Form.GRAPH: {
        "application/x-turtle": TURTLE,
        "application/json": JSON_LD,
        "application/rdf+xml": RDF_XML,
        "application/ld+json": JSON_LD,
        "application/n-triples": N_TRIPLES,
        "text/turtle": TURTLE,
    },
}
FORMATS: dict[Form, tuple[Format, ...]] = {
    form: tuple(dict.fromkeys(reversed(offered.values()))) for form, offered in OFFERED.items()
}
"""Each form's formats, most preferred (the default) first."""


def negotiate(accept: str | None, form: Form) -> Format:
    """The format to write a ``form`` answer in for this Accept header; raises NotAcceptable."""
    chosen = _match(accept, form)
    if chosen is None:
        raise NotAcceptable(
            f"Accept: {accept!r} matches no format for {form.value} queries; {supported(form)}"
        )
    return chosen


def check_acceptable(accept: str | None) -> None:
    """Raise NotAcceptable unless an answer of some form can be written for this Accept header."""
    if all(_match(accept, form) is None for form in Form):
        raise NotAcceptable(
            f"Accept: {accept!r} matches no format this endpoint writes; "
            + "; ".join(supported(form) for form in Form)
        )


def _match(accept: str | None, form: Form) -> Format | None:
    offered = OFFERED[form]
    try:
        match = mimeparse.best_match(list(offered), accept or "*/*")
    except (ValueError, mimeparse.MimeTypeParseException) as error:
        raise NotAcceptable(f"Accept: {accept!r} cannot be parsed ({error})") from None
    return offered[match] if match else None


def supported(form: Form) -> str:
    """'supported: a, b, ...' for an error message."""
    types = ", ".join(f.media_type.split(";")[0] for f in FORMATS[form])
    return f"{form.value} queries are answered as {types}"
