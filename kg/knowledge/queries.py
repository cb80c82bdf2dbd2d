"""The SPARQL queries of ``queries/*.rq``: parsed once, run with bound variables."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

from rdflib import Graph, Variable
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import ResultRow
from rdflib.term import Node

from kg.knowledge.cache import Memo
from kg.model.errors import OntologyError

#: Parsed queries by their text, for the whole process: a reload with the queries unchanged, and
#: the compiled engine's analysis of the same texts, parse nothing again (rdflib's parser takes
#: tens of milliseconds a query, about a second for the folder). Evaluating a parsed query does not
#: change it, so knowledge bases share them.
_PARSED: Memo[Query] = Memo(512)


def parsed(text: str) -> Query:
    """The query ``text`` parsed (rdflib's algebra); raises what rdflib's parser raises."""
    query = _PARSED.get(text)
    if query is None:
        query = _PARSED[text] = prepareQuery(text)
    return query


class QueryLibrary:
    """Every ``*.rq`` file of a folder, by file stem."""

    def __init__(self, directory: Path) -> None:
        self._queries: dict[str, Query] = {}
        self.texts: dict[str, str] = {}
        self.digests: dict[str, str] = {}
        digest = hashlib.sha256()
        for path in sorted(directory.glob("*.rq")):
            text = self.texts[path.stem] = path.read_text(encoding="utf-8")
            digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
            self.digests[path.stem] = hashlib.sha256(text.encode()).hexdigest()[:16]
            try:
                self._queries[path.stem] = parsed(text)
            except Exception as error:  # pyparsing and rdflib raise several types
                raise OntologyError(f"query {path.name}: {error}") from error
        self.version = digest.hexdigest()[:16]

    def selects(self, name: str, variable: str) -> bool:
        """Whether query ``name`` selects ``?variable``."""
        return Variable(variable) in self._queries[name].algebra.get("PV", [])

    def select(self, name: str, graph: Graph, **bindings: Node) -> list[ResultRow]:
        """Run query ``name`` over ``graph`` with variables bound by keyword."""
        return list(graph.query(self._queries[name], initBindings=bindings))


def grouped(rows: list[ResultRow], variable: str) -> dict[Node, list[ResultRow]]:
    """``rows`` grouped by the value of ``variable``, groups and rows in their query order."""
    groups: dict[Node, list[ResultRow]] = defaultdict(list)
    for row in rows:
        groups[row[variable]].append(row)
    return dict(groups)
