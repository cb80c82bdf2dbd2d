"""The syntax tree back to text (``write_document``): the file's layout, one predicate per line, nested
``[ ... ]`` inline or one predicate per line, collections, and the comments in their places."""

from __future__ import annotations

from kg.turtle.order import order_statement
from kg.turtle.syntax import Collection, Document, Entry, Node, PropertyList, Statement, Term

INDENT = 4
MAX_INLINE_PREDICATES = 3  # a [ ... ] with more predicates (its own and its [ ... ]'s) is one per line
PREFIX_ORDER = ("kg:", "owl:", "rdf:", "rdfs:", "xsd:", "skos:", "dcterms:")


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
        order_statement(statement, prefixes)
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
