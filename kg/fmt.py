"""``kg fmt``: deterministic Turtle formatting, so that an edit to the ontology makes a small diff.

The rules (``format_turtle``):

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
``python3 -m kg.fmt [--check] [--diff] [FILES...]`` runs it without the ``kg`` command.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.compare import isomorphic

from kg.config import Settings
from kg.errors import OntologyError

INDENT = 4
MAX_INLINE_PREDICATES = 3  # a [ ... ] with more predicates (its own and its [ ... ]'s) is one per line
PREFIX_ORDER = ("kg:", "owl:", "rdf:", "rdfs:", "xsd:", "skos:", "dcterms:")
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_OWL = "http://www.w3.org/2002/07/owl#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_DCTERMS = "http://purl.org/dc/terms/"
_SH = "http://www.w3.org/ns/shacl#"
FIRST_PREDICATES = (
    _RDF + "type",
    _RDFS + "subClassOf",
    _OWL + "equivalentClass",
    _RDFS + "subPropertyOf",
    _OWL + "equivalentProperty",
    _OWL + "inverseOf",
    _OWL + "onProperty",
    _SH + "path",
    _SKOS + "inScheme",
    _SKOS + "notation",
    _RDFS + "label",
    _SKOS + "definition",
    _RDFS + "comment",
    _SH + "targetClass",
    _SH + "targetNode",
    _SH + "targetSubjectsOf",
    _SH + "targetObjectsOf",
    _SH + "target",
)
LAST_PREDICATES = (_SH + "message", _SH + "severity", _DCTERMS + "source")
BASE_IRI = "https://kg.invalid/fmt/"  # resolves relative IRIs, the same for the original and the output


class FormatError(OntologyError):
    """Turtle that kg fmt cannot format: ``line`` (1-based, or None) and ``message`` say where and why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line


# --- tokens -------------------------------------------------------------------------------------------

_BASE_CHARS = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS_U = _BASE_CHARS + "_"
_CHARS = _CHARS_U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PN_PREFIX = f"[{_BASE_CHARS}](?:[{_CHARS}.]*[{_CHARS}])?"
_PN_LOCAL = f"(?:[{_CHARS_U}:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?"
_TOKEN_KINDS = (
    ("ws", r"[ \t\r\n]+"),
    ("comment", r"#[^\r\n]*"),
    ("iri", r'<(?:[^\x00-\x20<>"{}|^`\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>'),
    (
        "string",
        r'"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""'
        r"|'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''"
        r'|"(?:[^"\\\r\n]|\\.)*"'
        r"|'(?:[^'\\\r\n]|\\.)*'",
    ),
    (
        "number",
        r"[+-]?(?:[0-9]+\.[0-9]*[eE][+-]?[0-9]+|\.[0-9]+[eE][+-]?[0-9]+|[0-9]+[eE][+-]?[0-9]+"
        r"|[0-9]*\.[0-9]+|[0-9]+)",
    ),
    ("bnode", f"_:[{_CHARS_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?"),
    ("pname", f"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?"),
    ("at", r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"),
    ("word", r"[A-Za-z]+"),
    ("punct", r"\^\^|[.;,\[\]()]"),
)
_TOKEN = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _TOKEN_KINDS))
_ABSOLUTE = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]*:")
_UNCLOSED = re.compile(r"\"\"\"|'''|[\"'<]")


