"""Settings from the environment, in one place."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
#: The knowledge pack a built wheel carries: ``setup.py`` copies ``ontology/``, ``queries/`` and the
#: public vignettes into it. A checkout has none, and uses its own folders.
PACK_DIR = PACKAGE_DIR / "pack"


def _shipped(packed: str, in_checkout: Path) -> Path:
    """The packed copy when kg runs from a wheel, else the checkout's."""
    path = PACK_DIR / packed
    return path if path.exists() else in_checkout


DEFAULT_ONTOLOGY_DIR = _shipped("ontology", PROJECT_ROOT / "ontology")
QUERIES_DIR = _shipped("queries", PROJECT_ROOT / "queries")
SCENARIOS = _shipped("scenarios/public.toml", PROJECT_ROOT / "tests" / "scenarios" / "public.toml")
REASONERS = ("compiled", "owlrl")
T = TypeVar("T", int, float)


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/kg``, else ``~/.local/share/kg``: data kg keeps (CDS Hooks feedback)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "kg"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kg``, else ``~/.cache/kg``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kg"


@dataclass(frozen=True)
class Settings:
    """What the service reads from its environment."""

    ontology_dir: Path = DEFAULT_ONTOLOGY_DIR
    queries_dir: Path = QUERIES_DIR
    cache_dir: Path | None = None
    reasoner: str = "compiled"
    sparql_timeout_s: float = 10.0
    sparql_max_result_bytes: int = 32_000_000
    sparql_workers: int = 2
    sparql_queue: int = 16
    max_body_bytes: int = 262_144
    cds_max_body_bytes: int = 4_194_304  # a hook call's prefetch: a patient's conditions and observations
    body_timeout_s: float = 10.0
    admin_token: str | None = None
    watch: bool = True
    cds_sandbox: bool = False
    cds_feedback_db: Path | None = None  # None: default_data_dir() / "cds-feedback.sqlite"
    cds_trusted_issuers: tuple[tuple[str, str], ...] = ()  # (iss, JWKS URL or file)
    public_base_url: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """``KG_ONTOLOGY_DIR`` overrides the bundled ``ontology/`` folder, ``KG_QUERIES_DIR`` the bundled
        ``queries/`` folder; ``KG_CACHE_DIR`` the cache
        folder (empty: no cache); ``KG_REASONER`` picks ``compiled`` (default) or ``owlrl``.
        ``KG_SPARQL_TIMEOUT`` (seconds), ``KG_SPARQL_MAX_RESULT_BYTES``, ``KG_SPARQL_WORKERS``
        (queries run at once) and ``KG_SPARQL_QUEUE`` (queries waiting) bound the SPARQL endpoint.
        ``KG_MAX_BODY_BYTES`` and ``KG_BODY_TIMEOUT`` (seconds) bound every request body;
        ``KG_CDS_MAX_BODY_BYTES`` bounds the CDS Hooks routes' instead (a call carries its prefetch).
        ``KG_ADMIN_TOKEN`` is the bearer token of ``POST /admin/reload`` (unset: reloads over HTTP are
        refused); ``KG_WATCH=0`` stops the service from reloading the ontology folder when it changes.
        ``KG_CDS_SANDBOX=1`` mirrors the CDS service's systemActions under ``extension.systemActions``,
        where the CDS Hooks sandbox reads them; ``KG_CDS_FEEDBACK_DB`` is the SQLite file of the
        cards' feedback (default ``~/.local/share/kg/cds-feedback.sqlite``).
        ``KG_CDS_TRUSTED_ISSUERS`` is a JSON object of the EHRs whose JWTs the CDS service accepts,
        each issuer with its JWKS (a URL or a file); unset, calls are not authenticated.
        ``KG_PUBLIC_BASE_URL`` is the URL clients call kg at (a JWT's ``aud`` is checked against it).

        Raises ValueError naming the variable for an unknown reasoner or a limit that is no positive number.
        """
        ontology = os.environ.get("KG_ONTOLOGY_DIR")
        queries = os.environ.get("KG_QUERIES_DIR")
        cache = os.environ.get("KG_CACHE_DIR")
        reasoner = os.environ.get("KG_REASONER") or "compiled"
        if reasoner not in REASONERS:
            raise ValueError(f"KG_REASONER={reasoner!r}: valid values are {', '.join(REASONERS)}")
        return cls(
            ontology_dir=Path(ontology) if ontology else DEFAULT_ONTOLOGY_DIR,
            queries_dir=Path(queries) if queries else QUERIES_DIR,
            cache_dir=default_cache_dir() if cache is None else Path(cache) if cache else None,
            reasoner=reasoner,
            sparql_timeout_s=_positive("KG_SPARQL_TIMEOUT", float, cls.sparql_timeout_s),
            sparql_max_result_bytes=_positive("KG_SPARQL_MAX_RESULT_BYTES", int, cls.sparql_max_result_bytes),
            sparql_workers=_positive("KG_SPARQL_WORKERS", int, cls.sparql_workers),
            sparql_queue=_positive("KG_SPARQL_QUEUE", int, cls.sparql_queue),
            max_body_bytes=_positive("KG_MAX_BODY_BYTES", int, cls.max_body_bytes),
            cds_max_body_bytes=_positive("KG_CDS_MAX_BODY_BYTES", int, cls.cds_max_body_bytes),
            body_timeout_s=_positive("KG_BODY_TIMEOUT", float, cls.body_timeout_s),
            admin_token=os.environ.get("KG_ADMIN_TOKEN") or None,
            watch=_switch("KG_WATCH", cls.watch),
            cds_sandbox=_switch("KG_CDS_SANDBOX", cls.cds_sandbox),
            cds_feedback_db=Path(feedback) if (feedback := os.environ.get("KG_CDS_FEEDBACK_DB")) else None,
            cds_trusted_issuers=_issuers(os.environ.get("KG_CDS_TRUSTED_ISSUERS", "")),
            public_base_url=(os.environ.get("KG_PUBLIC_BASE_URL") or "").rstrip("/") or None,
        )

    def environment(self) -> dict[str, str]:
        """These settings as the variables :meth:`from_env` reads (for worker and child processes)."""
        return {
            "KG_ONTOLOGY_DIR": str(self.ontology_dir),
            "KG_QUERIES_DIR": str(self.queries_dir),
            "KG_CACHE_DIR": "" if self.cache_dir is None else str(self.cache_dir),
            "KG_REASONER": self.reasoner,
            "KG_SPARQL_TIMEOUT": str(self.sparql_timeout_s),
            "KG_SPARQL_MAX_RESULT_BYTES": str(self.sparql_max_result_bytes),
            "KG_SPARQL_WORKERS": str(self.sparql_workers),
            "KG_SPARQL_QUEUE": str(self.sparql_queue),
            "KG_MAX_BODY_BYTES": str(self.max_body_bytes),
            "KG_CDS_MAX_BODY_BYTES": str(self.cds_max_body_bytes),
            "KG_BODY_TIMEOUT": str(self.body_timeout_s),
            "KG_ADMIN_TOKEN": self.admin_token or "",
            "KG_WATCH": "1" if self.watch else "0",
            "KG_CDS_SANDBOX": "1" if self.cds_sandbox else "0",
            "KG_CDS_FEEDBACK_DB": str(self.feedback_path),
            "KG_CDS_TRUSTED_ISSUERS": json.dumps(dict(self.cds_trusted_issuers))
            if self.cds_trusted_issuers
            else "",
            "KG_PUBLIC_BASE_URL": self.public_base_url or "",
        }

    @property
    def feedback_path(self) -> Path:
        """The SQLite file of the CDS Hooks feedback."""
        return self.cds_feedback_db or default_data_dir() / "cds-feedback.sqlite"


