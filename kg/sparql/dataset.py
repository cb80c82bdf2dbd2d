"""The SPARQL dataset: the asserted ontology, its OWL 2 RL inferences and each module as named graphs.

The default graph is the union of the asserted and inferred graphs, the closed ontology; every
module graph is part of the asserted one, so it is also the union of all named graphs. A module
graph shares its blank nodes with the asserted graph, so a restriction found in one joins the other.
"""

from __future__ import annotations

from pathlib import PurePath

from rdflib import Dataset, Graph, URIRef

from kg.namespaces import KG
from kg.ontology import Ontology

ASSERTED = KG["graph/asserted"]
"""Every module's triples as written."""
INFERRED = KG["graph/inferred"]
"""What the OWL 2 RL closure adds to the asserted triples (owlrl's junk triples left out)."""


def module_graph_name(file_name: str) -> URIRef:
    """``low-back-pain.ttl`` -> ``https://w3id.org/kg/graph/module/low-back-pain``."""
    return KG[f"graph/module/{PurePath(file_name).stem}"]


def named_graphs(ontology: Ontology, closed: Graph) -> dict[URIRef, Graph]:
    """The dataset's named graphs by name: asserted, inferred, then one per module in name order."""
    graphs = {ASSERTED: ontology.graph, INFERRED: closed - ontology.graph}
    graphs.update((module_graph_name(name), graph) for name, graph in ontology.module_graphs.items())
    return graphs


def nquads(ontology: Ontology, closed: Graph) -> bytes:
    """The whole dataset as N-Quads: the named graphs, and the default graph as triples without a graph."""
    dataset = Dataset()
    for name, graph in named_graphs(ontology, closed).items():
        dataset.graph(name).addN((s, p, o, dataset.graph(name)) for s, p, o in graph)
    dataset.default_graph.addN((s, p, o, dataset.default_graph) for s, p, o in closed)
    return dataset.serialize(format="nquads", encoding="utf-8")
