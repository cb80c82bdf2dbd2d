"""The error raised for Turtle that ``kg fmt`` cannot format."""

from __future__ import annotations

from kg.errors import OntologyError


class FormatError(OntologyError):
    """Turtle that kg fmt cannot format: ``line`` (1-based, or None) and ``message`` say where and why."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line
