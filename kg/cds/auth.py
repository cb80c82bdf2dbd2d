"""Who may call the CDS service: JWT bearer verification as CDS Hooks 2.0 ("Trusting CDS Clients")
and its best practices require.

A call carries ``Authorization: Bearer <JWT>`` signed by the EHR. It is accepted only if the
issuer (``iss``) is on the allowlist (``KG_CDS_TRUSTED_ISSUERS``: each issuer with its JWKS, a
URL or a file), a ``jku`` header names that same JWKS, the algorithm is an asymmetric one (never
``none`` or HS*), the signature checks out against the key of the header's ``kid``, ``aud`` is the
URL called, ``exp`` has not passed, ``iat`` and ``jti`` are there and the ``jti`` was not seen
before (kept until its ``exp``). Any failure is the same opaque refusal; the token is never
logged. With no trusted issuers configured, verification is off (a local sandbox), logged once and
reported by ``/health``.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from kg.model.errors import CdsUnauthorized

log = logging.getLogger(__name__)
#: Asymmetric algorithms only: CDS clients SHALL NOT use none or a shared secret (HS*).
ALGORITHMS = ["ES384", "RS384", "ES256", "RS256", "ES512", "RS512", "PS256", "PS384", "PS512"]
LEEWAY_S = 30  # clock skew allowed on exp and iat
KEYS_TTL_S = 300.0  # a fetched JWKS is used this long, then fetched again (keys rotate)
JWKS_TIMEOUT_S = 5.0
MAX_TOKEN_BYTES = 16_384
SEEN_KEPT = 100_000  # jtis remembered at most (the oldest expire first)


class Verifier:
    """Verifies CDS clients' JWTs against the trusted issuers' keys."""

    def __init__(self, issuers: dict[str, str], clock: Callable[[], float] = time.time) -> None:
        self._issuers = dict(issuers)
        self._clock = clock
        self._keys: dict[str, tuple[float, KeySet]] = {}
        self._seen: set[str] = set()  # jtis not expired yet
        self._expiring: list[tuple[float, str]] = []  # (exp, jti), a heap: the first to expire first
        self._lock = threading.Lock()
        if not self._issuers:
            log.warning("CDS Hooks JWT verification is off: no KG_CDS_TRUSTED_ISSUERS (a local sandbox only)")

    @property
    def enabled(self) -> bool:
        return bool(self._issuers)

    def verify(self, authorization: str | None, audience: str) -> None:
        """Return if the call may go on; raise CdsUnauthorized (opaque) otherwise."""
        if not self.enabled:
            return
        try:
            self._verify(authorization, audience)
        except (JoseError, ValueError, KeyError, TypeError, OSError, httpx.HTTPError) as error:
            log.info("CDS call refused: %s", type(error).__name__)  # never the token
            raise CdsUnauthorized("unauthorized") from None

    def _verify(self, authorization: str | None, audience: str) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_BYTES:
            raise ValueError("no bearer token")
        compact = extract_compact(token.encode())
        header = compact.headers()
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise ValueError("algorithm or kid")
        if header.get("typ", "JWT") != "JWT":
            raise ValueError("typ")
        issuer = json.loads(compact.payload).get("iss")
        if issuer not in self._issuers:
            raise ValueError("issuer not trusted")
        if "jku" in header and header["jku"] != self._issuers[issuer]:
            raise ValueError("jku not allowlisted")
        verified = jwt.decode(token, self._key_set(issuer), algorithms=ALGORITHMS)
        claims = verified.claims
        now = self._clock()
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else audiences
        if claims.get("iss") != issuer or not isinstance(audiences, list) or audience not in audiences:
            raise ValueError("aud")
        expires, issued, jti = claims.get("exp"), claims.get("iat"), claims.get("jti")
        if not isinstance(expires, int | float) or expires + LEEWAY_S < now:
            raise ValueError("expired")
        if not isinstance(issued, int | float) or issued - LEEWAY_S > now:
            raise ValueError("iat")
        if not isinstance(jti, str) or not jti:
            raise ValueError("jti")
        with self._lock:
            while self._expiring and (self._expiring[0][0] + LEEWAY_S < now or len(self._seen) >= SEEN_KEPT):
                self._seen.discard(heapq.heappop(self._expiring)[1])
            if jti in self._seen:
                raise ValueError("jti replayed")
            self._seen.add(jti)
            heapq.heappush(self._expiring, (float(expires), jti))

    def _key_set(self, issuer: str) -> KeySet:
        """The issuer's JWKS: from its file, or fetched from its URL and kept KEYS_TTL_S."""
        now = self._clock()
        with self._lock:
            kept = self._keys.get(issuer)
            if kept is not None and now - kept[0] < KEYS_TTL_S:
                return kept[1]
        source = self._issuers[issuer]
        if source.startswith(("https://", "http://")):
            document = (
                httpx.get(source, timeout=JWKS_TIMEOUT_S, follow_redirects=False).raise_for_status().json()
            )
        else:
            document = json.loads(Path(source).read_text())
        keys = KeySet.import_key_set(document)
        with self._lock:
            self._keys[issuer] = (now, keys)
        return keys