@dataclass(frozen=True)
class Token:
    kind: str  # one of _TOKEN_KINDS but "ws"
    text: str
    line: int  # 1-based, where the token starts
    end_line: int  # where it ends (strings may span lines)
    own_line: bool  # nothing but blanks before it on its line


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, comments included; raises FormatError where no token starts."""
    tokens: list[Token] = []
    pos, line, line_start_token = 0, 1, True
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            raise FormatError(_unreadable(text, pos), line)
        kind, value = match.lastgroup, match.group()
        newlines = value.count("\n")
        if kind == "ws":
            line_start_token = line_start_token or newlines > 0
        else:
            tokens.append(Token(kind, value, line, line + newlines, line_start_token))
            line_start_token = False
        line += newlines
        pos = match.end()
    return tokens


def _unreadable(text: str, pos: int) -> str:
    if _UNCLOSED.match(text, pos):
        what = {"<": "IRI"}.get(text[pos], "string")
        return f"unterminated or malformed {what} starting {text[pos : pos + 20]!r}"
    return f"unexpected character {text[pos]!r}"


# --- strings ------------------------------------------------------------------------------------------

_ECHARS = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\b": "\\b", "\r": "\\r", "\f": "\\f", "\n": "\\n"}
_LONG_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\r": "\\r", "\f": "\\f"}


def decode_string(token: str, line: int) -> str:
    """The value of a Turtle string token (any of the four quote forms), escapes resolved."""
    quote = 3 if token[:3] in ('"""', "'''") else 1
    body, out, i = token[quote:-quote], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        escape = body[i + 1]
        if escape in _ECHARS:
            out.append(_ECHARS[escape])
            i += 2
            continue
        size = {"u": 4, "U": 8}.get(escape, 0)
        digits = body[i + 2 : i + 2 + size]
        if not size or not re.fullmatch(f"[0-9A-Fa-f]{{{size}}}", digits):
            raise FormatError(f"invalid escape {body[i : i + 2 + size]!r} in a string", line)
        code = int(digits, 16)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise FormatError(f"escape {body[i : i + 2 + size]!r} is not a character", line)
        out.append(chr(code))
        i += 2 + size
    return "".join(out)


def quote_string(value: str) -> str:
    """``value`` as ``"..."``, or as ``\"\"\"...\"\"\"`` with its line breaks as such when it has any."""
    if "\n" not in value:
        return '"' + "".join(_SHORT_ESCAPES.get(c) or _control(c) for c in value) + '"'
    out = []
    for i, char in enumerate(value):
        if char == '"':  # a quote before another quote, or last, would end the string
            out.append('\\"' if i + 1 == len(value) or value[i + 1] == '"' else '"')
        elif char in ("\n", "\t"):
            out.append(char)
        else:
            out.append(_LONG_ESCAPES.get(char) or _control(char))
    return '"""' + "".join(out) + '"""'


def _control(char: str) -> str:
    return f"\\u{ord(char):04X}" if ord(char) < 0x20 or ord(char) == 0x7F else char


# --- syntax tree --------------------------------------------------------------------------------------

# Object sort groups.
IRI, LABEL, LITERAL, STRUCTURE = range(4)


@dataclass
class Term:
    """An IRI, prefixed name, blank node label, ``[]``, or literal: its text as it will be written."""

    text: str
    group: int


@dataclass
class Entry:
    """One predicate and its objects, with the comments attached to it."""

    verb: Term
    objects: list[Node]
    comments: list[tuple[str, bool]] = field(default_factory=list)  # (text, at the end of a line)

    def placed(self) -> tuple[list[str], str | None]:
        """The comments on lines of their own before the predicate, and the one at the end of its line:
        a single end-of-line comment that comes last (in the source order of the predicate's comments)."""
        at_end = [text for text, end in self.comments if end]
        if len(at_end) == 1 and self.comments[-1][1]:
            return [text for text, _ in self.comments[:-1]], at_end[0]
        return [text for text, _ in self.comments], None


@dataclass
class PropertyList:
    """``[ p o ; ... ]``."""

    entries: list[Entry]


@dataclass
class Collection:
    """``( o ... )``."""

    items: list[Node]


Node = Term | PropertyList | Collection


@dataclass
class Statement:
    subject: Node
    entries: list[Entry]
    leading: list[str]  # comment lines before it; "" marks a blank line


@dataclass
class Directive:
    name: str | None  # "kg:" for a prefix, None for the base
    iri: str
    line: int


@dataclass
class Document:
    header: list[str]  # comments of the prefix block and before it
    directives: list[Directive]
    statements: list[Statement]
    trailing: list[str]


