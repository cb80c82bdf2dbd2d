"""Load the ontology modules: every ``*.ttl`` file of a folder, into one graph with a content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph

from kg.model.errors import OntologyError


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

    def parse(self) -> dict[str, Graph]:
        """Each module's graph by file name; raises OntologyError naming the module that does not parse."""
        graphs = {}
        for name, data in self.files.items():
            graph = graphs[name] = Graph()
            try:
                graph.parse(data=data, format="turtle", publicID=(self.directory / name).resolve().as_uri())
            except Exception as error:  # rdflib raises several types for bad Turtle
                raise OntologyError(f"{name}: {error}") from error
        return graphs


@dataclass(frozen=True)
class Ontology:
    """The asserted ontology: all modules in one graph, and each module's own graph (sharing its blank
    nodes) by file name."""

    graph: Graph
    version: str
    module_graphs: dict[str, Graph]

    @classmethod
    def of(cls, modules: Modules, module_graphs: dict[str, Graph]) -> Ontology:
        """The ontology of ``modules``, parsed into ``module_graphs``."""
        graph = Graph()
        for module_graph in module_graphs.values():
            graph += module_graph
        return cls(graph=graph, version=modules.version, module_graphs=module_graphs)

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules' file names, in name order."""
        return tuple(self.module_graphs)


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
    return Ontology.of(modules, modules.parse())
