"""Load the ontology modules: every ``*.ttl`` file of a folder, into one graph with a content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from kg.errors import OntologyError


@dataclass(frozen=True)
class Ontology:
    """The asserted ontology: all modules parsed into one graph."""

    graph: Graph
    version: str
    modules: tuple[str, ...]


def load_ontology(directory: Path) -> Ontology:
    """Parse every ``*.ttl`` module in ``directory``; the version hashes their names and bytes."""
    if not directory.is_dir():
        raise OntologyError(f"ontology folder {directory} does not exist")
    paths = sorted(directory.glob("*.ttl"))
    if not paths:
        raise OntologyError(f"ontology folder {directory} holds no *.ttl module")
    graph = Graph()
    digest = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        try:
            graph.parse(data=data, format="turtle", publicID=path.resolve().as_uri())
        except Exception as error:  # rdflib raises several types for bad Turtle
            raise OntologyError(f"{path.name}: {error}") from error
    return Ontology(graph=graph, version=digest.hexdigest()[:16], modules=tuple(p.name for p in paths))
