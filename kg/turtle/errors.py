"""The errors of the Turtle formatter: a base of its own, so that kg.turtle depends on nothing else
of kg (it is a library: kg fmt is its one user)."""

from __future__ import annotations


class TurtleError(ValueError):
    """Anything kg.turtle refuses."""


class FormatError(TurtleError):
    """Turtle that kg fmt cannot format: ``line`` (1-based, or None) and ``message`` say where and why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line
