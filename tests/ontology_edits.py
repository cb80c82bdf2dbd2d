"""Edits to the ontology that several tests make: the README's example of a new red flag module."""

NEW_RED_FLAG = """@prefix kg:   <https://w3id.org/kg/> .
@prefix owl:  <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

kg:urinary-urgency a owl:Class ; rdfs:subClassOf kg:CaudaEquinaRedFlag ;
    skos:inScheme kg:findings ; skos:notation "urinary-urgency" ; rdfs:label "urinary urgency" ;
    skos:definition "New urinary urgency." .
"""
"""A cauda equina red flag, ``urinary-urgency``, as a module of its own."""
