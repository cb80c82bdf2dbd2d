"""Request bodies, bounded before any route sees them: their size (413) and their arrival time (408).

An oversized body is refused from its Content-Length at once, or as soon as the bytes received pass
the limit, so that no parser ever holds it; a body that arrives too slowly (or stops halfway) is
cut off after the time limit. Within the limits the body is read once here and handed on
unchanged. This is pure ASGI, so it wraps every route, the error handlers included.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Limit:
    """A body size limit, and the setting that changes it (named in the refusal)."""

    max_bytes: int
    setting: str
    holds: str  # what a body under it is, for the refusal: "a case or a SPARQL query"


class BodyLimit:
    """Refuse request bodies over the limit of their path (413) or slower than ``timeout_s`` in
    all (408). ``by_prefix`` gives paths under a prefix a limit of their own (a CDS Hooks call
    carries the patient's prefetched resources); the first prefix that matches wins."""

    def __init__(
        self, app: ASGIApp, limit: Limit, timeout_s: float, by_prefix: tuple[tuple[str, Limit], ...] = ()
    ) -> None:
        self.app = app
        self.limit = limit
        self.timeout_s = timeout_s
        self.by_prefix = by_prefix

    def limit_of(self, path: str) -> Limit:
        """The limit of a request path."""
        for prefix, limit in self.by_prefix:
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await self._refuse(send, 413, _too_large(limit, f"Content-Length {declared:,} bytes"))
            return
        try:
            # a deadline on this task (asyncio.wait_for would start a task for every request)
            async with asyncio.timeout(self.timeout_s):
                body, more = await self._read(receive, limit.max_bytes)
        except TimeoutError:
            await self._refuse(
                send,
                408,
                f"request body: not received within {self.timeout_s:g} s (KG_BODY_TIMEOUT); send it at once",
            )
            return
        if more:
            await self._refuse(send, 413, _too_large(limit, "the body received so far"))
            return
        if body is None:  # the client went away
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)

    @staticmethod
    async def _read(receive: Receive, max_bytes: int) -> tuple[bytes | None, bool]:
        """The whole body, and whether it passed the limit (then what was read is dropped)."""
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None, False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                return b"", True
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts), False

    @staticmethod
    async def _refuse(send: Send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: Limit, what: str) -> str:
    return (
        f"request body: {what} passes the limit of {limit.max_bytes:,} bytes ({limit.setting}); "
        f"{limit.holds} is far smaller"
    )
