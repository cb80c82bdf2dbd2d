"""The exception tree: one base, one class per thing a caller can act on."""

from __future__ import annotations


class KgError(Exception):
    """Base of every error kg raises on purpose."""


class CaseError(KgError):
    """A case was rejected: ``loc`` names the field (as in pydantic), ``message`` says what is valid.

    ``problems`` lists every (loc, message) found, the first being ``loc`` and ``message``.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(f"{'.'.join(str(p) for p in loc)}: {message}")
        self.loc = loc
        self.message = message
        self.problems: list[tuple[tuple[str | int, ...], str]] = [(loc, message)]

    @classmethod
    def of(cls, problems: list[tuple[tuple[str | int, ...], str]]) -> CaseError:
        """One error for several problems (at least one)."""
        error = cls(*problems[0])
        error.problems = list(problems)
        return error


class OntologyError(KgError):
    """The ontology could not be loaded: a missing folder, a parse error (file and line), a broken query."""


class SparqlError(KgError):
    """A SPARQL request the endpoint does not answer; the message says why and what would be answered."""


class MalformedRequest(SparqlError):
    """The query does not parse, or a protocol parameter is missing, repeated or no IRI."""


class QueryRefused(SparqlError):
    """The endpoint is read-only and never calls out: SPARQL Update, LOAD, CLEAR and SERVICE are refused."""


class NotAcceptable(SparqlError):
    """No format the endpoint writes for this kind of result matches the Accept header."""


class UnsupportedMediaType(SparqlError):
    """A POST body of a media type the protocol does not define for queries."""


class QueryFailed(SparqlError):
    """The query parsed, but the store could not evaluate it or write its result in the negotiated format."""


class ResultTooLarge(SparqlError):
    """The serialized result would exceed the configured size limit."""


class QueryUnfinished(SparqlError):
    """The query ran out of time (its worker was stopped), or no worker was free in time, or its worker
    died while answering (a crash in the store): the query was not answered, the service goes on."""


class SparqlBusy(SparqlError):
    """The endpoint's queue is full: the query is refused at once (503 with Retry-After), so that
    SPARQL load never holds what the clinical routes need."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CdsError(KgError):
    """A CDS Hooks call kg cannot answer; the API answers with a FHIR OperationOutcome."""


class CdsRequestInvalid(CdsError):
    """The hook request breaks the CDS Hooks contract (400)."""


class CdsServiceUnknown(CdsError):
    """No CDS service has this id (404)."""


class CdsDataMissing(CdsError):
    """Data the service needs is neither prefetched nor fetchable (412, as CDS Hooks 2.0 requires)."""


class CdsUnauthorized(CdsError):
    """The call's JWT is missing or fails a check (401, with no detail, as the best practices ask)."""
