"""Pure ASGI middleware: request ids, access logs and metrics; body size limit; timeout.

Order, outermost first (``install_middleware``): ``RequestContext`` (id, JSON log line,
metrics, a JSON 500 for anything unhandled) -> ``BodyLimit`` (413) -> ``Timeout`` (504).
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from typing import Any

import anyio
from fastapi import FastAPI, HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.observability import ACCESS_LOGGER, Metrics, request_id_var

__all__ = ["BodyLimit", "RequestContext", "Timeout", "install_middleware", "route_template"]

REQUEST_ID_HEADER = "x-request-id"
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
access_log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger("api.errors")


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/projects/{project_id}``), else ``unmatched``."""
    ctx = scope.get("fastapi", {}).get("effective_route_context")
    for holder in (ctx, scope.get("route")):
        path = getattr(holder, "path_format", None) or getattr(holder, "path", None)
        if isinstance(path, str) and path:
            return path
    return "unmatched"


async def _send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _detail(message: str) -> bytes:
    import json

    return json.dumps({"detail": message}).encode()


class RequestContext:
    """A request id on every response (the client's ``X-Request-ID`` when sane, else a new
    one), one JSON access-log line and the request metrics per request; an unhandled error
    becomes a JSON 500 naming the request id (the traceback goes to the log)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == REQUEST_ID_HEADER.encode()),
            None,
        )
        rid = given if given and _GOOD_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        status = 500
        started = False
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if not started:
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send_with_id(
                    {
                        "type": "http.response.body",
                        "body": _detail(f"internal error (request id {rid})"),
                    }
                )
            status = 500
        finally:
            seconds = time.perf_counter() - t0
            route = route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, seconds)
            key = scope.get("state", {}).get("api_key")
            access_log.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "request_id": rid,
                    "method": scope["method"],
                    "route": route,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "key_id": getattr(key, "key_id", None),
                },
            )
            request_id_var.reset(token)


class BodyLimit:
    """413 for bodies over the limit: at once from ``Content-Length``, else while reading.

    Multipart (file upload) bodies may be up to ``max_upload`` per file times the number of
    file fields plus 64 KiB of form overhead; other bodies up to ``max_body``.
    """

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int, files: int = 2) -> None:
        self.app = app
        self.max_body = max_body
        self.max_multipart = max_upload * files + 64 * 1024

    def _limit(self, scope: Scope) -> int:
        ctype = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
        return self.max_multipart if ctype.startswith(b"multipart/") else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _send_json(send, 400, _detail("bad Content-Length"), [])
                return
            if declared > limit:
                await _send_json(send, 413, _detail(f"body too large: at most {limit} bytes"), [])
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, detail=f"body too large: at most {limit} bytes")
            return message

        await self.app(scope, counted, send)


class Timeout:
    """504 when a request takes longer than ``seconds`` and nothing was sent yet.

    The client gets the 504 at once; work in a worker thread cannot be interrupted, so it
    runs to its end in the background and its response is dropped.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not math.isfinite(self.seconds):
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"started": False, "timed_out": False, "error": None}

        async def guarded(message: Message) -> None:
            if state["timed_out"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        async with anyio.create_task_group() as tg:

            async def run() -> None:
                try:
                    await self.app(scope, receive, guarded)
                except Exception as exc:  # re-raised below, outside the task group
                    state["error"] = exc
                finally:
                    tg.cancel_scope.cancel()

            tg.start_soon(run)
            await anyio.sleep(self.seconds)
            if not state["started"]:
                state["timed_out"] = True
                await _send_json(
                    send,
                    504,
                    _detail(f"the request took longer than {self.seconds:g} s"),
                    [],
                )
            tg.cancel_scope.cancel()
        if state["error"] is not None:
            raise state["error"]


def install_middleware(
    app: FastAPI, metrics: Metrics, max_body: int, max_upload: int, timeout: float
) -> None:
    """Add the three middleware (the last added runs first)."""
    app.add_middleware(Timeout, seconds=timeout)
    app.add_middleware(BodyLimit, max_body=max_body, max_upload=max_upload)
    app.add_middleware(RequestContext, metrics=metrics)
