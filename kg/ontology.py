"""Load the ontology modules: every ``*.ttl`` file of a folder, into one graph with a content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from kg.errors import OntologyError


@dataclass(frozen=True)
class Modules:
    """The ``*.ttl`` files of an ontology folder, read but not parsed."""

    directory: Path
    files: dict[str, bytes]

    @property
    def version(self) -> str:
        """A hash of the modules' names and bytes."""
        digest = hashlib.sha256()
        for name, data in self.files.items():
            digest.update(name.encode() + b"\0" + data + b"\0")
        return digest.hexdigest()[:16]

    def parse(self) -> Graph:
        """All modules in one graph; raises OntologyError naming the module that does not parse."""
        graph = Graph()
        for name, data in self.files.items():
            try:
                graph.parse(data=data, format="turtle", publicID=(self.directory / name).resolve().as_uri())
            except Exception as error:  # rdflib raises several types for bad Turtle
                raise OntologyError(f"{name}: {error}") from error
        return graph


@dataclass(frozen=True)
class Ontology:
    """The asserted ontology: all modules parsed into one graph."""

    graph: Graph
    version: str
    modules: tuple[str, ...]


def read_modules(directory: Path) -> Modules:
    """The ``*.ttl`` modules of ``directory``, in name order; raises OntologyError if there are none."""
    if not directory.is_dir():
        raise OntologyError(f"ontology folder {directory} does not exist")
    paths = sorted(directory.glob("*.ttl"))
    if not paths:
        raise OntologyError(f"ontology folder {directory} holds no *.ttl module")
    return Modules(directory, {path.name: path.read_bytes() for path in paths})


def load_ontology(directory: Path) -> Ontology:
    """Parse every ``*.ttl`` module in ``directory``; the version hashes their names and bytes."""
    modules = read_modules(directory)
    return Ontology(graph=modules.parse(), version=modules.version, modules=tuple(modules.files))
