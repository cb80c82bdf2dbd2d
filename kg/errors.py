"""The exception tree: one base, one class per thing a caller can act on."""

from __future__ import annotations


class KgError(Exception):
    """Base of every error kg raises on purpose."""


class CaseError(KgError):
    """A case was rejected: ``loc`` names the field (as in pydantic), ``message`` says what is valid."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(f"{'.'.join(str(p) for p in loc)}: {message}")
        self.loc = loc
        self.message = message


class OntologyError(KgError):
    """The ontology could not be loaded: a missing folder, a parse error (file and line), a broken query."""
