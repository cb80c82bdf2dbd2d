"""Deterministic Turtle formatting that keeps comments, so that an edit to the ontology makes a small diff.

The rules (``kg.turtle.formatter.format_turtle``):

- **Lossless**: the formatted text must parse (rdflib) to a graph isomorphic to the original's, or
  nothing is returned (``FormatError``); a file that does not tokenize or parse is reported with its
  line and left alone.
- **Layout of the file**: the comments before the first statement (the file header, and any comment
  among the prefixes; in a file without prefixes, those up to the last blank line), one blank line,
  ``@base`` (at most one) and the prefixes, one blank line, then the statements **in the author's
  order**, with their comments. ``@base`` may only precede every statement and relative prefix IRI,
  and a prefix may not change its IRI. Prefixes come in a fixed order: ``kg: owl: rdf: rdfs: xsd:
  skos: dcterms:``, then any other by name; the IRIs are aligned one space after the longest name.
  ``PREFIX``/``BASE`` become ``@prefix``/``@base``.
- **Blank lines**: a run of blank lines between statements (or comments) becomes one blank line; there
  is none inside a statement.
- **A statement**: the subject, then its first predicate on the same line (when the subject is a
  ``[ ... ]`` or ``( ... )``, every predicate goes on a line of its own), then one predicate per line,
  indented 4 spaces, each line ending `` ;`` and the last `` .``. Predicates written more than once
  are merged into one.
- **Predicate order**: ``a`` (rdf:type); ``rdfs:subClassOf``, ``owl:equivalentClass``,
  ``rdfs:subPropertyOf``, ``owl:equivalentProperty``, ``owl:inverseOf``, ``owl:onProperty``, ``sh:path``;
  ``skos:inScheme``, ``skos:notation``, ``rdfs:label``, ``skos:definition``, ``rdfs:comment``; the SHACL
  targets (``sh:targetClass``, ``sh:targetNode``, ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``,
  ``sh:target``); every other predicate by its text as written (``kg:caseProperty`` before
  ``rdfs:domain``); last ``sh:message``, ``sh:severity``, ``dcterms:source``. The same order applies
  inside ``[ ... ]``. Known predicates are recognized by IRI, whatever their prefix.
- **Objects** of a predicate: IRIs, then blank node labels, then literals, each group sorted by its
  text, a repeated one written once; then the ``[ ... ]`` and ``( ... )`` in the order written. They
  share the predicate's line (``a, b``), except that among several objects a ``[ ... ]`` (or a
  collection holding one), and whatever follows it, starts a line of its own: indented 8 spaces at the
  top level, 4 more than its predicate inside a ``[ ... ]``.
- **Nesting**: ``[ ... ]`` stays where it is written (never ``_:b`` labels). It is written on one line
  (``[ a owl:Restriction ; owl:onProperty p ; owl:hasValue v ]``) unless it holds more than three
  predicates, counting those of the ``[ ... ]`` among its objects: then one predicate per line, aligned
  after the ``[ ``, the ``]`` ending the last line (a SHACL property shape). ``( ... )`` keeps its
  order; its IRIs and literals flow on one line, and each ``[ ... ]`` item starts a new line indented
  4 more than the line that opened the collection, the ``)`` ending the last item's line.
- **Terms are kept as written**: IRIs, prefixed names, blank node labels, numbers, booleans, language
  tags and datatypes. Strings are rewritten in one style: ``"..."``, or ``\"\"\"...\"\"\"`` when the
  value holds a line break (the line breaks then written as such); the value never changes.
- **Comments**: every comment line is kept, attached to what follows it: a comment before a statement
  stays before it (section banners included), one at the end of the file stays at the end. Inside a
  statement, a comment on a line of its own stays before the predicate that follows it and moves with
  that predicate; a comment at the end of a line stays at the end of its predicate's (last) line,
  two spaces after the `` ;`` or `` .``, if it is the last comment of that predicate; otherwise all the
  predicate's comments go on lines of their own above it, in their order. Comments after the subject
  or inside a ``[ ... ]`` subject, and those that would go above the predicate sharing the subject's
  line, go just before the statement; comments among the prefixes join the header.

The output does not depend on the hash seed, and formatting formatted text changes nothing.

The modules, in the order the text goes through them: ``tokens`` (the tokenizer and the string
escapes), ``parser`` (tokens to the syntax tree of ``syntax``, comments attached), ``order`` (the
canonical order of predicates and objects), ``layout`` (the tree back to text), and ``formatter``
(``format_turtle``: parse, write, and refuse a result that is not isomorphic to the original).
``FormatError`` (``errors``) is what any of them raises. ``kg fmt`` (``kg/tools/fmt.py``) is the command.
"""
