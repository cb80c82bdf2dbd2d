"""The SPARQL 1.1 Protocol's query operation, read from an HTTP request; and the read-only checks.

Read from the method, the Content-Type, the URL's parameters and the body, as the protocol defines
them: GET with ``query=``, POST of a form (``application/x-www-form-urlencoded``), POST of the query
itself (``application/sparql-query``), each with ``default-graph-uri`` / ``named-graph-uri``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from pyoxigraph import NamedNode
from pyparsing import ParseException, ParseResults
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from kg.model.errors import MalformedRequest, QueryRefused, UnsupportedMediaType
from kg.sparql.worker import QueryRequest

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
READ_ONLY = "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, ...) is refused"
NO_SERVICE = "federated queries (SERVICE) are refused: this endpoint never makes outbound requests"
#: The deepest nesting of groups, brackets and parentheses a query may have. pyoxigraph's parser
#: recurses per level and ends the process (a segmentation fault) a few thousand levels down;
#: rdflib's raises RecursionError sooner. No real query comes near this.
MAX_QUERY_DEPTH = 128
#: What a nesting count skips (strings, long forms first; IRIs; comments), else one bracket.
_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
    r"|#[^\n]*"
    r"|[{}()\[\]]"
)


def read_request(
    method: str,
    content_type: str | None,
    url_params: Iterable[tuple[str, str]],
    body: bytes,
    accept: str | None,
) -> QueryRequest | None:
    """The query operation of a request, or None for a GET without a query (the service description).

    Raises MalformedRequest, QueryRefused (an update) or UnsupportedMediaType (a POST body that is no
    form and no query).
    """
    params = list(url_params)
    if method == "POST":
        media_type = (content_type or "").split(";")[0].strip().lower()
        if media_type == FORM:
            params += _form_fields(body)
        elif media_type == QUERY:
            params.append(("query", _text(body, "the application/sparql-query body")))
        elif media_type == UPDATE:
            raise QueryRefused(READ_ONLY)
        else:
            raise UnsupportedMediaType(
                f"Content-Type: {content_type or 'missing'}; POST a query as {QUERY} "
                f"or as the 'query' field of an {FORM} form"
            )
    fields: dict[str, list[str]] = {}
    for name, value in params:
        fields.setdefault(name, []).append(value)
    if "update" in fields:
        raise QueryRefused(READ_ONLY)
    queries = fields.get("query", [])
    default_graphs = _graph_iris(fields, "default-graph-uri")
    named_graphs = _graph_iris(fields, "named-graph-uri")
    if not queries:
        if method == "GET":
            return None
        raise MalformedRequest(f"query: missing; POST the query as {QUERY} or as the form field 'query'")
    if len(queries) > 1:
        raise MalformedRequest(f"query: given {len(queries)} times; send exactly one query")
    if not queries[0].strip():
        raise MalformedRequest(
            "query: empty; send a SPARQL query (without query=, GET describes the service)"
        )
    return QueryRequest(
        query=queries[0],
        default_graphs=default_graphs,
        named_graphs=named_graphs,
        accept=accept,
    )


def _form_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(_text(body, "the form"), keep_blank_values=True, strict_parsing=bool(body))
    except ValueError as error:
        raise MalformedRequest(f"the form body is not URL-encoded: {error}") from None


def _text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedRequest(f"{what} is not UTF-8: {error}") from None


def _graph_iris(fields: dict[str, list[str]], name: str) -> tuple[str, ...] | None:
    """The IRIs given for ``name``, each checked; None if the parameter is absent."""
    if name not in fields:
        return None
    for iri in fields[name]:
        try:
            NamedNode(iri)
        except ValueError as error:
            raise MalformedRequest(f"{name}: {iri!r} is not an absolute IRI ({error})") from None
    return tuple(fields[name])


def check_depth(query: str, limit: int = MAX_QUERY_DEPTH) -> None:
    """Raise MalformedRequest if ``query`` nests groups, brackets or parentheses deeper than ``limit``
    (counted outside strings, IRIs and comments, before any parser sees it)."""
    depth = 0
    for match in _TOKENS.finditer(query):
        token = match.group()
        if token in ("{", "(", "["):
            depth += 1
            if depth > limit:
                raise MalformedRequest(
                    f"query: nested more than {limit} levels deep (groups, brackets and parentheses); "
                    f"the limit is {limit}"
                )
        elif token in ("}", ")", "]"):
            depth -= 1


def refuse_service(query: str) -> None:
    """Raise QueryRefused if ``query`` has a SERVICE clause (the store would call out to it).

    Only a query whose text mentions "service" at all is parsed (with rdflib's SPARQL parser) to
    tell a SERVICE clause from a name, a string or a comment; one that does not parse is refused as
    malformed, since it could not be checked.
    """
    if "service" not in query.lower():
        return
    try:
        parsed = parseQuery(query)
    except ParseException as error:
        raise MalformedRequest(f"query: {error} (parsed to check that it has no SERVICE clause)") from None
    if _has_service(parsed):
        raise QueryRefused(NO_SERVICE)


def _has_service(node: object) -> bool:
    if isinstance(node, CompValue):
        return node.name == "ServiceGraphPattern" or any(_has_service(v) for v in node.values())
    if isinstance(node, list | tuple | ParseResults):
        return any(_has_service(item) for item in node)
    return False


def is_update(text: str) -> bool:
    """True if ``text`` parses as a SPARQL Update request (parsed only: nothing is run or loaded)."""
    try:
        parseUpdate(text)
    except ParseException:
        return False
    return True