def _positive(name: str, kind: type[T], default: T) -> T:
    """The positive number in environment variable ``name``, else ``default``; raises ValueError."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value == float("inf"):
        raise ValueError(f"{name}={text!r}: give a positive {'integer' if kind is int else 'number'}")
    return value


def _switch(name: str, default: bool) -> bool:
    """The on/off setting in environment variable ``name`` (1/0, true/false, on/off, yes/no)."""
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    raise ValueError(f"{name}={text!r}: give 1 or 0 (true/false, on/off, yes/no)")


def _issuers(text: str) -> tuple[tuple[str, str], ...]:
    """``KG_CDS_TRUSTED_ISSUERS``: a JSON object, issuer -> JWKS URL or file; raises ValueError."""
    if not text.strip():
        return ()
    try:
        issuers = json.loads(text)
    except json.JSONDecodeError:
        issuers = None
    if not isinstance(issuers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in issuers.items()
    ):
        raise ValueError(
            'KG_CDS_TRUSTED_ISSUERS: give a JSON object of issuer to JWKS, e.g. {"https://ehr.example": '
            '"https://ehr.example/.well-known/jwks.json"}'
        )
    return tuple(sorted(issuers.items()))


def _issuers_text(issuers: tuple[tuple[str, str], ...]) -> str:
    """The issuers as ``KG_CDS_TRUSTED_ISSUERS`` spells them (empty: none)."""
    return json.dumps(dict(issuers)) if issuers else ""
