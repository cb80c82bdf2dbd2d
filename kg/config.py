"""Settings from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
QUERIES_DIR = PROJECT_ROOT / "queries"
REASONERS = ("compiled", "owlrl")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kg``, else ``~/.cache/kg``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kg"


@dataclass(frozen=True)
class Settings:
    """What the service reads from its environment."""

    ontology_dir: Path = DEFAULT_ONTOLOGY_DIR
    cache_dir: Path | None = None
    reasoner: str = "compiled"

    @classmethod
    def from_env(cls) -> Settings:
        """``KG_ONTOLOGY_DIR`` overrides the bundled ``ontology/`` folder; ``KG_CACHE_DIR`` the cache
        folder (empty: no cache); ``KG_REASONER`` picks ``compiled`` (default) or ``owlrl``.

        Raises ValueError for an unknown reasoner.
        """
        ontology = os.environ.get("KG_ONTOLOGY_DIR")
        cache = os.environ.get("KG_CACHE_DIR")
        reasoner = os.environ.get("KG_REASONER") or "compiled"
        if reasoner not in REASONERS:
            raise ValueError(f"KG_REASONER={reasoner!r}: valid values are {', '.join(REASONERS)}")
        return cls(
            ontology_dir=Path(ontology) if ontology else DEFAULT_ONTOLOGY_DIR,
            cache_dir=default_cache_dir() if cache is None else Path(cache) if cache else None,
            reasoner=reasoner,
        )

    def environment(self) -> dict[str, str]:
        """These settings as the variables :meth:`from_env` reads (for worker and child processes)."""
        return {
            "KG_ONTOLOGY_DIR": str(self.ontology_dir),
            "KG_CACHE_DIR": "" if self.cache_dir is None else str(self.cache_dir),
            "KG_REASONER": self.reasoner,
        }
