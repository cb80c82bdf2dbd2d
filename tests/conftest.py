"""Shared fixtures: the knowledge base is loaded once per session and shared by the API and the CLI."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kg.api.main import create_app
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase

# CDS Hooks feedback that tests post goes to a database of the test run, never the user's.
FEEDBACK_DB = os.path.join(tempfile.mkdtemp(prefix="kg-tests-"), "feedback.sqlite")
os.environ.setdefault("KG_CDS_FEEDBACK_DB", FEEDBACK_DB)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, so that pytest-xdist starts them on every core before the short ones."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def shipped_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A disk cache that holds the shipped ontology's entry once ``kb`` is built (use ``warm_cache``)."""
    return tmp_path_factory.mktemp("shipped-cache")


@pytest.fixture(scope="session")
def kb(shipped_cache: Path) -> KnowledgeBase:
    """Built once per test process (owlrl's closure, the query analysis), into ``shipped_cache``."""
    return KnowledgeBase.load(Settings.from_env().ontology_dir, cache_dir=shipped_cache)


@pytest.fixture
def warm_cache(tmp_path: Path, shipped_cache: Path, kb: KnowledgeBase) -> Path:
    """A test's own disk cache, holding the shipped ontology's entry: a test about edits or reloads
    loads the shipped ontology in about a second instead of building it again (about ten)."""
    return Path(shutil.copytree(shipped_cache, tmp_path / "cache"))


@pytest.fixture(scope="session")
def client(kb: KnowledgeBase) -> Iterator[TestClient]:
    """The app with its lifespan run; it is handed the session's knowledge base instead of loading another."""
    with TestClient(create_app(knowledge_base=kb)) as client:
        yield client


@pytest.fixture
def cli_kb(monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase) -> KnowledgeBase:
    """Makes ``kg.cli.main`` reuse the session's knowledge base instead of loading one per call."""
    monkeypatch.setattr(KnowledgeBase, "from_settings", lambda settings: kb)
    return kb