class _Parser:
    """Recursive descent over the tokens of Turtle 1.1, keeping comments and the author's order."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.last_line = 0  # where the last token consumed (comments too) ended
        self.mode = "item"  # where comments go: "item", "directive" or "statement"
        self.trivia: list[str] = []  # comments and blank marks waiting for the next item
        self.hoisted: list[str] = []  # comments that go before the current statement
        self.entry: Entry | None = None  # the top-level predicate being read
        self.pending: list[str] = []  # comments on their own lines before the next top-level predicate
        self.between = False  # the last top-level token read was the subject or a ";"
        self.depth = 0  # nesting in [ ] and ( ) inside the predicate-object list
        self.in_subject = False

    # tokens and comments

    def _peek(self) -> Token | None:
        while self.pos < len(self.tokens) and self.tokens[self.pos].kind == "comment":
            self._comment(self.tokens[self.pos])
            self.pos += 1
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> Token:
        token = self._peek()
        if token is None:
            raise FormatError("unexpected end of file", self.last_line or 1)
        self.pos += 1
        self.last_line = token.end_line
        return token

    def _is(self, token: Token | None, punct: str) -> bool:
        return token is not None and token.kind == "punct" and token.text == punct

    def _expect(self, punct: str, what: str) -> Token:
        token = self._next()
        if not self._is(token, punct):
            raise FormatError(f"expected {what}, found {token.text!r}", token.line)
        return token

    def _comment(self, token: Token) -> None:
        text = token.text.rstrip()
        if self.mode == "item":
            if self.last_line and token.line > self.last_line + 1:
                self.trivia.append("")
            self.trivia.append(text)
        elif self.mode == "directive" or self.in_subject:
            self.hoisted.append(text)
        elif token.own_line and self.between and self.depth == 0:
            self.pending.append(text)
        elif self.entry is None:
            self.hoisted.append(text)
        else:
            self.entry.comments.append((text, not token.own_line))
        self.last_line = token.end_line

    # the document

    def document(self) -> Document:
        header: list[str] = []
        directives: list[Directive] = []
        statements: list[Statement] = []
        while (token := self._peek()) is not None:
            leading, self.trivia = self.trivia, []
            if self.last_line and token.line > self.last_line + 1:
                leading.append("")
            if _is_directive(token):
                self.mode, self.hoisted = "directive", []
                directive = self._directive()
                _check_directive(directive, directives, bool(statements))
                directives.append(directive)
                if (comment := self._comment_on_line(self.last_line)) is not None:
                    self.hoisted.append(comment)
                header += leading + self.hoisted
            else:
                statement = self._statement(leading)
                if not statements and not directives:  # the file header stays at the top
                    header, statement.leading = _split_header(statement.leading)
                statements.append(statement)
            self.mode = "item"
        return Document(header, directives, statements, self.trivia)

    def _directive(self) -> Directive:
        keyword = self._next()
        sparql = keyword.kind == "word"
        name = None
        if keyword.text.lower().endswith("prefix"):
            token = self._next()
            if token.kind != "pname" or not token.text.endswith(":"):
                raise FormatError(f"expected a prefix name such as 'kg:', found {token.text!r}", token.line)
            name = token.text
        iri = self._next()
        if iri.kind != "iri":
            raise FormatError(f"expected an IRI in <...>, found {iri.text!r}", iri.line)
        if not sparql:
            self._expect(".", "'.' after the directive")
        return Directive(name, iri.text, keyword.line)

    def _statement(self, leading: list[str]) -> Statement:
        self.mode, self.hoisted, self.pending = "statement", [], []
        self.entry, self.between, self.depth = None, False, 0
        self.in_subject = True
        subject = self._subject()
        self.in_subject, self.between = False, True
        entries = self._predicate_object_list(top=True)
        if isinstance(subject, Term) and not entries:
            token = self._peek()
            raise FormatError(
                "expected a predicate after the subject", token.line if token else self.last_line
            )
        dot = self._expect(".", "';' or '.' after an object")
        if self.pending:
            if entries:
                entries[-1].comments += [(text, False) for text in self.pending]
            else:
                self.hoisted += self.pending
        if (comment := self._comment_on_line(dot.end_line)) is not None:
            if self.entry:
                self.entry.comments.append((comment, True))
            else:
                self.hoisted.append(comment)
        return Statement(subject, entries, leading + self.hoisted)

    def _comment_on_line(self, line: int) -> str | None:
        """Consume and return the comment that ends ``line``, if any."""
        token = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        if token is None or token.kind != "comment" or token.line != line:
            return None
        self.pos += 1
        self.last_line = token.end_line
        return token.text.rstrip()

    def _subject(self) -> Node:
        token = self._next()
        if token.kind in ("iri", "pname", "bnode"):
            return Term(token.text, IRI if token.kind != "bnode" else LABEL)
        if self._is(token, "["):
            return self._property_list(token)
        if self._is(token, "("):
            return self._collection()
        raise FormatError(f"expected a subject, found {token.text!r}", token.line)

    def _predicate_object_list(self, top: bool) -> list[Entry]:
        closer = "." if top else "]"
        entries: list[Entry] = []
        while True:
            token = self._peek()
            if self._is(token, ";"):
                self._next()
                if top:
                    self.between = True
                continue
            if token is None or self._is(token, closer):
                return entries
            entry = Entry(self._verb(), [])
            if top:
                entry.comments = [(text, False) for text in self.pending]
                self.pending, self.entry, self.between = [], entry, False
            entries.append(entry)
            entry.objects.append(self._object())
            while self._is(self._peek(), ","):
                self._next()
                entry.objects.append(self._object())
            token = self._peek()
            if not (self._is(token, ";") or self._is(token, closer)):
                found = repr(token.text) if token else "the end of the file"
                line = token.line if token else self.last_line
                raise FormatError(f"expected ',', ';' or {closer!r} after an object, found {found}", line)

    def _verb(self) -> Term:
        token = self._next()
        if token.kind in ("iri", "pname") or (token.kind == "word" and token.text == "a"):
            return Term(token.text, IRI)
        raise FormatError(f"expected a predicate, found {token.text!r}", token.line)

    def _object(self) -> Node:
        token = self._next()
        if token.kind in ("iri", "pname"):
            return Term(token.text, IRI)
        if token.kind == "bnode":
            return Term(token.text, LABEL)
        if token.kind == "number" or (token.kind == "word" and token.text in ("true", "false")):
            return Term(token.text, LITERAL)
        if token.kind == "string":
            return self._literal(token)
        if self._is(token, "["):
            return self._property_list(token)
        if self._is(token, "("):
            return self._collection()
        raise FormatError(f"expected an object, found {token.text!r}", token.line)

    def _literal(self, token: Token) -> Term:
        text = quote_string(decode_string(token.text, token.line))
        suffix = self._peek()
        if suffix is not None and suffix.kind == "at":
            text += self._next().text
        elif self._is(suffix, "^^"):
            self._next()
            datatype = self._next()
            if datatype.kind not in ("iri", "pname"):
                raise FormatError(
                    f"expected a datatype IRI after '^^', found {datatype.text!r}", datatype.line
                )
            text += "^^" + datatype.text
        return Term(text, LITERAL)

    def _property_list(self, opening: Token) -> Node:
        if self._is(self._peek(), "]"):
            self._next()
            return Term("[]", LABEL)
        self.depth += 1
        entries = self._predicate_object_list(top=False)
        self._expect("]", f"']' closing the '[' of line {opening.line}")
        self.depth -= 1
        return PropertyList(entries)

    def _collection(self) -> Collection:
        self.depth += 1
        items = []
        while not self._is(self._peek(), ")"):
            items.append(self._object())
        self._next()
        self.depth -= 1
        return Collection(items)


def _is_directive(token: Token) -> bool:
    if token.kind == "at":
        return token.text in ("@prefix", "@base")
    return token.kind == "word" and token.text.upper() in ("PREFIX", "BASE")


def _split_header(leading: list[str]) -> tuple[list[str], list[str]]:
    """A file without prefixes: the comments before the first statement up to its last blank line are
    the file header, the rest belong to the statement."""
    if "" not in leading:
        return [], leading
    cut = len(leading) - leading[::-1].index("")
    return leading[:cut], leading[cut:]


def _check_directive(directive: Directive, earlier: list[Directive], after_statements: bool) -> None:
    """One prefix block at the top keeps the meaning only if no prefix changes and the base comes first."""
    if directive.name is None:
        if after_statements or any(d.name is None or not _ABSOLUTE.match(d.iri) for d in earlier):
            raise FormatError(
                "kg fmt handles one @base only, before every statement and relative prefix IRI",
                directive.line,
            )
        return
    for other in earlier:
        if other.name == directive.name and other.iri != directive.iri:
            raise FormatError(f"prefix {directive.name} is declared again with another IRI", directive.line)


# --- canonical order ----------------------------------------------------------------------------------


def _expand(verb: str, prefixes: dict[str, str]) -> str:
    if verb == "a":
        return _RDF + "type"
    if verb.startswith("<"):
        return verb[1:-1]
    name, _, local = verb.partition(":")
    return prefixes.get(name + ":", "\0") + local


def _verb_key(verb: Term, prefixes: dict[str, str]) -> tuple[int, int, str]:
    iri = _expand(verb.text, prefixes)
    if iri in FIRST_PREDICATES:
        return (0, FIRST_PREDICATES.index(iri), verb.text)
    if iri in LAST_PREDICATES:
        return (2, LAST_PREDICATES.index(iri), verb.text)
    return (1, 0, verb.text)


def _canonical(entries: list[Entry], prefixes: dict[str, str]) -> list[Entry]:
    """Entries merged by predicate, in predicate order, with their objects sorted and nested lists too."""
    merged: dict[str, Entry] = {}
    for entry in entries:
        if entry.verb.text in merged:
            into = merged[entry.verb.text]
            into.objects += entry.objects
            into.comments += entry.comments
        else:
            merged[entry.verb.text] = Entry(entry.verb, list(entry.objects), list(entry.comments))
    for entry in merged.values():
        for node in entry.objects:
            _canonical_node(node, prefixes)
        seen: set[str] = set()
        unique = []
        for node in entry.objects:
            if isinstance(node, Term) and node.text != "[]":
                if node.text in seen:
                    continue
                seen.add(node.text)
            unique.append(node)
        entry.objects = sorted(unique, key=_object_key)  # stable: [ ] and ( ) keep their order
    return sorted(merged.values(), key=lambda entry: _verb_key(entry.verb, prefixes))


def _canonical_node(node: Node, prefixes: dict[str, str]) -> None:
    if isinstance(node, PropertyList):
        node.entries = _canonical(node.entries, prefixes)
    elif isinstance(node, Collection):
        for item in node.items:
            _canonical_node(item, prefixes)


def _object_key(node: Node) -> tuple[int, str]:
    return (node.group, node.text) if isinstance(node, Term) else (STRUCTURE, "")


# --- writing ------------------------------------------------------------------------------------------


class _Builder:
    """Text under construction: the indentation and the column of the line being written."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.indent = 0
        self.column = 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        newline = text.rfind("\n")  # in a long string
        self.column = len(text) - newline - 1 if newline >= 0 else self.column + len(text)

    def newline(self, indent: int) -> None:
        self.parts.append("\n" + " " * indent)
        self.indent = self.column = indent

    def text(self) -> str:
        return "".join(self.parts)


