"""What a case query can read of a presentation, found from the query's algebra: the key its rows are kept by.

The fast path runs the real ``queries/*.rq`` over the closed ontology plus one presentation's
triples, and keeps the rows by what the query can read of a presentation, so that presentations
that agree on that share one run. This module finds out what a query can read from the query
itself (rdflib's algebra of it), soundly: a key may be wider than needed, never narrower. So an
edited query, whatever it now reads, keeps giving the rows the query gives; at worst it runs
more often, and :attr:`QueryReads.reasons` says why.

A presentation P adds these triples (its *facts*) to the closed ontology:

- types: ``P rdf:type C`` for each class of its classification;
- values: ``P p v`` for the property values ``hasValue`` restrictions give it (``hasUrgency``);
- findings: ``P hasFinding i`` and ``i rdf:type C`` for its finding individuals;
- measurements: ``P m "literal"`` for the case's measurements (age, eGFR, ...).

A triple pattern can match a fact only if its predicate can be the fact's: ``rdf:type``, a value
property, a finding property, a measurement property, or a variable. Rows that depend on finding
individuals, measurements or any fact at all are not kept. A type pattern with a variable class
(``?case a ?class``) reads only the classes its group lets that variable take: the group is run
*relaxed* over the closed ontology plus a hypothetical presentation H, with the patterns that
read P's unknown facts dropped, so that the relaxed solutions include every real one. H has the
values the key is taken under (the presentation's own, for the properties the query reads) and
the types every presentation with those values has, so filters that read only those are kept.
That is how recommendations.rq reads only the classes at the presentation's highest urgency: its
``NOT EXISTS`` over a higher urgency value leaves the lower classes out.

Where a query's rows are ordered first by one or two variables bound to the ontology (``?item``
in applicable.rq, ``?class`` in justification.rq), the same relaxed runs also tell which classes
the rows of each value (an *item*) read: a site's group solution can only meet rows whose item it
is compatible with (:mod:`.items`). An item reads a few classes where the whole query reads
dozens, so the engine also keeps rows by block of items (:mod:`kg.engine.blocks`) and a
presentation whose whole key is new mostly finds every block kept.

The queries that run before classification read the case as given, findings and measurements;
:mod:`.given` finds which finding classes and measurement properties each item's rows read, and
whether a measurement is only compared with numbers (then it is keyed by its region among the
ontology's and the queries' numbers).

Assumed, as the owlrl engine assumes when it closes a case with its variants in one graph: a case
query is a SELECT query that relates one presentation to the ontology, never presentations to
each other.

The package by concern: :mod:`.model` (what is found), :mod:`.walk` (the pass over a query's
algebra), :mod:`.relax` (the relaxed runs), :mod:`.algebra` (helpers), :mod:`.items` (items and
their order), :mod:`.analyzer` (the analyzer, which keeps what it found and gives it to the
cache), :mod:`.given` (the analyzer of a case as given).
"""

from kg.engine.reads.analyzer import Analyzer
from kg.engine.reads.model import HYPOTHETICAL, CaseVocabulary, QueryReads, Site, Unkeyed, Values

__all__ = ["HYPOTHETICAL", "Analyzer", "CaseVocabulary", "QueryReads", "Site", "Unkeyed", "Values"]
