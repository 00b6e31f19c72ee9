"""The optional HTTP server: aiohttp on its own event loop in one named thread.

`PreviewServer(config, hub).start()` binds (or raises `HttpServerError`), serves until
`close()`. Drawing and JPEG encoding run in one more named thread, and only for connected
viewers of /stream.mjpg or /snapshot.jpg; the processing loop never waits for this server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import uuid
from types import TracebackType
from typing import Any

from edgepose.config.http import HttpConfig, is_loopback_bind
from edgepose.errors import ConfigError, EdgeposeError

try:
    import prometheus_client  # noqa: F401  (checked here so the message names the extra)
    from aiohttp import web
    from aiohttp.http_exceptions import HttpProcessingError
except ModuleNotFoundError as exc:
    raise ConfigError(
        f"[http] enabled needs the http extra ({exc.name} is not installed): pip install 'edgepose[http]'"
    ) from None

from edgepose.http.auth import BasicAuth
from edgepose.http.hub import PreviewHub
from edgepose.http.routes import Routes

log = logging.getLogger(__name__)

_THREAD_NAME = "edgepose-http"


class HttpServerError(EdgeposeError):
    """The server could not start (address in use, permission denied)."""

    exit_code = os.EX_UNAVAILABLE  # 69: systemd may retry; the port may be free next time


class ClientErrorLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server log, where a malformed request is the client's problem, not the server's.

    aiohttp answers a request it cannot parse (a header over 8190 bytes, bad syntax) with 400 and
    logs it as an ERROR with a traceback; here that is one debug line. Real errors stay errors.
    """

    def exception(self, msg: object, *args: object, exc_info: object = True, **kwargs: Any) -> None:
        """Log an exception, or one debug line when the client sent a malformed request."""
        if isinstance(exc_info, HttpProcessingError) and exc_info.code < 500:
            client = args[0] if args else "a client"  # aiohttp passes the remote address
            reason = str(exc_info.message).strip().splitlines()[0]
            log.debug("http: answered %s to a malformed request from %s: %s", exc_info.code, client, reason)
            return
        self.logger.exception(msg, *args, exc_info=exc_info, **kwargs)


class PreviewServer:
    """Owns the server thread, its event loop and the encoder thread."""

    def __init__(self, config: HttpConfig, hub: PreviewHub, *, device_id: str = "edgepose") -> None:
        self._config = config
        self._hub = hub
        self._device_id = device_id
        self._auth = BasicAuth.from_file(config.password_file) if config.password_file else None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._routes: Routes | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._port = 0
        self._encoder = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="edgepose-http-encode")
        # One thread: a flood of logins costs one core of PBKDF2 at most, and the loop stays free.
        self._hasher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="edgepose-http-auth")

    @property
    def port(self) -> int:
        """The bound TCP port (useful with `port = 0`)."""
        return self._port

    @property
    def url(self) -> str:
        """Base URL of the server as seen from this machine."""
        host = self._config.bind
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the thread and return once the socket is bound; HttpServerError if it cannot be."""
        if self._thread is not None:
            raise RuntimeError("PreviewServer.start called twice")
        if not is_loopback_bind(self._config.bind) and self._auth is None:
            log.warning(
                "http server on %s without a password_file: anyone on the network can watch",
                self._config.bind,
            )
        self._thread = threading.Thread(target=self._run, name=_THREAD_NAME, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise HttpServerError(f"http server did not start within {timeout_s:.0f} s")
        if self._error is not None:
            self._thread.join(timeout_s)
            self._thread = None
            error = self._error
            reason = getattr(error, "strerror", None) or error
            raise HttpServerError(
                f"cannot listen on {self._config.bind}:{self._config.port}: {reason}"
            ) from error
        log.debug("http server on %s", self.url)

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop serving, end open streams, join the threads. Safe to call twice."""
        thread, loop, stopped = self._thread, self._loop, self._stopped
        if thread is not None and loop is not None and stopped is not None and thread.is_alive():
            loop.call_soon_threadsafe(stopped.set)
            thread.join(timeout_s)
            if thread.is_alive():
                log.warning("http server thread did not stop within %.1f s", timeout_s)
        self._thread = None
        self._encoder.shutdown(wait=True, cancel_futures=True)
        self._hasher.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PreviewServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ---- the server thread ----------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(), or logged once if it happens later
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.error("http server stopped: %s", exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        stopped = asyncio.Event()
        self._stopped = stopped
        routes = Routes(
            self._config,
            self._hub,
            encoder=self._encoder,
            auth=self._auth,
            device_id=self._device_id,
            boot_id=uuid.uuid4().hex,
            hasher=self._hasher,
        )
        self._routes = routes
        runner = web.AppRunner(
            routes.app(),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=1.0,
            logger=ClientErrorLog(logging.getLogger("aiohttp.server"), {}),
        )
        await runner.setup()
        self._runner = runner
        try:
            site = web.TCPSite(runner, self._config.bind, self._config.port)
            await site.start()
            self._port = int(runner.addresses[0][1])
            routes.attach(asyncio.get_running_loop())
            self._ready.set()
            await stopped.wait()
        finally:
            routes.detach()
            await runner.cleanup()