def _weight(node: PropertyList) -> int:
    """The predicates of a ``[ ... ]``, with those of the ``[ ... ]`` among its objects."""
    return sum(
        1 + sum(_weight(item) for item in entry.objects if isinstance(item, PropertyList))
        for entry in node.entries
    )


def _starts_line(node: Node) -> bool:
    """Whether the node starts a line of its own among several objects or collection items."""
    if isinstance(node, PropertyList):
        return True
    return isinstance(node, Collection) and any(_starts_line(item) for item in node.items)


def _write_objects(entry: Entry, out: _Builder, indent: int) -> None:
    """The predicate and its objects; a ``[ ... ]`` among several objects (and what follows it) starts a
    line of its own at ``indent``."""
    out.write(entry.verb.text)
    for position, node in enumerate(entry.objects):
        if position:
            out.write(",")
        own_line = _starts_line(node) or (position > 0 and _starts_line(entry.objects[position - 1]))
        if len(entry.objects) > 1 and own_line:
            out.newline(indent)
        else:
            out.write(" ")
        _write_node(node, out)


def _write_node(node: Node, out: _Builder) -> None:
    if isinstance(node, Term):
        out.write(node.text)
    elif isinstance(node, PropertyList):
        out.write("[ ")
        column, expanded = out.column, _weight(node) > MAX_INLINE_PREDICATES
        for index, entry in enumerate(node.entries):
            if index and expanded:
                out.write(" ;")
                out.newline(column)
            elif index:
                out.write(" ; ")
            _write_objects(entry, out, out.column + INDENT)
        out.write(" ]")
    elif not node.items:
        out.write("()")
    else:
        out.write("( ")
        indent = out.indent
        for index, item in enumerate(node.items):
            if index and (_starts_line(item) or _starts_line(node.items[index - 1])):
                out.newline(indent + INDENT)
            elif index:
                out.write(" ")
            _write_node(item, out)
        out.write(" )")


