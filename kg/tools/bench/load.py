"""HTTP load: keep-alive connections sending prepared requests as fast as the server answers,
counting answers (a small closed-loop load generator, so that client and server share one
machine's cores predictably), and the SPARQL load of the example queries."""

from __future__ import annotations

import argparse
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from kg.config import QUERIES_DIR
from kg.tools.bench.measure import Plan, progress
from kg.tools.bench.servers import HOST, ROUTE, oxigraph_served, served

if TYPE_CHECKING:
    pass


HTTP_WARMUP_S = 1.0


def http_request(body: dict[str, Any], route: str = ROUTE) -> bytes:
    """A keep-alive POST of ``body`` to ``route`` (``POST /recommendations``), ready to send."""
    payload = json.dumps(body).encode()
    head = f"POST {route} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload


@dataclass(frozen=True)
class Load:
    """What the load client saw in the timed window."""

    completed: int  # 200 responses completed in the window
    failed: int  # non-200 responses, window or warm-up
    sent: int  # requests sent, warm-up included
    seconds: float
    client_cpu: float  # the client process's CPU time / wall time of the run, in cores

    @property
    def rps(self) -> float:
        """200 responses per second of the timed window."""
        return self.completed / self.seconds


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[ \t]*chunked", re.IGNORECASE)


def _exchange(sock: socket.socket, request: bytes, buffer: bytearray) -> int:
    """Send one request and read its whole response (Content-Length framed or chunked); the status code."""
    sock.sendall(request)
    end = _read_until(sock, buffer, b"\r\n\r\n", 0)
    head = bytes(buffer[:end])
    length = _CONTENT_LENGTH.search(head)
    if length is not None:
        total = end + 4 + int(length.group(1))
    elif _CHUNKED.search(head):
        total = _chunked_end(sock, buffer, end + 4)
    else:
        raise RuntimeError(f"a response neither Content-Length framed nor chunked: {head[:200]!r}")
    while len(buffer) < total:
        buffer += _received(sock)
    del buffer[:total]
    return int(head[9:12])


def _read_until(sock: socket.socket, buffer: bytearray, marker: bytes, start: int) -> int:
    """The index of ``marker`` in ``buffer`` at or after ``start``, receiving until it arrives."""
    while (index := buffer.find(marker, start)) < 0:
        buffer += _received(sock)
    return index


def _chunked_end(sock: socket.socket, buffer: bytearray, position: int) -> int:
    """The end of a chunked body starting at ``position`` (no trailers), receiving until it is whole."""
    while True:
        line_end = _read_until(sock, buffer, b"\r\n", position)
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2 + size + 2
        if size == 0:
            return position
        while len(buffer) < position:
            buffer += _received(sock)


def _received(sock: socket.socket) -> bytes:
    chunk = sock.recv(1 << 16)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    return chunk


def drive_load(port: int, requests: list[bytes], connections: int, seconds: float) -> Load:
    """Keep ``connections`` keep-alive connections busy, one request in flight on each, for
    HTTP_WARMUP_S (not counted) and then ``seconds`` (counted). Runs in the client process.

    Connection i sends requests[i], requests[i + connections], ...: every request a distinct case,
    the same sequence for every server (reused from the start only if the list runs out).
    """
    sockets = [socket.create_connection((HOST, port)) for _ in range(connections)]
    for sock in sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    window = (wall_start + HTTP_WARMUP_S, wall_start + HTTP_WARMUP_S + seconds)
    tallies: list[tuple[int, int, int]] = [(0, 0, 0)] * connections
    errors: list[Exception] = []

    def loop(index: int) -> None:
        mine = requests[index::connections]
        completed = failed = sent = 0
        buffer = bytearray()
        try:
            while True:
                status = _exchange(sockets[index], mine[sent % len(mine)], buffer)
                sent += 1
                now = time.perf_counter()
                if status != 200:
                    failed += 1
                elif window[0] <= now < window[1]:
                    completed += 1
                if now >= window[1]:
                    break
        except Exception as error:  # reported by the caller: a broken connection invalidates the run
            errors.append(error)
        tallies[index] = (completed, failed, sent)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    for sock in sockets:
        sock.close()
    if errors:
        raise RuntimeError(f"the load client failed: {errors[0]!r}")
    completed, failed, sent = (sum(t[i] for t in tallies) for i in range(3))
    return Load(completed, failed, sent, seconds, cpu)


def measure_http(factory: str, workers: int, env: dict[str, str], load: Callable[[int], Load]) -> Load:
    """Start the server, load it from the client, stop it."""
    with served(factory, workers, env) as port:
        result = load(port)
    if result.failed:
        raise RuntimeError(f"{factory}: {result.failed} responses were not 200")
    return result


def example_queries() -> list[str]:
    """The competency questions in queries/examples/, in file name order."""
    queries = [path.read_text() for path in sorted((QUERIES_DIR / "examples").glob("*.rq"))]
    if not queries:
        raise RuntimeError(f"no example queries in {QUERIES_DIR / 'examples'} to measure SPARQL with")
    return queries


def sparql_request(path: str, query: str) -> bytes:
    """A keep-alive GET of ``query`` at ``path``, asking for SPARQL JSON results."""
    head = f"GET {path}?{urlencode({'query': query})} HTTP/1.1\r\nHost: {HOST}\r\n"
    return f"{head}Accept: application/sparql-results+json\r\n\r\n".encode()


def sparql_loads(
    dump: bytes, queries: list[str], args: argparse.Namespace, plan: Plan, env: dict[str, str]
) -> tuple[Load, Load]:
    """kg's /sparql, then the Oxigraph server's /query, over the same dataset: the same client
    process, example queries (each asked in turn, as SPARQL JSON), connections and duration."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as client:

        def loader(path: str) -> Callable[[int], Load]:
            # Connection i asks queries i, i + 1, ... in turn (drive_load gives it every connections-th).
            count, connections = len(queries), args.connections
            asked = [
                queries[(j // connections + j % connections) % count] for j in range(count * connections)
            ]
            requests = [sparql_request(path, query) for query in asked]
            return lambda port: client.submit(
                drive_load, port, requests, args.connections, plan.sparql_seconds
            ).result()

        kg_load = measure_http("kg.api.main:create_app", args.workers, env, loader("/sparql"))
        progress(f"kg /sparql: {kg_load.rps:.1f} queries/s")
        with oxigraph_served(dump) as port:
            oxigraph_load = loader("/query")(port)
        if oxigraph_load.failed:
            raise RuntimeError(f"the Oxigraph server: {oxigraph_load.failed} responses were not 200")
        progress(f"Oxigraph server /query: {oxigraph_load.rps:.1f} queries/s")
    return kg_load, oxigraph_load
