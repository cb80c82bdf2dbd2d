"""The case queries, run with pyoxigraph: over the closed ontology plus presentations' facts, or over
a whole closed graph.

The fast path's only way to answer a query is to run it: each presentation's facts (its types,
property values, finding individuals and measurements, as the classifier derives them) are added
to a pyoxigraph store holding the closed ontology, the query runs, and the facts are removed
(:class:`FactStore`). The owlrl engine runs the same query texts over owlrl's closure of the case
and its variants (:class:`ClosureStore`): both engines evaluate SPARQL alike, and differ only in
how they reason. Blank nodes keep their rdflib identifiers, so rows name the ontology's class
expressions as the rdflib graphs do; rows come back as :class:`Row` objects with rdflib terms.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from kg.knowledge.terms import from_oxigraph, to_oxigraph
from kg.model.errors import OntologyError

Triple = tuple[Node, Node, Node]
#: Runs after which the store is replaced by a fresh one (see FactStore._fresh_store).
RUNS_PER_STORE = 500


class Row:
    """A query result row: ``row.name`` or ``row["name"]`` (None: unbound), ``asdict()``.

    It reads like rdflib's ResultRow, with each variable a slot; :func:`row` makes them.
    """

    __slots__ = ()
    labels: dict[str, int]

    def __getitem__(self, name: str) -> Node | None:
        return getattr(self, name)

    def asdict(self) -> dict[str, Node]:
        """The bound variables, by name."""
        return {name: getattr(self, name) for name in self.labels if getattr(self, name) is not None}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Row):
            return NotImplemented
        return self.asdict() == other.asdict()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.asdict().items())))

    def __repr__(self) -> str:
        return f"Row({', '.join(f'{name}={getattr(self, name)!r}' for name in self.labels)})"


def row(values: Mapping[str, Node | None]) -> Row:
    """A row with the given bindings (None: unbound)."""
    instance = _row_type(tuple(values))()
    for name, value in values.items():
        object.__setattr__(instance, name, value)
    return instance


@cache
def _row_type(names: tuple[str, ...]) -> type[Row]:
    """The row type for one query's variables."""
    return type("Row", (Row,), {"__slots__": names, "labels": {n: i for i, n in enumerate(names)}})


def _rows_by_case(store: ox.Store, text: str) -> dict[Node | None, list[Row]]:
    """The rows of a query, without ``?case``, grouped by it (None: a query without ``?case``)."""
    solutions = store.query(text)
    names = [variable.value for variable in solutions.variables]
    make = _row_type(tuple(name for name in names if name != "case"))
    grouped: dict[Node | None, list[Row]] = {}
    for solution in solutions:
        presentation = from_oxigraph(solution["case"]) if "case" in names else None
        instance = make()
        for name in names:
            if name != "case":
                object.__setattr__(instance, name, from_oxigraph(solution[name]))
        grouped.setdefault(presentation, []).append(instance)
    return grouped


class ClosureStore:
    """A whole graph (owlrl's closure of a case and its variants) and the queries' rows over it,
    each query run once for every presentation in it."""

    def __init__(self, graph: Graph, texts: Mapping[str, str]) -> None:
        self._store = ox.Store()
        self._store.bulk_extend(ox.Quad(*map(to_oxigraph, triple)) for triple in graph)
        self._texts = texts
        self._grouped: dict[str, dict[Node | None, list[Row]]] = {}

    def rows(self, query: str, presentation: Node) -> list[Row]:
        """The query's rows for ``presentation``."""
        if query not in self._grouped:
            self._grouped[query] = _rows_by_case(self._store, self._texts[query])
        return self._grouped[query].get(presentation, [])


class FactStore:
    """The closed ontology in a pyoxigraph store; queries run over it plus presentations' facts.

    Facts are added to the store's default graph for one run and removed after it, under a lock
    (runs are rare: their rows are kept by what each query reads).
    """

    def __init__(self, closed: Graph, texts: Mapping[str, str]) -> None:
        self._ontology = [ox.Quad(*map(to_oxigraph, triple)) for triple in closed]
        self._store = self._fresh_store()
        self._runs = 0
        self._texts = dict(texts)
        self._lock = threading.Lock()
        empty = ox.Store()
        for name, text in self._texts.items():
            try:
                list(empty.query(text))  # parses it; an empty store answers at once
            except SyntaxError as error:
                raise OntologyError(f"query {name}.rq: pyoxigraph cannot parse it: {error}") from error

    def select(self, query: str, facts: Iterable[Triple], presentation: Node) -> list[Row]:
        """Run ``query`` over the closed ontology plus ``facts``; its rows for ``presentation``."""
        with self._added(facts):
            return self._rows(query, presentation)

    def select_for(
        self, query: str, facts: Iterable[Triple], presentations: Sequence[Node]
    ) -> dict[Node, list[Row]]:
        """One run of ``query`` over the closed ontology plus several presentations' ``facts``;
        each presentation's rows (case queries relate one presentation to the ontology, never
        presentations to each other, as for the owlrl engine's closure of a case with its variants)."""
        with self._added(facts):
            grouped = _rows_by_case(self._store, self._texts[query])
        return {p: grouped.get(p, grouped.get(None, [])) for p in presentations}

    @contextmanager
    def _added(self, facts: Iterable[Triple]) -> Iterator[None]:
        """The store with ``facts`` added, under the lock; they are removed after."""
        quads = [ox.Quad(*map(to_oxigraph, triple)) for triple in facts]
        with self._lock:
            self._runs += 1
            if self._runs % RUNS_PER_STORE == 0:
                self._store = self._fresh_store()
            self._store.extend(quads)
            try:
                yield
            finally:
                for quad in quads:
                    self._store.remove(quad)

    def _rows(self, query: str, presentation: Node) -> list[Row]:
        """The query's rows for ``presentation`` over the store as it is (its facts added)."""
        grouped = _rows_by_case(self._store, self._texts[query])
        return grouped.get(presentation, grouped.get(None, []))

    def _fresh_store(self) -> ox.Store:
        """A store holding only the closed ontology.

        pyoxigraph's in-memory store keeps every quad ever added, removed ones included (0.5.13:
        about 300 bytes each), so a store that took many runs' facts is replaced by a fresh one.
        """
        store = ox.Store()
        store.bulk_extend(self._ontology)
        return store
