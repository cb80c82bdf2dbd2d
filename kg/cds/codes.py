"""The FHIR codes that name kg's findings, procedures, measurements and urgencies, read from the
ontology by ``queries/fhir-codes.rq`` (module ``ontology/fhir-codes.ttl``): an informaticist adds
a code in Turtle, and the service reads it on the next load. Codes are FHIR tokens, ``system|code``."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from threading import Lock

from kg.knowledge_base import KnowledgeBase

LOINC = "http://loinc.org"


@dataclass(frozen=True)
class CodeBook:
    """Tokens by what they name."""

    findings: dict[str, str] = field(default_factory=dict)  # code token -> finding ID
    procedures: dict[str, str] = field(default_factory=dict)  # code token -> procedure ID
    observed_findings: dict[str, list[str]] = field(default_factory=dict)  # observation token -> finding IDs
    measurements: dict[str, str] = field(default_factory=dict)  # observation token -> case field
    procedure_tokens: dict[str, list[str]] = field(default_factory=dict)  # procedure ID -> its code tokens
    priorities: dict[str, str] = field(default_factory=dict)  # urgency ID -> FHIR request priority
    pama_rated: set[str] = field(default_factory=set)  # procedure IDs whose orders get a PAMA rating
    signing_alerts: dict[str, set[str]] = field(default_factory=dict)  # caveat ID -> procedures it concerns
    suggested_with: dict[str, set[str]] = field(default_factory=dict)  # procedure ID -> data keys it needs

    @classmethod
    def read(cls, kb: KnowledgeBase) -> CodeBook:
        """The code book of ``kb``'s ontology."""
        book = cls()
        tokens: dict[str, list[str]] = defaultdict(list)
        observed: dict[str, list[str]] = defaultdict(list)
        for row in kb.queries.select("fhir-codes", kb.ontology.graph):
            kind, thing, role, token = str(row.kind), str(row.id), str(row.role), str(row.token)
            if kind == "finding" and role == "code":
                book.findings.setdefault(token, thing)
            elif kind == "finding":
                observed[token].append(thing)
            elif kind == "caveat":
                book.signing_alerts.setdefault(thing, set()).update([token] if token else [])
            elif kind == "procedure" and role == "suggested-with":
                book.suggested_with.setdefault(thing, set()).add(token)
            elif kind == "procedure" and role == "pama-rated":
                book.pama_rated.add(thing)
            elif kind == "procedure":
                book.procedures.setdefault(token, thing)
                tokens[thing].append(token)
            elif kind == "measurement":
                book.measurements.setdefault(token, thing)
            elif kind == "urgency":
                book.priorities.setdefault(thing, token.partition("|")[2])
        book.observed_findings.update(observed)
        book.procedure_tokens.update(tokens)
        return book

    @cached_property
    def observations(self) -> dict[str, list[str]]:
        """The Observation codes of each observed thing (a case field or a finding ID), by its name:
        also the prefetch keys of the observations, in order (found once per code book)."""
        found: dict[str, list[str]] = defaultdict(list)
        for token, field_name in self.measurements.items():
            found[field_name].append(token)
        for token, findings in self.observed_findings.items():
            for finding in findings:
                found[finding].append(token)
        return {name: sorted(tokens) for name, tokens in sorted(found.items())}

    def alerts_at_signing(self, procedure: str | None, caveats: list[str]) -> list[str]:
        """The caveats (of ``caveats``) to show at order-sign on an order of ``procedure``."""
        return [
            caveat
            for caveat in caveats
            if caveat in self.signing_alerts
            and (not self.signing_alerts[caveat] or procedure in self.signing_alerts[caveat])
        ]

    def coding(self, procedure: str) -> list[dict[str, str]]:
        """The FHIR codings of a procedure kg suggests: its LOINC codes first, then the others."""
        tokens = sorted(
            self.procedure_tokens.get(procedure, []), key=lambda t: (not t.startswith(LOINC + "|"), t)
        )
        return [{"system": system, "code": code} for system, _, code in (t.partition("|") for t in tokens)]


_books: dict[tuple[str, str], CodeBook] = {}
_lock = Lock()
BOOKS_KEPT = 4


def code_book(kb: KnowledgeBase) -> CodeBook:
    """``kb``'s code book, read once per knowledge version (a reload reads the new one)."""
    key = (kb.version, kb.queries.version)
    with _lock:
        book = _books.get(key)
        if book is None:
            book = _books[key] = CodeBook.read(kb)
            while len(_books) > BOOKS_KEPT:
                del _books[next(iter(_books))]
        return book
