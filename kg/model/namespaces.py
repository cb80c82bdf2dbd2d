"""The project's IRIs."""

from rdflib import Namespace, URIRef

KG = Namespace("https://w3id.org/kg/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")

CASE = URIRef("urn:kg:case")
"""The presentation of the case being answered; hypothetical variants hang below it."""
