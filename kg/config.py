"""Settings from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ONTOLOGY_DIR = PROJECT_ROOT / "ontology"
QUERIES_DIR = PROJECT_ROOT / "queries"


@dataclass(frozen=True)
class Settings:
    """What the service reads from its environment."""

    ontology_dir: Path = DEFAULT_ONTOLOGY_DIR

    @classmethod
    def from_env(cls) -> Settings:
        """``KG_ONTOLOGY_DIR`` overrides the bundled ``ontology/`` folder."""
        value = os.environ.get("KG_ONTOLOGY_DIR")
        return cls(ontology_dir=Path(value) if value else DEFAULT_ONTOLOGY_DIR)
