"""The SPARQL 1.1 Service Description of the endpoint (what GET /sparql without a query returns)."""

from __future__ import annotations

from rdflib import RDF, RDFS, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, VOID

from kg import DISCLAIMER
from kg.sparql.formats import FORMATS

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMAT_IRIS = {
    "JSON": "SPARQL_Results_JSON",
    "XML": "SPARQL_Results_XML",
    "CSV": "SPARQL_Results_CSV",
    "TSV": "SPARQL_Results_TSV",
    "TURTLE": "Turtle",
    "N_TRIPLES": "N-Triples",
    "JSON_LD": "JSON-LD",
    "RDF_XML": "RDF_XML",
}
"""pyoxigraph's format names -> the local names of their IRIs in http://www.w3.org/ns/formats/."""


def service_description(endpoint: str, default_size: int, graphs: dict[URIRef, Graph], version: str) -> Graph:
    """The description of the endpoint at ``endpoint``: language, formats, read-only, the dataset."""
    description = Graph(bind_namespaces="core")
    description.bind("sd", SD)
    description.bind("void", VOID)
    description.bind("dcterms", DCTERMS)
    service, dataset, default = BNode(), BNode(), BNode()
    description.add((service, RDF.type, SD.Service))
    description.add((service, SD.endpoint, URIRef(endpoint)))
    description.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    description.add((service, SD.feature, SD.UnionDefaultGraph))
    description.add((service, RDFS.label, Literal("kg: imaging for low back pain, read-only")))
    description.add((service, RDFS.comment, Literal(DISCLAIMER)))
    for formats in FORMATS.values():
        for chosen in formats:
            description.add(
                (
                    service,
                    SD.resultFormat,
                    URIRef(f"http://www.w3.org/ns/formats/{FORMAT_IRIS[chosen.oxigraph]}"),
                )
            )
    description.add((service, SD.defaultDataset, dataset))
    description.add((dataset, RDF.type, SD.Dataset))
    description.add((dataset, DCTERMS.hasVersion, Literal(version)))
    description.add((dataset, SD.defaultGraph, default))
    description.add((default, RDF.type, SD.Graph))
    description.add((default, VOID.triples, Literal(default_size)))
    description.add((default, RDFS.comment, Literal("the closed ontology: the union of the named graphs")))
    for name, graph in graphs.items():
        named, described = BNode(), BNode()
        description.add((dataset, SD.namedGraph, named))
        description.add((named, RDF.type, SD.NamedGraph))
        description.add((named, SD.name, name))
        description.add((named, SD.graph, described))
        description.add((described, RDF.type, SD.Graph))
        description.add((described, VOID.triples, Literal(len(graph))))
    return description
