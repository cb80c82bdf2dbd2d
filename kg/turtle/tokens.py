"""Turtle 1.1 tokens (comments included, with their lines) and the string codec: decode a string
token to its value, quote a value in the one style ``kg fmt`` writes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.turtle.errors import FormatError

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
