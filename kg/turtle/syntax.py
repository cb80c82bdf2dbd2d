"""The syntax tree of a Turtle document as ``kg fmt`` keeps it: terms as written, nested ``[ ... ]`` and
``( ... )``, directives, and the comments attached to statements and predicates."""

from __future__ import annotations

from dataclasses import dataclass, field

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