def _write_statement(statement: Statement) -> str:
    out = _Builder()
    _write_node(statement.subject, out)
    shares_line = isinstance(statement.subject, Term)
    for index, entry in enumerate(statement.entries):
        before, at_end = entry.placed()
        if index == 0 and shares_line:
            out.write(" ")
        else:
            for comment in before:
                out.newline(INDENT)
                out.write(comment)
            out.newline(INDENT)
        _write_objects(entry, out, 2 * INDENT)
        out.write(" ;" if index + 1 < len(statement.entries) else " .")
        if at_end:
            out.write("  " + at_end)
    if not statement.entries:
        out.write(" .")
    return out.text()


class _Lines:
    """Output lines; blank lines are asked for, and come out single, never first."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.blank = False

    def add(self, text: str) -> None:
        if self.blank and self.lines:
            self.lines.append("")
        self.blank = False
        self.lines.append(text)

    def trivia(self, items: list[str]) -> None:
        """Comment lines, and "" for a blank line."""
        for item in items:
            if item:
                self.add(item)
            else:
                self.blank = True


def _prefix_key(name: str) -> tuple[int, str]:
    return (PREFIX_ORDER.index(name), "") if name in PREFIX_ORDER else (len(PREFIX_ORDER), name)


def write_document(document: Document) -> str:
    """The formatted text of a parsed document (its predicates and objects are put in order)."""
    prefixes = {d.name: d.iri[1:-1] for d in document.directives if d.name is not None}
    out = _Lines()
    out.trivia(document.header)
    out.blank = True
    bases = [d for d in document.directives if d.name is None]  # one at most, and it may go first
    names = sorted(prefixes, key=_prefix_key)
    width = max((len(name) for name in names), default=0) + 1
    for base in bases:
        out.add(f"@base {base.iri} .")
    iris = {d.name: d.iri for d in document.directives if d.name is not None}
    for name in names:
        out.add(f"@prefix {name:<{width}}{iris[name]} .")
    out.blank = True
    for statement in document.statements:
        statement.entries = _canonical(statement.entries, prefixes)
        _canonical_node(statement.subject, prefixes)
        leading = list(statement.leading)
        if statement.entries and isinstance(statement.subject, Term):  # its first predicate is on that line
            first = statement.entries[0]
            before, at_end = first.placed()
            leading += before
            first.comments = [(at_end, True)] if at_end else []
        out.trivia(leading)
        out.add(_write_statement(statement))
    out.trivia(document.trailing)
    return "\n".join(out.lines) + "\n" if out.lines else ""


# --- the formatter ------------------------------------------------------------------------------------


def parse_document(text: str) -> Document:
    """The syntax tree of Turtle ``text``; raises FormatError naming the line."""
    parser = _Parser(tokenize(text))
    try:
        return parser.document()
    except RecursionError:
        raise FormatError("[ ... ] or ( ... ) nested too deeply", parser.last_line) from None


def _graph(text: str, what: str) -> Graph:
    try:
        return Graph().parse(data=text, format="turtle", publicID=BASE_IRI)
    except Exception as error:  # rdflib raises several types for bad Turtle
        why = " ".join(str(getattr(error, "_why", None) or error).split())
        line = getattr(error, "lines", None)
        raise FormatError(f"{what}: {why}", line + 1 if isinstance(line, int) else None) from error


def format_turtle(text: str) -> str:
    """``text`` formatted by the rules of this module; raises FormatError (an OntologyError) naming the
    line when the text does not tokenize or parse, or when the result would not be isomorphic to it."""
    source = text.removeprefix("\ufeff")
    formatted = write_document(parse_document(source))
    original = _graph(source, "rdflib cannot parse it")
    if formatted != text:
        result = _graph(formatted, "the formatted text does not parse (a kg fmt bug)")
        if not isomorphic(original, result):
            raise FormatError("the formatted text is not isomorphic to the original (a kg fmt bug)")
    return formatted


# --- kg fmt -------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``kg fmt``."""
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILES",
        help="Turtle files, or folders to search for *.ttl (default: the ontology folder, recursively)",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; list the files that would change; exit 1 if any"
    )
    parser.add_argument(
        "--diff", action="store_true", help="write nothing; print a unified diff of the changes"
    )


