"""The OpenAPI document against the service: schemathesis sends what the document allows and what it
does not, and checks that nothing answers 5xx and that every answer is one the document describes.

Marked ``reliability`` (a bounded budget: ``KG_SCHEMA_EXAMPLES`` cases per operation).
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from kg.api.main import create_app
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase

pytestmark = pytest.mark.reliability
EXAMPLES = int(os.environ.get("KG_SCHEMA_EXAMPLES", "30"))


@pytest.fixture(scope="module")
def app(kb: KnowledgeBase):
    # with an admin token, as a deployment that reloads over HTTP has one (without, every reload
    # request gets one 403: tests/test_reload.py)
    return create_app(replace(Settings(), watch=False, admin_token="schema-test-token"), knowledge_base=kb)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_service_keeps_its_documented_promises(case) -> None:
    # Not checked: that every schema-valid case is answered. Which finding IDs exist is the
    # ontology's (GET /findings, changed by a reload), and input rules reject schema-valid cases by
    # design (an age under 18, no presenting complaint): those 422s name the field.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
