"""The knowledge base being served, and the reloads that replace it: only with a validated one, atomically.

A reload loads the ontology folder and validates it (``kg validate``'s checks). A broken edit never
replaces the last good knowledge base, which keeps serving; its report is kept as the last reload
error. The swap is one attribute assignment: a request that already holds the old knowledge base
finishes on it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import anyio
from watchfiles import Change, awatch

from kg.config import Settings
from kg.knowledge.ontology import read_modules
from kg.knowledge_base import KnowledgeBase
from kg.model.errors import KgError
from kg.tools.validation import ValidationReport, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload did: the version now served, and why it did not change it, if it did not."""

    at: datetime
    ontology_version: str
    reloaded: bool
    error: str | None = None
    report: ValidationReport | None = None


class Serving:
    """The served knowledge base (read ``knowledge_base`` once per request) and its reloads."""

    def __init__(self, settings: Settings, knowledge_base: KnowledgeBase) -> None:
        self.settings = settings
        self.knowledge_base = knowledge_base
        self.last_reload: ReloadOutcome | None = None
        self._lock = threading.Lock()

    def reload(self) -> ReloadOutcome:
        """Load and validate the ontology folder; serve it if it validates, else keep the current one.

        One reload runs at a time; a reload of an unchanged folder changes nothing.
        """
        with self._lock:
            outcome = self._reload()
            self.last_reload = outcome
        if outcome.error:
            log.warning("reload refused, still serving %s: %s", outcome.ontology_version, outcome.error)
        elif outcome.reloaded:
            log.info("reloaded: now serving ontology version %s", outcome.ontology_version)
        return outcome

    def _reload(self) -> ReloadOutcome:
        current = self.knowledge_base
        at = datetime.now(UTC)
        directory = self.settings.ontology_dir
        try:
            before = read_modules(directory).version
            if before == current.version:
                return ReloadOutcome(at, current.version, reloaded=False)
            settings = self.settings
            report = validate(
                directory,
                queries_dir=settings.queries_dir,
                cache_dir=settings.cache_dir,
                reasoner=settings.reasoner,
            )
            if not report.conforms:
                kept = replace(report, knowledge_base=None)  # not served: let it go
                return ReloadOutcome(at, current.version, False, error=report.brief(), report=kept)
            # the knowledge base the vignettes ran on (a conforming report has one): loading the
            # folder again would take as long
            candidate = report.knowledge_base
            assert candidate is not None
            after = read_modules(directory).version
        except KgError as error:
            return ReloadOutcome(at, current.version, reloaded=False, error=str(error))
        except Exception as error:  # an unreadable file, or a bug: the service keeps serving what it has
            log.exception("reload failed")
            return ReloadOutcome(at, current.version, reloaded=False, error=f"reload failed: {error}")
        if not before == candidate.version == after:
            changed = "the ontology folder changed while it was reloaded; reload again"
            return ReloadOutcome(at, current.version, reloaded=False, error=changed)
        self.knowledge_base = candidate
        _refreeze()
        return ReloadOutcome(at, candidate.version, reloaded=True)


def _refreeze() -> None:
    """The service keeps its knowledge base out of the garbage collector's full collections
    (``gc.freeze`` in the app's lifespan): let the collector free the old one, then freeze the new."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


WATCH_DEBOUNCE_MS = 500
"""Changes closer together than this are one edit (an editor saving several files, or twice)."""


async def watch(serving: Serving, stop: asyncio.Event) -> None:
    """Reload whenever a ``*.ttl`` file in the ontology folder (or below it) changes, until ``stop``."""
    async for _ in awatch(
        serving.settings.ontology_dir, watch_filter=_turtle, debounce=WATCH_DEBOUNCE_MS, stop_event=stop
    ):
        await anyio.to_thread.run_sync(serving.reload)


def _turtle(_: Change, path: str) -> bool:
    return Path(path).suffix == ".ttl"
