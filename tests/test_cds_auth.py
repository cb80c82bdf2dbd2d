"""CDS Hooks JWT verification (kg.cds.auth; the brief's scenario 8): every refusal is a 401 with
an opaque body; a token signed by a trusted issuer's key, for the URL called, passes once."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from kg.api.main import create_app
from kg.cds import auth
from kg.config import Settings
from kg.knowledge_base import KnowledgeBase
from kg.model.errors import CdsUnauthorized

ISSUER = "https://ehr.example"
BASE = "https://kg.example"
SERVICE = f"{BASE}/cds-services/kg-imaging"
KEY = ECKey.generate_key("P-384", parameters={"kid": "ehr-1"})


@pytest.fixture(scope="module")
def secured(kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    jwks = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [KEY.as_dict(private=False)]}))
    settings = replace(
        Settings(), cds_trusted_issuers=((ISSUER, str(jwks)),), public_base_url=BASE, watch=False
    )
    with TestClient(create_app(settings, kb)) as client:
        yield client


def token(audience: str = SERVICE, issuer: str = ISSUER, key: object = KEY, **changes: object) -> str:
    header = {"alg": "ES384", "typ": "JWT", "kid": "ehr-1", **changes.pop("header", {})}
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **changes,
    }
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def unsigned(**claims: object) -> str:
    """An alg:none token (no signature)."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    body = {"iss": ISSUER, "aud": SERVICE, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'ehr-1'})}.{part(body)}."


def hook_call(client: TestClient, bearer: str | None):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    body = {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/u1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "entry": []},
        },
    }
    return client.post("/cds-services/kg-imaging", json=body, headers=headers)


def test_a_token_of_a_trusted_issuer_for_this_url_passes_once(secured: TestClient) -> None:
    good = token()
    assert hook_call(secured, good).json() == {"cards": []}
    replayed = hook_call(secured, good)
    assert replayed.status_code == 401  # the same jti again
    discovery = secured.get(
        "/cds-services", headers={"Authorization": f"Bearer {token(f'{BASE}/cds-services')}"}
    )
    assert discovery.status_code == 200
    assert secured.get("/health").json()["cds_authentication"] == "on"


@pytest.mark.parametrize(
    "bearer",
    [
        None,
        "not-a-jwt",
        "EXPIRED",
        "WRONG-AUD",
        "UNTRUSTED",
        "JKU",
        "NONE",
        "HS256",
        "OTHER-KEY",
    ],
)
def test_each_failing_token_is_an_opaque_401(secured: TestClient, bearer: str | None) -> None:
    now = int(time.time())
    made = {
        "EXPIRED": lambda: token(exp=now - 3600, iat=now - 4000),
        "WRONG-AUD": lambda: token(audience=f"{BASE}/cds-services"),  # the discovery aud on a service call
        "UNTRUSTED": lambda: token(issuer="https://evil.example"),
        "JKU": lambda: token(header={"jku": "https://evil.example/jwks.json"}),
        "NONE": lambda: unsigned(),
        "HS256": lambda: token(key=OctKey.generate_key(256), header={"alg": "HS256"}),
        "OTHER-KEY": lambda: token(key=ECKey.generate_key("P-384", parameters={"kid": "ehr-1"})),
    }
    answer = hook_call(secured, made[bearer]() if bearer in made else bearer)
    assert answer.status_code == 401
    assert answer.json() == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login", "diagnostics": "unauthorized"}],
    }


def test_without_trusted_issuers_calls_are_not_authenticated_and_health_says_so(client: TestClient) -> None:
    assert hook_call(client, None).status_code == 200
    assert client.get("/health").json()["cds_authentication"] == "off"


def test_the_trusted_issuers_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KG_CDS_TRUSTED_ISSUERS", "not json")
    with pytest.raises(ValueError, match="KG_CDS_TRUSTED_ISSUERS"):
        Settings.from_env()
    monkeypatch.setenv("KG_CDS_TRUSTED_ISSUERS", json.dumps({ISSUER: "/keys.json"}))
    assert Settings.from_env().cds_trusted_issuers == ((ISSUER, "/keys.json"),)


def test_the_fhir_fetches_of_one_call_share_a_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many keys and pages a call fetches, it stops asking once the budget is spent."""
    from kg.cds import client as fhir_client

    sent = []
    monkeypatch.setattr(fhir_client.httpx.Client, "get", lambda self, url, **_: sent.append(url))
    monkeypatch.setattr(fhir_client, "BUDGET_S", 0.0)
    assert fhir_client.FhirClient("http://127.0.0.1:9/fhir", "t").get("Patient/p1") is None
    assert sent == []


# The example of CDS Hooks 2.0, "Trusting CDS Clients" (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients):
# the EHR's public JWK Set, published there with its private key, and the token it signed.
SPEC_JWKS = {
    "keys": [
        {
            "kty": "EC",
            "use": "sig",
            "crv": "P-384",
            "kid": "example-kid",
            "x": "46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
            "y": "XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI",
            "alg": "ES384",
        }
    ]
}
SPEC_JKU = "https://fhir-ehr.example.com/jwk_uri"
SPEC_AUDIENCE = "https://cds.example.org/cds-services/some-service"
SPEC_TOKEN = (
    "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxl"
    "LmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsInN1YiI6ImNsaWVudF9pZCIsImF1ZCI6Imh0"
    "dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3"
    "MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUt"
    "NTIxMTFhZDMwMmEyIn0.CUFPkplnWd6YGIvzoHolWCQBDsCL8QtTWKGg_QFpS169WrqDGzktRi-_we6-6rVzbjerU27ZKww_SW0-b9RTz-dP"
    "JNcqsueMio8r6EqXUXhbLm_ch3XFSbDlGHDl_tqo"
)


def test_the_specs_example_token_is_verified_with_its_published_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec's own test vector: its ES384 token, whose jku names the issuer's configured JWKS
    URL, passes for its audience before its exp (2015-01-29), once; after its exp, for another
    URL, or with its signature changed, it is refused."""
    fetched: list[str] = []

    class Response:
        def raise_for_status(self) -> Response:
            return self

        def json(self) -> dict:
            return SPEC_JWKS

    def get(url: str, **_: object) -> Response:
        fetched.append(url)
        return Response()

    monkeypatch.setattr(auth.httpx, "get", get)
    issuers = {"https://fhir-ehr.example.com/": SPEC_JKU}
    now = [1_422_568_000.0]  # after its iat (2011), before its exp
    verifier = auth.Verifier(issuers, clock=lambda: now[0])
    verifier.verify(f"Bearer {SPEC_TOKEN}", SPEC_AUDIENCE)
    assert fetched == [SPEC_JKU]
    with pytest.raises(CdsUnauthorized):
        verifier.verify(f"Bearer {SPEC_TOKEN}", SPEC_AUDIENCE)  # its jti again: a replay

    refused = [
        (1_422_568_860.0 + auth.LEEWAY_S + 1, SPEC_TOKEN, SPEC_AUDIENCE),  # expired
        (1_422_568_000.0, SPEC_TOKEN, "https://kg.example/cds-services/kg-imaging"),  # not for this URL
        (
            1_422_568_000.0,
            SPEC_TOKEN[:-4] + ("AAAA" if not SPEC_TOKEN.endswith("AAAA") else "BBBB"),
            SPEC_AUDIENCE,
        ),
    ]
    for at, token_text, audience in refused:
        now[0] = at
        with pytest.raises(CdsUnauthorized):
            auth.Verifier(issuers, clock=lambda: now[0]).verify(f"Bearer {token_text}", audience)
