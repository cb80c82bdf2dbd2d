"""Reads from the EHR's FHIR server, for the prefetch a hook call left out (CDS Hooks 2.0: "the CDS
Service ... [is] to programmatically retrieve any additional necessary data").

Bounded in every way: a timeout per request and a budget for all of a call's requests together,
at most MAX_PAGES pages of a search (``link[next]``,
followed only on the same server), at most MAX_BYTES per page. The bearer token of
``fhirAuthorization`` goes to that server only and is never logged or kept. Any failure is None:
the caller decides whether the data was required (412) or optional (said in the card).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

log = logging.getLogger(__name__)
TIMEOUT_S = 5.0
#: All of one hook call's fetches together (CDS Hooks asks for an answer "on the order of 500 ms").
BUDGET_S = 10.0
MAX_PAGES = 10
MAX_BYTES = 4_000_000


class FhirClient:
    """GETs of FHIR queries relative to one server."""

    def __init__(self, server: str | None, token: str | None, timeout_s: float = TIMEOUT_S) -> None:
        usable = server is not None and server.startswith(("https://", "http://"))
        self._base = server.rstrip("/") + "/" if usable and server else None
        self._headers = {"Accept": "application/fhir+json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout_s
        self._deadline = time.monotonic() + BUDGET_S

    @property
    def available(self) -> bool:
        """Whether there is a server to ask."""
        return self._base is not None

    def get(self, query: str) -> dict[str, Any] | None:
        """The resource or searchset Bundle ``query`` gives (a search's pages joined), or None."""
        if self._base is None:
            return None
        url: str | None = self._base + query.lstrip("/")
        result: dict[str, Any] | None = None
        try:
            with httpx.Client(headers=self._headers, follow_redirects=False) as client:
                for _ in range(MAX_PAGES):
                    left = self._deadline - time.monotonic()
                    if left <= 0:
                        return None
                    page = self._page(client, url, min(self._timeout, left))
                    if page is None:
                        return None
                    if result is None:
                        result = page
                    else:
                        result.setdefault("entry", []).extend(page.get("entry", []))
                    url = _next(page, self._base)
                    if url is None or page.get("resourceType") != "Bundle":
                        break
        except httpx.HTTPError as error:
            log.warning("FHIR server %s: %s", self._base, type(error).__name__)  # never the token
            return None
        return result

    def _page(self, client: httpx.Client, url: str | None, timeout_s: float) -> dict[str, Any] | None:
        response = client.get(url, timeout=timeout_s) if url else None
        if response is None or response.status_code != 200 or len(response.content) > MAX_BYTES:
            return None
        try:
            page = response.json()
        except ValueError:
            return None
        return page if isinstance(page, dict) else None


def _next(page: dict[str, Any], base: str) -> str | None:
    """The next page's URL, when the Bundle has one on the same server."""
    links = page.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"] if link["url"].startswith(base) else None
    return None
