"""An on-disk cache of the graphs loading derives from the ontology (owlrl's closure above all),
keyed by content hash.

An entry is two files: ``KEY.nq``, the graphs as N-Quads (one named graph each, so blank nodes
shared between them stay shared), and ``KEY.json``, its header: the format, the key, the kg
version that wrote it, JSON tables derived with the graphs (e.g. what each case query reads,
:mod:`kg.engine.reads`) and the SHA-256 of the N-Quads and the tables. Neither can run code
when read (unlike a pickle), and an entry is used only if its header names the key asked for and
the N-Quads and tables hash to what the header says: a truncated, edited, foreign or misplaced
entry is rebuilt, never served.
Writing is atomic (a temporary file, then a rename); temporary files left by a crash and all but
the newest ``ENTRIES_KEPT`` entries are removed when an entry is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import quote, unquote

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.term import Node

from kg.knowledge.terms import from_oxigraph

V = TypeVar("V")
log = logging.getLogger(__name__)
#: The layout of an entry; an entry of another format is rebuilt.
FORMAT = 2
#: Entries kept in a cache folder (the newest by modification time).
ENTRIES_KEPT = 8
#: Temporary files older than this (seconds) are left over from a crash.
STALE_TEMPORARY_S = 3600.0
GRAPH_PREFIX = "urn:kg:cache:graph:"
XSD_STRING_LITERAL = b'"^^<http://www.w3.org/2001/XMLSchema#string>'


@dataclass(frozen=True)
class Entry:
    """A cache entry: the graphs by name and the JSON tables by name."""

    graphs: dict[str, Graph]
    tables: dict[str, object]


def load_graphs(directory: Path | None, key: str) -> dict[str, Graph] | None:
    """The graphs cached under ``key`` by name, or None: no folder, no entry, or one that fails a check."""
    entry = load_entry(directory, key)
    return None if entry is None else entry.graphs


def load_entry(directory: Path | None, key: str) -> Entry | None:
    """The entry cached under ``key``, or None: no folder, no entry, or one that fails a check."""
    if directory is None:
        return None
    header_path, data_path = _paths(directory, key)
    try:
        header = json.loads(header_path.read_text())
        data = data_path.read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("ignoring unreadable cache entry %s: %s", header_path, error)
        return None
    expected = {"format": FORMAT, "key": key, "kg": package_version("kg")}
    if not isinstance(header, dict) or any(header.get(name) != value for name, value in expected.items()):
        log.warning("ignoring cache entry %s: it was written for another key, format or version", header_path)
        return None
    tables = header.get("tables", {}) if isinstance(header, dict) else {}
    if not isinstance(tables, dict) or header.get("sha256") != _digest(data, tables):
        log.warning("ignoring cache entry %s: its content does not match its header", data_path)
        return None
    try:
        quads = _parsed(data)
    except Exception as error:  # a parser raises several types for bad N-Quads
        log.warning("ignoring unparsable cache entry %s: %s", data_path, error)
        return None
    graphs: dict[str, Graph] = {name: Graph() for name in header.get("graphs", [])}
    for graph_name, triple in quads:
        if graph_name.startswith(GRAPH_PREFIX):
            graphs.setdefault(unquote(graph_name.removeprefix(GRAPH_PREFIX)), Graph()).add(triple)
    return Entry(graphs, tables)


def _digest(data: bytes, tables: Mapping[str, object]) -> str:
    """The SHA-256 an entry's header holds: of its N-Quads and its tables (as canonical JSON)."""
    digest = hashlib.sha256(data)
    digest.update(b"\0" + json.dumps(tables, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def _parsed(data: bytes) -> list[tuple[str, tuple[Node, Node, Node]]]:
    """The quads of N-Quads ``data`` as (graph name, rdflib triple). pyoxigraph parses about ten
    times faster than rdflib; it reads a literal typed ``xsd:string`` as a plain one, as rdflib
    writes those, so data that spells the type out is left to rdflib."""
    if XSD_STRING_LITERAL in data:
        dataset = Dataset()
        dataset.parse(data=data, format="nquads")
        return [(str(context.identifier), triple) for context in dataset.contexts() for triple in context]
    return [
        (
            str(quad.graph_name.value) if isinstance(quad.graph_name, ox.NamedNode) else "",
            (from_oxigraph(quad.subject), from_oxigraph(quad.predicate), from_oxigraph(quad.object)),
        )
        for quad in ox.parse(data, format=ox.RdfFormat.N_QUADS)
    ]


def store_graphs(
    directory: Path | None,
    key: str,
    graphs: Mapping[str, Graph],
    tables: Mapping[str, object] | None = None,
) -> None:
    """Cache ``graphs`` and the JSON ``tables`` under ``key``; a folder that cannot be written only
    costs the next start a build."""
    if directory is None:
        return
    dataset = Dataset()
    for name, graph in graphs.items():
        named = dataset.graph(URIRef(GRAPH_PREFIX + quote(name, safe="")))
        for triple in graph:
            named.add(triple)
    data = dataset.serialize(format="nquads", encoding="utf-8")
    header = {
        "format": FORMAT,
        "key": key,
        "kg": package_version("kg"),
        "sha256": _digest(data, tables or {}),
        "graphs": list(graphs),
        "tables": dict(tables or {}),
    }
    header_path, data_path = _paths(directory, key)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write(data_path, data)
        _write(header_path, json.dumps(header, indent=1).encode())
        _tidy(directory)
    except OSError as error:
        log.warning("cannot write the cache entry %s: %s", header_path, error)


def _paths(directory: Path, key: str) -> tuple[Path, Path]:
    return directory / f"{key}.json", directory / f"{key}.nq"


def _write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix="kg-", suffix=".tmp", delete=False) as file:
        file.write(data)
    os.replace(file.name, path)


def _tidy(directory: Path) -> None:
    """Remove crashed writers' temporary files, and all but the newest ENTRIES_KEPT entries."""
    now = time.time()
    for temporary in directory.glob("kg-*.tmp"):
        try:
            if now - temporary.stat().st_mtime > STALE_TEMPORARY_S:
                temporary.unlink()
        except OSError:
            pass
    headers = sorted(directory.glob("*.json"), key=_modified, reverse=True)
    for header in headers[ENTRIES_KEPT:]:
        for path in (header, header.with_suffix(".nq")):
            path.unlink(missing_ok=True)
    for leftover in directory.glob("*.pickle"):  # the format before this one
        leftover.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


class Memo(Generic[V]):
    """A bounded mapping of pure results that forgets what was not used lately.

    Entries live in a young and an old generation: a hit in the old one copies the entry into the
    young one, and when the young one holds half the bound it becomes the old one (the old one is
    dropped). So at most ``maxsize`` entries are held, every entry used within the last
    ``maxsize // 2`` entries kept is still there, and a hit is one or two dict lookups without a
    lock (the answer path looks up kept rows and evaluations some 90 times a case; an exact LRU's
    lock and reordering took a tenth of its time). A lookup racing a rotation may miss: the caller
    computes the result again, as for any miss.
    """

    def __init__(self, maxsize: int) -> None:
        self._half = max(1, maxsize // 2)
        self._young: dict[Hashable, V] = {}
        self._old: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value for ``key``, now among the most recently used, or None."""
        value = self._young.get(key)
        if value is None:
            value = self._old.get(key)
            if value is not None:
                self[key] = value
        return value

    def __setitem__(self, key: Hashable, value: V) -> None:
        with self._lock:
            young = self._young
            young[key] = value
            if len(young) >= self._half:
                self._old, self._young = young, {}

    def __len__(self) -> int:
        """The entries held (one used in both generations counts once)."""
        return len(self._young.keys() | self._old.keys())
