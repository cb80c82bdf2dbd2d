"""The SPARQL dataset: the asserted ontology, its OWL 2 RL inferences and each module as named graphs.

The default graph is the union of the asserted and inferred graphs, the closed ontology; every
module graph is part of the asserted one, so it is also the union of all named graphs. A module
graph shares its blank nodes with the asserted graph, so a restriction found in one joins the other.
"""

from __future__ import annotations

from pathlib import PurePath

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import _TripleCanonicalizer
from rdflib.term import Node

from kg.knowledge.ontology import Ontology
from kg.model.namespaces import KG

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


def nquads(ontology: Ontology, closed: Graph, canonical: bool = False) -> bytes:
    """The whole dataset as N-Quads: the named graphs, and the default graph as triples without a graph.

    ``canonical``: the same bytes for the same ontology, every time (``kg dump``): blank nodes get
    labels from rdflib's canonical colouring of the closed ontology (which holds every blank node of
    the dataset) instead of the parser's random ones, and the lines are sorted. That takes a few
    seconds, so the query workers load the plain form.
    """
    graphs = named_graphs(ontology, closed)
    rename = _canonical_blank_nodes(closed, graphs) if canonical else {}

    def named(term: Node) -> Node:
        return rename.get(term, term)

    dataset = Dataset()
    for name, graph in graphs.items():
        target = dataset.graph(name)
        target.addN((named(s), p, named(o), target) for s, p, o in graph)
    dataset.default_graph.addN((named(s), p, named(o), dataset.default_graph) for s, p, o in closed)
    data = dataset.serialize(format="nquads", encoding="utf-8")
    if canonical:
        data = b"".join(sorted(data.splitlines(keepends=True)))
    return data


def _canonical_blank_nodes(closed: Graph, graphs: dict[URIRef, Graph]) -> dict[Node, BNode]:
    """Each blank node of the dataset, and a label that depends only on the dataset's content: the
    colouring ``rdflib.compare.to_canonical_graph`` uses (it does not expose the mapping), of the
    closed ontology plus each named graph's blank-node triples under a predicate naming the graph,
    so that two blank nodes alike in the closure but in different graphs are told apart."""
    marked = Graph()
    marked += closed
    for name, graph in graphs.items():
        for s, p, o in graph:
            if isinstance(s, BNode) or isinstance(o, BNode):
                marked.add((s, URIRef(f"{name}#{p}"), o))
    canonicalizer = _TripleCanonicalizer(marked)
    coloring = canonicalizer._initial_color()
    coloring = canonicalizer._refine(coloring, coloring[:])
    if not canonicalizer._discrete(coloring):
        coloring = canonicalizer._traces(coloring)
    labels = {color.nodes[0]: color.hash_color() for color in coloring}
    return {node: BNode(f"c{label}") for node, label in labels.items() if isinstance(node, BNode)}
