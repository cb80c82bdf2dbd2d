"""``format_turtle``: parse, write in the canonical layout, and refuse a result whose graph is not
isomorphic to the original's."""

from __future__ import annotations

from rdflib import Graph
from rdflib.compare import isomorphic

from kg.turtle.errors import FormatError
from kg.turtle.layout import write_document
from kg.turtle.parser import parse_document

BASE_IRI = "https://kg.invalid/fmt/"  # resolves relative IRIs, the same for the original and the output


def _graph(text: str, what: str) -> Graph:
    try:
        return Graph().parse(data=text, format="turtle", publicID=BASE_IRI)
    except Exception as error:  # rdflib raises several types for bad Turtle
        why = " ".join(str(getattr(error, "_why", None) or error).split())
        line = getattr(error, "lines", None)
        raise FormatError(f"{what}: {why}", line + 1 if isinstance(line, int) else None) from error


def format_turtle(text: str) -> str:
    """``text`` formatted by the rules in ``kg.turtle``'s docstring; raises FormatError (a TurtleError)
    naming the line when the text does not tokenize or parse, or when the result would not be isomorphic
    to it."""
    source = text.removeprefix("\ufeff")
    formatted = write_document(parse_document(source))
    original = _graph(source, "rdflib cannot parse it")
    if formatted != text:
        result = _graph(formatted, "the formatted text does not parse (a kg fmt bug)")
        if not isomorphic(original, result):
            raise FormatError("the formatted text is not isomorphic to the original (a kg fmt bug)")
    return formatted
