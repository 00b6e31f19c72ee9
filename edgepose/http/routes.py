"""The HTTP routes: pages, the MJPEG stream, snapshots, JSON API, live updates (SSE), health, metrics.

Everything here runs on the server thread's event loop, except drawing and encoding, which go
to the one encoder thread, and only while a client asks for images.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from edgepose.config.http import HttpConfig
from edgepose.http import views
from edgepose.http.annotate import annotate, encode_jpeg
from edgepose.http.auth import BasicAuth, FailedLogins
from edgepose.http.hub import PreviewHub, Snapshot
from edgepose.http.metrics import CONTENT_TYPE, make_registry, render

log = logging.getLogger(__name__)

BOUNDARY = "edgeposeframe"
_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)
_OPEN_PATHS = frozenset({"/healthz"})
_CHALLENGE = 'Basic realm="edgepose", charset="UTF-8"'
_SSE_MAX_HZ = 5.0
_WAIT_S = 1.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def load_static() -> dict[str, tuple[bytes, str]]:
    """The page assets shipped as package data, by file name, with their content types."""
    folder = resources.files("edgepose.http").joinpath("static")
    assets: dict[str, tuple[bytes, str]] = {}
    for item in folder.iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1] if "." in item.name else ""
        if item.is_file() and suffix in _STATIC_TYPES:
            assets[item.name] = (item.read_bytes(), _STATIC_TYPES[suffix])
    return assets


class Routes:
    """Builds the aiohttp application over a hub and wakes streaming clients on new frames."""

    def __init__(
        self,
        config: HttpConfig,
        hub: PreviewHub,
        *,
        encoder: concurrent.futures.Executor,
        auth: BasicAuth | None,
        device_id: str,
        boot_id: str,
        hasher: concurrent.futures.Executor | None = None,
    ) -> None:
        self._config = config
        self._hub = hub
        self._encoder = encoder
        self._auth = auth
        self._hasher = hasher  # PBKDF2 runs here, never on the event loop (None: the loop's default)
        self._failed_logins = FailedLogins()
        self._streams = 0  # open /stream.mjpg responses
        self._lives = 0  # open /api/live responses
        self._device_id = device_id
        self._boot_id = boot_id
        self._assets = load_static()
        self._registry = make_registry(hub)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = asyncio.Event()
        self._clients = 0
        self._closing = False
        self._cache: tuple[int, bytes | None] = (-1, None)
        self._pending: tuple[int, asyncio.Future[bytes | None]] | None = None

    # ---- wiring ---------------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application with every route and the auth/header middleware."""
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(
            [
                web.get("/", self._page("index.html")),
                web.get("/kiosk", self._page("kiosk.html")),
                web.get("/static/{name}", self._static),
                web.get("/stream.mjpg", self._stream),
                web.get("/snapshot.jpg", self._snapshot),
                web.get("/api/state", self._api_state),
                web.get("/api/events", self._api_events),
                web.get("/api/live", self._live),
                web.get("/healthz", self._healthz),
                web.get("/metrics", self._metrics),
            ]
        )
        return app

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start listening to the hub (called on the server loop once bound)."""
        self._loop = loop
        self._hub.add_listener(self._on_frame)

    def detach(self) -> None:
        """Stop listening and end open streams (called on the server loop at shutdown)."""
        self._hub.remove_listener(self._on_frame)
        self._closing = True
        self._wake()

    def _on_frame(self, seq: int) -> None:
        # Processing thread: nothing to do unless a client waits for frames.
        loop = self._loop
        if self._clients and loop is not None and not self._closing:
            # The loop may close between the check and the call.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_change(self, timeout_s: float) -> None:
        if self._closing:  # the wake-up at close may have come before this wait began
            return
        event = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_s)

    # ---- middleware -----------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        auth = None if request.path in _OPEN_PATHS else self._auth
        if auth is not None:
            await self._authenticate(auth, request)
        response = await handler(request)
        if not response.prepared:
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
            response.headers.setdefault("Cache-Control", "no-store")
            if response.content_type == "text/html":
                response.headers.setdefault("Content-Security-Policy", _CSP)
        return response

    async def _authenticate(self, auth: BasicAuth, request: web.Request) -> None:
        """Pass, or raise 401 (wrong or no credentials) or 429 (too many wrong ones from this client)."""
        header = request.headers.get("Authorization")
        if auth.remembered(header):  # checked before the limit: a kiosk behind the same NAT keeps working
            return
        client = request.remote or "unknown"
        wait_s = self._failed_logins.retry_after_s(client)
        if wait_s > 0:
            raise web.HTTPTooManyRequests(
                headers={"Retry-After": str(math.ceil(wait_s))}, text="too many failed logins; wait"
            )
        if header is not None:
            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(self._hasher, auth.check, header):
                return
            if self._failed_logins.failed(client):
                log.warning("http: %s sent wrong credentials too often; it has to wait", client)
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": _CHALLENGE})

    # ---- pages and assets -----------------------------------------------------------------------

    def _page(self, name: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            body, content_type = self._assets[name]
            return web.Response(body=body, headers={"Content-Type": content_type})

        return handler

    async def _static(self, request: web.Request) -> web.StreamResponse:
        asset = self._assets.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()
        return web.Response(body=asset[0], headers={"Content-Type": asset[1]})

    # ---- images ---------------------------------------------------------------------------------

    def _encode(self, snapshot: Snapshot) -> bytes | None:
        image = annotate(snapshot, self._hub.zones, self._config.max_width_px)
        if image is None:
            return None
        jpeg = encode_jpeg(image, self._config.jpeg_quality)
        self._hub.count_encoded()
        return jpeg

    async def _latest_jpeg(self) -> tuple[int, bytes | None]:
        """JPEG of the newest frame; encoded once per frame however many clients watch."""
        snapshot = self._hub.snapshot()
        if self._cache[0] == snapshot.seq:
            return self._cache
        pending = self._pending
        if pending is None or pending[0] != snapshot.seq:
            loop = asyncio.get_running_loop()
            pending = (
                snapshot.seq,
                asyncio.ensure_future(loop.run_in_executor(self._encoder, self._encode, snapshot)),
            )
            self._pending = pending
        jpeg = await asyncio.shield(pending[1])
        if snapshot.seq > self._cache[0]:
            self._cache = (snapshot.seq, jpeg)
        return snapshot.seq, jpeg

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        self._clients += 1
        try:
            with self._hub.watching():
                _, jpeg = await self._latest_jpeg()
        finally:
            self._clients -= 1
        if jpeg is None:
            raise web.HTTPServiceUnavailable(text="no frame processed yet")
        return web.Response(body=jpeg, headers={"Content-Type": "image/jpeg"})

    def _refuse_beyond(self, open_now: int, what: str) -> None:
        if open_now >= self._config.max_stream_viewers:
            raise web.HTTPServiceUnavailable(
                headers={"Retry-After": "5"},
                text=f"{what}: {self._config.max_stream_viewers} viewers already (http.max_stream_viewers)",
            )

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        self._refuse_beyond(self._streams, "/stream.mjpg")
        self._streams += 1
        try:
            return await self._serve_stream(request)
        finally:
            self._streams -= 1

    async def _serve_stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Pragma": "no-cache",
            }
        )
        await response.prepare(request)
        period_s = 1.0 / self._config.stream_max_fps
        sent_seq = -1
        self._clients += 1
        try:
            with self._hub.watching():
                # The closing boundary follows each part at once, so browsers show a frame without
                # waiting for the next one.
                await response.write(f"--{BOUNDARY}\r\n".encode())
                while not self._closing:
                    started = time.monotonic()
                    seq, jpeg = await self._latest_jpeg()
                    if jpeg is not None and seq != sent_seq:
                        head = f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                        await response.write(head + jpeg + f"\r\n--{BOUNDARY}\r\n".encode())
                        sent_seq = seq
                    rest_s = period_s - (time.monotonic() - started)
                    if rest_s > 0:
                        await asyncio.sleep(rest_s)
                    if self._hub.snapshot().seq == seq:  # nothing newer yet (or no frame at all)
                        await self._wait_change(_WAIT_S)
        except ConnectionError:  # the client went away
            pass
        finally:
            self._clients -= 1
        return response

    # ---- JSON -----------------------------------------------------------------------------------

    async def _api_state(self, request: web.Request) -> web.StreamResponse:
        state = self._hub.snapshot().state
        if state is None:
            return web.json_response({"error": "no state yet"}, status=503)
        return web.json_response(views.state_payload(state))

    async def _api_events(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([views.event_payload(e) for e in self._hub.recent_events()])

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        health = self._hub.health()
        body = views.health_payload(health)
        return web.json_response(body, status=200 if health.ok else 503)

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=render(self._registry), headers={"Content-Type": CONTENT_TYPE})

    # ---- live updates (server-sent events) ------------------------------------------------------

    async def _live(self, request: web.Request) -> web.StreamResponse:
        self._refuse_beyond(self._lives, "/api/live")
        self._lives += 1
        try:
            return await self._serve_live(request)
        finally:
            self._lives -= 1

    async def _serve_live(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        event_seq, recent = self._hub.events_after(0)
        hello = views.hello_payload(
            device_id=self._device_id,
            boot_id=self._boot_id,
            kiosk_title=self._config.kiosk_title,
            recent=[views.event_payload(e) for e in recent],
        )
        fps = views.FpsMeter()
        self._clients += 1
        try:
            await response.write(b"retry: 2000\n" + _sse("hello", hello))
            while not self._closing:
                started = time.monotonic()
                snapshot = self._hub.snapshot()
                event_seq, new_events = self._hub.events_after(event_seq)
                update = views.live_payload(
                    snapshot,
                    self._hub.health(),
                    events=[views.event_payload(e) for e in new_events],
                    fps=fps.update(snapshot.seq, started),
                    viewers=self._hub.viewers,
                )
                await response.write(_sse("update", update))
                rest_s = 1.0 / _SSE_MAX_HZ - (time.monotonic() - started)
                if rest_s > 0:
                    await asyncio.sleep(rest_s)
                await self._wait_change(_WAIT_S)
        except ConnectionError:  # the client went away
            pass
        finally:
            self._clients -= 1
        return response


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
