"""Turtle text to its syntax tree (``parse_document``), keeping the author's order and attaching each
comment to the statement or predicate it goes with."""

from __future__ import annotations

import re

from kg.turtle.errors import FormatError
from kg.turtle.syntax import (
    IRI,
    LABEL,
    LITERAL,
    Collection,
    Directive,
    Document,
    Entry,
    Node,
    PropertyList,
    Statement,
    Term,
)
from kg.turtle.tokens import Token, decode_string, quote_string, tokenize

_ABSOLUTE = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]*:")


def parse_document(text: str) -> Document:
    """The syntax tree of Turtle ``text``; raises FormatError naming the line."""
    parser = _Parser(tokenize(text))
    try:
        return parser.document()
    except RecursionError:
        raise FormatError("[ ... ] or ( ... ) nested too deeply", parser.last_line) from None


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
