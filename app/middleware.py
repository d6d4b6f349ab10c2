"""ASGI middleware: request IDs, the header and body size limits, and the access log (no IPs)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import (
    DsrError,
    HeadersTooLarge,
    PayloadTooLarge,
    problem_of,
    unexpected_error,
)
from app.logging import request_id_var
from app.services.foreground import Foreground

log = logging.getLogger("app.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(Exception):
    pass


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out the messages already read, then the client's own (which
    tells of a disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class RequestContextMiddleware:
    """Gives every call a request ID, refuses oversized headers and bodies, and logs one line
    per call. Headers are measured before anything reads them, so a 30 MB bearer token is
    refused in the time it takes to add up lengths, not to decode a token."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int,
                 foreground: Foreground | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.foreground = foreground  # the API calls in flight, which the worker yields to

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"], status_holder["started"] = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            header_bytes = sum(len(k) + len(v) for k, v in scope.get("headers") or [])
            if header_bytes > self.max_header_bytes:
                await self._refuse(HeadersTooLarge(
                    f"The request headers may be at most {self.max_header_bytes} bytes in all."
                ), scope, receive, send_with_id)
                return
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                await self._too_large(scope, receive, send_with_id)
                return
            if length is None and scope.get("method") not in _NO_BODY:
                # A body without a length (Transfer-Encoding: chunked) is read here, up to the
                # limit: past it inside the app, FastAPI's body parsing caught BodyTooLarge
                # and answered 400 malformed-json.
                buffered = await self._read_body(receive)
                if buffered is None:
                    await self._too_large(scope, receive, send_with_id)
                    return
                receive = _replay(buffered, receive)
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        raise BodyTooLarge
                return message

            try:
                if self.foreground is not None and self.foreground.counts(scope["path"]):
                    with self.foreground.serving():
                        await self.app(scope, limited_receive, send_with_id)
                else:
                    await self.app(scope, limited_receive, send_with_id)
            except BodyTooLarge:
                await self._too_large(scope, receive, send_with_id)
            except Exception as exc:
                # Handled here, not by Starlette's outermost handler, which would re-raise it to
                # the server and have the message (maybe SQL with parameters) logged. The
                # database out of reach is a 503 with Retry-After (errors.handlers).
                answer = unexpected_error(exc)
                if not status_holder.get("started"):
                    await answer(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            log.info(
                "http",
                extra={
                    "request_id": request_id,
                    "method": scope.get("method"),
                    "path": getattr(route, "path", None) or "(unmatched)",
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)

    async def _read_body(self, receive: Receive) -> list[Message] | None:
        """The request's body messages, or None once they add up to more than the limit."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # the client went away: let the app see it
                return messages
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._refuse(PayloadTooLarge(
            f"The request body may be at most {self.max_body_bytes} bytes."
        ), scope, receive, send)

    @staticmethod
    async def _refuse(error: DsrError, scope: Scope, receive: Receive, send: Send) -> None:
        await problem_of(error)(scope, receive, send)
