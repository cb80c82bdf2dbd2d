"""Shared fixtures: the knowledge base is loaded once per session and shared by the API and the CLI."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

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
def kb() -> KnowledgeBase:
    return KnowledgeBase.load(Settings.from_env().ontology_dir)  # no disk cache: tests build it


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
