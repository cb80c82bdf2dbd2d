"""The query worker process: loads the dataset into a pyoxigraph store, then answers one query at a time.

It runs in its own process so that a query overrunning its time can be ended by ending the process.
It is sent :class:`QueryRequest` objects and sends back a :class:`Result` or the
:class:`~kg.model.errors.SparqlError` saying why there is none. It imports neither rdflib nor kg's engine.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from pyoxigraph import (
    DefaultGraph,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
)

from kg.model.errors import MalformedRequest, QueryFailed, ResultTooLarge, SparqlError
from kg.sparql.formats import Form, negotiate


@dataclass(frozen=True)
class QueryRequest:
    """A query and its protocol dataset: None for either list means "as the query's FROM says, else the
    dataset's default"; a list given replaces the query's FROM / FROM NAMED, as the protocol requires."""

    query: str
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    accept: str | None = None


@dataclass(frozen=True)
class Result:
    """A serialized answer and its media type."""

    media_type: str
    body: bytes


class _Overflow(Exception):
    """The serialized answer passed the size limit."""


class _BoundedBuffer:
    """A writable that stops the serializer, by raising, once more than ``limit`` bytes are written."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _Overflow
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: the parts are kept in memory."""


def main() -> None:
    """``python -m kg.sparql FD``: serve the connection on file descriptor FD."""
    connection = Connection(int(sys.argv[1]))
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    dump, max_result_bytes = connection.recv()
    serve(connection, dump, max_result_bytes)


def _exit_with_parent(parent: int) -> None:
    """End this process once the service that started it is gone, even in the middle of a query
    (pyoxigraph releases the GIL while it evaluates, so this thread runs)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def serve(connection: Connection, dump: bytes, max_result_bytes: int) -> None:
    """Load ``dump`` (N-Quads), then answer each request received until the connection closes."""
    store = Store()
    store.load(dump, format=RdfFormat.N_QUADS)
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        try:
            reply: Result | SparqlError = answer(store, request, max_result_bytes)
        except SparqlError as error:
            reply = error
        except Exception as error:  # whatever else the store raises: one query must not end the worker
            reply = QueryFailed(f"query: cannot be answered: {error}")
        connection.send(reply)


def answer(store: Store, request: QueryRequest, max_result_bytes: int) -> Result:
    """Run ``request`` on ``store`` and serialize it as negotiated; raises SparqlError."""
    try:
        outcome = store.query(
            request.query,
            default_graph=_graphs(request.default_graphs),
            named_graphs=_graphs(request.named_graphs),
        )
    except SyntaxError as error:
        raise MalformedRequest(f"query: {error}") from None
    except OSError as error:
        raise QueryFailed(f"query: cannot be evaluated: {error}") from None
    form = Form.GRAPH if isinstance(outcome, QueryTriples) else Form.RESULTS
    chosen = negotiate(request.accept, form)
    buffer = _BoundedBuffer(max_result_bytes)
    try:
        if isinstance(outcome, QuerySolutions | QueryBoolean):
            outcome.serialize(buffer, getattr(QueryResultsFormat, chosen.oxigraph))
        else:
            outcome.serialize(buffer, getattr(RdfFormat, chosen.oxigraph))
    except _Overflow:
        raise ResultTooLarge(
            f"query: the result passes the {max_result_bytes:,}-byte limit (KG_SPARQL_MAX_RESULT_BYTES); "
            "narrow it or add a LIMIT"
        ) from None
    except OSError as error:  # evaluated lazily, so this is the evaluation's or the format's error
        raise QueryFailed(
            f"query: cannot be answered as {chosen.media_type.split(';')[0]}: {error}; "
            "ask for another format in the Accept header, or change the query"
        ) from None
    return Result(chosen.media_type, b"".join(buffer.parts))


def _graphs(iris: tuple[str, ...] | None) -> list[NamedNode | DefaultGraph] | None:
    return None if iris is None else [NamedNode(iri) for iri in iris]