def _targets(files: list[Path], ontology_dir: Path) -> Iterator[Path]:
    """The files named, and the ``*.ttl`` files under the folders named (or the ontology folder)."""
    seen: set[Path] = set()
    for given in files or [ontology_dir]:
        if given.is_dir():
            found = sorted(p for p in given.rglob("*.ttl") if p.is_file() and not _hidden(p, given))
        else:
            found = [given]
        for path in found:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                yield path


def _hidden(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) through a temporary file in its folder, keeping its mode."""
    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _diff(name: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Format the files; 0 if all are (now) formatted, 1 if ``--check`` found one to change, 2 if one
    could not be read, parsed or written (it is left untouched; the others are still done)."""
    if not args.files and not settings.ontology_dir.is_dir():
        print(f"kg fmt: the ontology folder {settings.ontology_dir} does not exist", file=sys.stderr)
        return 2
    write = not (args.check or args.diff)
    changed = failed = unchanged = 0
    for path in _targets(args.files, settings.ontology_dir):
        name = _shown(path)
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else f"not UTF-8 ({error.reason})"
            print(f"kg fmt: {name}: cannot read: {reason}", file=sys.stderr)
            failed += 1
            continue
        try:
            formatted = format_turtle(text)
        except FormatError as error:
            where = f"{name}:{error.line}" if error.line else name
            print(f"kg fmt: {where}: {error.message}; left untouched", file=sys.stderr)
            failed += 1
            continue
        if formatted == text:
            unchanged += 1
            continue
        changed += 1
        if args.diff:
            sys.stdout.write(_diff(name, text, formatted))
        if not write:
            print(f"would reformat {name}", file=sys.stderr)
            continue
        try:
            write_atomically(path, formatted)
        except OSError as error:
            print(f"kg fmt: {name}: cannot write: {error.strerror}", file=sys.stderr)
            failed += 1
            changed -= 1
            continue
        print(f"reformatted {name}", file=sys.stderr)
    verb = "reformatted" if write else "would be reformatted"
    print(f"kg fmt: {changed} {verb}, {unchanged} unchanged, {failed} failed", file=sys.stderr)
    if failed:
        return 2
    return 1 if args.check and changed else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m kg.fmt [--check] [--diff] [FILES...]``."""
    parser = argparse.ArgumentParser(prog="kg fmt", description="Format the ontology's Turtle files.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as error:
        print(f"kg fmt: {error}", file=sys.stderr)
        return 2
    return run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
